using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Ops;

namespace EdgeNets.Runtime;

/// <summary>Finds the time axis of every activation and derives the one-step graph (see <see cref="StreamingSession"/>).</summary>
internal static class StepGraphBuilder
{
    private const int None = TimeAxes.None;

    public static (ModelGraph Graph, int InputTimeAxis, int Steps, int[] TimeAxes, int FirstOutput, int Period) Build(ModelGraph g)
    {
        if (g.Inputs.Count != 1) throw Fail($"the model has {g.Inputs.Count} inputs; streaming needs exactly one (the sequence)");
        var first = g.Ops.FirstOrDefault(o => OperatorSchemas.For(o.Type).IsRecurrent)
            ?? throw Fail("the model has no LSTM, GRU or RNN layer");
        int steps = RecurrentSchema.Steps(g, first);
        var input = g.Tensors[g.Inputs[0]];
        string? lastError = null;
        // Axes of the recurrent layer's sequence length first; then longer ones, which windows over time may shorten.
        var candidates = Enumerable.Range(0, input.Rank)
            .Where(a => input.Shape[a] == steps || input.Shape[a] > steps)
            .OrderBy(a => input.Shape[a] == steps ? 0 : 1).ThenBy(a => a);
        foreach (int axis in candidates)
        {
            var axes = new int[g.Tensors.Count];
            Array.Fill(axes, None);
            axes[g.Inputs[0]] = axis;
            var windows = new Dictionary<OpInfo, TimeWindow>();
            try
            {
                foreach (var op in g.Ops) Propagate(g, op, axes, windows);
                var (graph, firstOutput, period) = MakeStepGraph(g, axes, windows);
                return (graph, axis, steps, axes, firstOutput, period);
            }
            catch (ModelFormatException e) { lastError = e.Message; }
        }
        throw lastError != null ? new ModelFormatException(lastError)
            : Fail($"input '{input.Name}' [{ShapeUtil.Format(input.Shape)}] has no axis that can lead to the sequence axis (length {steps}) of {first}");
    }

    private static ModelFormatException Fail(string message) => TimeAxes.Error(message);

    /// <summary>The time axis of the operator's output from its schema's streaming rule.</summary>
    private static void Propagate(ModelGraph g, OpInfo op, int[] axes, Dictionary<OpInfo, TimeWindow> windows)
    {
        var schema = OperatorSchemas.For(op.Type);
        var t = new TimeAxes(g, op, axes);
        bool anyTimed = false;
        for (int i = 0; i < op.Inputs.Length; i++) anyTimed |= t.Input(i) != None;
        if (!anyTimed)
        {
            // Only values after the last step: the operator works on them as in the whole-sequence run.
            if (schema.IsRecurrent)
                throw Fail($"{op} reads a sequence that does not come from the streamed input's time axis");
            return;
        }
        int axis = schema.OutputTimeAxis(t);
        if (t.Window is { } window) windows[op] = window;
        axes[op.Outputs[0]] = axis;
    }

    private static (ModelGraph Graph, int FirstOutput, int Period) MakeStepGraph(ModelGraph g, int[] axes, Dictionary<OpInfo, TimeWindow> windows)
    {
        var step = new ModelGraph();
        long cursor = 0;
        void Place(TensorInfo t)
        {
            t.Offset = cursor; // every activation its own slot: the step graph is small
            cursor = EnetFormat.AlignUp(cursor + t.ByteLength);
        }
        for (int id = 0; id < g.Tensors.Count; id++)
        {
            var t = g.Tensors[id];
            var shape = (int[])t.Shape.Clone();
            if (!t.IsConstant && axes[id] != None) shape[axes[id]] = 1;
            var copy = new TensorInfo(t.Name, t.Type, shape, t.Kind) { Data = t.Data, Quantization = t.Quantization, Offset = t.Offset };
            if (!t.IsConstant) Place(copy);
            step.AddTensor(copy);
        }

        // When each timed tensor first gets a value after a Reset (in input steps, 1-based) and how often after that.
        var first = new int[g.Tensors.Count];
        var period = new int[g.Tensors.Count];
        first[g.Inputs[0]] = 1;
        period[g.Inputs[0]] = 1;
        foreach (var op in g.Ops)
        {
            var attributes = op.Attributes.Clone();
            var inputs = (int[])op.Inputs.Clone();
            int f = 0, p = 0;
            foreach (int i in op.Inputs)
            {
                if (i < 0 || axes[i] == None || g.Tensors[i].IsConstant) continue;
                if (f != 0 && (first[i] != f || period[i] != p))
                    throw Fail($"{op}: its inputs reach it after different numbers of steps (windows over time of different lengths on the way)");
                (f, p) = (first[i], period[i]);
            }
            if (op.Inputs.Length > 0 && op.Inputs[0] >= 0) OperatorSchemas.For(op.Type).AdjustForStep(attributes, axes[op.Inputs[0]]);
            if (windows.TryGetValue(op, out var w))
            {
                var source = step.Tensors[op.Inputs[0]];
                var shape = (int[])source.Shape.Clone();
                shape[w.Axis] = w.Span;
                var window = new TensorInfo($"{source.Name}/stream_window", source.Type, shape, source.Kind) { Quantization = source.Quantization };
                Place(window);
                int windowId = step.AddTensor(window);
                step.Ops.Add(new OpInfo(OpType.StreamWindow, $"{op.Name}/stream_window", [op.Inputs[0]], [windowId],
                    new OpAttributes().Set(AttributeKey.Axis, w.Axis).Set(AttributeKey.KernelShape, w.Span)
                        .Set(AttributeKey.Strides, w.Stride).Set(AttributeKey.Pads, w.LeadingPads)));
                inputs[0] = windowId;
                if (attributes.GetInts(AttributeKey.Pads) is { } pads)
                {
                    // The window holds the leading padding itself.
                    pads = (int[])pads.Clone();
                    int spatial = pads.Length / 2, k = w.Axis - 2;
                    pads[k] = 0;
                    pads[spatial + k] = 0;
                    attributes.Set(AttributeKey.Pads, pads);
                }
                f += (w.Span - w.LeadingPads - 1) * p;
                p *= w.Stride;
            }
            foreach (int o in op.Outputs)
                if (o >= 0 && axes[o] != None) (first[o], period[o]) = (f, p);
            step.Ops.Add(new OpInfo(op.Type, op.Name, inputs, (int[])op.Outputs.Clone(), attributes));
        }
        step.ArenaBytes = cursor;
        step.Inputs.AddRange(g.Inputs);
        step.Outputs.AddRange(g.Outputs);
        foreach (var (k, v) in g.Metadata) step.Metadata[k] = v;

        // Outputs after the last step (no time axis) come from the timed tensors the recurrent layers read.
        int firstOutput = 1, outputPeriod = 1;
        foreach (var op in g.Ops)
        {
            if (!OperatorSchemas.For(op.Type).IsRecurrent) continue;
            firstOutput = Math.Max(firstOutput, first[op.Inputs[0]]);
            outputPeriod = Math.Max(outputPeriod, period[op.Inputs[0]]);
        }
        int out0 = g.Outputs[0];
        if (axes[out0] != None) (firstOutput, outputPeriod) = (first[out0], period[out0]);
        return (step, firstOutput, outputPeriod);
    }
}
