using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime;

/// <summary>Finds the time axis of every activation and derives the one-step graph (see <see cref="StreamingSession"/>).</summary>
internal static class StepGraphBuilder
{
    private const int None = -1; // a tensor without time axis: a value after the last step

    public static (ModelGraph Graph, int InputTimeAxis, int Steps, int[] TimeAxes, int FirstOutput, int Period) Build(ModelGraph g)
    {
        if (g.Inputs.Count != 1) throw Fail($"the model has {g.Inputs.Count} inputs; streaming needs exactly one (the sequence)");
        var first = g.Ops.FirstOrDefault(o => o.Type is OpType.Lstm or OpType.Gru or OpType.Rnn)
            ?? throw Fail("the model has no LSTM, GRU or RNN layer");
        int steps = g.Tensors[first.Inputs[0]].Shape[first.Attributes.GetInt(AttributeKey.Layout, 0) == 0 ? 0 : 1];
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
            var windows = new Dictionary<OpInfo, Window>();
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

    /// <summary>A convolution or pool over time: its window along the time axis of its input.</summary>
    private readonly record struct Window(int Axis, int Span, int Stride, int LeadingPads);

    private static ModelFormatException Fail(string message) => new($"streaming: {message}");

    private static void Propagate(ModelGraph g, OpInfo op, int[] axes, Dictionary<OpInfo, Window> windows)
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
        int length = x != None ? g.Tensors[op.Inputs[0]].Shape[x] : 0; // input 0's time steps in the whole-sequence run
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
                    if (op.Attributes.GetInt(AttributeKey.Starts, 0) != length - 1)
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
                    if (outShape[k] == length && Product(outShape, 0, k) == before && Product(outShape, k + 1, outShape.Length) == after)
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
            case OpType.Upsample:
                if (outShape[x] != length) throw Fail($"{op} upsamples along the time axis");
                axes[op.Outputs[0]] = x;
                return;
            case OpType.LayerNorm:
            {
                int axis = op.Attributes.GetInt(AttributeKey.Axis, -1);
                if (axis < 0) axis += outShape.Length;
                if (x >= axis) throw Fail($"{op} normalizes over the time axis");
                axes[op.Outputs[0]] = x;
                return;
            }
            case var elementwise when elementwise.IsActivation() || elementwise == OpType.LookupTable:
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
                if (op.Type is OpType.Conv or OpType.MaxPool or OpType.AveragePool && x >= 2)
                {
                    windows[op] = TimeWindow(g, op, x, length, outShape[x]);
                    axes[op.Outputs[0]] = x;
                    for (int i = 1; i < op.Inputs.Length; i++)
                        if (Axis(i) != None) throw Fail($"{op}: input {i} depends on the time axis");
                    return;
                }
                throw Fail($"{op} works across the whole time axis: run this model per window instead of streaming");
            default:
                throw Fail($"{op} is not supported on a streamed sequence");
        }
    }

    /// <summary>
    /// The window a Conv or pool reads along time axis <paramref name="x"/> (a spatial axis). Streamable when every
    /// output of the whole-sequence run is a full window of steps up to some step: padding only at the start
    /// (Conv: the padding value is what a new window holds), none for pools.
    /// </summary>
    private static Window TimeWindow(ModelGraph g, OpInfo op, int x, int length, int outputLength)
    {
        var inShape = g.Tensors[op.Inputs[0]].Shape;
        int spatial = inShape.Length - 2, k = x - 2;
        int kernel = op.Type == OpType.Conv && op.Attributes.GetInts(AttributeKey.KernelShape) is null
            ? g.Tensors[op.Inputs[1]].Shape[x]
            : op.Attributes.GetInts(AttributeKey.KernelShape) is { } ks && ks.Length == spatial ? ks[k] : throw Fail($"{op} has no kernel shape");
        int At(AttributeKey key, int index, int fallback) =>
            op.Attributes.GetInts(key) is { } v && index < v.Length ? v[index] : fallback;
        int dilation = At(AttributeKey.Dilations, k, 1), stride = At(AttributeKey.Strides, k, 1);
        int padBegin = At(AttributeKey.Pads, k, 0), padEnd = At(AttributeKey.Pads, spatial + k, 0);
        int span = dilation * (kernel - 1) + 1;
        if (padEnd != 0)
            throw Fail($"{op} pads the end of the time axis ({padEnd} step(s)): its last outputs read steps after the end of the window; " +
                       "pad only at the start (causal) to stream it, or run this model per window");
        if (padBegin != 0 && op.Type != OpType.Conv)
            throw Fail($"{op} pads the start of the time axis: only convolutions can be streamed with leading padding; run this model per window");
        if (padBegin >= span) throw Fail($"{op} pads {padBegin} steps before a window of {span}");
        int expected = length + padBegin < span ? 0 : (length + padBegin - span) / stride + 1;
        if (outputLength != expected)
            throw Fail($"{op} gives {outputLength} steps from {length} where full windows give {expected} (ceil mode?); run this model per window");
        return new Window(x, span, stride, padBegin);
    }

    private static long Product(int[] shape, int from, int to)
    {
        long p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }

    private static (ModelGraph Graph, int FirstOutput, int Period) MakeStepGraph(ModelGraph g, int[] axes, Dictionary<OpInfo, Window> windows)
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
            if (op.Type == OpType.Slice && op.Inputs[0] >= 0 && axes[op.Inputs[0]] == attributes.GetInt(AttributeKey.Axis, -1))
                attributes.Set(AttributeKey.Starts, 0).Set(AttributeKey.Ends, 1);
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
            if (op.Type is not (OpType.Lstm or OpType.Gru or OpType.Rnn)) continue;
            firstOutput = Math.Max(firstOutput, first[op.Inputs[0]]);
            outputPeriod = Math.Max(outputPeriod, period[op.Inputs[0]]);
        }
        int out0 = g.Outputs[0];
        if (axes[out0] != None) (firstOutput, outputPeriod) = (first[out0], period[out0]);
        return (step, firstOutput, outputPeriod);
    }
}
