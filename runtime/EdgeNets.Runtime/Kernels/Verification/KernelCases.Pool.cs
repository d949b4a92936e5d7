using System.Runtime.InteropServices;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels;

/// <summary>Pool cases (see <see cref="KernelCases"/>).</summary>
public static partial class KernelCases
{
    /// <summary>A windowed pool: input [N, C, H, W] (H = 0 for NCW), kernel, stride, pads (top, left, bottom, right), dilation, ceil_mode.</summary>
    private readonly record struct PoolGeometry(int[] Input, int KernelH, int KernelW, int Stride, int[] Pads, int Dilation = 1, bool Ceil = false);

    private static IEnumerable<PoolGeometry> PoolShapes()
    {
        // The common shapes at widths that reach every vector tail, then the odd ones.
        foreach (int w in new[] { 2, 7, 16, 31, 32, 33, 64, 65, 67, 96 })
        {
            yield return new([1, 3, 4, w], 2, 2, 2, [0, 0, 0, 0]);
            yield return new([1, 2, 5, w], 3, 3, 2, [1, 1, 1, 1]);
            yield return new([1, 2, 3, w], 3, 3, 1, [1, 1, 1, 1]);
        }
        yield return new([2, 5, 6, 8], 2, 2, 2, [0, 0, 0, 0]);   // 2x2 windows tiling whole planes, runs crossing rows
        yield return new([1, 7, 2, 24], 2, 2, 2, [0, 0, 0, 0]);
        yield return new([1, 64, 8, 8], 2, 2, 2, [0, 0, 0, 0]);
        yield return new([2, 5, 9, 9], 2, 2, 2, [0, 0, 0, 0], Ceil: true);
        yield return new([1, 3, 11, 70], 3, 3, 2, [0, 0, 1, 1], Ceil: true);
        // SqueezeNet's 3x3/2 ceil_mode pools: rows and output rows shorter than, and not a multiple of, a vector.
        yield return new([1, 3, 63, 63], 3, 3, 2, [0, 0, 0, 0], Ceil: true);
        yield return new([1, 4, 31, 31], 3, 3, 2, [0, 0, 0, 0], Ceil: true);
        yield return new([1, 5, 15, 15], 3, 3, 2, [0, 0, 0, 0], Ceil: true);
        yield return new([1, 3, 10, 12], 3, 3, 2, [1, 1, 1, 1]);
        yield return new([1, 2, 9, 40], 4, 4, 2, [1, 1, 2, 2], Ceil: true);
        yield return new([1, 4, 7, 40], 3, 2, 3, [1, 0, 1, 1]);
        yield return new([1, 2, 9, 50], 3, 3, 1, [2, 2, 2, 2], Dilation: 2);
        yield return new([1, 2, 9, 50], 3, 3, 2, [2, 2, 2, 2], Dilation: 2);
        yield return new([1, 3, 6, 6], 1, 1, 1, [0, 0, 0, 0]);
        yield return new([1, 16, 12, 12], 5, 5, 1, [2, 2, 2, 2]);
        yield return new([1, 3, 0, 77], 1, 3, 2, [0, 1, 0, 1]);   // NCW
        yield return new([1, 5, 0, 130], 1, 4, 1, [0, 0, 0, 3]);  // NCW
    }

    private static KernelCase WindowPoolInt8(Random rng, PoolGeometry p, bool average = false, bool includePad = false)
    {
        bool ncw = p.Input[2] == 0;
        int[] input = ncw ? [p.Input[0], p.Input[1], p.Input[3]] : p.Input;
        int Out(int size, int k, int padBegin, int padEnd)
        {
            int room = size + padBegin + padEnd - ((k - 1) * p.Dilation + 1);
            int n = (p.Ceil ? (room + p.Stride - 1) : room) / p.Stride + 1;
            if (p.Ceil && (n - 1) * p.Stride >= size + padBegin) n--;
            return n;
        }
        int outW = Out(p.Input[3], p.KernelW, p.Pads[1], p.Pads[3]);
        int[] output = ncw ? [input[0], input[1], outW] : [input[0], input[1], Out(p.Input[2], p.KernelH, p.Pads[0], p.Pads[2]), outW];
        var attributes = new OpAttributes();
        attributes.Set(AttributeKey.KernelShape, ncw ? [p.KernelW] : new[] { p.KernelH, p.KernelW });
        attributes.Set(AttributeKey.Strides, ncw ? [p.Stride] : new[] { p.Stride, p.Stride });
        attributes.Set(AttributeKey.Pads, ncw ? [p.Pads[1], p.Pads[3]] : p.Pads);
        attributes.Set(AttributeKey.Dilations, ncw ? [p.Dilation] : new[] { p.Dilation, p.Dilation });
        string clamp = PoolClamp(rng, attributes);
        var g = new CaseGraph();
        var q = Quant(rng);
        int x = g.Input("x", DataType.Int8, input, Int8Values(rng, ShapeUtil.ElementCount(input)), q);
        int y = g.Output("y", DataType.Int8, output, q);
        if (average)
        {
            attributes.Remove(AttributeKey.Dilations);
            attributes.Set(AttributeKey.CountIncludePad, includePad ? 1 : 0);
        }
        var type = average ? OpType.AveragePool : OpType.MaxPool;
        g.Op(type, [x], y, attributes);
        return g.Build($"{type} int8 [{ShapeUtil.Format(input)}] -> [{ShapeUtil.Format(output)}], kernel {p.KernelH}x{p.KernelW} stride {p.Stride} pads [{ShapeUtil.Format(p.Pads)}] " +
            (average ? $"{(includePad ? "counting" : "not counting")} the padding, zp={q.ZeroPoint}" : $"dilation {p.Dilation}") + clamp);
    }

    private static IEnumerable<int[]> GlobalPoolShapes()
    {
        foreach (int n in new[] { 1, 5, 15, 16, 17, 31, 32, 33, 49, 64, 100, 1000 }) yield return [1, 3, n];
        yield return [2, 7, 7, 7];
        yield return [1, 16, 1, 1];
        yield return [1, 8, 12, 12];
        yield return [1, 2, 3, 4, 5];
        yield return [1, 64, 7, 7];
        yield return [1, 48, 33];
    }

    private static KernelCase GlobalPoolInt8(Random rng, OpType op, int[] input)
    {
        var output = new int[input.Length];
        output[0] = input[0];
        output[1] = input[1];
        for (int d = 2; d < output.Length; d++) output[d] = 1;
        var attributes = new OpAttributes();
        string clamp = PoolClamp(rng, attributes);
        var g = new CaseGraph();
        var q = Quant(rng);
        int x = g.Input("x", DataType.Int8, input, Int8Values(rng, ShapeUtil.ElementCount(input)), q);
        int y = g.Output("y", DataType.Int8, output, q);
        g.Op(op, [x], y, attributes);
        return g.Build($"{op} int8 [{ShapeUtil.Format(input)}]{clamp}");
    }
}
