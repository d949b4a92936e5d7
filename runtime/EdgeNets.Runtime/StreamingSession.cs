using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime;

/// <summary>
/// Runs a sequence model one time step at a time, keeping the recurrent state between calls. The model's single
/// input must have a time axis that reaches a forward LSTM/GRU/RNN (as its sequence axis) through per-time-step
/// operators (Gemm, elementwise, Transpose, Reshape, lookup tables ...) and convolutions or pools over time. The
/// session runs a copy of the graph whose time dimension is 1, with the recurrent kernels carrying their state from
/// one step to the next, so each step gives exactly what the whole-sequence run gives for its time: per-step outputs
/// (e.g. Y) are that time's row, and outputs taken from the last step (Gather/Slice of the last step, Y_h, Y_c) are
/// the values after it. A convolution or pool over time reads a <see cref="OpType.StreamWindow"/> holding its last
/// kernel-span steps, so its outputs (and everything after it) start once the window is full and then follow every
/// stride steps: <see cref="Step"/> returns false while nothing new comes out.
/// Reverse or bidirectional layers, and windows padded at the end of the sequence, cannot be streamed; run such
/// models per window. <see cref="Step"/> allocates nothing. Not thread-safe.
/// </summary>
public sealed class StreamingSession : IDisposable
{
    private readonly Session _session;
    private readonly IStatefulKernel[] _stateful;
    private readonly int[] _outputTimeAxes;

    internal StreamingSession(Model model, SessionOptions options)
    {
        Model = model;
        var (graph, timeAxis, steps, axes, firstOutput, period) = StepGraphBuilder.Build(model.Graph);
        StepGraph = graph;
        StepsToFirstOutput = firstOutput;
        OutputPeriod = period;
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
    /// <summary>
    /// Input steps after a <see cref="Reset"/> until the first step that produces output 0 (1 without windows over
    /// time; a valid 1-D convolution of kernel 5 makes it 5).
    /// </summary>
    public int StepsToFirstOutput { get; }
    /// <summary>Input steps between two steps that produce output (1 unless a window over time has a stride).</summary>
    public int OutputPeriod { get; }
    /// <summary>Steps since the last <see cref="Reset"/> that produced output: the next output is row ReadySteps of the whole-sequence run's time axis.</summary>
    public long ReadySteps { get; private set; }
    /// <summary>Values of one time step of the input.</summary>
    public int StepInputSize => StepGraph.Tensors[StepGraph.Inputs[0]].ElementCount;
    public int StepOutputSize(int index = 0) => StepGraph.Tensors[StepGraph.Outputs[index]].ElementCount;
    /// <summary>The per-step session (for raw input bytes or further outputs).</summary>
    public Session Session => _session;

    /// <summary>
    /// Feeds one time step (quantizing when the model is int8) and, when the step produces output (always, unless a
    /// window over time is still filling or striding), writes output 0 after it and returns true.
    /// </summary>
    public bool Step(ReadOnlySpan<float> input, Span<float> output)
    {
        if (!Advance(input)) return false;
        _session.GetOutput(0, output);
        return true;
    }

    /// <summary>Feeds one time step like <see cref="Step"/>, leaving the outputs in <see cref="Session"/>; returns whether they are new.</summary>
    public bool Advance(ReadOnlySpan<float> input)
    {
        _session.SetInput(0, input);
        return AdvanceWithInputSet();
    }

    /// <summary>
    /// Runs one time step on the input already written into <see cref="Session"/> (e.g. preprocessed straight into its
    /// quantized input bytes); returns whether the outputs are new. Use this, not Session.Invoke, on a streaming session.
    /// </summary>
    public bool AdvanceWithInputSet()
    {
        if (!_session.InvokeUntilGateCloses()) return false;
        ReadySteps++;
        return true;
    }

    /// <summary>Starts a new sequence: recurrent states return to their initial values, windows over time empty.</summary>
    public void Reset()
    {
        foreach (var s in _stateful) s.ResetState();
        ReadySteps = 0;
    }

    public void Dispose() => _session.Dispose();
}
