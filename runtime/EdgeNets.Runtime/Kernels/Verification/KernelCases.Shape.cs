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

    /// <summary>
    /// Concats: (input shapes, axis), along every axis of ranks 1 to 4, with blocks below, at and past whole vectors of
    /// 16 and 32, two to four inputs, and an empty one.
    /// </summary>
    private static IEnumerable<(int[][] Inputs, int Axis)> ConcatShapes()
    {
        yield return ([[1, 16, 7, 7], [1, 16, 7, 7]], 1);
        yield return ([[1, 64, 15, 15], [1, 64, 15, 15]], 1);
        yield return ([[1, 3, 5, 5], [1, 1, 5, 5], [1, 4, 5, 5]], 1);
        yield return ([[2, 5, 3, 4], [2, 2, 3, 4]], 1);
        yield return ([[1, 8, 3, 4], [1, 8, 6, 4]], 2);
        yield return ([[1, 2, 9, 17], [1, 2, 9, 1], [1, 2, 9, 33]], 3);
        yield return ([[3, 40], [3, 27]], -1);
        yield return ([[67], [1], [16], [32]], 0);
        yield return ([[2, 10], [3, 10]], 0);
        yield return ([[1, 0, 4], [1, 5, 4]], 1);
        yield return ([[1, 48, 31], [1, 16, 31]], 1);
    }

    /// <summary>
    /// Each input at the output's quantization (the quantizer's shared scale), at another scale and zero point, or with
    /// a raw multiplier and shift.
    /// </summary>
    private static KernelCase ConcatInt8(Random rng, int[][] inputs, int axis)
    {
        var output = (int[])inputs[0].Clone();
        int a = axis < 0 ? axis + output.Length : axis;
        output[a] = inputs.Sum(s => s[a]);
        var g = new CaseGraph();
        var yq = Quant(rng);
        var ids = new int[inputs.Length];
        var multipliers = new int[inputs.Length];
        var shifts = new int[inputs.Length];
        var notes = new List<string>();
        for (int i = 0; i < inputs.Length; i++)
        {
            int mode = rng.Next(3);
            var q = mode == 0 ? yq : Quant(rng);
            (multipliers[i], shifts[i]) = Multiplier(rng, raw: mode == 2, (double)q.Scale / yq.Scale);
            notes.Add(mode switch { 0 => "shared", 1 => "rescaled", _ => "raw" });
            ids[i] = g.Input($"x{i}", DataType.Int8, inputs[i], Int8Values(rng, ShapeUtil.ElementCount(inputs[i])), q);
        }
        int y = g.Output("y", DataType.Int8, output, yq);
        var attributes = new OpAttributes();
        attributes.Set(AttributeKey.Axis, axis);
        attributes.Set(AttributeKey.InputMultiplier, multipliers).Set(AttributeKey.InputShift, shifts);
        g.Op(OpType.Concat, ids, y, attributes);
        return g.Build($"Concat int8 {string.Join(" + ", inputs.Select(s => $"[{ShapeUtil.Format(s)}]"))} axis {axis} ({string.Join(", ", notes)})");
    }
}
