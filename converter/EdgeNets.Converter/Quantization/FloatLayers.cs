using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Ops;

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

        /// <summary>
        /// A graph input read by float32 (or int16) layers only stays float32: quantizing it to int8 would only add noise
        /// (int16 layers quantize it to int16 themselves).
        /// </summary>
        private bool NoInt8LayerReads(int floatId)
        {
            var readers = _f.Ops.Where(o => o.Inputs.Contains(floatId)).ToList();
            return readers.Count > 0 && readers.All(o => PrecisionOf(o) != Precision.Int8);
        }

        /// <summary>
        /// An operator that only moves values (pools, Reshape, Pad: the SameScale rule) and is not given a precision runs
        /// in float32 where its input has no int8 form (it comes from a float32 or int16 layer): quantizing it to int8
        /// there would round a tensor that its neighbours keep finer.
        /// </summary>
        private bool FollowsInput(OpInfo op) =>
            !_options.LayerPrecisions.ContainsKey(op.Name) && OperatorSchemas.For(op.Type).Quantization == QuantizationRule.SameScale &&
            op.Inputs.Length > 0 && op.Inputs[0] >= 0 && !_f.Tensors[op.Inputs[0]].IsConstant &&
            _map[op.Inputs[0]] < 0 && (_floatMap[op.Inputs[0]] >= 0 || _int16Map[op.Inputs[0]] >= 0);

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
                if (IsWritten(id)) throw new ConversionException($"quantizer: activation '{f.Name}' is written twice");
                outputs[i] = FloatActivation(id);
            }
            Emit(op, op.Type, inputs, outputs, op.Attributes.Clone());
        }

        /// <summary>The float32 form of an activation: its float layer's output, or a Dequantize of its int8 (else int16) tensor.</summary>
        private int FloatVersion(int floatId, object user)
        {
            if (_floatMap[floatId] >= 0) return _floatMap[floatId];
            int q = _map[floatId] < 0 && _int16Map[floatId] >= 0 ? _int16Map[floatId] : Mapped(floatId, user);
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

        /// <summary>Which layers are float32 or int16, for inspect (the tensor types say it too); their names when they fit one metadata string.</summary>
        private void DescribeFloatLayers()
        {
            Describe(Precision.Float32, FloatLayersKey);
            Describe(Precision.Int16, Int16LayersKey);
        }

        private void Describe(Precision precision, string key)
        {
            var names = _f.Ops.Where(o => PrecisionOf(o) == precision).Select(o => o.Name).ToList();
            if (names.Count == 0) return;
            string list = string.Join(',', names);
            _q.Metadata[key] = list.Length <= Runtime.Format.EnetFormat.MaxStringBytes ? list : $"{names.Count} layers";
        }
    }

    /// <summary>Refuses a per-layer precision for an operator the graph does not have (before any calibration is spent on it).</summary>
    public static void CheckLayerNames(ModelGraph floatGraph, QuantizerOptions options)
    {
        var ops = floatGraph.Ops.GroupBy(o => o.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var name in options.LayerPrecisions.Keys.Order(StringComparer.Ordinal))
        {
            if (!ops.TryGetValue(name, out var op))
                throw new ConversionException($"no operator named '{name}' to set the precision of (operator names as `edgenets inspect` lists them)");
            if (options.LayerPrecisions[name] == Precision.Int16 && !HasInt16Form(op.Type))
                throw new ConversionException($"operator '{name}' is a {op.Type}: only Conv and Gemm layers have int16 activations (keep it int8 or make it float32)");
        }
    }

    /// <summary>Metadata naming the layers kept in float32 (comma-separated), absent in an all-int8 model.</summary>
    public const string FloatLayersKey = "float32_layers";
}
