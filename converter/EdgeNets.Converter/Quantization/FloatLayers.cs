using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Quantization;

public static partial class Quantizer
{
    /// <summary>
    /// Layers kept in float32 inside an int8 model: the float operator as it is (float32 weights, its own kernels),
    /// a Dequantize where it reads an int8 tensor and a Quantize where an int8 layer reads its output. Both are placed
    /// only when needed, once per tensor, so float layers that feed each other exchange float32 tensors directly.
    /// </summary>
    private sealed partial class Builder
    {
        /// <summary>The float32 tensor of each float tensor, once one exists (a float layer's output, or a Dequantize's).</summary>
        private readonly int[] _floatMap;

        private Precision PrecisionOf(OpInfo op) => _options.LayerPrecisions.GetValueOrDefault(op.Name, Precision.Int8);

        private void CheckLayerPrecisions() => CheckLayerNames(_f, _options);

        /// <summary>A graph input read by float32 layers only stays float32: quantizing it would only add noise.</summary>
        private bool OnlyFloatLayersRead(int floatId)
        {
            var readers = _f.Ops.Where(o => o.Inputs.Contains(floatId)).ToList();
            return readers.Count > 0 && readers.All(o => PrecisionOf(o) == Precision.Float32);
        }

        /// <summary>The float32 tensor of a graph input or a float layer's output, under its own name.</summary>
        private int FloatActivation(int floatId)
        {
            var f = _f.Tensors[floatId];
            return _floatMap[floatId] = _q.AddTensor(new TensorInfo(f.Name, DataType.Float32, (int[])f.Shape.Clone(), TensorKind.Activation));
        }

        private void FloatLayer(OpInfo op)
        {
            var inputs = new int[op.Inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
            {
                int id = op.Inputs[i];
                inputs[i] = id < 0 ? -1 : _f.Tensors[id].IsConstant ? CarryOver(id, op) : FloatVersion(id, op);
            }
            var outputs = new int[op.Outputs.Length];
            for (int i = 0; i < outputs.Length; i++)
            {
                int id = op.Outputs[i];
                var f = _f.Tensors[id];
                if (f.Type != DataType.Float32) throw new ConversionException($"quantizer: activation '{f.Name}' is {f.Type}, expected Float32");
                if (_map[id] >= 0 || _floatMap[id] >= 0) throw new ConversionException($"quantizer: activation '{f.Name}' is written twice");
                outputs[i] = FloatActivation(id);
            }
            Emit(op, op.Type, inputs, outputs, op.Attributes.Clone());
        }

        /// <summary>The float32 form of an activation: its float layer's output, or a Dequantize of its int8 tensor.</summary>
        private int FloatVersion(int floatId, OpInfo user)
        {
            if (_floatMap[floatId] >= 0) return _floatMap[floatId];
            int q = Mapped(floatId, user);
            var f = _f.Tensors[floatId];
            int y = _q.AddTensor(new TensorInfo(UniqueName(f.Name + ".float"), DataType.Float32, (int[])f.Shape.Clone(), TensorKind.Activation));
            _q.Ops.Add(new OpInfo(OpType.Dequantize, UniqueName(f.Name + ".dequantize"), [q], [y]));
            return _floatMap[floatId] = y;
        }

        /// <summary>The int8 form of a float layer's output, with the tensor's calibrated quantization.</summary>
        private void Quantized(int floatId)
        {
            var f = _f.Tensors[floatId];
            int y = _q.AddTensor(new TensorInfo(UniqueName(f.Name + ".int8"), DataType.Int8, (int[])f.Shape.Clone(), TensorKind.Activation)
            {
                Quantization = Calibrated(f),
            });
            _q.Ops.Add(new OpInfo(OpType.Quantize, UniqueName(f.Name + ".quantize"), [_floatMap[floatId]], [y]));
            _map[floatId] = y;
        }

        /// <summary>Which layers are float32, for inspect (the tensor types say it too); their names when they fit one metadata string.</summary>
        private void DescribeFloatLayers()
        {
            var names = _f.Ops.Where(o => PrecisionOf(o) == Precision.Float32).Select(o => o.Name).ToList();
            if (names.Count == 0) return;
            string list = string.Join(',', names);
            _q.Metadata[FloatLayersKey] = list.Length <= Runtime.Format.EnetFormat.MaxStringBytes ? list : $"{names.Count} layers";
        }
    }

    /// <summary>Refuses a per-layer precision for an operator the graph does not have (before any calibration is spent on it).</summary>
    public static void CheckLayerNames(ModelGraph floatGraph, QuantizerOptions options)
    {
        var names = floatGraph.Ops.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in options.LayerPrecisions.Keys.Order(StringComparer.Ordinal))
            if (!names.Contains(name))
                throw new ConversionException($"no operator named '{name}' to set the precision of (operator names as `edgenets inspect` lists them)");
    }

    /// <summary>Metadata naming the layers kept in float32 (comma-separated), absent in an all-int8 model.</summary>
    public const string FloatLayersKey = "float32_layers";
}
