using System.Runtime.InteropServices;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Ops;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Converter.Quantization;

public sealed class QuantizerOptions
{
    /// <summary>Left shift of int8 Add inputs before rescaling: headroom for the rounding of the input multipliers (TFLite: 20).</summary>
    public int AddLeftShift { get; init; } = 20;

    /// <summary>
    /// Operators (by name) computed in another precision than int8: kept in float32 between a Dequantize of their int8
    /// inputs and a Quantize of their outputs (<c>FloatLayers.cs</c>). Operators not listed are int8.
    /// </summary>
    public IReadOnlyDictionary<string, Precision> LayerPrecisions { get; init; } = new Dictionary<string, Precision>();
}

/// <summary>
/// Turns a float32 graph and its calibration into an int8 graph following docs/operators.md and TFLite's int8 spec:
/// activations asymmetric per tensor, Conv/Gemm weights symmetric per output channel, int32 biases, fixed-point
/// multipliers, fused activations as output clamps, unary non-linearities as lookup tables. Tensor and operator
/// names are kept, so float and int8 tensors can be compared by name.
/// </summary>
public static partial class Quantizer
{
    public static ModelGraph Quantize(ModelGraph floatGraph, CalibrationStats stats, QuantizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stats);
        return Quantize(floatGraph, stats, null, options);
    }

    /// <summary>
    /// Quantizes with the scales and zero points a pre-quantized model gives (<paramref name="given"/>) where it gives
    /// them, and calibrated ranges elsewhere; <paramref name="stats"/> may be null when the model gives every one.
    /// Where a given value does not fit the int8 rules, the line saying what was done goes to <see cref="GivenQuantization.Changes"/>.
    /// </summary>
    public static ModelGraph Quantize(ModelGraph floatGraph, CalibrationStats? stats, GivenQuantization? given, QuantizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(floatGraph);
        if (stats == null && given == null) throw new ArgumentNullException(nameof(stats), "calibration statistics or given quantization are needed");
        return new Builder(floatGraph, stats, given, options ?? new QuantizerOptions()).Build();
    }

    private sealed partial class Builder
    {
        private readonly ModelGraph _f;
        private readonly ModelGraph _q = new();
        private readonly CalibrationStats? _stats;
        private readonly GivenQuantization? _given;
        private readonly QuantizerOptions _options;
        /// <summary>The int8 tensor of each float tensor, once one exists.</summary>
        private readonly int[] _map;
        /// <summary>Names in use: every float activation (kept by its int8 twin) and every constant added so far.</summary>
        private readonly HashSet<string> _taken = new(StringComparer.Ordinal);
        /// <summary>Tensors quantized with a Concat output's range (<see cref="ConcatScaleSharing"/>).</summary>
        private readonly Dictionary<string, string> _sharedRange;

        public Builder(ModelGraph floatGraph, CalibrationStats? stats, GivenQuantization? given, QuantizerOptions options)
        {
            _f = floatGraph;
            _stats = stats;
            _given = given;
            _options = options;
            _map = new int[floatGraph.Tensors.Count];
            Array.Fill(_map, -1);
            _floatMap = new int[floatGraph.Tensors.Count];
            Array.Fill(_floatMap, -1);
            _int16Map = new int[floatGraph.Tensors.Count];
            Array.Fill(_int16Map, -1);
            foreach (var t in floatGraph.Tensors) if (!t.IsConstant) _taken.Add(t.Name);
            _sharedRange = ConcatScaleSharing.Plan(floatGraph);
        }

        public ModelGraph Build()
        {
            CheckLayerPrecisions();
            foreach (int id in _f.Inputs)
            {
                var t = _f.Tensors[id];
                if (t.Type != DataType.Float32) throw new ConversionException($"quantizer: graph input '{t.Name}' is {t.Type}, expected Float32");
                _q.Inputs.Add(NoInt8LayerReads(id) ? FloatActivation(id) : NewActivation(id, Calibrated(t)));
            }
            foreach (var op in _f.Ops)
            {
                try
                {
                    switch (FollowsInput(op) ? Precision.Float32 : PrecisionOf(op))
                    {
                        case Precision.Float32: FloatLayer(op); break;
                        case Precision.Int16: Int16Layer(op); break;
                        default: Lower(op); break;
                    }
                }
                catch (ConversionDetailException e) { throw new ConversionException($"quantizer: {op}: {e.Message}", e); }
            }
            // An output computed in float32 stays float32 (the session reads it as it is); one computed in int16 becomes float32.
            foreach (int id in _f.Outputs)
                _q.Outputs.Add(_floatMap[id] >= 0 ? _floatMap[id] : _map[id] < 0 && _int16Map[id] >= 0 ? DequantizedOutput(id) : Mapped(id, "graph output"));

            // Scales are products and ratios of other scales: extreme weights or ranges can overflow them.
            foreach (var t in _q.Tensors)
                if (t.Quantization?.Scales.FirstOrDefault(s => !(float.IsFinite(s) && s > 0), 1f) is float bad and not 1f)
                    throw new ConversionException($"quantizer: tensor '{t.Name}' gets scale {bad}, not a positive finite number; its weights or calibrated range are out of range");
            foreach (var (k, v) in _f.Metadata) _q.Metadata[k] = v;
            _q.Metadata["precision"] = "int8";
            _q.Metadata["calibration"] = DescribeCalibration();
            DescribeFloatLayers();
            return _q;
        }

        private void Lower(OpInfo op)
        {
            switch (OperatorSchemas.For(op.Type).Quantization)
            {
                case QuantizationRule.Weighted: Weighted(op); break;
                case QuantizationRule.Product: MatMul(op); break;
                case QuantizationRule.Sum: Add(op); break;
                case QuantizationRule.ElementwiseProduct: Mul(op); break;
                case QuantizationRule.Concatenation: Concat(op); break;
                case QuantizationRule.SameScale: SameQuantization(op); break;
                case QuantizationRule.Softmax: Softmax(op); break;
                case QuantizationRule.Normalization: LayerNorm(op); break;
                case QuantizationRule.Table: Unary(op); break;
                case QuantizationRule.TablePerChannel: PRelu(op); break;
                case QuantizationRule.Recurrent: Recurrent(op); break;
                default: throw new ConversionException($"quantizer: {op} has no int8 form");
            }
        }

        // Conv and Gemm: int8 weights per output channel (axis 0), int32 bias at scale sx * sw[c].
        private void Weighted(OpInfo op)
        {
            Expect(op, 2, 3);
            int x = Mapped(op.Inputs[0], op);
            var xq = _q.Tensors[x].Quantization!;
            var wf = FloatConstant(op, 1);
            float[] w = FloatData(wf);
            float[]? b = op.Inputs.Length > 2 && op.Inputs[2] >= 0 ? FloatData(FloatConstant(op, 2)) : null;
            int channels = wf.Shape[0];
            if (b != null && b.Length != channels) throw new ConversionException($"quantizer: {op}: bias has {b.Length} values for {channels} output channels");
            var (scales, wq) = WeightsPerChannel(op, wf, w, b, channels, xq.Scale * (double)(int.MaxValue / 2));

            var yf = _f.Tensors[op.Outputs[0]];
            var yq = Calibrated(yf);
            var multipliers = new int[channels];
            var shifts = new int[channels];
            for (int c = 0; c < channels; c++)
                (multipliers[c], shifts[c]) = QuantParams.Multiplier((double)xq.Scale * scales[c] / yq.Scale);

            int wId = AddConstant(wf.Name, DataType.Int8, wf.Shape, wq, new QuantizationInfo(scales, 0, axis: 0));
            int bId = -1;
            if (b != null)
            {
                var bf = _f.Tensors[op.Inputs[2]];
                var bq = new int[channels];
                var biasScales = new float[channels];
                for (int c = 0; c < channels; c++)
                {
                    double biasScale = (double)xq.Scale * scales[c];
                    biasScales[c] = (float)biasScale;
                    bq[c] = (int)Math.Clamp(Math.Round(b[c] / biasScale, MidpointRounding.AwayFromZero), int.MinValue, int.MaxValue);
                }
                NoteGivenBias(op, bf, biasScales);
                bId = AddConstant(bf.Name, DataType.Int32, bf.Shape, bq, new QuantizationInfo(biasScales, 0, axis: 0));
            }
            int y = NewActivation(op.Outputs[0], yq);
            var attributes = IntAttributes(op);
            SetClamp(attributes, op, yq);
            attributes.Set(AttributeKey.OutputMultiplier, multipliers).Set(AttributeKey.OutputShift, shifts);
            Emit(op, op.Type, bId >= 0 ? [x, wId, bId] : [x, wId], [y], attributes);
        }

        /// <summary>
        /// int8 weights symmetric per output channel, or with the scales the model gives; a channel with tiny weights but
        /// a large bias gets a scale large enough for its bias to stay within <paramref name="biasLimit"/> (in real units).
        /// </summary>
        private (float[] Scales, sbyte[] Weights) WeightsPerChannel(OpInfo op, TensorInfo wf, float[] w, float[]? b, int channels, double biasLimit)
        {
            int perChannel = channels == 0 ? 0 : w.Length / channels;
            var scales = new float[channels];
            var wq = new sbyte[w.Length];
            if (GivenWeights(op, wf, channels) is { } givenScales)
            {
                scales = givenScales;
                QuantizeGivenWeights(op, wf, w, scales, wq);
                return (scales, wq);
            }
            for (int c = 0; c < channels; c++)
            {
                var row = w.AsSpan(c * perChannel, perChannel);
                double maxAbs = 0;
                foreach (float v in row) maxAbs = Math.Max(maxAbs, Math.Abs(v));
                float scale = QuantParams.SymmetricScale(maxAbs);
                if (b != null) scale = Math.Max(scale, (float)(Math.Abs(b[c]) / biasLimit));
                scales[c] = scale;
                for (int i = 0; i < perChannel; i++) wq[c * perChannel + i] = QuantParams.QuantizeSymmetric(row[i], scale);
            }
            return (scales, wq);
        }

        private void MatMul(OpInfo op)
        {
            Expect(op, 2, 2);
            int a = SymmetricOrMapped(op, 0);
            int b = SymmetricOrMapped(op, 1);
            var aq = _q.Tensors[a].Quantization!;
            var bq = _q.Tensors[b].Quantization!;
            var yq = Calibrated(_f.Tensors[op.Outputs[0]]);
            var (m, s) = QuantParams.Multiplier((double)aq.Scale * bq.Scale / yq.Scale);
            int y = NewActivation(op.Outputs[0], yq);
            var attributes = IntAttributes(op);
            SetClamp(attributes, op, yq);
            attributes.Set(AttributeKey.OutputMultiplier, m).Set(AttributeKey.OutputShift, s);
            Emit(op, op.Type, [a, b], [y], attributes);
        }

        // TFLite's int8 Add: both inputs are brought to a common scale (twice the larger input scale) with
        // LeftShift bits of headroom, added, then rescaled to the output.
        private void Add(OpInfo op)
        {
            Expect(op, 2, 2);
            int a = AsymmetricOrMapped(op, 0);
            int b = AsymmetricOrMapped(op, 1);
            double sa = _q.Tensors[a].Quantization!.Scale, sb = _q.Tensors[b].Quantization!.Scale;
            var yq = Calibrated(_f.Tensors[op.Outputs[0]]);
            int leftShift = _options.AddLeftShift;
            double twiceMax = 2 * Math.Max(sa, sb);
            var (ma, sha) = QuantParams.Multiplier(sa / twiceMax);
            var (mb, shb) = QuantParams.Multiplier(sb / twiceMax);
            var (my, shy) = QuantParams.Multiplier(twiceMax / ((1L << leftShift) * (double)yq.Scale));
            int y = NewActivation(op.Outputs[0], yq);
            var attributes = IntAttributes(op);
            SetClamp(attributes, op, yq);
            attributes.Set(AttributeKey.LeftShift, leftShift)
                .Set(AttributeKey.InputMultiplier, ma, mb).Set(AttributeKey.InputShift, sha, shb)
                .Set(AttributeKey.OutputMultiplier, my).Set(AttributeKey.OutputShift, shy);
            Emit(op, op.Type, [a, b], [y], attributes);
        }

        private void Mul(OpInfo op)
        {
            Expect(op, 2, 2);
            int a = AsymmetricOrMapped(op, 0);
            int b = AsymmetricOrMapped(op, 1);
            double sa = _q.Tensors[a].Quantization!.Scale, sb = _q.Tensors[b].Quantization!.Scale;
            var yq = Calibrated(_f.Tensors[op.Outputs[0]]);
            var (m, s) = QuantParams.Multiplier(sa * sb / yq.Scale);
            int y = NewActivation(op.Outputs[0], yq);
            var attributes = IntAttributes(op);
            SetClamp(attributes, op, yq);
            attributes.Set(AttributeKey.OutputMultiplier, m).Set(AttributeKey.OutputShift, s);
            Emit(op, op.Type, [a, b], [y], attributes);
        }

        // Inputs that already share one quantization pass it on unchanged (a byte copy per input); otherwise the
        // output takes its own calibrated range, which is the union of the inputs' ranges.
        private void Concat(OpInfo op)
        {
            if (op.Inputs.Length == 0 || op.Outputs.Length != 1) throw new ConversionException($"quantizer: {op}: expects inputs and one output");
            var inputs = new int[op.Inputs.Length];
            for (int i = 0; i < inputs.Length; i++) inputs[i] = AsymmetricOrMapped(op, i);
            var first = _q.Tensors[inputs[0]].Quantization!;
            bool shared = inputs.All(i => _q.Tensors[i].Quantization!.Scale == first.Scale && _q.Tensors[i].Quantization!.ZeroPoint == first.ZeroPoint);
            var yq = shared ? QuantizationInfo.PerTensor(first.Scale, first.ZeroPoint) : Calibrated(_f.Tensors[op.Outputs[0]]);
            var multipliers = new int[inputs.Length];
            var shifts = new int[inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
                (multipliers[i], shifts[i]) = QuantParams.Multiplier((double)_q.Tensors[inputs[i]].Quantization!.Scale / yq.Scale);
            int y = NewActivation(op.Outputs[0], yq);
            var attributes = IntAttributes(op);
            attributes.Set(AttributeKey.InputMultiplier, multipliers).Set(AttributeKey.InputShift, shifts);
            Emit(op, op.Type, inputs, [y], attributes);
        }

        // Pools, shape ops and Pad move or select values: the output keeps the input's scale and zero point.
        private void SameQuantization(OpInfo op)
        {
            if (op.Inputs.Length == 0 || op.Outputs.Length != 1) throw new ConversionException($"quantizer: {op}: expects an input and one output");
            var inputs = new int[op.Inputs.Length];
            inputs[0] = Mapped(op.Inputs[0], op);
            // Further inputs (Reshape's shape) are ignored by the kernels and carried over unchanged.
            for (int i = 1; i < inputs.Length; i++) inputs[i] = CarryOver(op.Inputs[i], op);
            var xq = _q.Tensors[inputs[0]].Quantization!;
            var yq = QuantizationInfo.PerTensor(xq.Scale, xq.ZeroPoint);
            NoteGivenOutput(op, yq, "its input's (the operator moves values without rescaling them)");
            int y = NewActivation(op.Outputs[0], yq);
            var attributes = IntAttributes(op);
            if (op.Attributes.Has(AttributeKey.ActivationMin) || op.Attributes.Has(AttributeKey.ActivationMax)) SetClamp(attributes, op, yq);
            if (op.Type == OpType.Pad)
            {
                float padValue = op.Attributes.GetFloat(AttributeKey.PadValue, 0f);
                attributes.Set(AttributeKey.QuantizedPadValue, (int)FixedPoint.QuantizeValue(padValue, 1f / yq.Scale, yq.ZeroPoint));
            }
            Emit(op, op.Type, inputs, [y], attributes);
        }

        private void Softmax(OpInfo op)
        {
            Expect(op, 1, 1);
            int x = Mapped(op.Inputs[0], op);
            var xq = _q.Tensors[x].Quantization!;
            int table = AddConstant(op.Name + ".exp_table", DataType.Float32, [256], LookupTables.BuildSoftmaxExpTable(xq.Scale), null);
            var yq = QuantizationInfo.PerTensor(1f / 256, -128);
            NoteGivenOutput(op, yq, "EdgeNets' fixed Softmax output quantization");
            int y = NewActivation(op.Outputs[0], yq);
            Emit(op, op.Type, [x, table], [y], IntAttributes(op));
        }

        /// <summary>int8 in and out, with the float Scale and B kept as they are (the kernel normalizes in double).</summary>
        private void LayerNorm(OpInfo op)
        {
            Expect(op, 2, 3);
            int x = Mapped(op.Inputs[0], op);
            var inputs = new List<int> { x };
            for (int i = 1; i < op.Inputs.Length; i++)
            {
                var p = FloatConstant(op, i);
                inputs.Add(AddConstant(p.Name, DataType.Float32, p.Shape, FloatData(p), null));
            }
            int y = NewActivation(op.Outputs[0], Calibrated(_f.Tensors[op.Outputs[0]]));
            Emit(op, op.Type, [.. inputs], [y], op.Attributes.Clone());
        }

        private void Unary(OpInfo op)
        {
            Expect(op, 1, 1);
            var f = ActivationFunction.For(op.Type, op.Attributes) ?? throw new ConversionException($"quantizer: {op} is not a unary activation");
            int x = Mapped(op.Inputs[0], op);
            var yq = Calibrated(_f.Tensors[op.Outputs[0]]);
            int table = AddConstant(op.Name + ".table", DataType.Int8, [256], LookupTables.BuildUnary(f.Invoke, _q.Tensors[x].Quantization!, yq), null);
            int y = NewActivation(op.Outputs[0], yq);
            Emit(op, OpType.LookupTable, [x, table], [y], new OpAttributes());
        }

        // PRelu's slope varies along at most one axis of X (the channel axis): one table per channel along it.
        private void PRelu(OpInfo op)
        {
            Expect(op, 2, 2);
            int x = Mapped(op.Inputs[0], op);
            var xShape = _f.Tensors[op.Inputs[0]].Shape;
            var slopeTensor = FloatConstant(op, 1);
            float[] slope = FloatData(slopeTensor);
            if (slopeTensor.Rank > xShape.Length || ShapeUtil.Broadcast(xShape, slopeTensor.Shape) is not { } b || !b.AsSpan().SequenceEqual(xShape))
                throw new ConversionException($"quantizer: {op}: slope shape [{ShapeUtil.Format(slopeTensor.Shape)}] does not broadcast to [{ShapeUtil.Format(xShape)}]");
            int axis = -1;
            for (int d = 0; d < slopeTensor.Rank; d++)
            {
                if (slopeTensor.Shape[d] == 1) continue;
                if (axis >= 0) throw new ConversionException($"quantizer: {op}: slope varies along more than one axis");
                axis = d + xShape.Length - slopeTensor.Rank;
            }
            var xq = _q.Tensors[x].Quantization!;
            var yq = Calibrated(_f.Tensors[op.Outputs[0]]);
            int channels = axis < 0 ? 1 : xShape[axis];
            var tables = new sbyte[channels * 256];
            for (int c = 0; c < channels; c++)
                LookupTables.BuildUnary(ActivationFunction.LeakyRelu(slope[c]).Invoke, xq, yq).CopyTo(tables, c * 256);
            int[] tableShape = axis < 0 ? [256] : [channels, 256];
            int table = AddConstant(op.Name + ".table", DataType.Int8, tableShape, tables, null);
            int y = NewActivation(op.Outputs[0], yq);
            var attributes = new OpAttributes();
            if (axis >= 0) attributes.Set(AttributeKey.Axis, axis);
            Emit(op, OpType.LookupTable, [x, table], [y], attributes);
        }

        // ---- tensors ----

        private QuantizationInfo Calibrated(TensorInfo floatTensor)
        {
            if (_given?.For(floatTensor.Name) is { } given) return QuantizationInfo.PerTensor(given.Scale, given.ZeroPoint);
            var (min, max) = CalibratedRange(_sharedRange.GetValueOrDefault(floatTensor.Name, floatTensor.Name));
            return QuantParams.Asymmetric(min, max);
        }

        private int NewActivation(int floatId, QuantizationInfo quant)
        {
            var f = _f.Tensors[floatId];
            if (f.Type != DataType.Float32) throw new ConversionException($"quantizer: activation '{f.Name}' is {f.Type}, expected Float32");
            if (IsWritten(floatId)) throw new ConversionException($"quantizer: activation '{f.Name}' is written twice");
            _map[floatId] = _q.AddTensor(new TensorInfo(f.Name, DataType.Int8, (int[])f.Shape.Clone(), TensorKind.Activation) { Quantization = quant });
            return _map[floatId];
        }

        private int Mapped(int floatId, object user)
        {
            if (floatId < 0) throw new ConversionException($"quantizer: {user}: a required input is absent");
            var f = _f.Tensors[floatId];
            if (f.IsConstant) throw new ConversionException($"quantizer: {user}: input '{f.Name}' is a constant; expected an activation");
            if (_map[floatId] < 0 && _floatMap[floatId] >= 0) Quantized(floatId);
            else if (_map[floatId] < 0 && _int16Map[floatId] >= 0) RequantizedToInt8(floatId);
            if (_map[floatId] < 0) throw new ConversionException($"quantizer: {user}: '{f.Name}' is read before it is written");
            return _map[floatId];
        }

        // Operand of MatMul: constant operands are quantized like weights (symmetric, zp 0), per tensor.
        private int SymmetricOrMapped(OpInfo op, int index)
        {
            var f = _f.Tensors[op.Inputs[index]];
            if (!f.IsConstant) return Mapped(op.Inputs[index], op);
            float[] values = FloatData(FloatConstant(op, index));
            double maxAbs = 0;
            foreach (float v in values) maxAbs = Math.Max(maxAbs, Math.Abs(v));
            float scale = QuantParams.SymmetricScale(maxAbs);
            var q = new sbyte[values.Length];
            for (int i = 0; i < q.Length; i++) q[i] = QuantParams.QuantizeSymmetric(values[i], scale);
            return AddConstant(f.Name, DataType.Int8, f.Shape, q, QuantizationInfo.PerTensor(scale, 0));
        }

        // Operand of Add, Mul, Concat: constants are quantized per tensor, asymmetric over their own range.
        private int AsymmetricOrMapped(OpInfo op, int index)
        {
            var f = _f.Tensors[op.Inputs[index]];
            if (!f.IsConstant) return Mapped(op.Inputs[index], op);
            float[] values = FloatData(FloatConstant(op, index));
            float min = 0, max = 0;
            foreach (float v in values) { min = Math.Min(min, v); max = Math.Max(max, v); }
            var quant = QuantParams.Asymmetric(min, max);
            return AddConstant(f.Name, DataType.Int8, f.Shape, QuantParams.QuantizeAsymmetric(values, quant), quant);
        }

        private int CarryOver(int floatId, OpInfo op)
        {
            if (floatId < 0) return -1;
            var f = _f.Tensors[floatId];
            if (!f.IsConstant) return Mapped(floatId, op);
            return _q.AddTensor(new TensorInfo(UniqueName(f.Name), f.Type, (int[])f.Shape.Clone(), TensorKind.Constant)
            {
                Data = f.Data.ToArray(),
                Quantization = f.Quantization,
            });
        }

        private TensorInfo FloatConstant(OpInfo op, int index)
        {
            int id = index < op.Inputs.Length ? op.Inputs[index] : -1;
            if (id < 0) throw new ConversionException($"quantizer: {op}: input {index} is required but absent");
            var t = _f.Tensors[id];
            if (!t.IsConstant || t.Type != DataType.Float32)
                throw new ConversionException($"quantizer: {op}: input {index} '{t.Name}' must be a float32 constant, is {(t.IsConstant ? "a constant" : "an activation")} of {t.Type}");
            if (t.Data.Length != t.ByteLength)
                throw new ConversionException($"quantizer: {op}: constant '{t.Name}' has {t.Data.Length} bytes, expected {t.ByteLength}");
            return t;
        }

        private static float[] FloatData(TensorInfo t) => MemoryMarshal.Cast<byte, float>(t.Data.Span).ToArray();

        private int AddConstant<T>(string name, DataType type, int[] shape, T[] values, QuantizationInfo? quant) where T : struct =>
            _q.AddTensor(new TensorInfo(UniqueName(name), type, (int[])shape.Clone(), TensorKind.Constant)
            {
                Data = MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
                Quantization = quant,
            });

        // A constant keeps its float name; one used by several operators gets a numbered copy per extra use.
        private string UniqueName(string name)
        {
            if (_taken.Add(name)) return name;
            for (int k = 1; ; k++)
            {
                string candidate = $"{name}.{k}";
                if (_taken.Add(candidate)) return candidate;
            }
        }

        // ---- operators ----

        private static void Expect(OpInfo op, int minInputs, int maxInputs)
        {
            if (op.Inputs.Length < minInputs || op.Inputs.Length > maxInputs || op.Outputs.Length != 1)
                throw new ConversionException($"quantizer: {op}: expects {minInputs}..{maxInputs} inputs and one output, has {op.Inputs.Length} and {op.Outputs.Length}");
        }

        /// <summary>The op's geometry attributes without the float-only ones.</summary>
        private static OpAttributes IntAttributes(OpInfo op)
        {
            var a = op.Attributes.Clone();
            a.Remove(AttributeKey.ActivationMin);
            a.Remove(AttributeKey.ActivationMax);
            a.Remove(AttributeKey.PadValue);
            return a;
        }

        /// <summary>The fused activation of the float op as the int8 output clamp.</summary>
        private static void SetClamp(OpAttributes attributes, OpInfo op, QuantizationInfo y)
        {
            var range = new ActivationRange(
                op.Attributes.GetFloat(AttributeKey.ActivationMin, float.NegativeInfinity),
                op.Attributes.GetFloat(AttributeKey.ActivationMax, float.PositiveInfinity));
            var (min, max) = range.ToQuantized(y.Scale, y.ZeroPoint);
            attributes.Set(AttributeKey.QuantizedMin, min).Set(AttributeKey.QuantizedMax, max);
        }

        private void Emit(OpInfo op, OpType type, int[] inputs, int[] outputs, OpAttributes attributes) =>
            _q.Ops.Add(new OpInfo(type, op.Name, inputs, outputs, attributes));
    }
}
