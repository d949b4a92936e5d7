using System.Runtime.InteropServices;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels;

/// <summary>Elementwise cases (see <see cref="KernelCases"/>).</summary>
public static partial class KernelCases
{
    private static IEnumerable<int[]> UnaryShapes()
    {
        for (int n = 0; n <= 67; n++) yield return [n];
        yield return [1, 3, 5, 7];
        yield return [2, 16, 9];
        yield return [1, 8, 8, 33];
    }

    private static IEnumerable<(int[] A, int[] B)> BinaryShapes()
    {
        for (int n = 0; n <= 67; n++) yield return ([n], [n]);
        yield return ([2, 3, 50], [2, 3, 50]);          // several 64-element blocks, then every shorter loop
        foreach (int n in new[] { 1, 3, 15, 16, 31, 33, 67, 100 })
        {
            yield return ([n], [1]);        // scalar B
            yield return ([1], [n]);        // scalar A
        }
        foreach (var (c, h, w) in new[] { (3, 5, 7), (5, 1, 1), (7, 4, 4), (1, 9, 9), (11, 2, 9), (17, 1, 33) })
        {
            yield return ([1, c, h, w], [1, c, 1, 1]);   // per-channel, channels first
            yield return ([1, c, 1, 1], [2, c, h, w]);
            yield return ([1, h, w, c], [c]);            // per-channel, channels last
            yield return ([c], [2, h, w, c]);
        }
        yield return ([3, 1, 21], [1, 4, 1]);            // both operands broadcast
        yield return ([2, 3, 1, 17], [3, 20, 1]);
        yield return ([5, 1], [1, 67]);
        yield return ([1], [1]);
        yield return ([0, 4], [1, 4]);
        // Large enough to be split across threads: one row split inside it, per-channel rows split between and inside rows.
        yield return ([1, 16, 33, 33], [1, 16, 33, 33]);
        yield return ([1, 16, 33, 33], [1, 16, 1, 1]);
        yield return ([1, 9, 47, 47], [47]);
        // Short per-channel rows walked as blocks of rows (squeeze-excite on small maps): several blocks, rows across a block's end.
        yield return ([1, 150, 3, 3], [1, 150, 1, 1]);
        yield return ([1, 70, 1, 1], [1, 70, 5, 7]);
        yield return ([1, 600, 6, 6], [1, 600, 1, 1]);
        // Rows long enough to be looked up in a table of the row's function: with a tail, the splatted operand either side.
        yield return ([1, 3, 20, 30], [1, 3, 1, 1]);
        yield return ([700], [1]);
        yield return ([1], [700]);
    }

    private static KernelCase BinaryInt8(Random rng, OpType op, int[] shapeA, int[] shapeB)
    {
        var g = new CaseGraph();
        var shapeY = ShapeUtil.Broadcast(shapeA, shapeB)!;
        var qa = Quant(rng);
        var qb = Quant(rng);
        var qy = Quant(rng);
        bool constantB = rng.Next(4) == 0;
        int a = g.Input("a", DataType.Int8, shapeA, Int8Values(rng, ShapeUtil.ElementCount(shapeA)), qa);
        int b = constantB
            ? g.Constant("b", DataType.Int8, shapeB, Int8Values(rng, ShapeUtil.ElementCount(shapeB)), qb)
            : g.Input("b", DataType.Int8, shapeB, Int8Values(rng, ShapeUtil.ElementCount(shapeB)), qb);
        int y = g.Output("y", DataType.Int8, shapeY, qy);

        var attributes = new OpAttributes();
        // Multipliers derived from the scales as a converter would; in "raw" cases the multipliers are replaced by
        // values over their whole range (both ends, exact powers of two whose products land on rounding ties) and the
        // shifts jittered around the derived ones, or anywhere in [-31, 30], so every branch of the rescale is reached
        // while many outputs still fall inside the int8 range.
        bool raw = rng.Next(3) == 0;
        string how = raw ? "raw multipliers" : "scale multipliers";
        if (op == OpType.Add) AddRequantization(rng, raw, qa, qb, qy, attributes);
        else
        {
            var (my, sy) = Multiplier(rng, raw, (double)qa.Scale * qb.Scale / qy.Scale);
            attributes.Set(AttributeKey.OutputMultiplier, my);
            attributes.Set(AttributeKey.OutputShift, sy);
        }
        BinaryClamp(rng, qy, attributes);
        g.Op(op, [a, b], y, attributes);
        return g.Build($"{op} int8 [{ShapeUtil.Format(shapeA)}] x [{ShapeUtil.Format(shapeB)}]{(constantB ? " (B constant)" : "")}, " +
            $"za={qa.ZeroPoint} zb={qb.ZeroPoint} zy={qy.ZeroPoint}, {how}");
    }

    /// <summary>An int8 Add's multipliers and shifts for these scales, as a converter derives them or (raw) over their whole range.</summary>
    private static void AddRequantization(Random rng, bool raw, QuantizationInfo qa, QuantizationInfo qb, QuantizationInfo qy, OpAttributes attributes)
    {
        int leftShift = raw ? rng.Next(0, 23) : 20;
        double twiceMax = 2.0 * Math.Max(qa.Scale, qb.Scale);
        var (ma, sa) = Multiplier(rng, raw, qa.Scale / twiceMax);
        var (mb, sb) = Multiplier(rng, raw, qb.Scale / twiceMax);
        var (my, sy) = Multiplier(rng, raw, twiceMax / ((1 << leftShift) * (double)qy.Scale));
        attributes.Set(AttributeKey.LeftShift, leftShift);
        attributes.Set(AttributeKey.InputMultiplier, ma, mb);
        attributes.Set(AttributeKey.InputShift, sa, sb);
        attributes.Set(AttributeKey.OutputMultiplier, my);
        attributes.Set(AttributeKey.OutputShift, sy);
    }

    /// <summary>A binary op's output clamp: none, a fused Relu's, or a random range.</summary>
    private static void BinaryClamp(Random rng, QuantizationInfo qy, OpAttributes attributes)
    {
        switch (rng.Next(4))
        {
            case 0: attributes.Set(AttributeKey.QuantizedMin, qy.ZeroPoint); break;   // fused Relu
            case 1:
                int lo = rng.Next(-128, 128), hi = rng.Next(lo, 128);
                attributes.Set(AttributeKey.QuantizedMin, lo);
                attributes.Set(AttributeKey.QuantizedMax, hi);
                break;
        }
    }

    /// <summary>
    /// Multipliers of exactly 2^30 (a real 0.5), small shifts and small values: half the products land exactly on a
    /// rounding tie of the fixed-point rescale and the outputs stay inside int8, so any rounding difference shows.
    /// </summary>
    private static KernelCase RoundingTies(Random rng, OpType op, int n, int shift)
    {
        var g = new CaseGraph();
        var q = QuantizationInfo.PerTensor(0.5f, 0);
        var values = new byte[n];
        for (int i = 0; i < n; i++) values[i] = (byte)(sbyte)rng.Next(-15, 16);
        var other = new byte[n];
        for (int i = 0; i < n; i++) other[i] = (byte)(sbyte)rng.Next(-15, 16);
        int a = g.Input("a", DataType.Int8, [n], values, q);
        int b = g.Input("b", DataType.Int8, [n], other, q);
        int y = g.Output("y", DataType.Int8, [n], q);
        var attributes = new OpAttributes()
            .Set(AttributeKey.OutputMultiplier, 1 << 30)
            .Set(AttributeKey.OutputShift, shift);
        if (op == OpType.Add)
        {
            attributes.Set(AttributeKey.LeftShift, 0);
            attributes.Set(AttributeKey.InputMultiplier, 1 << 30, 1 << 30);
            attributes.Set(AttributeKey.InputShift, shift, 0);
        }
        g.Op(op, [a, b], y, attributes);
        return g.Build($"{op} int8 [{n}] x [{n}], rounding ties (multipliers 2^30, shift {shift})");
    }

    private static KernelCase BinaryFloat(Random rng, OpType op, int[] shapeA, int[] shapeB)
    {
        var g = new CaseGraph();
        var shapeY = ShapeUtil.Broadcast(shapeA, shapeB)!;
        bool constantB = rng.Next(4) == 0;
        int a = g.Input("a", DataType.Float32, shapeA, FloatValues(rng, ShapeUtil.ElementCount(shapeA)));
        int b = constantB
            ? g.Constant("b", DataType.Float32, shapeB, FloatValues(rng, ShapeUtil.ElementCount(shapeB)))
            : g.Input("b", DataType.Float32, shapeB, FloatValues(rng, ShapeUtil.ElementCount(shapeB)));
        int y = g.Output("y", DataType.Float32, shapeY);
        var attributes = FloatClamp(rng, out string clamp);
        g.Op(op, [a, b], y, attributes);
        return g.Build($"{op} float32 [{ShapeUtil.Format(shapeA)}] x [{ShapeUtil.Format(shapeB)}]{(constantB ? " (B constant)" : "")}{clamp}");
    }

    private static KernelCase UnaryFloat(Random rng, OpType op, int[] shape)
    {
        var g = new CaseGraph();
        int x = g.Input("x", DataType.Float32, shape, FloatValues(rng, ShapeUtil.ElementCount(shape)));
        int y = g.Output("y", DataType.Float32, shape);
        string clamp = "";
        var attributes = op == OpType.Clip ? FloatClamp(rng, out clamp) : new OpAttributes();
        g.Op(op, [x], y, attributes);
        return g.Build($"{op} float32 [{ShapeUtil.Format(shape)}]{clamp}");
    }

    private static KernelCase LookupTable(Random rng, int[] shape, int channelAxis)
    {
        var g = new CaseGraph();
        var q = Quant(rng);
        int x = g.Input("x", DataType.Int8, shape, Int8Values(rng, ShapeUtil.ElementCount(shape)), q);
        int channels = channelAxis == -1 ? 1 : shape[channelAxis < 0 ? channelAxis + shape.Length : channelAxis];
        var table = new byte[channels * 256];
        rng.NextBytes(table);
        int t = g.Constant("table", DataType.Int8, channelAxis == -1 ? [256] : [channels, 256], table, null);
        int y = g.Output("y", DataType.Int8, shape, Quant(rng));
        var attributes = new OpAttributes();
        if (channelAxis != -1) attributes.Set(AttributeKey.Axis, channelAxis);
        g.Op(OpType.LookupTable, [x, t], y, attributes);
        return g.Build($"LookupTable int8 [{ShapeUtil.Format(shape)}]" + (channelAxis == -1 ? "" : $", {channels} tables along axis {channelAxis}"));
    }
}
