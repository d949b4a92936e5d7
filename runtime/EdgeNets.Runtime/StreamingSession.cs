using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime;

/// <summary>
/// Runs a sequence model one time step at a time, keeping the recurrent state between calls. The model's single
/// input must have a time axis that reaches a forward LSTM/GRU/RNN (as its sequence axis) through per-time-step
/// operators (Gemm, elementwise, Transpose, Reshape, lookup tables ...). The session runs a copy of the graph
/// whose time dimension is 1, with the recurrent kernels carrying their state from one step to the next, so step t
/// gives exactly what the whole-sequence run gives for time t: per-step outputs (e.g. Y) are that step's row, and
/// outputs taken from the last step (Gather/Slice of the last step, Y_h, Y_c) are the values after step t.
/// Convolutions or pools over time, reverse or bidirectional layers cannot be streamed; run such models per window.
/// <see cref="Step"/> allocates nothing. Not thread-safe.
/// </summary>
public sealed class StreamingSession : IDisposable
{
    private readonly Session _session;
    private readonly IStatefulKernel[] _stateful;
    private readonly int[] _outputTimeAxes;

    internal StreamingSession(Model model, SessionOptions options)
    {
        Model = model;
        var (graph, timeAxis, steps, axes) = StepGraphBuilder.Build(model.Graph);
        StepGraph = graph;
        _outputTimeAxes = graph.Outputs.Select(id => axes[id]).ToArray();
        InputTimeAxis = timeAxis;
        SequenceLength = steps;
        _session = Model.ForGraph(graph, model.FileBytes).CreateSession(options);
        var stateful = new List<IStatefulKernel>();
        foreach (var k in _session.Kernels)
        {
            if (k is not IStatefulKernel s) continue;
            s.CarryState = true;
            s.ResetState();
            stateful.Add(s);
        }
        _stateful = stateful.ToArray();
    }

    public Model Model { get; }
    /// <summary>The graph run per step: the model's graph with its time dimension set to 1.</summary>
    public ModelGraph StepGraph { get; }
    /// <summary>Axis of the model input that is time.</summary>
    public int InputTimeAxis { get; }
    /// <summary>Sequence length of the model as converted (streaming is not limited to it).</summary>
    public int SequenceLength { get; }
    /// <summary>Time axis of graph output <paramref name="index"/> (its size is 1 per step), or -1 for a value after the last step.</summary>
    public int OutputTimeAxis(int index) => _outputTimeAxes[index];
    /// <summary>Values of one time step of the input.</summary>
    public int StepInputSize => StepGraph.Tensors[StepGraph.Inputs[0]].ElementCount;
    public int StepOutputSize(int index = 0) => StepGraph.Tensors[StepGraph.Outputs[index]].ElementCount;
    /// <summary>The per-step session (for raw input bytes or further outputs).</summary>
    public Session Session => _session;

    /// <summary>Feeds one time step (quantizing when the model is int8) and writes output 0 after it.</summary>
    public void Step(ReadOnlySpan<float> input, Span<float> output)
    {
        _session.SetInput(0, input);
        _session.Invoke();
        _session.GetOutput(0, output);
    }

    /// <summary>Starts a new sequence: the recurrent states return to their initial values.</summary>
    public void Reset()
    {
        foreach (var s in _stateful) s.ResetState();
    }

    public void Dispose() => _session.Dispose();
}

/// <summary>Finds the time axis of every activation and derives the one-step graph (see <see cref="StreamingSession"/>).</summary>
internal static class StepGraphBuilder
{
    private const int None = -1; // a tensor without time axis: a value after the last step

    public static (ModelGraph Graph, int InputTimeAxis, int Steps, int[] TimeAxes) Build(ModelGraph g)
    {
        if (g.Inputs.Count != 1) throw Fail($"the model has {g.Inputs.Count} inputs; streaming needs exactly one (the sequence)");
        var first = g.Ops.FirstOrDefault(o => o.Type is OpType.Lstm or OpType.Gru or OpType.Rnn)
            ?? throw Fail("the model has no LSTM, GRU or RNN layer");
        int steps = g.Tensors[first.Inputs[0]].Shape[first.Attributes.GetInt(AttributeKey.Layout, 0) == 0 ? 0 : 1];
        var input = g.Tensors[g.Inputs[0]];
        string? lastError = null;
        for (int axis = 0; axis < input.Rank; axis++)
        {
            if (input.Shape[axis] != steps) continue;
            var axes = new int[g.Tensors.Count];
            Array.Fill(axes, None);
            axes[g.Inputs[0]] = axis;
            try
            {
                foreach (var op in g.Ops) Propagate(g, op, axes, steps);
            }
            catch (ModelFormatException e) { lastError = e.Message; continue; }
            return (MakeStepGraph(g, axes, steps), axis, steps, axes);
        }
        throw lastError != null ? new ModelFormatException(lastError)
            : Fail($"input '{input.Name}' [{ShapeUtil.Format(input.Shape)}] has no axis of the sequence length {steps} of {first}: an operator before it " +
                   "changes the length of the time axis (a convolution or pool over time); run this model per window");
    }

    private static ModelFormatException Fail(string message) => new($"streaming: {message}");

    private static void Propagate(ModelGraph g, OpInfo op, int[] axes, int steps)
    {
        int Axis(int i) => i < op.Inputs.Length && op.Inputs[i] >= 0 && !g.Tensors[op.Inputs[i]].IsConstant ? axes[op.Inputs[i]] : None;
        int x = Axis(0);
        bool anyTimed = false;
        for (int i = 0; i < op.Inputs.Length; i++) anyTimed |= Axis(i) != None;
        if (!anyTimed)
        {
            // Only values after the last step: the operator works on them as in the whole-sequence run.
            if (op.Type is OpType.Lstm or OpType.Gru or OpType.Rnn)
                throw Fail($"{op} reads a sequence that does not come from the streamed input's time axis");
            return;
        }
        var outShape = g.Tensors[op.Outputs[0]].Shape;
        switch (op.Type)
        {
            case OpType.Lstm or OpType.Gru or OpType.Rnn:
            {
                int layout = op.Attributes.GetInt(AttributeKey.Layout, 0);
                if (x != (layout == 0 ? 0 : 1)) throw Fail($"{op}: the time axis of X is axis {x}, not the sequence axis of layout {layout}");
                if (op.Attributes.GetInt(AttributeKey.Direction, 0) != 0) throw Fail($"{op} is reverse or bidirectional: it needs the whole sequence (run it per window)");
                for (int i = 1; i < op.Inputs.Length; i++)
                    if (Axis(i) != None) throw Fail($"{op}: input {i} depends on the time axis");
                axes[op.Outputs[0]] = layout == 0 ? 0 : 1;
                return; // Y_h, Y_c: the state after the step
            }
            case OpType.Slice:
            {
                int axis = op.Attributes.GetInt(AttributeKey.Axis, -1);
                bool dropped = outShape.Length < g.Tensors[op.Inputs[0]].Rank;
                if (axis == x)
                {
                    if (op.Attributes.GetInt(AttributeKey.Starts, 0) != steps - 1)
                        throw Fail($"{op} takes a time step other than the last; only the last step can be streamed");
                    axes[op.Outputs[0]] = dropped ? None : x;
                    return;
                }
                axes[op.Outputs[0]] = dropped && axis < x ? x - 1 : x;
                return;
            }
            case OpType.Transpose:
            {
                var perm = op.Attributes.GetInts(AttributeKey.Perm);
                int rank = outShape.Length;
                axes[op.Outputs[0]] = perm == null ? rank - 1 - x : Array.IndexOf(perm, x);
                return;
            }
            case OpType.Reshape:
            {
                var inShape = g.Tensors[op.Inputs[0]].Shape;
                long before = Product(inShape, 0, x), after = Product(inShape, x + 1, inShape.Length);
                for (int k = 0; k < outShape.Length; k++)
                {
                    if (outShape[k] == steps && Product(outShape, 0, k) == before && Product(outShape, k + 1, outShape.Length) == after)
                    {
                        axes[op.Outputs[0]] = k;
                        return;
                    }
                }
                throw Fail($"{op} reshapes [{ShapeUtil.Format(inShape)}] to [{ShapeUtil.Format(outShape)}] mixing the time axis {x} with others");
            }
            case OpType.Gemm:
                if (x == g.Tensors[op.Inputs[0]].Rank - 1) throw Fail($"{op} contracts over the time axis");
                axes[op.Outputs[0]] = x;
                return;
            case OpType.Softmax:
                if (op.Attributes.GetInt(AttributeKey.Axis, -1) == x) throw Fail($"{op} normalizes over the time axis");
                axes[op.Outputs[0]] = x;
                return;
            case OpType.Concat:
                if (op.Attributes.GetInt(AttributeKey.Axis, -1) == x) throw Fail($"{op} concatenates along the time axis");
                for (int i = 0; i < op.Inputs.Length; i++)
                    if (Axis(i) != x) throw Fail($"{op}: input {i} is not aligned with the time axis of input 0");
                axes[op.Outputs[0]] = x;
                return;
            case OpType.Add or OpType.Mul:
            {
                int rank = outShape.Length;
                int timed = -1;
                for (int i = 0; i < 2; i++)
                {
                    var t = g.Tensors[op.Inputs[i]];
                    int a = Axis(i);
                    if (a != None)
                    {
                        int aligned = a + rank - t.Rank;
                        if (timed >= 0 && timed != aligned) throw Fail($"{op}: the inputs' time axes do not line up");
                        timed = aligned;
                    }
                }
                for (int i = 0; i < 2; i++)
                {
                    var t = g.Tensors[op.Inputs[i]];
                    if (Axis(i) != None) continue;
                    int aligned = timed - (rank - t.Rank);
                    if (aligned >= 0 && t.Shape[aligned] != 1)
                        throw Fail($"{op}: operand '{t.Name}' varies along the time axis but is not streamed");
                }
                axes[op.Outputs[0]] = timed;
                return;
            }
            case OpType.Relu or OpType.LeakyRelu or OpType.Clip or OpType.Sigmoid or OpType.Tanh or OpType.HardSigmoid
                or OpType.HardSwish or OpType.LookupTable:
                axes[op.Outputs[0]] = x;
                return;
            case OpType.PRelu:
            {
                var slope = g.Tensors[op.Inputs[1]];
                int aligned = x - (outShape.Length - slope.Rank);
                if (aligned >= 0 && slope.Shape[aligned] != 1) throw Fail($"{op}: the slope varies along the time axis");
                axes[op.Outputs[0]] = x;
                return;
            }
            case OpType.Conv or OpType.MaxPool or OpType.AveragePool or OpType.GlobalAveragePool or OpType.GlobalMaxPool or OpType.Pad:
                if (x == 0 && (op.Type != OpType.Pad || op.Attributes.GetInts(AttributeKey.Pads) is not { } pads || (pads[0] == 0 && pads[pads.Length / 2] == 0)))
                {
                    axes[op.Outputs[0]] = 0; // time is the batch axis: each step is its own sample
                    return;
                }
                throw Fail($"{op} works across time steps (a window over time): run this model per window instead of streaming");
            default:
                throw Fail($"{op} is not supported on a streamed sequence");
        }
    }

    private static long Product(int[] shape, int from, int to)
    {
        long p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }

    private static ModelGraph MakeStepGraph(ModelGraph g, int[] axes, int steps)
    {
        var step = new ModelGraph();
        long cursor = 0;
        for (int id = 0; id < g.Tensors.Count; id++)
        {
            var t = g.Tensors[id];
            var shape = (int[])t.Shape.Clone();
            if (!t.IsConstant && axes[id] != None) shape[axes[id]] = 1;
            var copy = new TensorInfo(t.Name, t.Type, shape, t.Kind) { Data = t.Data, Quantization = t.Quantization, Offset = t.Offset };
            if (!t.IsConstant)
            {
                copy.Offset = cursor; // every activation its own slot: the step graph is small
                cursor = EnetFormat.AlignUp(cursor + copy.ByteLength);
            }
            step.AddTensor(copy);
        }
        step.ArenaBytes = cursor;
        foreach (var op in g.Ops)
        {
            var attributes = op.Attributes.Clone();
            if (op.Type == OpType.Slice && op.Inputs[0] >= 0 && axes[op.Inputs[0]] == attributes.GetInt(AttributeKey.Axis, -1))
                attributes.Set(AttributeKey.Starts, 0).Set(AttributeKey.Ends, 1);
            step.Ops.Add(new OpInfo(op.Type, op.Name, (int[])op.Inputs.Clone(), (int[])op.Outputs.Clone(), attributes));
        }
        step.Inputs.AddRange(g.Inputs);
        step.Outputs.AddRange(g.Outputs);
        foreach (var (k, v) in g.Metadata) step.Metadata[k] = v;
        return step;
    }
}
