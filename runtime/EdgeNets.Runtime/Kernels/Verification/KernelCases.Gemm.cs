using System.Runtime.InteropServices;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels;

/// <summary>Gemm cases (see <see cref="KernelCases"/>).</summary>
public static partial class KernelCases
{
    /// <summary>A single int8 Gemm case with random data (for benchmarks): A [rows, K], W [N, K].</summary>
    public static KernelCase GemmInt8(int rows, int k, int n, int seed = 1) => GemmInt8(new Random(seed), [rows, k], n);

    private static KernelCase GemmFloat(Random rng, int[] shapeA, int n)
    {
        var g = new CaseGraph();
        int k = shapeA[^1];
        int a = g.Input("a", DataType.Float32, shapeA, FloatValues(rng, ShapeUtil.ElementCount(shapeA)));
        int w = g.Constant("w", DataType.Float32, [n, k], rng.Next(4) == 0 ? FloatValues(rng, n * k) : FiniteFloats(rng, n * k));
        var inputs = new List<int> { a, w };
        string bias = FloatBias(rng, g, n, inputs);
        var shapeY = (int[])shapeA.Clone();
        shapeY[^1] = n;
        int y = g.Output("y", DataType.Float32, shapeY);
        var attributes = FloatClamp(rng, out string clamp);
        g.Op(OpType.Gemm, [.. inputs], y, attributes);
        return g.Build($"Gemm float32 [{ShapeUtil.Format(shapeA)}] x [{n}, {k}], {bias}{clamp}");
    }

    private static IEnumerable<(int[] A, int N)> GemmShapes()
    {
        yield return ([1, 1], 1);
        yield return ([1, 7], 3);
        yield return ([1, 64], 10);
        yield return ([1, 256], 64);
        yield return ([1, 1024], 128);
        yield return ([3, 33], 17);
        yield return ([2, 100], 5);
        yield return ([2, 3, 15], 9);
        yield return ([1, 300], 129);
        yield return ([2, 45], 72);
        yield return ([3, 29], 64);
        yield return ([2, 21], 120);
        yield return ([4, 16], 4);
        yield return ([0, 8], 3);
        // Many rows (a sequence through a projection): the broadcast variant's shapes, columns on and off its blocks of 32 and 8.
        yield return ([1, 64, 64], 192);
        yield return ([9, 17], 33);
        yield return ([16, 3], 7);
        // Rows of whole 16-byte groups, which the SDOT broadcast variant reads in place; outputs off its blocks of 16.
        yield return ([10, 32], 20);
        yield return ([1, 16, 128], 70);
    }

    private static KernelCase GemmInt8(Random rng, int[] shapeA, int n, bool converterWeights = false, bool extreme = false)
    {
        var g = new CaseGraph();
        int k = shapeA[^1];
        var qa = Quant(rng);
        var qy = Quant(rng);
        var aValues = Int8Values(rng, ShapeUtil.ElementCount(shapeA));
        var wValues = Int8Values(rng, n * k);
        if (converterWeights) ToConverterRange(wValues);
        if (extreme)
        {
            // The largest products of the converter's range: -128 · -127.
            Array.Fill(aValues, unchecked((byte)sbyte.MinValue));
            Array.Fill(wValues, unchecked((byte)(sbyte)-127));
        }
        int a = g.Input("a", DataType.Int8, shapeA, aValues, qa);
        int w = g.Constant("w", DataType.Int8, [n, k], wValues, null);
        var (attributes, biasBytes, how) = Int8Requantization(rng, n, k);
        var inputs = new List<int> { a, w };
        if (biasBytes != null) inputs.Add(g.Constant("b", DataType.Int32, [n], biasBytes, null));
        var shapeY = (int[])shapeA.Clone();
        shapeY[^1] = n;
        int y = g.Output("y", DataType.Int8, shapeY, qy);
        g.Op(OpType.Gemm, [.. inputs], y, attributes);
        return g.Build($"Gemm int8 [{ShapeUtil.Format(shapeA)}] x [{n}, {k}], za={qa.ZeroPoint} zy={qy.ZeroPoint}, {how}" +
            (converterWeights ? ", weights in [-127, 127]" : "") + (extreme ? ", extreme sums" : ""));
    }

    /// <summary>
    /// MatMul of two run-time tensors: attention's shapes, rank-1 operands, broadcast batches (the right operand shared
    /// or not), inner sizes off every packing group (1, 3, 5, 17, 33) and columns off every vector (1, 7, 9, 17, 33, 65).
    /// </summary>
    private static IEnumerable<(int[] A, int[] B)> MatMulShapes()
    {
        yield return ([4, 64, 16], [4, 16, 64]);
        yield return ([4, 64, 64], [4, 64, 16]);
        yield return ([2, 5, 17], [2, 17, 33]);
        yield return ([3, 7, 33], [33, 9]);
        yield return ([7, 3], [2, 3, 65]);
        yield return ([2, 1, 3, 5], [1, 4, 5, 7]);
        yield return ([9, 1], [1, 100]);
        yield return ([17], [17, 20]);
        yield return ([6, 300], [300]);
        yield return ([1, 40, 48], [1, 48, 1]);
        yield return ([0, 8], [8, 16]);
        yield return ([3, 0], [0, 17]);
        yield return ([2, 2, 64], [2, 64, 128]);
    }

    private static KernelCase MatMulInt8(Random rng, int[] shapeA, int[] shapeB)
    {
        var g = new CaseGraph();
        var qa = Quant(rng);
        var qb = Quant(rng);
        var qy = Quant(rng);
        int k = shapeA[^1];
        int a = g.Input("a", DataType.Int8, shapeA, Int8Values(rng, ShapeUtil.ElementCount(shapeA)), qa);
        int b = g.Input("b", DataType.Int8, shapeB, Int8Values(rng, ShapeUtil.ElementCount(shapeB)), qb);
        int[] ra = shapeA.Length == 1 ? [1, shapeA[0]] : shapeA, rb = shapeB.Length == 1 ? [shapeB[0], 1] : shapeB;
        var shapeY = new List<int>(ShapeUtil.Broadcast(ra[..^2], rb[..^2])!);
        if (shapeA.Length != 1) shapeY.Add(ra[^2]);
        if (shapeB.Length != 1) shapeY.Add(rb[^1]);
        int y = g.Output("y", DataType.Int8, [.. shapeY], qy);
        bool raw = rng.Next(4) == 0;
        // An accumulator of k products of size ~128·128 mapped onto ~±128.
        var (m, shift) = Multiplier(rng, raw, Math.Exp(rng.NextDouble() * 3 - 1.5) / (128.0 * Math.Sqrt(Math.Max(1, k))));
        var attributes = new OpAttributes().Set(AttributeKey.OutputMultiplier, m).Set(AttributeKey.OutputShift, shift);
        string clamp = PoolClamp(rng, attributes);
        g.Op(OpType.MatMul, [a, b], y, attributes);
        return g.Build($"MatMul int8 [{ShapeUtil.Format(shapeA)}] x [{ShapeUtil.Format(shapeB)}], za={qa.ZeroPoint} zb={qb.ZeroPoint} zy={qy.ZeroPoint}, " +
            $"{(raw ? "raw" : "scale")} multiplier{clamp}");
    }
}
