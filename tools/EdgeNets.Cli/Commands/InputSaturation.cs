using System.Globalization;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Cli.Commands;

/// <summary>
/// Input values outside the range an int8 input was calibrated on are clamped to -128 or 127 when quantized: data
/// scaled differently from the calibration data (pixels 0..255 for a model calibrated on 0..1) gives the same
/// answer for every sample without any error. `run` and `eval` count them and say so.
/// </summary>
internal static class InputSaturation
{
    public static void Report(TensorInfo input, IReadOnlyList<float[]> samples, string command, TextWriter stderr)
    {
        if (input.Type != DataType.Int8 || input.Quantization is not { IsPerChannel: false } q) return;
        // The calibrated maximum itself can lie a step beyond 127 (the scale's rounding): only values more than 1%
        // of the range beyond either end count, which data scaled for another range far exceeds.
        float margin = 0.01f * 255 * q.Scale;
        float low = q.Scale * (-128 - q.ZeroPoint) - margin, high = q.Scale * (127 - q.ZeroPoint) + margin;
        long outside = 0, total = 0;
        foreach (var sample in samples)
        {
            foreach (float v in sample)
                if (v < low || v > high) outside++;
            total += sample.Length;
        }
        if (outside == 0) return;
        var inv = CultureInfo.InvariantCulture;
        stderr.WriteLine(string.Format(inv,
            "edgenets {0}: warning: {1:N0} of {2:N0} values ({3:0.###}%) of input '{4}' lie outside its calibrated range [{5:G4}, {6:G4}] and saturate after quantization; is the data scaled as the calibration data was?",
            command, outside, total, 100.0 * outside / total, input.Name, q.Scale * (-128 - q.ZeroPoint), q.Scale * (127 - q.ZeroPoint)));
    }
}
