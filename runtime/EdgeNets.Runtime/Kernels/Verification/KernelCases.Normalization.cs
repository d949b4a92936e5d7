using System.Runtime.InteropServices;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels;

/// <summary>LayerNorm and Softmax cases (see <see cref="KernelCases"/>).</summary>
public static partial class KernelCases
{
    /// <summary>Rows of every length up to 67 and attention's, normalized over one or two trailing axes.</summary>
    private static IEnumerable<(int[] Shape, int Axis)> LayerNormShapes()
    {
        for (int n = 1; n <= 67; n += n < 12 ? 1 : 9) yield return ([3, n], -1);
        yield return ([1, 64, 64], -1);
        // Powers of two, whose variance the vector variants take from exact integer sums, up to the longest they do.
        yield return ([2, 16], -1);
        yield return ([2, 2, 16], 1);
        yield return ([2, 128], -1);
        yield return ([2, 4096], -1);
        yield return ([1, 8192], -1);
        yield return ([2, 5, 7], 1);
        yield return ([4, 3, 11], -2);
        yield return ([0, 9], 1);
        yield return ([40], 0);
    }

    private static KernelCase LayerNormInt8(Random rng, int[] shape, int axis)
    {
        var g = new CaseGraph();
        int positive = axis < 0 ? axis + shape.Length : axis;
        int length = ShapeUtil.ElementCount(shape.AsSpan(positive));
        int x = g.Input("x", DataType.Int8, shape, Int8Values(rng, ShapeUtil.ElementCount(shape)), Quant(rng));
        var inputs = new List<int> { x, g.Constant("scale", DataType.Float32, [length], FiniteFloats(rng, length)) };
        bool bias = rng.Next(3) != 0;
        if (bias) inputs.Add(g.Constant("b", DataType.Float32, [length], FiniteFloats(rng, length)));
        // ε = 0 on a constant row (the all -128 inputs) divides 0 by 0: NaN, which gives the zero point.
        float epsilon = rng.Next(3) switch { 0 => 0f, 1 => 1e-5f, _ => 0.01f };
        var qy = Quant(rng);
        int y = g.Output("y", DataType.Int8, shape, qy);
        g.Op(OpType.LayerNorm, [.. inputs], y, new OpAttributes().Set(AttributeKey.Axis, axis).Set(AttributeKey.Alpha, epsilon));
        return g.Build($"LayerNorm int8 [{ShapeUtil.Format(shape)}] axis {axis}, ε {epsilon}, {(bias ? "bias" : "no bias")}, zy={qy.ZeroPoint}");
    }

    /// <summary>Slices of every length up to 67 and attention's, along the last axis and others (which the vector variants decline).</summary>
    private static IEnumerable<(int[] Shape, int Axis)> SoftmaxShapes()
    {
        for (int n = 1; n <= 67; n += n < 20 ? 1 : 8) yield return ([2, n], -1);
        yield return ([4, 64, 64], -1);
        yield return ([3, 5, 17], 1);
        yield return ([0, 8], -1);
        yield return ([300], 0);
    }

    /// <summary>The converter's table for a random input scale; or one with zeros, infinities and NaN, whose sums and quotients reach every special value.</summary>
    private static KernelCase SoftmaxInt8(Random rng, int[] shape, int axis, bool specialTable)
    {
        var g = new CaseGraph();
        var qx = Quant(rng);
        int x = g.Input("x", DataType.Int8, shape, Int8Values(rng, ShapeUtil.ElementCount(shape)), qx);
        var table = LookupTables.BuildSoftmaxExpTable(qx.Scale);
        if (specialTable)
            for (int i = 0; i < table.Length; i++)
                table[i] = rng.Next(4) switch { 0 => 0f, 1 => FloatSpecials[rng.Next(FloatSpecials.Length)], _ => table[i] };
        int t = g.Constant("exp_table", DataType.Float32, [256], MemoryMarshal.AsBytes(table.AsSpan()).ToArray());
        var qy = rng.Next(3) == 0 ? Quant(rng) : QuantizationInfo.PerTensor(1f / 256, -128);
        int y = g.Output("y", DataType.Int8, shape, qy);
        g.Op(OpType.Softmax, [x, t], y, new OpAttributes().Set(AttributeKey.Axis, axis));
        return g.Build($"Softmax int8 [{ShapeUtil.Format(shape)}] axis {axis}, sx={qx.Scale}, sy={qy.Scale} zy={qy.ZeroPoint}{(specialTable ? ", table with specials" : "")}");
    }
}
