using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Quantization;

public static partial class Quantizer
{
    /// <summary>The scales and zero points a pre-quantized model gives, against the int8 rules (docs/quantization.md).</summary>
    private sealed partial class Builder
    {
        private (float Min, float Max) CalibratedRange(string tensorName) =>
            _stats?.Range(tensorName) ?? throw new ConversionDetailException(
                $"tensor '{tensorName}' has no scale in the model (no QuantizeLinear/DequantizeLinear pair on it) and no calibration data was given; pass sample inputs (--calibration DATA.npy)");

        private string DescribeCalibration()
        {
            int given = _given?.Count ?? 0;
            if (_stats == null) return "none: scales and zero points given by the model (QDQ)";
            return given == 0 ? _stats.Describe() : $"{_stats.Describe()}; {given} tensors' scales given by the model (QDQ) kept";
        }

        /// <summary>Per-output-channel scales of weights the model gives (a per-tensor scale repeated), or null.</summary>
        private float[]? GivenWeights(OpInfo op, TensorInfo weights, int channels)
        {
            if (_given?.For(weights.Name) is not { } given) return null;
            if (given.IsPerChannel && given.Axis != 0)
                throw new ConversionException($"quantizer: {op}: weights '{weights.Name}' are quantized along axis {given.Axis}; EdgeNets quantizes weights per output channel (axis 0) or per tensor");
            if (given.IsPerChannel && given.Scales.Length != channels)
                throw new ConversionException($"quantizer: {op}: weights '{weights.Name}' have {given.Scales.Length} scales for {channels} output channels");
            return given.IsPerChannel ? (float[])given.Scales.Clone() : Enumerable.Repeat(given.Scale, channels).ToArray();
        }

        /// <summary>
        /// The given int8 values back from the dequantized weights (exact: each is an integer times its scale). EdgeNets'
        /// weights are symmetric in [-127, 127]: a -128 is raised to -127 and said; weights that do not fit otherwise
        /// (asymmetric ones whose values minus the zero point leave the range) are refused.
        /// </summary>
        private void QuantizeGivenWeights(OpInfo op, TensorInfo weights, float[] w, float[] scales, sbyte[] wq)
        {
            int channels = scales.Length, perChannel = channels == 0 ? 0 : w.Length / channels, raised = 0;
            int zeroPoint = _given!.For(weights.Name)!.ZeroPoint;
            for (int i = 0; i < w.Length; i++)
            {
                double q = Math.Round(w[i] / (double)scales[i / perChannel], MidpointRounding.AwayFromZero);
                if (q == -128 && zeroPoint == 0) { q = -127; raised++; }
                else if (q is < -127 or > 127)
                    throw new ConversionException($"quantizer: {op}: weights '{weights.Name}' are asymmetric (zero point {zeroPoint}) and value {i} is {q} steps from zero; " +
                                                  "EdgeNets' int8 weights are symmetric in [-127, 127]: quantize the weights symmetric (zero point 0)");
                wq[i] = (sbyte)q;
            }
            if (raised > 0)
                _given.Changes.Add($"{op}: {raised} weight{(raised == 1 ? "" : "s")} of '{weights.Name}' at -128 raised to -127 (EdgeNets' int8 weights are symmetric in [-127, 127])");
            else if (zeroPoint != 0)
                _given.Changes.Add($"{op}: asymmetric weights '{weights.Name}' (zero point {zeroPoint}) moved to symmetric int8, exactly");
        }

        /// <summary>A bias scale must be input scale x weight scale: the bias was quantized at the product; said when the model gave another.</summary>
        private void NoteGivenBias(OpInfo op, TensorInfo bias, float[] biasScales)
        {
            if (_given?.For(bias.Name) is not { } given) return;
            for (int c = 0; c < biasScales.Length; c++)
            {
                float scale = given.IsPerChannel ? given.Scales[c] : given.Scale;
                if (Math.Abs(scale - (double)biasScales[c]) <= 1e-6 * biasScales[c]) continue;
                _given.Changes.Add($"{op}: bias '{bias.Name}' has scale {scale:G6} at channel {c}, not input scale x weight scale = {biasScales[c]:G6}; requantized at the product");
                return;
            }
        }

        /// <summary>Operators whose output quantization follows from their input's keep that one; said when the model gave another.</summary>
        private void NoteGivenOutput(OpInfo op, QuantizationInfo used, string what)
        {
            var name = _f.Tensors[op.Outputs[0]].Name;
            if (_given?.For(name) is not { } given || (given.Scale == used.Scale && given.ZeroPoint == used.ZeroPoint)) return;
            _given.Changes.Add($"{op}: output '{name}' is given scale {given.Scale:G6} and zero point {given.ZeroPoint} (as int8); kept {what}: scale {used.Scale:G6}, zero point {used.ZeroPoint}");
        }
    }
}
