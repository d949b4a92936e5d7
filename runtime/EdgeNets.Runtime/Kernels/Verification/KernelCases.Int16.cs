using System.Runtime.InteropServices;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels;

/// <summary>
/// Conv and Gemm cases with int16 activations and int8 weights (see <see cref="KernelCases"/>): every Conv geometry of
/// the int8 cases, Gemm shapes with long rows, int16 extremes (-32768 against -128 weights everywhere: sums far beyond
/// int32, over several of the vector kernels' exact int32 blocks), biases near the ±2^46 bound, multipliers and shifts
/// over the accepted range and narrowed int16 clamps.
/// </summary>
public static partial class KernelCases
{
    /// <summary>A single int16 Conv case with random data (for benchmarks): input [N, C, H, W], M filters, square kernel, same padding.</summary>
    public static KernelCase Conv2dInt16(int[] input, int outChannels, int kernel, int stride = 1, int seed = 1, int group = 1)
    {
        int pad = kernel / 2;
        return ConvInt16(new Random(seed), new ConvGeometry(input, outChannels, [kernel, kernel], [stride, stride], [pad, pad, pad, pad], [1, 1], group));
    }

    /// <summary>A single int16 Gemm case with random data (for benchmarks).</summary>
    public static KernelCase GemmInt16(int rows, int k, int n, int seed = 1) => GemmInt16(new Random(seed), [rows, k], n, extreme: false);

    private static IEnumerable<KernelCase> Int16Cases(Random rng, OpType op)
    {
        if (op == OpType.Conv)
        {
            foreach (var shape in ConvShapes()) yield return ConvInt16(rng, shape);
            // Depths of 2 and 3 blocks of 510 and 511 taps, with and without an odd tap, extreme.
            yield return ConvInt16(rng, new ConvGeometry([1, 130, 5, 21], 5, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], Extreme: true));
            yield return ConvInt16(rng, new ConvGeometry([1, 1021, 3, 19], 6, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], Extreme: true));
            yield return ConvInt16(rng, new ConvGeometry([1, 1533, 2, 17], 4, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]));
        }
        else
        {
            foreach (var (a, n) in GemmShapes()) yield return GemmInt16(rng, a, n, extreme: false);
            foreach (var (a, n) in new (int[], int)[] { ([1, 4097], 3), ([2, 8200], 2), ([1, 1280], 1000) }) yield return GemmInt16(rng, a, n, extreme: true);
        }
    }

    private static KernelCase ConvInt16(Random rng, ConvGeometry geometry)
    {
        var g = new CaseGraph();
        int cpg = geometry.Input[1] / geometry.Group, taps = cpg;
        foreach (int k in geometry.Kernel) taps *= k;
        int[] weightShape = [geometry.M, cpg, .. geometry.Kernel];
        var (xValues, wValues) = Int16Operands(rng, ShapeUtil.ElementCount(geometry.Input), ShapeUtil.ElementCount(weightShape), geometry.Extreme);
        int x = g.Input("x", DataType.Int16, geometry.Input, xValues, QuantizationInfo.PerTensor(1f / 4096, 0));
        int w = g.Constant("w", DataType.Int8, weightShape, wValues, null);
        var (attributes, bias, how) = Int16Requantization(rng, geometry.M, taps);
        var inputs = new List<int> { x, w };
        if (bias != null) inputs.Add(g.Constant("b", DataType.Int64, [geometry.M], bias, null));
        int y = g.Output("y", DataType.Int16, geometry.OutputShape(), QuantizationInfo.PerTensor(1f / 1024, 0));
        geometry.SetAttributes(attributes);
        g.Op(OpType.Conv, [.. inputs], y, attributes);
        return g.Build($"Conv int16 {geometry.Describe()}, {how}{(geometry.Extreme ? ", extreme sums" : "")}");
    }

    private static KernelCase GemmInt16(Random rng, int[] shapeA, int n, bool extreme)
    {
        var g = new CaseGraph();
        int k = shapeA[^1];
        var (aValues, wValues) = Int16Operands(rng, ShapeUtil.ElementCount(shapeA), n * k, extreme);
        int a = g.Input("a", DataType.Int16, shapeA, aValues, QuantizationInfo.PerTensor(1f / 4096, 0));
        int w = g.Constant("w", DataType.Int8, [n, k], wValues, null);
        var (attributes, bias, how) = Int16Requantization(rng, n, k);
        var inputs = new List<int> { a, w };
        if (bias != null) inputs.Add(g.Constant("b", DataType.Int64, [n], bias, null));
        var shapeY = (int[])shapeA.Clone();
        shapeY[^1] = n;
        int y = g.Output("y", DataType.Int16, shapeY, QuantizationInfo.PerTensor(1f / 1024, 0));
        g.Op(OpType.Gemm, [.. inputs], y, attributes);
        return g.Build($"Gemm int16 [{ShapeUtil.Format(shapeA)}] x [{n}, {k}], {how}{(extreme ? ", extreme sums" : "")}");
    }

    /// <summary>int16 activations (uniform, mostly ±extremes, or all -32768) and int8 weights (Int8Values'); extreme: -32768 against -128.</summary>
    private static (byte[] X, byte[] W) Int16Operands(Random rng, int xCount, int wCount, bool extreme)
    {
        var x = new short[xCount];
        int mode = extreme ? 0 : rng.Next(4);
        for (int i = 0; i < xCount; i++)
        {
            x[i] = mode switch
            {
                0 => short.MinValue,
                1 => rng.Next(2) == 0 ? short.MinValue : short.MaxValue,
                _ => (short)rng.Next(short.MinValue, short.MaxValue + 1),
            };
            if (mode >= 2 && rng.Next(8) == 0) x[i] = rng.Next(2) == 0 ? short.MinValue : short.MaxValue;
        }
        var w = Int8Values(rng, wCount);
        if (extreme) Array.Fill(w, unchecked((byte)sbyte.MinValue));
        return (MemoryMarshal.AsBytes(x.AsSpan()).ToArray(), w);
    }

    /// <summary>
    /// Bias (absent, moderate, or at the ±2^46 bound), per-channel or single multipliers mapping a sum of
    /// <paramref name="taps"/> products onto about the int16 range (or raw ones, shifts in [-31, 14]), sometimes a clamp.
    /// </summary>
    private static (OpAttributes Attributes, byte[]? Bias, string Description) Int16Requantization(Random rng, int channels, int taps)
    {
        var attributes = new OpAttributes();
        byte[]? bias = null;
        int biasMode = rng.Next(4);
        if (biasMode > 0)
        {
            var b = new long[channels];
            for (int i = 0; i < channels; i++)
                b[i] = biasMode == 3 && rng.Next(2) == 0 ? (rng.Next(2) == 0 ? 1L << 46 : -(1L << 46)) : rng.NextInt64(-(1L << 36), 1L << 36);
            bias = MemoryMarshal.AsBytes(b.AsSpan()).ToArray();
        }
        bool raw = rng.Next(4) == 0;
        int count = rng.Next(3) == 0 ? 1 : channels;
        var multipliers = new int[count];
        var shifts = new int[count];
        for (int i = 0; i < count; i++)
        {
            double real = Math.Exp(rng.NextDouble() * 3 - 1.5) * 32768.0 / ((1 << 22) * Math.Sqrt(Math.Max(1, taps)));
            (multipliers[i], shifts[i]) = Multiplier(rng, raw, real);
            shifts[i] = Math.Min(shifts[i], 14);
        }
        attributes.Set(AttributeKey.OutputMultiplier, multipliers);
        attributes.Set(AttributeKey.OutputShift, shifts);
        if (rng.Next(3) == 0)
        {
            int lo = rng.Next(short.MinValue, short.MaxValue + 1), hi = rng.Next(lo, short.MaxValue + 1);
            attributes.Set(AttributeKey.QuantizedMin, lo);
            attributes.Set(AttributeKey.QuantizedMax, hi);
        }
        string how = $"{(bias == null ? "no bias" : biasMode == 3 ? "bias at ±2^46" : "bias")}, {count} {(raw ? "raw" : "scale")} multiplier(s)";
        return (attributes, bias, how);
    }
}
