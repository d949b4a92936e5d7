using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels;

/// <summary>What a kernel sees while it is prepared: the operator, its tensors, and helpers that fail with the op's name.</summary>
public sealed class KernelSetup
{
    public KernelSetup(ModelGraph graph, OpInfo op)
    {
        Graph = graph;
        Op = op;
    }

    public ModelGraph Graph { get; }
    public OpInfo Op { get; }
    public OpAttributes Attributes => Op.Attributes;

    public int InputCount => Op.Inputs.Length;
    public int OutputCount => Op.Outputs.Length;
    public int InputId(int i) => i < Op.Inputs.Length ? Op.Inputs[i] : -1;
    public int OutputId(int i) => Op.Outputs[i];
    public bool HasInput(int i) => InputId(i) >= 0;

    public TensorInfo Input(int i)
    {
        int id = InputId(i);
        if (id < 0) throw Fail($"input {i} is required but absent");
        return Graph.Tensors[id];
    }

    public TensorInfo Output(int i)
    {
        if (i >= Op.Outputs.Length) throw Fail($"output {i} is required but absent");
        return Graph.Tensors[Op.Outputs[i]];
    }

    /// <summary>A constant input's bytes as T; fails when the input is not a constant.</summary>
    public ReadOnlySpan<T> ConstantInput<T>(int i) where T : struct
    {
        var t = Input(i);
        if (!t.IsConstant) throw Fail($"input {i} '{t.Name}' must be a constant");
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(t.Data.Span);
    }

    public void ExpectCounts(int minInputs, int maxInputs, int outputs)
    {
        if (Op.Inputs.Length < minInputs || Op.Inputs.Length > maxInputs)
            throw Fail($"expects {minInputs}..{maxInputs} inputs, has {Op.Inputs.Length}");
        if (Op.Outputs.Length != outputs) throw Fail($"expects {outputs} outputs, has {Op.Outputs.Length}");
    }

    /// <summary>One input and one output of <paramref name="type"/> with the same shape (an elementwise unary op).</summary>
    public void ExpectUnary(DataType type)
    {
        ExpectCounts(1, 1, 1);
        var x = Input(0);
        var y = Output(0);
        ExpectType(x, type);
        ExpectType(y, type);
        if (!ShapeUtil.SameShape(x.Shape, y.Shape))
            throw Fail($"input [{ShapeUtil.Format(x.Shape)}] and output [{ShapeUtil.Format(y.Shape)}] differ");
    }

    /// <summary>
    /// For an operator along one axis whose output has its input's shape (Softmax, LayerNorm): checks both and returns the
    /// Axis attribute (default -1) as a non-negative axis of <paramref name="x"/>.
    /// </summary>
    public int SameShapeAlongAxis(TensorInfo x, TensorInfo y)
    {
        if (!ShapeUtil.SameShape(x.Shape, y.Shape))
            throw Fail($"input [{ShapeUtil.Format(x.Shape)}] and output [{ShapeUtil.Format(y.Shape)}] differ");
        if (x.Rank == 0) throw Fail("input must have rank 1 or more");
        int axis = Attributes.GetInt(AttributeKey.Axis, -1);
        if (axis < -x.Rank || axis >= x.Rank) throw Fail($"axis {axis} is out of range for rank {x.Rank}");
        return axis < 0 ? axis + x.Rank : axis;
    }

    public void ExpectType(TensorInfo t, DataType type)
    {
        if (t.Type != type) throw Fail($"tensor '{t.Name}' must be {type}, is {t.Type}");
    }

    public QuantizationInfo Quant(TensorInfo t)
    {
        if (t.Quantization == null) throw Fail($"int8 tensor '{t.Name}' has no quantization parameters");
        return t.Quantization;
    }

    public int[] RequireInts(AttributeKey key, int count = -1)
    {
        var v = Attributes.GetInts(key) ?? throw Fail($"attribute {key} is missing");
        if (count >= 0 && v.Length != count) throw Fail($"attribute {key} has {v.Length} values, expected {count}");
        return v;
    }

    public ModelFormatException Fail(string message) => new($"{Op}: {message}");
}
