using NUnit.Framework;
using System.Runtime.InteropServices;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;

namespace EdgeNets.Tests.Kernels;

/// <summary>
/// Running single-operator graphs for the Conv, pool and Gemm tests, plus the quantization the converter will do
/// (per-channel symmetric weights, int32 bias, fixed-point multipliers), written out here so the tests can build int8 ops.
/// </summary>
internal static class WindowedOpHarness
{
    /// <summary>
    /// Builds and runs a one-op float graph twice: checks the chosen kernel, that a second run gives the same output,
    /// and that it allocates nothing.
    /// </summary>
    public static float[] RunFloat(TestGraph graph, float[] input, string expectedKernel)
    {
        var model = graph.Build();
        using var session = model.CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        Assert.That(session.KernelNames[0], Is.EqualTo(expectedKernel));
        var output = new float[model.Outputs[0].ElementCount];
        var again = new float[output.Length];
        session.SetInput(0, input);
        session.Invoke();
        session.GetOutput(0, output);
        AssertInvokeAllocatesNothing(session);
        session.GetOutput(0, again);
        Assert.That(again, Is.EqualTo(output).AsCollection, "second run differs from the first");
        return output;
    }

    /// <summary>As <see cref="RunFloat"/> for an int8 graph, setting and reading the raw quantized bytes.</summary>
    public static sbyte[] RunInt8(TestGraph graph, sbyte[] input, string expectedKernel)
    {
        var model = graph.Build();
        using var session = model.CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        Assert.That(session.KernelNames[0], Is.EqualTo(expectedKernel));
        MemoryMarshal.AsBytes(input.AsSpan()).CopyTo(session.GetInputBytes(0));
        int outputId = model.Graph.Outputs[0];
        session.Invoke();
        var output = MemoryMarshal.Cast<byte, sbyte>(session.GetTensorBytes(outputId)).ToArray();
        AssertInvokeAllocatesNothing(session);
        var again = MemoryMarshal.Cast<byte, sbyte>(session.GetTensorBytes(outputId)).ToArray();
        Assert.That(again, Is.EqualTo(output).AsCollection, "second run differs from the first");
        return output;
    }

    private static void AssertInvokeAllocatesNothing(Session session)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        session.Invoke();
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.That(after - before, Is.Zero, "Invoke allocated");
    }

    /// <summary>Random int8 values over the whole range, with -128 and 127 forced in at fixed places.</summary>
    public static sbyte[] Int8WithExtremes(int seed, int count)
    {
        var q = TestData.Int8(seed, count);
        for (int i = 0; i < count; i += 7) q[i] = sbyte.MinValue;
        for (int i = 3; i < count; i += 11) q[i] = sbyte.MaxValue;
        return q;
    }

    public static double[] Dequantize(sbyte[] q, float scale, int zeroPoint)
    {
        var r = new double[q.Length];
        for (int i = 0; i < q.Length; i++) r[i] = (double)scale * (q[i] - zeroPoint);
        return r;
    }

    /// <summary>Per-output-channel symmetric int8 weights: scale = max|w| / 127 over each channel's values.</summary>
    public static (sbyte[] Q, float[] Scales) QuantizeWeightsPerChannel(float[] w, int channels)
    {
        int per = w.Length / channels;
        var q = new sbyte[w.Length];
        var scales = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double maxAbs = 0;
            for (int i = 0; i < per; i++) maxAbs = Math.Max(maxAbs, Math.Abs(w[c * per + i]));
            float scale = maxAbs == 0 ? 1f : (float)(maxAbs / 127);
            scales[c] = scale;
            for (int i = 0; i < per; i++)
                q[c * per + i] = (sbyte)Math.Clamp(Math.Round(w[c * per + i] / (double)scale, MidpointRounding.AwayFromZero), -127, 127);
        }
        return (q, scales);
    }

    /// <summary>Int32 bias with scale inputScale * weightScale[c], zero point 0.</summary>
    public static int[] QuantizeBias(float[] bias, float inputScale, float[] weightScales)
    {
        var q = new int[bias.Length];
        for (int c = 0; c < bias.Length; c++)
            q[c] = (int)Math.Round(bias[c] / ((double)inputScale * weightScales[c]), MidpointRounding.AwayFromZero);
        return q;
    }

    /// <summary>Fixed-point requantization per output channel: real multiplier sx * sw[c] / sy.</summary>
    public static (int[] Multipliers, int[] Shifts) OutputMultipliers(float inputScale, float[] weightScales, float outputScale)
    {
        var m = new int[weightScales.Length];
        var s = new int[weightScales.Length];
        for (int c = 0; c < m.Length; c++)
            (m[c], s[c]) = FixedPoint.QuantizeMultiplier((double)inputScale * weightScales[c] / outputScale);
        return (m, s);
    }

    /// <summary>Asymmetric int8 quantization covering [min, max] (always including 0, as calibration does).</summary>
    public static (float Scale, int ZeroPoint) ChooseQuantization(double min, double max)
    {
        min = Math.Min(min, 0);
        max = Math.Max(max, 0);
        if (max - min < 1e-6) max = min + 1e-6;
        float scale = (float)((max - min) / 255);
        int zeroPoint = (int)Math.Clamp(Math.Round(-128 - min / scale, MidpointRounding.AwayFromZero), -128, 127);
        return (scale, zeroPoint);
    }

    public static (double Min, double Max) Range(double[] values)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (double v in values) { min = Math.Min(min, v); max = Math.Max(max, v); }
        return (min, max);
    }

    public static int[] Concat(params int[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>
    /// Largest error, in output steps, of requantizing an exact accumulator with (multiplier, shift): rounding to the nearest
    /// step gives half a step; with a right shift, MultiplyByQuantizedMultiplier rounds twice (to an integer before the
    /// shift, then by the shift), which adds up to half of 2^shift. The multiplier's own error (2^-31 relative) is below that.
    /// </summary>
    public static double RequantizationErrorSteps(int shift) => shift >= 0 ? 0.5 : 0.5 + 0.5 * Math.ScaleB(1.0, shift);

    /// <summary>
    /// Checks int8 outputs against the float result on dequantized inputs, after clamping that result to the representable
    /// range [scale*(qmin - zp), scale*(qmax - zp)]: element i may be off by at most allowedSteps(i) output steps.
    /// </summary>
    public static void AssertWithinSteps(sbyte[] actual, double[] expectedReal, float scale, int zeroPoint, int qmin, int qmax,
        Func<int, double> allowedSteps)
    {
        Assert.That(actual, Has.Length.EqualTo(expectedReal.Length));
        double lo = (double)scale * (qmin - zeroPoint), hi = (double)scale * (qmax - zeroPoint);
        for (int i = 0; i < actual.Length; i++)
        {
            double expected = Math.Clamp(expectedReal[i], lo, hi);
            double steps = Math.Abs((double)scale * (actual[i] - zeroPoint) - expected) / scale;
            if (!(steps <= allowedSteps(i) + 1e-4))
                Assert.Fail($"element {i}: q = {actual[i]} is {steps:F4} steps from the float result {expectedReal[i]} (allowed {allowedSteps(i)})");
        }
    }

    public static void AssertClose(float[] actual, double[] expected, double tolerance)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length));
        for (int i = 0; i < actual.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= tolerance * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"element {i}: got {actual[i]}, expected {expected[i]}");
    }
}
