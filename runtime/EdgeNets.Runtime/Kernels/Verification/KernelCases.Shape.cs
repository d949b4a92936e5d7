using System.Runtime.InteropServices;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels;

/// <summary>Shape cases (see <see cref="KernelCases"/>).</summary>
public static partial class KernelCases
{
    /// <summary>
    /// Transposes that reduce to each case of the optimized kernel: copies (only size-1 axes move, or none), row gathers,
    /// matrix transposes with and without whole 16 × 16 tiles and with outer axes on either side; the example models'
    /// two; empty tensors; then random shapes and permutations (null: the ONNX default, axes reversed).
    /// </summary>
    private static IEnumerable<(int[] Shape, int[]? Perm)> TransposeShapes(Random rng)
    {
        yield return ([1, 32, 120], [2, 0, 1]);
        yield return ([120, 1, 48], [1, 0, 2]);
        yield return ([7], [0]);
        yield return ([16, 16], [1, 0]);
        yield return ([33, 47], null);
        yield return ([64, 48], [1, 0]);
        yield return ([3, 20, 37], [0, 2, 1]);
        yield return ([20, 3, 37], [1, 0, 2]);
        yield return ([2, 3, 4, 5], [3, 1, 0, 2]);
        yield return ([5, 16, 17], [2, 1, 0]);
        yield return ([1, 6, 1, 128], [0, 3, 2, 1]);
        yield return ([2, 17, 1, 18, 3], [4, 2, 0, 3, 1]);
        yield return ([1, 1, 1], [2, 0, 1]);
        yield return ([0, 4], [1, 0]);
        yield return ([4, 0, 3], [2, 1, 0]);
        yield return ([2, 31, 3, 18], [0, 3, 2, 1]);
        yield return ([4, 5, 6], [1, 2, 0]);
        yield return ([4, 5, 6], [2, 0, 1]);
        for (int i = 0; i < 12; i++)
        {
            int rank = rng.Next(2, 6);
            var shape = new int[rank];
            for (int d = 0; d < rank; d++) shape[d] = rng.Next(4) == 0 ? 1 : rng.Next(2, 40 / rank + 20);
            yield return (shape, Enumerable.Range(0, rank).OrderBy(_ => rng.Next()).ToArray());
        }
    }

    private static KernelCase TransposeInt8(Random rng, int[] input, int[]? perm)
    {
        int rank = input.Length;
        var axes = perm ?? Enumerable.Range(0, rank).Reverse().ToArray();
        var output = axes.Select(a => input[a]).ToArray();
        var attributes = new OpAttributes();
        if (perm != null) attributes.Set(AttributeKey.Perm, perm);
        var g = new CaseGraph();
        var q = Quant(rng);
        int x = g.Input("x", DataType.Int8, input, Int8Values(rng, ShapeUtil.ElementCount(input)), q);
        int y = g.Output("y", DataType.Int8, output, q);
        g.Op(OpType.Transpose, [x], y, attributes);
        return g.Build($"Transpose int8 [{ShapeUtil.Format(input)}] perm [{(perm == null ? "default" : ShapeUtil.Format(perm))}]");
    }
}
