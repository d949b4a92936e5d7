using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Converter.Quantization;

public static partial class Quantizer
{
    /// <summary>
    /// Layers with int16 activations and int8 weights inside an int8 model (TFLite's 16x8 scheme): symmetric int16
    /// input and output (zero point 0, scale maxAbs / 32767 of the calibrated range), int8 weights per output channel as
    /// in int8 layers, int64 bias. The input comes from an int16 layer as it is, from an int8 tensor through a
    /// Requantize, from a float32 one through a Quantize; readers of the output in other precisions get a Requantize
    /// or a Dequantize, placed once per tensor, so int16 layers that feed each other exchange int16 tensors directly.
    /// </summary>
    private sealed partial class Builder
    {
        /// <summary>The int16 tensor of each float tensor, once one exists (an int16 layer's output, or a conversion's).</summary>
        private readonly int[] _int16Map;

        private bool IsWritten(int floatId) => _map[floatId] >= 0 || _floatMap[floatId] >= 0 || _int16Map[floatId] >= 0;

        private void Int16Layer(OpInfo op)
        {
            Expect(op, 2, 3);
            int x = Int16Version(op.Inputs[0], op);
            float sx = _q.Tensors[x].Quantization!.Scale;
            var wf = FloatConstant(op, 1);
            float[] w = FloatData(wf);
            float[]? b = op.Inputs.Length > 2 && op.Inputs[2] >= 0 ? FloatData(FloatConstant(op, 2)) : null;
            int channels = wf.Shape[0];
            if (b != null && b.Length != channels) throw new ConversionException($"quantizer: {op}: bias has {b.Length} values for {channels} output channels");
            var (scales, wq) = WeightsPerChannel(op, wf, w, b, channels, sx * (double)(Int16Limits.MaxBias / 2));

            var yf = _f.Tensors[op.Outputs[0]];
            var yq = Int16Calibrated(yf);
            var multipliers = new int[channels];
            var shifts = new int[channels];
            for (int c = 0; c < channels; c++)
            {
                (multipliers[c], shifts[c]) = QuantParams.Multiplier((double)sx * scales[c] / yq.Scale);
                if (shifts[c] > Int16Limits.MaxShift)
                    throw new ConversionDetailException($"output channel {c} rescales by 2^{shifts[c]}, more than an int16 layer may (2^{Int16Limits.MaxShift}); its weights or calibrated range are out of proportion");
            }

            int wId = AddConstant(wf.Name, DataType.Int8, wf.Shape, wq, new QuantizationInfo(scales, 0, axis: 0));
            int bId = -1;
            if (b != null)
            {
                var bf = _f.Tensors[op.Inputs[2]];
                var bq = new long[channels];
                var biasScales = new float[channels];
                for (int c = 0; c < channels; c++)
                {
                    double biasScale = (double)sx * scales[c];
                    biasScales[c] = (float)biasScale;
                    bq[c] = (long)Math.Clamp(Math.Round(b[c] / biasScale, MidpointRounding.AwayFromZero), -Int16Limits.MaxBias, Int16Limits.MaxBias);
                }
                bId = AddConstant(bf.Name, DataType.Int64, bf.Shape, bq, new QuantizationInfo(biasScales, 0, axis: 0));
            }
            if (IsWritten(op.Outputs[0])) throw new ConversionException($"quantizer: activation '{yf.Name}' is written twice");
            // A graph output leaves its name to the float32 tensor the session reads (DequantizedOutput).
            string name = _f.Outputs.Contains(op.Outputs[0]) ? UniqueName(yf.Name + ".int16") : yf.Name;
            int y = _int16Map[op.Outputs[0]] = _q.AddTensor(new TensorInfo(name, DataType.Int16, (int[])yf.Shape.Clone(), TensorKind.Activation) { Quantization = yq });
            var attributes = IntAttributes(op);
            var (min, max) = Int16Clamp(op, yq.Scale);
            attributes.Set(AttributeKey.QuantizedMin, min).Set(AttributeKey.QuantizedMax, max);
            attributes.Set(AttributeKey.OutputMultiplier, multipliers).Set(AttributeKey.OutputShift, shifts);
            Emit(op, op.Type, bId >= 0 ? [x, wId, bId] : [x, wId], [y], attributes);
        }

        /// <summary>Symmetric int16 quantization of a tensor's calibrated range (or of the int8 range a pre-quantized model gives it).</summary>
        private QuantizationInfo Int16Calibrated(TensorInfo floatTensor)
        {
            double maxAbs;
            if (_given?.For(floatTensor.Name) is { } given)
                maxAbs = given.Scale * (double)Math.Max(given.ZeroPoint + 128, 127 - given.ZeroPoint);
            else
            {
                var (min, max) = CalibratedRange(floatTensor.Name);
                maxAbs = Math.Max(Math.Abs((double)min), Math.Abs((double)max));
            }
            if (!double.IsFinite(maxAbs)) throw new ConversionException($"cannot quantize the non-finite range of '{floatTensor.Name}'");
            return QuantizationInfo.PerTensor(maxAbs > 0 ? (float)(maxAbs / short.MaxValue) : 1f / short.MaxValue, 0);
        }

        /// <summary>The fused activation of the float op as the int16 output clamp.</summary>
        private static (int Min, int Max) Int16Clamp(OpInfo op, float scale)
        {
            float lo = op.Attributes.GetFloat(AttributeKey.ActivationMin, float.NegativeInfinity);
            float hi = op.Attributes.GetFloat(AttributeKey.ActivationMax, float.PositiveInfinity);
            static int Bound(float v, float scale) => (int)Math.Clamp(MathF.Round(v / scale, MidpointRounding.AwayFromZero), short.MinValue, short.MaxValue);
            return (float.IsNegativeInfinity(lo) ? short.MinValue : Bound(lo, scale), float.IsPositiveInfinity(hi) ? short.MaxValue : Bound(hi, scale));
        }

        /// <summary>The int16 form of an activation: an int16 layer's output, else a Quantize of its float32 form, else a Requantize of its int8 one.</summary>
        private int Int16Version(int floatId, OpInfo user)
        {
            if (floatId < 0) throw new ConversionException($"quantizer: {user}: a required input is absent");
            if (_int16Map[floatId] >= 0) return _int16Map[floatId];
            var f = _f.Tensors[floatId];
            if (f.IsConstant) throw new ConversionException($"quantizer: {user}: input '{f.Name}' is a constant; expected an activation");
            var yq = Int16Calibrated(f);
            int y = _q.AddTensor(new TensorInfo(UniqueName(f.Name + ".int16"), DataType.Int16, (int[])f.Shape.Clone(), TensorKind.Activation) { Quantization = yq });
            if (_floatMap[floatId] >= 0)
            {
                _q.Ops.Add(new OpInfo(OpType.Quantize, UniqueName(f.Name + ".quantize"), [_floatMap[floatId]], [y]));
            }
            else
            {
                int x = Mapped(floatId, user);
                _q.Ops.Add(Requantize(f.Name, x, y));
            }
            return _int16Map[floatId] = y;
        }

        /// <summary>A graph output an int16 layer computes: dequantized to float32 under the output's name.</summary>
        private int DequantizedOutput(int floatId)
        {
            var f = _f.Tensors[floatId];
            int y = _floatMap[floatId] = _q.AddTensor(new TensorInfo(f.Name, DataType.Float32, (int[])f.Shape.Clone(), TensorKind.Activation));
            _q.Ops.Add(new OpInfo(OpType.Dequantize, UniqueName(f.Name + ".dequantize"), [_int16Map[floatId]], [y]));
            return y;
        }

        /// <summary>The int8 form of an int16 layer's output, with the tensor's calibrated int8 quantization.</summary>
        private void RequantizedToInt8(int floatId)
        {
            var f = _f.Tensors[floatId];
            int y = _q.AddTensor(new TensorInfo(UniqueName(f.Name + ".int8"), DataType.Int8, (int[])f.Shape.Clone(), TensorKind.Activation)
            {
                Quantization = Calibrated(f),
            });
            _q.Ops.Add(Requantize(f.Name, _int16Map[floatId], y));
            _map[floatId] = y;
        }

        private OpInfo Requantize(string name, int x, int y)
        {
            var xq = _q.Tensors[x].Quantization!;
            var yq = _q.Tensors[y].Quantization!;
            var (m, s) = QuantParams.Multiplier((double)xq.Scale / yq.Scale);
            var attributes = new OpAttributes().Set(AttributeKey.OutputMultiplier, m).Set(AttributeKey.OutputShift, s);
            return new OpInfo(OpType.Requantize, UniqueName(name + ".requantize"), [x], [y], attributes);
        }
    }

    /// <summary>The bounds the runtime's int16 kernels accept (Kernels/Int16/Int16Requantization).</summary>
    private static class Int16Limits
    {
        public const long MaxBias = 1L << 46;
        public const int MaxShift = 14;
    }

    /// <summary>The operators that have an int16 form: Conv (depthwise included) and Gemm.</summary>
    public static bool HasInt16Form(OpType type) => type is OpType.Conv or OpType.Gemm;

    /// <summary>Metadata naming the layers with int16 activations (comma-separated), absent when there are none.</summary>
    public const string Int16LayersKey = "int16_layers";
}
