using System.Runtime.InteropServices;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>
/// One operator with one output, run through the real writer, loader and session.
/// The output's arena bytes are shared with an extra graph input that no operator reads (its lifetime ends before the
/// operator runs, so the loader accepts the overlap). The test fills that input with a sentinel byte before each run:
/// the operator runs twice with two different sentinels and the outputs must agree, so any element the kernel fails to
/// write is caught. A third run must allocate nothing.
/// </summary>
internal sealed class OpHarness
{
    private readonly TestGraph _graph = new();
    private readonly List<(int Tensor, byte[] Bytes)> _inputs = new();
    private int _output = -1;

    public ModelGraph Graph => _graph.Graph;

    public int Input(string name, int[] shape, float[] values) => AddInput(name, DataType.Float32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), null);

    public int Input(string name, int[] shape, sbyte[] values, QuantizationInfo quant) =>
        AddInput(name, DataType.Int8, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), quant);

    public int Constant(string name, int[] shape, float[] values) => _graph.Constant(name, DataType.Float32, shape, values);

    public int Constant(string name, int[] shape, sbyte[] values, QuantizationInfo? quant = null) => _graph.Constant(name, DataType.Int8, shape, values, quant);

    /// <summary>A float operand that is either a graph input or a constant, so kernels are tested with both.</summary>
    public int Operand(string name, int[] shape, float[] values, bool constant) => constant ? Constant(name, shape, values) : Input(name, shape, values);

    public int Operand(string name, int[] shape, sbyte[] values, QuantizationInfo quant, bool constant) =>
        constant ? Constant(name, shape, values, quant) : Input(name, shape, values, quant);

    public int Output(string name, DataType type, int[] shape, QuantizationInfo? quant = null)
    {
        _output = _graph.Output(name, type, shape, quant);
        return _output;
    }

    public OpInfo Op(OpType type, int[] inputs, OpAttributes? attributes = null, string? name = null) => _graph.Op(type, inputs, [_output], attributes, name);

    public float[] RunFloat() => MemoryMarshal.Cast<byte, float>(Run()).ToArray();

    public sbyte[] RunInt8() => MemoryMarshal.Cast<byte, sbyte>(Run()).ToArray();

    /// <summary>Writes the graph with the sentinel alias, loads it (kernel preparation included) and returns the loaded model.</summary>
    public Model Load()
    {
        var g = Graph;
        var output = g.Tensors[_output];
        int sentinel = g.AddTensor(new TensorInfo("sentinel", output.Type, output.Shape, TensorKind.Activation) { Quantization = output.Quantization });
        g.Inputs.Add(sentinel);
        long cursor = 0;
        foreach (var t in g.Tensors)
        {
            if (t.IsConstant || ReferenceEquals(t, g.Tensors[sentinel])) continue;
            t.Offset = cursor;
            cursor = EnetFormat.AlignUp(cursor + t.ByteLength);
        }
        g.Tensors[sentinel].Offset = output.Offset;
        g.ArenaBytes = cursor;
        return Model.Load(EnetWriter.Write(g));
    }

    private byte[] Run()
    {
        var model = Load();
        using var session = model.CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        var g = model.Graph;
        foreach (var (tensor, bytes) in _inputs) bytes.CopyTo(session.GetInputBytes(g.Inputs.IndexOf(tensor)));
        int sentinelInput = g.Inputs.Count - 1;
        int output = g.Outputs[0];

        session.GetInputBytes(sentinelInput).Fill(0xFF);
        session.Invoke();
        byte[] first = session.GetTensorBytes(output).ToArray();
        session.GetInputBytes(sentinelInput).Fill(0x55);
        session.Invoke();
        byte[] second = session.GetTensorBytes(output).ToArray();
        Assert.That(second, Is.EqualTo(first), "output differs between runs with different sentinels: some elements are not written");

        // Kernels must not allocate while running (everything is prepared at load).
        long before = GC.GetAllocatedBytesForCurrentThread();
        session.Invoke();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "the kernel allocated during Run");
        return first;
    }

    private int AddInput(string name, DataType type, int[] shape, byte[] bytes, QuantizationInfo? quant)
    {
        int id = _graph.Input(name, type, shape, quant);
        _inputs.Add((id, bytes));
        return id;
    }
}

/// <summary>Literal index arithmetic and tolerances shared by the kernel tests' oracles.</summary>
internal static class Oracle
{
    /// <summary>Multi-index of a row-major flat index.</summary>
    public static int[] Unravel(int flat, int[] shape)
    {
        var index = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        return index;
    }

    public static int Ravel(int[] index, int[] shape)
    {
        int flat = 0;
        for (int d = 0; d < shape.Length; d++) flat = flat * shape[d] + index[d];
        return flat;
    }

    /// <summary>Flat index into <paramref name="shape"/> of output multi-index <paramref name="outIndex"/> under NumPy broadcasting.</summary>
    public static int BroadcastSource(int[] outIndex, int[] shape)
    {
        int offset = outIndex.Length - shape.Length;
        var index = new int[shape.Length];
        for (int d = 0; d < shape.Length; d++) index[d] = shape[d] == 1 ? 0 : outIndex[d + offset];
        return Ravel(index, shape);
    }

    public static int Count(int[] shape)
    {
        int n = 1;
        foreach (int d in shape) n *= d;
        return n;
    }

    public static double Dequantize(sbyte q, QuantizationInfo quant) => (double)quant.Scale * (q - quant.ZeroPoint);

    /// <summary>
    /// Asserts an int8 result is within one output step of the float result (clamped to what the output can represent);
    /// <paramref name="slack"/> adds the error budget of the fixed-point multipliers, in output steps.
    /// </summary>
    public static void AssertWithinOneStep(sbyte[] actual, double[] expected, QuantizationInfo output, string what, double slack = 1e-3)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        double lo = output.Scale * (-128 - output.ZeroPoint), hi = output.Scale * (127 - output.ZeroPoint);
        for (int i = 0; i < actual.Length; i++)
        {
            double want = Math.Clamp(expected[i], lo, hi);
            double got = Dequantize(actual[i], output);
            Assert.That(Math.Abs(got - want), Is.LessThanOrEqualTo(output.Scale * (1 + slack)),
                $"{what}: element {i}: got {got} (q={actual[i]}), expected {want}");
        }
    }

    /// <summary>Asserts float results match a double-precision oracle to float rounding relative to <paramref name="magnitude"/>.</summary>
    public static void AssertClose(float[] actual, double[] expected, string what, double[]? magnitude = null, double relative = 1e-5)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < actual.Length; i++)
        {
            double scale = Math.Max(1e-6, magnitude?[i] ?? Math.Abs(expected[i]));
            Assert.That(Math.Abs(actual[i] - expected[i]), Is.LessThanOrEqualTo(relative * scale + 1e-7),
                $"{what}: element {i}: got {actual[i]}, expected {expected[i]}");
        }
    }

    /// <summary>Random int8 values that always include both extremes.</summary>
    public static sbyte[] Int8WithExtremes(int seed, int count)
    {
        var v = TestData.Int8(seed, count);
        if (count > 0) v[0] = -128;
        if (count > 1) v[count - 1] = 127;
        return v;
    }
}
