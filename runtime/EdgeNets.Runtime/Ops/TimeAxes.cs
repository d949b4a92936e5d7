using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Ops;

/// <summary>
/// What a schema's streaming rule sees of one operator (<see cref="OperatorSchema.OutputTimeAxis"/>): the time axis of
/// each input in the whole-sequence graph, and where a window over time must be kept (see StreamingSession).
/// </summary>
internal sealed class TimeAxes
{
    /// <summary>A tensor without time axis: a value after the last step.</summary>
    public const int None = -1;

    private readonly int[] _axes;

    public TimeAxes(ModelGraph graph, OpInfo op, int[] axes)
    {
        Graph = graph;
        Op = op;
        _axes = axes;
    }

    public ModelGraph Graph { get; }
    public OpInfo Op { get; }

    /// <summary>The time axis of input <paramref name="i"/>; <see cref="None"/> for constants, absent inputs and values after the last step.</summary>
    public int Input(int i) => i < Op.Inputs.Length && Op.Inputs[i] >= 0 && !Graph.Tensors[Op.Inputs[i]].IsConstant ? _axes[Op.Inputs[i]] : None;

    /// <summary>The time axis of input 0.</summary>
    public int X => Input(0);

    /// <summary>Input 0's time steps in the whole-sequence run (0 when input 0 has no time axis).</summary>
    public int Length => X != None ? Graph.Tensors[Op.Inputs[0]].Shape[X] : 0;

    public TensorInfo InputTensor(int i) => Graph.Tensors[Op.Inputs[i]];
    public int[] OutputShape => Graph.Tensors[Op.Outputs[0]].Shape;

    /// <summary>Set by a Conv or pool over time: the window of steps its one-step form reads.</summary>
    public TimeWindow? Window { get; set; }

    /// <summary>Fails unless inputs from <paramref name="from"/> on are free of the time axis (weights, states).</summary>
    public void RequireUntimedFrom(int from)
    {
        for (int i = from; i < Op.Inputs.Length; i++)
            if (Input(i) != None) throw Fail($"{Op}: input {i} depends on the time axis");
    }

    public ModelFormatException Fail(string message) => Error(message);

    /// <summary>The one form of a streaming error: the model cannot run one step at a time, and why.</summary>
    public static ModelFormatException Error(string message) => new($"streaming: {message}");
}

/// <summary>A convolution or pool over time: its window along the time axis of its input.</summary>
internal readonly record struct TimeWindow(int Axis, int Span, int Stride, int LeadingPads);
