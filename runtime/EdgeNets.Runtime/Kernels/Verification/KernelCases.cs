using System.Runtime.InteropServices;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels;

/// <summary>One operator on fixed random data: a one-op graph whose activation inputs have the given bytes.</summary>
public sealed class KernelCase
{
    internal KernelCase(string description, ModelGraph graph, IReadOnlyList<(int Tensor, byte[] Bytes)> inputs)
    {
        Description = description;
        Graph = graph;
        Inputs = inputs;
    }

    public string Description { get; }
    public ModelGraph Graph { get; }
    public OpInfo Op => Graph.Ops[0];
    public IReadOnlyList<(int Tensor, byte[] Bytes)> Inputs { get; }
    public override string ToString() => Description;
}

/// <summary>
/// Seeded random operator cases for comparing kernel variants with the reference: length sweeps 0..67 to hit every
/// vector tail, odd channel counts, scalar and per-channel broadcasts in both operand orders, int8 extremes (-128/127
/// values, zero points at both ends, narrowed output clamps, raw multipliers and shifts over their whole accepted range)
/// and float specials (NaN, infinities, signed zeros, subnormals). Shared by the tests and <see cref="KernelSelfTest"/>.
/// </summary>
public static class KernelCases
{
    /// <summary>Whether cases exist for this operator and element type.</summary>
    public static bool Covers(OpType op, DataType type) => (op, type) switch
    {
        (OpType.Add or OpType.Mul, DataType.Int8 or DataType.Float32) => true,
        (OpType.Relu or OpType.Clip, DataType.Float32) => true,
        (OpType.LookupTable, DataType.Int8) => true,
        (OpType.Conv or OpType.Gemm, DataType.Int8 or DataType.Float32) => true,
        (OpType.MaxPool or OpType.AveragePool or OpType.GlobalAveragePool or OpType.GlobalMaxPool, DataType.Int8) => true,
        (OpType.Lstm or OpType.Gru or OpType.Rnn, DataType.Int8 or DataType.Float32) => true,
        (OpType.Transpose, DataType.Int8) => true,
        _ => false,
    };

    /// <summary>The cases for (<paramref name="op"/>, <paramref name="type"/>); the same seed always gives the same cases.</summary>
    public static IReadOnlyList<KernelCase> For(OpType op, DataType type, int seed = 20240611)
    {
        var rng = new Random(seed ^ ((int)op * 7919) ^ ((int)type * 104729));
        var cases = new List<KernelCase>();
        switch (op, type)
        {
            case (OpType.Add or OpType.Mul, DataType.Int8):
                foreach (var (a, b) in BinaryShapes()) cases.Add(BinaryInt8(rng, op, a, b));
                for (int shift = 0; shift >= -2; shift--)
                    foreach (int n in new[] { 37, 67 }) cases.Add(RoundingTies(rng, op, n, shift));
                break;
            case (OpType.Add or OpType.Mul, DataType.Float32):
                foreach (var (a, b) in BinaryShapes()) cases.Add(BinaryFloat(rng, op, a, b));
                break;
            case (OpType.Relu or OpType.Clip, DataType.Float32):
                foreach (var shape in UnaryShapes()) cases.Add(UnaryFloat(rng, op, shape));
                break;
            case (OpType.LookupTable, DataType.Int8):
                foreach (var shape in UnaryShapes()) cases.Add(LookupTable(rng, shape, channelAxis: -1));
                foreach (var (shape, axis) in new (int[], int)[] { ([1, 3, 5, 7], 1), ([2, 5, 17], -2), ([1, 4, 4, 7], 3), ([9, 33], 0), ([1, 1, 40], 1), ([3, 0, 2], 0) })
                    cases.Add(LookupTable(rng, shape, axis));
                break;
            case (OpType.Conv, DataType.Int8):
                foreach (var shape in ConvShapes()) cases.Add(ConvInt8(rng, shape));
                foreach (var shape in ConverterWeightConvShapes()) cases.Add(ConvInt8(rng, shape));
                break;
            case (OpType.Gemm, DataType.Int8):
                foreach (var (a, n) in GemmShapes()) cases.Add(GemmInt8(rng, a, n));
                // Weights in the converter's range [-127, 127] (the other cases almost all hold a -128), which the
                // AdvSimd kernels multiply two products to an int16 lane for; the last at the largest such sums.
                foreach (var (a, n, extreme) in new (int[], int, bool)[] { ([1, 256], 64, false), ([3, 33], 17, false), ([2, 100], 5, false), ([1, 300], 7, true) })
                    cases.Add(GemmInt8(rng, a, n, converterWeights: true, extreme));
                break;
            case (OpType.Conv, DataType.Float32):
                foreach (var shape in ConvShapes()) cases.Add(ConvFloat(rng, shape));
                break;
            case (OpType.Gemm, DataType.Float32):
                foreach (var (a, n) in GemmShapes()) cases.Add(GemmFloat(rng, a, n));
                foreach (var (a, n) in new (int[], int)[] { ([1, 40], 33), ([2, 17], 16), ([5, 9], 1) }) cases.Add(GemmFloat(rng, a, n));
                break;
            case (OpType.MaxPool, DataType.Int8):
                foreach (var p in PoolShapes()) cases.Add(WindowPoolInt8(rng, p));
                break;
            case (OpType.AveragePool, DataType.Int8):
                // AveragePool has no dilation; each geometry with and without counting the padding.
                foreach (var p in PoolShapes().Where(p => p.Dilation == 1).Concat([
                             new([1, 16, 8, 8], 8, 8, 8, [0, 0, 0, 0]), new([1, 5, 14, 14], 7, 7, 1, [3, 3, 3, 3]), new([1, 3, 0, 200], 1, 9, 3, [0, 4, 0, 4])]))
                    foreach (bool includePad in new[] { false, true }) cases.Add(WindowPoolInt8(rng, p, average: true, includePad));
                break;
            case (OpType.GlobalAveragePool or OpType.GlobalMaxPool, DataType.Int8):
                foreach (var shape in GlobalPoolShapes()) cases.Add(GlobalPoolInt8(rng, op, shape));
                break;
            case (OpType.Lstm or OpType.Gru or OpType.Rnn, DataType.Int8 or DataType.Float32):
                foreach (var shape in RecurrentShapes())
                    for (int variation = 0; variation < 2; variation++) cases.Add(Recurrent(rng, op, type == DataType.Int8, shape));
                if (op != OpType.Rnn)
                {
                    // The optimized kernels' own step for the default activations (GRU: linear_before_reset = 1; LSTM:
                    // no peepholes), with and without clip, on hidden sizes that are and are not whole vectors.
                    foreach (var shape in new RecurrentGeometry[] { new(9, 1, 32, 48, 0, 0), new(5, 2, 6, 13, 2, 1) })
                        foreach (bool clip in new[] { false, true })
                            cases.Add(Recurrent(rng, op, type == DataType.Int8, shape, new RecurrentOverrides(DefaultStep: true, Clip: clip)));
                }
                if (type == DataType.Int8)
                {
                    // Weights in [-127, 127] as the converter writes them (the drawn cases often hold -128): the arm64
                    // row products' two-products-per-int16 path. Columns on and off 16-column chunks, hidden sizes
                    // whose chunks reach past the padded state, several batch rows and directions.
                    foreach (var shape in new RecurrentGeometry[] { new(5, 1, 6, 32, 0, 0), new(4, 2, 17, 20, 2, 0), new(3, 1, 64, 64, 0, 0),
                                 new(6, 3, 33, 8, 1, 1), new(3, 1, 40, 33, 0, 0), new(2, 2, 16, 1, 2, 1) })
                    {
                        cases.Add(Recurrent(rng, op, quantized: true, shape, new RecurrentOverrides(DefaultStep: false, Clip: false, SymmetricWeights: true)));
                        if (op != OpType.Rnn)
                            cases.Add(Recurrent(rng, op, quantized: true, shape, new RecurrentOverrides(DefaultStep: true, Clip: false, SymmetricWeights: true)));
                    }
                }
                break;
            case (OpType.Transpose, DataType.Int8):
                foreach (var (shape, perm) in TransposeShapes(rng)) cases.Add(TransposeInt8(rng, shape, perm));
                break;
        }
        return cases;
    }

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
        if (op == OpType.Add)
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
        else
        {
            var (my, sy) = Multiplier(rng, raw, (double)qa.Scale * qb.Scale / qy.Scale);
            attributes.Set(AttributeKey.OutputMultiplier, my);
            attributes.Set(AttributeKey.OutputShift, sy);
        }
        switch (rng.Next(4))
        {
            case 0: attributes.Set(AttributeKey.QuantizedMin, qy.ZeroPoint); break;   // fused Relu
            case 1:
                int lo = rng.Next(-128, 128), hi = rng.Next(lo, 128);
                attributes.Set(AttributeKey.QuantizedMin, lo);
                attributes.Set(AttributeKey.QuantizedMax, hi);
                break;
        }
        g.Op(op, [a, b], y, attributes);
        return g.Build($"{op} int8 [{ShapeUtil.Format(shapeA)}] x [{ShapeUtil.Format(shapeB)}]{(constantB ? " (B constant)" : "")}, " +
            $"za={qa.ZeroPoint} zb={qb.ZeroPoint} zy={qy.ZeroPoint}, {how}");
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

    /// <summary>A single int8 Conv case with random data (for benchmarks): input [N, C, H, W], M filters, square kernel, same padding.</summary>
    public static KernelCase Conv2dInt8(int[] input, int outChannels, int kernel, int stride = 1, int seed = 1, int group = 1)
    {
        int pad = kernel / 2;
        return ConvInt8(new Random(seed), new ConvGeometry(input, outChannels, [kernel, kernel], [stride, stride], [pad, pad, pad, pad], [1, 1], group));
    }

    /// <summary>A single int8 Gemm case with random data (for benchmarks): A [rows, K], W [N, K].</summary>
    public static KernelCase GemmInt8(int rows, int k, int n, int seed = 1) => GemmInt8(new Random(seed), [rows, k], n);

    /// <summary>One Conv geometry: input [N, C, (H,) W], M output channels, kernel, strides, ONNX pads, dilations, group.
    /// Extreme: int8 data at the corner that gives the largest sums (input 127 with zero point -128, weights -128).
    /// ConverterWeights: weights in [-127, 127], the converter's range (with Extreme: input -128, weights -127, the
    /// largest products of that range).</summary>
    private readonly record struct ConvGeometry(int[] Input, int M, int[] Kernel, int[] Strides, int[] Pads, int[] Dilations, int Group = 1, bool Extreme = false,
        bool ConverterWeights = false)
    {
        public int[] OutputShape()
        {
            int spatial = Input.Length - 2;
            var output = new int[Input.Length];
            output[0] = Input[0];
            output[1] = M;
            for (int a = 0; a < spatial; a++)
            {
                int extent = (Kernel[a] - 1) * Dilations[a] + 1;
                output[2 + a] = (Input[2 + a] + Pads[a] + Pads[spatial + a] - extent) / Strides[a] + 1;
            }
            return output;
        }

        public void SetAttributes(OpAttributes attributes)
        {
            attributes.Set(AttributeKey.KernelShape, Kernel);
            attributes.Set(AttributeKey.Strides, Strides);
            attributes.Set(AttributeKey.Pads, Pads);
            attributes.Set(AttributeKey.Dilations, Dilations);
            if (Group != 1) attributes.Set(AttributeKey.Group, Group);
        }

        public string Describe() =>
            $"[{ShapeUtil.Format(Input)}] -> [{ShapeUtil.Format(OutputShape())}], kernel [{ShapeUtil.Format(Kernel)}], strides [{ShapeUtil.Format(Strides)}], " +
            $"pads [{ShapeUtil.Format(Pads)}], dilations [{ShapeUtil.Format(Dilations)}], group {Group}";
    }

    private static IEnumerable<ConvGeometry> ConvShapes()
    {
        // 1x1: odd channels, pixel tails, a 128-channel layer.
        yield return new([1, 5, 7, 9], 7, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 16, 4, 4], 32, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 33, 3, 5], 17, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 128, 5, 5], 128, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 8, 9, 9], 6, [1, 1], [2, 2], [0, 0, 0, 0], [1, 1]);
        // 3x3 same padding, like the gesture model's layers.
        yield return new([1, 3, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 16, 9, 11], 13, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 32, 8, 8], 64, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 1, 5, 5], 1, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 64, 6, 6], 20, [3, 3], [1, 1], [0, 0, 0, 0], [1, 1]);
        // 3x3 stride 1 for the Winograd kernels: 1x1 and 3x5 maps, odd sizes (partial edge tiles), tile rows that are
        // not a multiple of the 8-tile input transform, channel counts 1, 3, 5, 16, 33, asymmetric and wide pads, a batch.
        yield return new([1, 1, 1, 1], 3, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 3, 3, 5], 5, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 5, 7, 9], 6, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 33, 9, 7], 9, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 9, 7, 9], 5, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 8, 12, 13], 11, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([2, 16, 5, 18], 17, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 4, 7, 6], 5, [3, 3], [1, 1], [0, 1, 2, 0], [1, 1]);
        yield return new([1, 2, 4, 4], 4, [3, 3], [1, 1], [2, 2, 2, 2], [1, 1]);
        yield return new([1, 3, 37, 35], 8, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        // The largest sums: x − zx = 255 against weights of -128 everywhere, at the Winograd kernels' channel limit
        // (interior pixels sum all 9 taps; 16 tiles, so the registry's Winograd variants take it and the self-test
        // checks it on every CPU).
        yield return new([1, 1827, 8, 8], 2, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], Extreme: true);
        // Stride 2, dilation, asymmetric pads, kernels larger than the input, batches.
        yield return new([1, 7, 9, 10], 6, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 4, 11, 9], 5, [3, 3], [1, 1], [2, 2, 2, 2], [2, 2]);
        yield return new([1, 6, 10, 13], 9, [3, 2], [2, 1], [0, 1, 2, 0], [1, 3]);
        yield return new([1, 5, 12, 7], 11, [5, 3], [1, 2], [2, 1, 2, 1], [1, 1]);
        yield return new([1, 3, 1, 1], 4, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 2, 2, 3], 3, [3, 3], [1, 1], [3, 0, 1, 2], [1, 1]);
        yield return new([2, 9, 6, 5], 10, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([3, 4, 5, 5], 3, [2, 2], [2, 2], [0, 0, 1, 1], [1, 1]);
        // Rows longer than the 16- and 32-pixel im2col vectors with tails, stride 1 and 2.
        yield return new([1, 6, 5, 45], 11, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 3, 9, 70], 8, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1]);
        // Groups and depthwise.
        yield return new([1, 6, 7, 7], 4, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 2);
        yield return new([1, 12, 5, 9], 9, [1, 3], [1, 1], [0, 1, 0, 1], [1, 1], 3);
        yield return new([2, 15, 5, 7], 6, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 3);   // grouped 1x1, odd channels per group
        yield return new([1, 8, 9, 9], 8, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 8);
        yield return new([1, 19, 10, 7], 19, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 19);
        yield return new([2, 5, 6, 17], 10, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 5);
        // Depthwise stride 2 (MobileNet's downsampling): 16-pixel blocks and tails, even and wide kernels, one-sided pads.
        yield return new([1, 5, 9, 40], 5, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 5);
        yield return new([1, 3, 7, 67], 3, [3, 3], [2, 2], [0, 0, 1, 1], [1, 1], 3);
        yield return new([1, 4, 8, 35], 4, [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], 4);
        yield return new([1, 2, 11, 50], 2, [5, 5], [2, 2], [2, 2, 2, 2], [1, 1], 2);
        yield return new([2, 3, 6, 33], 3, [3, 3], [2, 2], [1, 1, 1, 1], [2, 2], 3);
        yield return new([1, 6, 50], 6, [3], [2], [1, 1], [1], 6);
        // Depthwise stride 1 at widths around the 8- and 16-pixel blocks, even and wide kernels.
        yield return new([1, 3, 5, 16], 3, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 3);
        yield return new([1, 4, 6, 37], 4, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 4);
        yield return new([1, 2, 7, 24], 2, [2, 2], [1, 1], [0, 0, 1, 1], [1, 1], 2);
        yield return new([1, 3, 9, 33], 3, [5, 5], [1, 1], [2, 2, 2, 2], [1, 1], 3);
        yield return new([1, 5, 41], 5, [4], [1], [2, 1], [1], 5);
        // Depthwise 3x3 rows of 32 pixels and more (the AVX-512 kernel's 32-output blocks, then a 16-output one):
        // MobileNet's 48x48 layer, and 64-pixel rows.
        yield return new([1, 8, 48, 48], 8, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 8);
        yield return new([1, 5, 3, 64], 5, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 5);
        // Depthwise on MobileNet's small maps (whole-plane blocks on the AdvSimd kernel), TensorFlow's one-sided stride-2
        // pads, stride 2 from widths under and over 32 (odd and even), 5x5 stride 1 and 2, dilated stride 2, mixed
        // strides, a batch, and the largest sums (every weight -128: taps may not pair).
        yield return new([1, 128, 6, 6], 128, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 128);
        yield return new([1, 40, 3, 3], 40, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 40);
        yield return new([1, 32, 12, 12], 32, [3, 3], [2, 2], [0, 0, 1, 1], [1, 1], 32);
        yield return new([1, 16, 24, 24], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 16);
        yield return new([1, 8, 6, 6], 8, [3, 3], [2, 2], [0, 0, 1, 1], [1, 1], 8);
        yield return new([1, 4, 9, 33], 4, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 4);
        yield return new([1, 4, 8, 65], 4, [3, 3], [2, 2], [0, 0, 1, 1], [1, 1], 4);
        yield return new([1, 3, 5, 31], 3, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 3);
        yield return new([1, 6, 14, 14], 6, [5, 5], [1, 1], [2, 2, 2, 2], [1, 1], 6);
        yield return new([1, 6, 15, 15], 6, [5, 5], [2, 2], [2, 2, 2, 2], [1, 1], 6);
        yield return new([1, 4, 13, 21], 4, [3, 3], [2, 2], [2, 2, 2, 2], [2, 2], 4);
        yield return new([1, 5, 10, 20], 5, [3, 3], [2, 1], [1, 1, 1, 1], [1, 1], 5);
        yield return new([1, 5, 10, 20], 5, [3, 3], [1, 2], [1, 0, 1, 2], [1, 1], 5);
        yield return new([3, 7, 5, 5], 7, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 7);
        yield return new([1, 9, 7, 18], 9, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 9, Extreme: true);
        yield return new([1, 9, 9, 9], 9, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 9, Extreme: true);
        yield return new([1, 4, 31], 4, [3], [2], [1, 1], [1], 4);
        // Wide maps on few channels, which the direct AVX-VNNI kernel takes: ResNet-8's first two layer shapes, a
        // 64-pixel row with an odd channel count.
        yield return new([1, 3, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 16, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 5, 3, 64], 7, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        // 1x1 Convs, whose planes the direct kernel runs as one row each (63 and 36 pixels, a batch of 2).
        yield return new([1, 24, 7, 9], 13, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([2, 40, 6, 6], 17, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        // 1-D (NCW): the activity model's layers (rows of 124 and 120 in 32-pixel blocks), a batch, a tail past a block.
        yield return new([1, 5, 30], 9, [5], [1], [2, 2], [1]);
        yield return new([2, 7, 19], 4, [3], [2], [1, 0], [2]);
        yield return new([1, 6, 128], 32, [5], [1], [0, 0], [1]);
        yield return new([1, 32, 124], 32, [5], [1], [0, 0], [1]);
        yield return new([2, 3, 70], 6, [3], [1], [1, 1], [1]);
    }

    private static KernelCase ConvInt8(Random rng, ConvGeometry geometry)
    {
        var g = new CaseGraph();
        var input = geometry.Input;
        int cpg = input[1] / geometry.Group, taps = cpg;
        foreach (int k in geometry.Kernel) taps *= k;
        var output = geometry.OutputShape();
        var (x, w, qx, qy) = ConvInt8Operands(g, rng, geometry, cpg);
        var (attributes, biasBytes, how) = Int8Requantization(rng, geometry.M, taps);
        var inputs = new List<int> { x, w };
        if (biasBytes != null) inputs.Add(g.Constant("b", DataType.Int32, [geometry.M], biasBytes, null));
        int y = g.Output("y", DataType.Int8, output, qy);
        geometry.SetAttributes(attributes);
        g.Op(OpType.Conv, [.. inputs], y, attributes);
        return g.Build($"Conv int8 {geometry.Describe()}, zx={qx.ZeroPoint} zy={qy.ZeroPoint}, {how}{(geometry.Extreme ? ", extreme sums" : "")}" +
            (geometry.ConverterWeights ? ", weights in [-127, 127]" : ""));
    }

    /// <summary>
    /// Conv shapes with weights in the converter's range [-127, 127] (the other cases almost all hold a -128), which the
    /// AdvSimd kernel multiplies two products to an int16 lane for: every im2col path (1x1 straight from the input,
    /// stride 1 and 2 with 16-pixel tails, other strides and dilations, groups, 1-D) and the largest sums of that range.
    /// </summary>
    private static IEnumerable<ConvGeometry> ConverterWeightConvShapes()
    {
        yield return new([1, 16, 4, 4], 32, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], ConverterWeights: true);
        yield return new([1, 33, 3, 5], 17, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], ConverterWeights: true);
        yield return new([2, 15, 5, 7], 6, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 3, ConverterWeights: true);
        yield return new([1, 8, 9, 9], 6, [1, 1], [2, 2], [0, 0, 0, 0], [1, 1], ConverterWeights: true);
        yield return new([1, 16, 9, 11], 13, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], ConverterWeights: true);
        yield return new([1, 3, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], ConverterWeights: true);
        yield return new([1, 7, 9, 10], 6, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], ConverterWeights: true);
        yield return new([1, 3, 9, 70], 8, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], ConverterWeights: true);
        yield return new([1, 6, 10, 13], 9, [3, 2], [2, 1], [0, 1, 2, 0], [1, 3], ConverterWeights: true);
        yield return new([1, 32, 124], 32, [5], [1], [0, 0], [1], ConverterWeights: true);
        yield return new([1, 64, 8, 8], 2, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], Extreme: true, ConverterWeights: true);
        // The ARM kernels' implicit form (no im2col: stride 1 along rows, whole channel quadruplets, rows of 16 or 8
        // pixels for AdvSimd or SDOT) and the rows around it: asymmetric pads, row stride 2, a 5x3 kernel, dilation, a batch.
        yield return new([1, 8, 7, 13], 5, [3, 3], [1, 1], [0, 2, 1, 0], [1, 1], ConverterWeights: true);
        yield return new([1, 12, 6, 20], 9, [5, 3], [2, 1], [2, 1, 2, 1], [1, 1], ConverterWeights: true);
        yield return new([1, 8, 6, 16], 11, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], ConverterWeights: true);
        yield return new([2, 4, 9, 32], 6, [3, 3], [1, 1], [2, 2, 2, 2], [2, 2], ConverterWeights: true);
    }

    /// <summary>
    /// The int8 input and weights of a Conv case with random scales and zero points; extreme geometries get the
    /// largest sums (input 127 with zero point -128, every weight -128).
    /// </summary>
    private static (int X, int W, QuantizationInfo Qx, QuantizationInfo Qy) ConvInt8Operands(CaseGraph g, Random rng, ConvGeometry geometry, int channelsPerGroup)
    {
        var input = geometry.Input;
        var qx = Quant(rng);
        var qy = Quant(rng);
        int[] weightShape = [geometry.M, channelsPerGroup, .. geometry.Kernel];
        var inputValues = Int8Values(rng, ShapeUtil.ElementCount(input));
        var weightValues = Int8Values(rng, ShapeUtil.ElementCount(weightShape));
        if (geometry.Extreme && geometry.ConverterWeights)
        {
            Array.Fill(inputValues, unchecked((byte)sbyte.MinValue));
            Array.Fill(weightValues, unchecked((byte)(sbyte)-127));
        }
        else if (geometry.Extreme)
        {
            qx = QuantizationInfo.PerTensor(qx.Scales[0], -128);
            Array.Fill(inputValues, (byte)127);
            Array.Fill(weightValues, unchecked((byte)sbyte.MinValue));
        }
        else if (geometry.ConverterWeights) ToConverterRange(weightValues);
        int x = g.Input("x", DataType.Int8, input, inputValues, qx);
        int w = g.Constant("w", DataType.Int8, weightShape, weightValues, null);
        return (x, w, qx, qy);
    }

    /// <summary>
    /// Conv + MaxPool 2x2/2 pairs for the fused kernels (<see cref="ConvPoolFusion"/>): two-operator graphs, Ops[0] the
    /// Conv, Ops[1] the MaxPool reading its output (an intermediate, not a graph output), Outputs[0] the pooled output.
    /// </summary>
    public static IReadOnlyList<KernelCase> ConvPoolPairs(int seed = 20240611)
    {
        var rng = new Random(seed);
        var cases = new List<KernelCase>();
        foreach (var (geometry, leftShift) in ConvPoolShapes()) cases.Add(ConvPoolInt8(rng, geometry, leftShift));
        return cases;
    }

    /// <summary>A single Conv 3x3 (same padding) + MaxPool 2x2/2 pair with random data (for benchmarks), as in <see cref="ConvPoolPairs"/>.</summary>
    public static KernelCase Conv3x3MaxPoolInt8(int[] input, int outChannels, int seed = 1) =>
        ConvPoolInt8(new Random(seed), new ConvGeometry(input, outChannels, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), leftShift: false);

    private static IEnumerable<(ConvGeometry Geometry, bool LeftShift)> ConvPoolShapes()
    {
        // The gesture model's three layers, also with left-shift multipliers (requantize before the max).
        yield return (new([1, 3, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 16, 16, 16], 32, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 32, 8, 8], 64, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 3, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), true);
        yield return (new([1, 12, 16, 16], 10, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), true);
        // Input channels 1..33 (odd ones, one unpaired), odd output channels, one tile, tile counts that are not a
        // multiple of the 4/8/16/32-tile blocks, a batch of 2, unpadded and wide-padded maps, a large map.
        yield return (new([1, 1, 2, 2], 3, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 2, 4, 6], 5, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 5, 6, 10], 7, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 7, 30, 34], 13, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([2, 16, 6, 18], 17, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([2, 9, 12, 12], 8, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), true);
        yield return (new([1, 33, 8, 8], 9, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 8, 12, 14], 11, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 4, 10, 12], 5, [3, 3], [1, 1], [0, 0, 0, 0], [1, 1]), false);
        yield return (new([1, 2, 4, 4], 4, [3, 3], [1, 1], [2, 2, 2, 2], [1, 1]), false);
        yield return (new([1, 6, 9, 7], 6, [3, 3], [1, 1], [0, 1, 1, 2], [1, 1]), false);
        yield return (new([1, 3, 64, 64], 8, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 24, 20, 20], 19, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), true);
        // Rows of 16+ pixels copied 16 at a time from even left pads (the other column parity), with a tail.
        yield return (new([1, 3, 18, 20], 5, [3, 3], [1, 1], [0, 0, 0, 0], [1, 1]), false);
        yield return (new([1, 5, 14, 17], 6, [3, 3], [1, 1], [2, 2, 2, 1], [1, 1]), false);
        // The largest sums at the Winograd channel limit.
        yield return (new([1, 1827, 8, 8], 2, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], Extreme: true), false);
    }

    private static KernelCase ConvPoolInt8(Random rng, ConvGeometry geometry, bool leftShift)
    {
        var g = new CaseGraph();
        var input = geometry.Input;
        int taps = input[1] * geometry.Kernel[0] * geometry.Kernel[1];
        var convShape = geometry.OutputShape();
        int[] pooledShape = [convShape[0], convShape[1], convShape[2] / 2, convShape[3] / 2];
        var (x, w, qx, qy) = ConvInt8Operands(g, rng, geometry, input[1]);
        var (attributes, biasBytes, how) = Int8Requantization(rng, geometry.M, taps);
        if (leftShift)
        {
            // Left shifts of 1..4 with small multipliers: x·2^shift wraps for large sums, so the max of the
            // accumulators is not the max of the requantized values.
            var multipliers = new int[geometry.M];
            var shifts = new int[geometry.M];
            for (int m = 0; m < geometry.M; m++) (multipliers[m], shifts[m]) = (rng.Next(1 << 20, 1 << 26), rng.Next(1, 5));
            attributes.Set(AttributeKey.OutputMultiplier, multipliers);
            attributes.Set(AttributeKey.OutputShift, shifts);
            how += ", left shifts";
        }
        var inputs = new List<int> { x, w };
        if (biasBytes != null) inputs.Add(g.Constant("b", DataType.Int32, [geometry.M], biasBytes, null));
        int y = g.Intermediate("y", DataType.Int8, convShape, qy);
        geometry.SetAttributes(attributes);
        g.Op(OpType.Conv, [.. inputs], y, attributes);
        var poolAttributes = new OpAttributes();
        poolAttributes.Set(AttributeKey.KernelShape, [2, 2]);
        poolAttributes.Set(AttributeKey.Strides, [2, 2]);
        string clamp = PoolClamp(rng, poolAttributes);
        int pooled = g.Output("pooled", DataType.Int8, pooledShape, qy);
        g.Op(OpType.MaxPool, [y], pooled, poolAttributes);
        return g.Build($"Conv int8 {geometry.Describe()} + MaxPool 2x2/2{clamp}, zx={qx.ZeroPoint} zy={qy.ZeroPoint}, {how}{(geometry.Extreme ? ", extreme sums" : "")}");
    }

    /// <summary>
    /// Float Conv on the int8 geometries: inputs with specials (NaN, infinities, signed zeros, subnormals); weights
    /// finite, or in one case in eight with specials too; bias absent, random, or holding a -0 (what variants that add
    /// padded taps as zeros must decline).
    /// </summary>
    private static KernelCase ConvFloat(Random rng, ConvGeometry geometry)
    {
        var g = new CaseGraph();
        var input = geometry.Input;
        int cpg = input[1] / geometry.Group;
        var output = geometry.OutputShape();
        int x = g.Input("x", DataType.Float32, input, FloatValues(rng, ShapeUtil.ElementCount(input)));
        int[] weightShape = [geometry.M, cpg, .. geometry.Kernel];
        bool specialWeights = rng.Next(8) == 0;
        int w = g.Constant("w", DataType.Float32, weightShape, specialWeights ? FloatValues(rng, ShapeUtil.ElementCount(weightShape)) : FiniteFloats(rng, ShapeUtil.ElementCount(weightShape)));
        var inputs = new List<int> { x, w };
        string bias = FloatBias(rng, g, geometry.M, inputs);
        int y = g.Output("y", DataType.Float32, output);
        var attributes = FloatClamp(rng, out string clamp);
        geometry.SetAttributes(attributes);
        g.Op(OpType.Conv, [.. inputs], y, attributes);
        return g.Build($"Conv float32 {geometry.Describe()}{(specialWeights ? ", special weights" : "")}, {bias}{clamp}");
    }

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

    private static string FloatBias(Random rng, CaseGraph g, int count, List<int> inputs)
    {
        switch (rng.Next(4))
        {
            case 0:
                return "no bias";
            case 1:
            {
                var b = MemoryMarshal.Cast<byte, float>(FiniteFloats(rng, count).AsSpan()).ToArray();
                b[rng.Next(count)] = -0f;
                inputs.Add(g.Constant("b", DataType.Float32, [count], MemoryMarshal.AsBytes(b.AsSpan()).ToArray()));
                return "bias with a -0";
            }
            default:
                inputs.Add(g.Constant("b", DataType.Float32, [count], FiniteFloats(rng, count)));
                return "bias";
        }
    }

    private static byte[] FiniteFloats(Random rng, int count)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
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

    /// <summary>Moves every -128 to -127: int8 weights as the converter writes them (symmetric, [-127, 127]).</summary>
    private static void ToConverterRange(byte[] weights)
    {
        for (int i = 0; i < weights.Length; i++)
            if (weights[i] == 0x80) weights[i] = unchecked((byte)(sbyte)-127);
    }

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

    /// <summary>A recurrent layer: time steps, batch, input size, hidden size, direction (0 forward, 1 reverse, 2 both), layout.</summary>
    private readonly record struct RecurrentGeometry(int Steps, int Batch, int Input, int Hidden, int Direction, int Layout);

    /// <summary>
    /// Options fixed instead of drawn (these cases come after the drawn ones, which stay as they were): DefaultStep gives
    /// the default activations, GRU linear_before_reset = 1 and no LSTM peepholes; Clip a clip or none (with
    /// DefaultStep false: drawn); SymmetricWeights int8 weights without -128 (-128 becomes -127).
    /// </summary>
    private readonly record struct RecurrentOverrides(bool DefaultStep, bool Clip, bool SymmetricWeights = false);

    private static IEnumerable<RecurrentGeometry> RecurrentShapes()
    {
        // Hidden sizes on and off multiples of 4, 8 and 16; the example models' shapes (fewer steps).
        yield return new(1, 1, 1, 1, 0, 0);
        yield return new(6, 1, 6, 32, 0, 0);
        yield return new(8, 1, 32, 48, 0, 0);
        yield return new(3, 2, 7, 13, 0, 0);
        yield return new(4, 2, 5, 17, 1, 0);
        yield return new(5, 1, 3, 9, 2, 0);
        yield return new(2, 2, 8, 5, 2, 1);
        yield return new(7, 2, 2, 31, 0, 1);
        yield return new(3, 1, 16, 16, 1, 1);
        yield return new(1, 2, 33, 3, 2, 0);
        yield return new(9, 1, 1, 8, 0, 0);
        yield return new(4, 1, 4, 7, 1, 0);
        yield return new(3, 2, 10, 24, 2, 1);
        yield return new(2, 1, 12, 40, 0, 1);
        yield return new(5, 2, 9, 4, 0, 0);
    }

    /// <summary>
    /// LSTM, GRU or RNN in the float32 or int8 form with the options drawn at random: bias, initial states (int8 or
    /// float32 in the int8 form), LSTM peepholes and input_forget, GRU linear_before_reset, clip, other activations,
    /// int8 zero points often at -128 or 127 and weight scales per row or per tensor, int8 or float32 Y_c.
    /// </summary>
    private static KernelCase Recurrent(Random rng, OpType op, bool quantized, RecurrentGeometry geometry, RecurrentOverrides? overrides = null)
    {
        var (steps, batch, input, hidden, direction, layout) = geometry;
        int directions = direction == 2 ? 2 : 1;
        int gates = op == OpType.Lstm ? 4 : op == OpType.Gru ? 3 : 1;
        int activationsPerDirection = op == OpType.Lstm ? 3 : op == OpType.Gru ? 2 : 1;
        int rows = directions * gates * hidden;
        var g = new CaseGraph();
        var type = quantized ? DataType.Int8 : DataType.Float32;
        int[] xShape = layout == 0 ? [steps, batch, input] : [batch, steps, input];
        int[] yShape = layout == 0 ? [steps, directions, batch, hidden] : [batch, steps, directions, hidden];
        int[] stateShape = layout == 0 ? [directions, batch, hidden] : [batch, directions, hidden];
        var notes = new List<string>();

        // Pre-activations of a few units: |x - zx| ~ 100 and |w| ~ 73 on average, so the weight scale is about
        // 2.5 / (input scale · 100 · 73 · sqrt(columns)).
        QuantizationInfo? qx = null, qh = null;
        int x, w, r;
        if (quantized)
        {
            qx = QuantizationInfo.PerTensor((float)Math.Exp(rng.NextDouble() * 3 - 4), RecurrentZeroPoint(rng));
            qh = QuantizationInfo.PerTensor((float)(rng.NextDouble() * 0.01 + 0.004), RecurrentZeroPoint(rng));
            x = g.Input("x", type, xShape, Int8Values(rng, ShapeUtil.ElementCount(xShape)), qx);
            bool perRow = rng.Next(4) != 0;
            bool symmetric = overrides is { SymmetricWeights: true };
            w = g.Constant("w", type, [rows, input], Symmetric(Int8Values(rng, rows * input), symmetric),
                WeightQuant(rng, perRow, rows, 2.5 / (qx.Scale * 100 * 73 * Math.Sqrt(input))));
            r = g.Constant("r", type, [rows, hidden], Symmetric(Int8Values(rng, rows * hidden), symmetric),
                WeightQuant(rng, perRow, rows, 2.5 / (qh.Scale * 100 * 73 * Math.Sqrt(hidden))));
            if (symmetric) notes.Add("weights in [-127, 127]");
            notes.Add($"zx={qx.ZeroPoint} zh={qh.ZeroPoint}, weight scales {(perRow ? "per row" : "per tensor")}");
        }
        else
        {
            x = g.Input("x", type, xShape, RecurrentFloats(rng, ShapeUtil.ElementCount(xShape), 2f));
            w = g.Constant("w", type, [directions, gates * hidden, input], RecurrentFloats(rng, rows * input, 2.5f / MathF.Sqrt(input)));
            r = g.Constant("r", type, [directions, gates * hidden, hidden], RecurrentFloats(rng, rows * hidden, 2.5f / MathF.Sqrt(hidden)));
        }
        int b = -1, h0 = -1, c0 = -1, p = -1;
        if (rng.Next(4) != 0) b = g.Constant("b", DataType.Float32, [directions, 2 * gates * hidden], RecurrentFloats(rng, 2 * rows, 1f));
        else notes.Add("no bias");
        if (rng.Next(2) == 0) h0 = InitialState(g, rng, "initial_h", quantized, stateShape, notes);
        if (op == OpType.Lstm)
        {
            if (rng.Next(2) == 0) c0 = InitialState(g, rng, "initial_c", quantized, stateShape, notes);
            if (rng.Next(2) == 0 && overrides is not { DefaultStep: true })
            {
                p = g.Constant("p", DataType.Float32, [directions, 3 * hidden], RecurrentFloats(rng, directions * 3 * hidden, 1f));
                notes.Add("peepholes");
            }
        }

        int y = g.Output("y", type, yShape, qh);
        var outputs = new List<int> { y, g.Output("y_h", type, stateShape, qh) };
        if (op == OpType.Lstm)
        {
            bool ycInt8 = quantized && rng.Next(2) == 0;
            outputs.Add(g.Output("y_c", ycInt8 ? DataType.Int8 : DataType.Float32, stateShape,
                ycInt8 ? QuantizationInfo.PerTensor((float)(rng.NextDouble() * 0.05 + 0.01), RecurrentZeroPoint(rng)) : null));
            if (ycInt8) notes.Add("int8 Y_c");
        }

        var attributes = new OpAttributes().Set(AttributeKey.Direction, direction).Set(AttributeKey.Layout, layout);
        if (op == OpType.Gru)
        {
            int linearBeforeReset = rng.Next(2);
            if (overrides is { DefaultStep: true }) linearBeforeReset = 1;
            attributes.Set(AttributeKey.LinearBeforeReset, linearBeforeReset);
            notes.Add($"linear_before_reset {linearBeforeReset}");
        }
        if (op == OpType.Lstm && rng.Next(5) == 0)
        {
            attributes.Set(AttributeKey.InputForget, 1);
            notes.Add("input_forget");
        }
        if (overrides is { DefaultStep: true } fixedOptions ? fixedOptions.Clip : rng.Next(4) == 0)
        {
            float clip = (float)(rng.NextDouble() * 4 + 0.5);
            attributes.Set(AttributeKey.Clip, clip);
            notes.Add($"clip {clip}");
        }
        if (rng.Next(4) == 0 && overrides is not { DefaultStep: true })
        {
            // Any function for the candidate and output slots; a bounded one for the gates (slot 0), as in real models:
            // an unbounded gate multiplying an unbounded state overflows to inf and NaN within a few steps.
            RecurrentActivation[] bounded = [RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.ScaledTanh,
                RecurrentActivation.HardSigmoid, RecurrentActivation.Softsign];
            var functions = new int[directions * activationsPerDirection];
            var alpha = new float[functions.Length];
            var beta = new float[functions.Length];
            for (int i = 0; i < functions.Length; i++)
            {
                functions[i] = i % activationsPerDirection == 0 && op != OpType.Rnn
                    ? (int)bounded[rng.Next(bounded.Length)]
                    : rng.Next((int)RecurrentActivation.Sigmoid, (int)RecurrentActivation.Softplus + 1);
                alpha[i] = (float)(rng.NextDouble() * 0.9 + 0.05);
                beta[i] = (float)(rng.NextDouble() * 0.9 + 0.05);
            }
            attributes.Set(AttributeKey.Activations, functions);
            attributes.Set(AttributeKey.ActivationAlpha, alpha);
            attributes.Set(AttributeKey.ActivationBeta, beta);
            notes.Add($"activations [{string.Join(", ", functions.Select(f => (RecurrentActivation)f))}]");
        }

        int[] inputs = op == OpType.Lstm ? [x, w, r, b, -1, h0, c0, p] : [x, w, r, b, -1, h0];
        int used = inputs.Length;
        while (used > 3 && inputs[used - 1] < 0) used--;  // trailing absent inputs are left out
        g.Op(op, inputs[..used], [.. outputs], attributes);
        string directionName = direction switch { 0 => "forward", 1 => "reverse", _ => "bidirectional" };
        return g.Build($"{op} {(quantized ? "int8" : "float32")} steps {steps} batch {batch} input {input} hidden {hidden}, {directionName}, layout {layout}" +
            (notes.Count > 0 ? ", " + string.Join(", ", notes) : ""));
    }

    /// <summary>int8 values with -128 made -127 when <paramref name="symmetric"/>, as symmetric weight quantization gives.</summary>
    private static byte[] Symmetric(byte[] values, bool symmetric)
    {
        if (symmetric)
            for (int i = 0; i < values.Length; i++) if (values[i] == 0x80) values[i] = unchecked((byte)(sbyte)-127);
        return values;
    }

    private static int RecurrentZeroPoint(Random rng) => rng.Next(4) switch { 0 => -128, 1 => 127, _ => rng.Next(-128, 128) };

    /// <summary>Symmetric int8 weight scales around <paramref name="typical"/>: one per row (axis 0) or one for the tensor.</summary>
    private static QuantizationInfo WeightQuant(Random rng, bool perRow, int rows, double typical)
    {
        var scales = new float[perRow ? rows : 1];
        for (int i = 0; i < scales.Length; i++) scales[i] = (float)(typical * Math.Exp(rng.NextDouble() * 2 - 1));
        return perRow ? new QuantizationInfo(scales, 0, axis: 0) : new QuantizationInfo(scales, 0);
    }

    private static int InitialState(CaseGraph g, Random rng, string name, bool quantized, int[] shape, List<string> notes)
    {
        int count = ShapeUtil.ElementCount(shape);
        if (quantized && rng.Next(2) == 0)
        {
            notes.Add($"int8 {name}");
            return g.Input(name, DataType.Int8, shape, Int8Values(rng, count), QuantizationInfo.PerTensor((float)(rng.NextDouble() * 0.02 + 0.002), RecurrentZeroPoint(rng)));
        }
        notes.Add(name);
        return g.Input(name, DataType.Float32, shape, RecurrentFloats(rng, count, 1.5f));
    }

    /// <summary>Uniform in [-range, range], with exact zeros, ±range and signed zeros sprinkled in.</summary>
    private static byte[] RecurrentFloats(Random rng, int count, float range)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++)
            v[i] = rng.Next(16) switch { 0 => 0f, 1 => -0f, 2 => rng.Next(2) == 0 ? range : -range, _ => (float)(rng.NextDouble() * 2 - 1) * range };
        return MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
    }

    /// <summary>Sometimes a narrowed output clamp, as a fused Relu would leave.</summary>
    private static string PoolClamp(Random rng, OpAttributes attributes)
    {
        if (rng.Next(3) != 0) return "";
        int lo = rng.Next(-128, 128), hi = rng.Next(lo, 128);
        attributes.Set(AttributeKey.QuantizedMin, lo);
        attributes.Set(AttributeKey.QuantizedMax, hi);
        return $", clamp [{lo}, {hi}]";
    }

    /// <summary>
    /// Bias (absent, moderate, or near the int32 ends so sums wrap), per-channel or single multipliers scaled so that
    /// a sum of <paramref name="taps"/> products lands near the int8 range (or raw ones), and sometimes a fused clamp.
    /// </summary>
    private static (OpAttributes Attributes, byte[]? Bias, string Description) Int8Requantization(Random rng, int channels, int taps)
    {
        var attributes = new OpAttributes();
        byte[]? bias = null;
        int biasMode = rng.Next(4);
        if (biasMode > 0)
        {
            var b = new int[channels];
            for (int i = 0; i < channels; i++)
                b[i] = biasMode == 3 && rng.Next(2) == 0 ? (rng.Next(2) == 0 ? int.MaxValue - rng.Next(1000) : int.MinValue + rng.Next(1000)) : rng.Next(-(1 << 20), 1 << 20);
            bias = MemoryMarshal.AsBytes(b.AsSpan()).ToArray();
        }
        bool raw = rng.Next(4) == 0;
        int count = rng.Next(3) == 0 ? 1 : channels;
        var multipliers = new int[count];
        var shifts = new int[count];
        for (int i = 0; i < count; i++)
        {
            // An accumulator of taps products of size ~128·128 mapped onto ~±128.
            double real = Math.Exp(rng.NextDouble() * 3 - 1.5) / (128.0 * Math.Sqrt(Math.Max(1, taps)));
            (multipliers[i], shifts[i]) = Multiplier(rng, raw, real);
        }
        attributes.Set(AttributeKey.OutputMultiplier, multipliers);
        attributes.Set(AttributeKey.OutputShift, shifts);
        if (rng.Next(3) == 0)
        {
            int lo = rng.Next(-128, 128), hi = rng.Next(lo, 128);
            attributes.Set(AttributeKey.QuantizedMin, lo);
            attributes.Set(AttributeKey.QuantizedMax, hi);
        }
        string how = $"{(bias == null ? "no bias" : biasMode == 3 ? "bias near int32 ends" : "bias")}, {count} {(raw ? "raw" : "scale")} multiplier(s)";
        return (attributes, bias, how);
    }

    private static QuantizationInfo Quant(Random rng)
    {
        // About 0.001 .. 3, or an exact power of two (ratios of those give multipliers of exactly 2^30).
        float scale = rng.Next(3) == 0 ? MathF.ScaleB(1f, -rng.Next(0, 10)) : (float)Math.Exp(rng.NextDouble() * 8 - 7);
        int zeroPoint = rng.Next(4) switch { 0 => -128, 1 => 127, _ => rng.Next(-128, 128) };
        return QuantizationInfo.PerTensor(scale, zeroPoint);
    }

    private static (int Multiplier, int Shift) Multiplier(Random rng, bool raw, double real)
    {
        var (m, shift) = FixedPoint.QuantizeMultiplier(real);
        if (!raw) return (m, shift);
        m = rng.Next(5) switch
        {
            0 => int.MaxValue,
            1 => 1 << 30,
            2 => rng.Next(0, 4) == 0 ? 0 : 1 << rng.Next(0, 31),
            3 => (1 << 30) + rng.Next(1 << 30),
            _ => rng.Next(),
        };
        shift = rng.Next(4) == 0 ? rng.Next(-31, 31) : Math.Clamp(shift + rng.Next(-2, 3), -31, 30);
        return (m, shift);
    }

    /// <summary>int8 values: uniform, mostly extremes, or all -128 (the -128 x -128 corner), with extremes sprinkled in.</summary>
    private static byte[] Int8Values(Random rng, int count)
    {
        var v = new byte[count];
        int mode = rng.Next(4);
        for (int i = 0; i < count; i++)
        {
            sbyte s = mode switch
            {
                0 => -128,
                1 => rng.Next(2) == 0 ? (sbyte)-128 : (sbyte)127,
                _ => (sbyte)rng.Next(-128, 128),
            };
            if (mode >= 2 && rng.Next(8) == 0) s = rng.Next(2) == 0 ? (sbyte)-128 : (sbyte)127;
            v[i] = (byte)s;
        }
        return v;
    }

    private static readonly float[] FloatSpecials =
        [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 6f, -1f, 1e-39f];

    private static byte[] FloatValues(Random rng, int count)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++)
            v[i] = rng.Next(10) == 0 ? FloatSpecials[rng.Next(FloatSpecials.Length)] : (float)(rng.NextDouble() * 20 - 10);
        return MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
    }

    private static OpAttributes FloatClamp(Random rng, out string description)
    {
        var attributes = new OpAttributes();
        (float Min, float Max)? clamp = rng.Next(5) switch
        {
            0 => (0f, 6f),
            1 => (-1f, 1f),
            2 => (0f, float.PositiveInfinity),
            3 => (-0f, 0f),
            _ => null,
        };
        description = "";
        if (clamp is { } c)
        {
            attributes.Set(AttributeKey.ActivationMin, c.Min);
            attributes.Set(AttributeKey.ActivationMax, c.Max);
            description = $", clamp [{c.Min}, {c.Max}]";
        }
        return attributes;
    }

    /// <summary>Builds the one-op graph: activations laid out one after another, 64-byte aligned.</summary>
    private sealed class CaseGraph
    {
        private readonly ModelGraph _graph = new();
        private readonly List<(int, byte[])> _inputs = new();
        private long _cursor;

        public int Input(string name, DataType type, int[] shape, byte[] bytes, QuantizationInfo? quant = null)
        {
            int id = Activation(name, type, shape, quant);
            _graph.Inputs.Add(id);
            _inputs.Add((id, bytes));
            return id;
        }

        public int Constant(string name, DataType type, int[] shape, byte[] bytes, QuantizationInfo? quant = null) =>
            _graph.AddTensor(new TensorInfo(name, type, shape, TensorKind.Constant) { Data = bytes, Quantization = quant });

        /// <summary>An activation that is neither a graph input nor an output.</summary>
        public int Intermediate(string name, DataType type, int[] shape, QuantizationInfo? quant = null) => Activation(name, type, shape, quant);

        public int Output(string name, DataType type, int[] shape, QuantizationInfo? quant = null)
        {
            int id = Activation(name, type, shape, quant);
            _graph.Outputs.Add(id);
            return id;
        }

        public void Op(OpType type, int[] inputs, int output, OpAttributes attributes) => Op(type, inputs, [output], attributes);

        public void Op(OpType type, int[] inputs, int[] outputs, OpAttributes attributes) =>
            _graph.Ops.Add(new OpInfo(type, type.ToString().ToLowerInvariant(), inputs, outputs, attributes));

        public KernelCase Build(string description)
        {
            _graph.ArenaBytes = _cursor;
            return new KernelCase(description, _graph, _inputs);
        }

        private int Activation(string name, DataType type, int[] shape, QuantizationInfo? quant)
        {
            var t = new TensorInfo(name, type, shape, TensorKind.Activation) { Offset = _cursor, Quantization = quant };
            _cursor = EnetFormat.AlignUp(_cursor + t.ByteLength);
            return _graph.AddTensor(t);
        }
    }
}
