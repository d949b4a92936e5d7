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
public static partial class KernelCases
{
    /// <summary>Whether cases exist for this operator and element type.</summary>
    public static bool Covers(OpType op, DataType type) => (op, type) switch
    {
        (OpType.Add or OpType.Mul, DataType.Int8 or DataType.Float32) => true,
        (OpType.Relu or OpType.Clip, DataType.Float32) => true,
        (OpType.LookupTable, DataType.Int8) => true,
        (OpType.Conv or OpType.Gemm, DataType.Int8 or DataType.Float32 or DataType.Int16) => true,
        (OpType.MaxPool or OpType.AveragePool or OpType.GlobalAveragePool or OpType.GlobalMaxPool, DataType.Int8) => true,
        (OpType.Lstm or OpType.Gru or OpType.Rnn, DataType.Int8 or DataType.Float32) => true,
        (OpType.Transpose or OpType.Concat, DataType.Int8) => true,
        (OpType.MatMul or OpType.LayerNorm or OpType.Softmax, DataType.Int8) => true,
        (OpType.ConvTranspose, DataType.Int8 or DataType.Float32) => true,
        (OpType.Upsample, DataType.Int8 or DataType.Float32) => true,
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
                foreach (var (shape, axis) in new (int[], int)[] { ([1, 3, 5, 7], 1), ([2, 5, 17], -2), ([1, 4, 4, 7], 3), ([9, 33], 0), ([1, 1, 40], 1), ([3, 0, 2], 0), ([2, 3, 130], 1) })
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
            case (OpType.Conv or OpType.Gemm, DataType.Int16):
                cases.AddRange(Int16Cases(rng, op));
                break;
            case (OpType.Concat, DataType.Int8):
                foreach (var (inputs, axis) in ConcatShapes()) cases.Add(ConcatInt8(rng, inputs, axis));
                break;
            case (OpType.MatMul, DataType.Int8):
                foreach (var (a, b) in MatMulShapes())
                    for (int variation = 0; variation < 2; variation++) cases.Add(MatMulInt8(rng, a, b));
                break;
            case (OpType.LayerNorm, DataType.Int8):
                foreach (var (shape, axis) in LayerNormShapes())
                    for (int variation = 0; variation < 2; variation++) cases.Add(LayerNormInt8(rng, shape, axis));
                break;
            case (OpType.Softmax, DataType.Int8):
                foreach (var (shape, axis) in SoftmaxShapes())
                    foreach (bool special in new[] { false, true }) cases.Add(SoftmaxInt8(rng, shape, axis, special));
                break;
            case (OpType.ConvTranspose, DataType.Int8):
                foreach (var (geometry, outputPadding) in ConvTransposeShapes(rng)) cases.Add(ConvTransposeInt8(rng, geometry, outputPadding));
                break;
            case (OpType.ConvTranspose, DataType.Float32):
                foreach (var (geometry, outputPadding) in ConvTransposeShapes(rng)) cases.Add(ConvTransposeFloat(rng, geometry, outputPadding));
                break;
            case (OpType.Upsample, DataType.Int8 or DataType.Float32):
                AddUpsampleCases(rng, type, cases);
                break;
        }
        return cases;
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

    /// <summary>Moves every -128 to -127: int8 weights as the converter writes them (symmetric, [-127, 127]).</summary>
    private static void ToConverterRange(byte[] weights)
    {
        for (int i = 0; i < weights.Length; i++)
            if (weights[i] == 0x80) weights[i] = unchecked((byte)(sbyte)-127);
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
