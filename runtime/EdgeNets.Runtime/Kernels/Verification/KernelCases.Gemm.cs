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
}
