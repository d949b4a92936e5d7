using EdgeNets.Converter.Passes;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>LSTM, GRU and RNN nodes, and Gather/Slice of a run-time tensor (e.g. the last time step of Y).</summary>
internal sealed partial class GraphImporter
{
    /// <summary>ONNX activation names (case-insensitive, as ONNX Runtime reads them), how many alphas and betas each takes, and their defaults.</summary>
    private static readonly Dictionary<string, (RecurrentActivation Code, int Alphas, int Betas, float Alpha, float Beta)> RecurrentActivations =
        new(StringComparer.OrdinalIgnoreCase)
        {
            ["Sigmoid"] = (RecurrentActivation.Sigmoid, 0, 0, 0f, 0f),
            ["Tanh"] = (RecurrentActivation.Tanh, 0, 0, 0f, 0f),
            ["Relu"] = (RecurrentActivation.Relu, 0, 0, 0f, 0f),
            ["Affine"] = (RecurrentActivation.Affine, 1, 1, 1f, 0f),
            ["LeakyRelu"] = (RecurrentActivation.LeakyRelu, 1, 0, 0.01f, 0f),
            ["ThresholdedRelu"] = (RecurrentActivation.ThresholdedRelu, 1, 0, 1f, 0f),
            ["ScaledTanh"] = (RecurrentActivation.ScaledTanh, 1, 1, 1f, 1f),
            ["HardSigmoid"] = (RecurrentActivation.HardSigmoid, 1, 1, 0.2f, 0.5f),
            ["Elu"] = (RecurrentActivation.Elu, 1, 0, 1f, 0f),
            ["Softsign"] = (RecurrentActivation.Softsign, 0, 0, 0f, 0f),
            ["Softplus"] = (RecurrentActivation.Softplus, 0, 0, 0f, 0f),
        };

    private void LowerRecurrent(NodeProto n, OpType op)
    {
        var (gates, actsPerDirection) = RecurrentKernels.Shape(op);
        var x = Input(n, 0);
        if (x.Constant != null) throw Fail(n, "input X is a constant; a recurrent layer needs a run-time sequence");
        if (x.Shape.Length != 3) throw Fail(n, $"input X has shape [{ShapeUtil.Format(x.Shape)}]; rank 3 is required");
        int layout = (int)OnnxNodeAttributes.Int(n, "layout", 0);
        if (layout is not (0 or 1)) throw Fail(n, $"attribute 'layout' = {layout} must be 0 or 1");
        int steps = layout == 0 ? x.Shape[0] : x.Shape[1], batch = layout == 0 ? x.Shape[1] : x.Shape[0], inputSize = x.Shape[2];

        string directionName = OnnxNodeAttributes.String(n, "direction", "forward");
        int direction = directionName switch
        {
            "forward" => 0,
            "reverse" => 1,
            "bidirectional" => 2,
            _ => throw Fail(n, $"attribute 'direction' = '{directionName}' is not one of forward, reverse, bidirectional"),
        };
        int directions = direction == 2 ? 2 : 1;

        var w = FloatConstInput(n, 1, "W");
        var r = FloatConstInput(n, 2, "R");
        if (w.Shape.Length != 3 || r.Shape.Length != 3 || w.Shape[0] != directions || r.Shape[0] != directions)
            throw Fail(n, $"W [{ShapeUtil.Format(w.Shape)}] and R [{ShapeUtil.Format(r.Shape)}] must be [{directions}, gates*hidden, ...] for direction '{directionName}'");
        int hidden = r.Shape[2];
        long declaredHidden = OnnxNodeAttributes.Int(n, "hidden_size", hidden);
        if (declaredHidden != hidden || w.Shape[1] != gates * hidden || r.Shape[1] != gates * hidden || w.Shape[2] != inputSize)
            throw Fail(n, $"W [{ShapeUtil.Format(w.Shape)}] and R [{ShapeUtil.Format(r.Shape)}] do not fit hidden_size {declaredHidden}, {gates} gate(s) and input size {inputSize}");

        var inputs = new string[8];
        Array.Fill(inputs, "");
        inputs[RecurrentKernels.InputX] = x.Name;
        inputs[RecurrentKernels.InputW] = Input(n, 1).Name;
        inputs[RecurrentKernels.InputR] = Input(n, 2).Name;
        if (HasInput(n, 3))
        {
            var b = FloatConstInput(n, 3, "B");
            if (b.Count != directions * 2 * gates * hidden) throw Fail(n, $"B has shape [{ShapeUtil.Format(b.Shape)}], expected [{directions}, {2 * gates * hidden}]");
            inputs[RecurrentKernels.InputB] = Input(n, 3).Name;
        }
        if (HasInput(n, 4))
        {
            // Only the trivial sequence_lens (every sequence has the full length) is supported.
            var lens = Input(n, 4).Constant
                ?? throw Fail(n, $"sequence_lens '{n.Input[4]}' is computed at run time; only the full sequence length is supported (leave the input empty)");
            for (int i = 0; i < lens.Count; i++)
                if (lens.GetLong(i) != steps)
                    throw Fail(n, $"sequence_lens[{i}] = {lens.GetLong(i)} differs from the sequence length {steps}; variable-length sequences are not supported");
        }
        int[] stateShape = layout == 0 ? [directions, batch, hidden] : [batch, directions, hidden];
        string StateInput(int i, string role)
        {
            if (!HasInput(n, i)) return "";
            var v = Input(n, i);
            if (!v.Shape.SequenceEqual(stateShape)) throw Fail(n, $"{role} has shape [{ShapeUtil.Format(v.Shape)}], expected [{ShapeUtil.Format(stateShape)}]");
            if (v.Constant != null && !v.Constant.IsFloat) throw Fail(n, $"{role} must be float");
            return v.Name;
        }
        inputs[RecurrentKernels.InputInitialH] = StateInput(5, "initial_h");
        if (op == OpType.Lstm)
        {
            inputs[RecurrentKernels.InputInitialC] = StateInput(6, "initial_c");
            if (HasInput(n, 7))
            {
                var p = FloatConstInput(n, 7, "P");
                if (p.Count != directions * 3 * hidden) throw Fail(n, $"P has shape [{ShapeUtil.Format(p.Shape)}], expected [{directions}, {3 * hidden}]");
                inputs[RecurrentKernels.InputP] = Input(n, 7).Name;
            }
        }
        int used = inputs.Length;
        while (used > 3 && inputs[used - 1] == "") used--;

        var attributes = new OpAttributes().Set(AttributeKey.Direction, direction).Set(AttributeKey.Layout, layout);
        var clip = OnnxNodeAttributes.Find(n, "clip");
        if (clip != null)
        {
            if (!(clip.F > 0f)) throw Fail(n, $"attribute 'clip' = {clip.F} must be positive");
            attributes.Set(AttributeKey.Clip, clip.F);
        }
        if (op == OpType.Gru && OnnxNodeAttributes.Int(n, "linear_before_reset", 0) != 0) attributes.Set(AttributeKey.LinearBeforeReset, 1);
        if (op == OpType.Lstm && OnnxNodeAttributes.Int(n, "input_forget", 0) != 0) attributes.Set(AttributeKey.InputForget, 1);
        SetActivations(n, attributes, directions, actsPerDirection);

        int[] yShape = layout == 0 ? [steps, directions, batch, hidden] : [batch, steps, directions, hidden];
        int outputCount = op == OpType.Lstm ? 3 : 2;
        var outputs = new string[outputCount];
        for (int o = 0; o < outputCount; o++)
        {
            // Every output is materialized (unused ones get a private name): the kernel always writes all of them.
            outputs[o] = o < n.Output.Count && n.Output[o] != "" ? n.Output[o] : Temp(n, o == 0 ? "Y" : o == 1 ? "Y_h" : "Y_c");
            _g.AddActivation(outputs[o], o == 0 ? yShape : stateShape);
        }
        _g.Nodes.Add(new IrNode(op, NodeName(n), inputs[..used], outputs, attributes));
    }

    private void SetActivations(NodeProto n, OpAttributes attributes, int directions, int perDirection)
    {
        var names = OnnxNodeAttributes.Find(n, "activations")?.Strings.Select(s => s.ToStringUtf8()).ToArray();
        if (names == null || names.Length == 0) return; // the kernel's defaults are ONNX's
        if (names.Length == perDirection && directions == 2) names = [.. names, .. names]; // one list for both directions
        if (names.Length != perDirection * directions)
            throw Fail(n, $"attribute 'activations' has {names.Length} entries, expected {perDirection * directions}");
        var alphas = OnnxNodeAttributes.Floats(n, "activation_alpha") ?? [];
        var betas = OnnxNodeAttributes.Floats(n, "activation_beta") ?? [];
        int nextAlpha = 0, nextBeta = 0;
        var codes = new int[names.Length];
        var alpha = new float[names.Length];
        var beta = new float[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            if (!RecurrentActivations.TryGetValue(names[i], out var f))
                throw Fail(n, $"activation '{names[i]}' is not supported (supported: {string.Join(", ", RecurrentActivations.Keys)})");
            codes[i] = (int)f.Code;
            // Alphas and betas are consumed in order by the functions that take them; missing ones take the defaults.
            alpha[i] = f.Alphas > 0 && nextAlpha < alphas.Length ? alphas[nextAlpha++] : f.Alpha;
            beta[i] = f.Betas > 0 && nextBeta < betas.Length ? betas[nextBeta++] : f.Beta;
        }
        attributes.Set(AttributeKey.Activations, codes).Set(AttributeKey.ActivationAlpha, alpha).Set(AttributeKey.ActivationBeta, beta);
    }

    /// <summary>Gather with one constant index on a run-time tensor: a one-element Slice (axis dropped for a scalar index).</summary>
    private void LowerGather(NodeProto n)
    {
        var x = Input(n, 0);
        var indices = ConstInput(n, 1, "indices");
        if (indices.Count != 1 || indices.Shape.Length > 1)
            throw Fail(n, $"indices of shape [{ShapeUtil.Format(indices.Shape)}]: only a single constant index is supported on a run-time tensor");
        int axis = ConstantFolder.NormalizeAxis(OnnxNodeAttributes.Int(n, "axis", 0), x.Shape.Length, "axis", m => Fail(n, m));
        long index = indices.GetLong(0);
        if (index < 0) index += x.Shape[axis];
        if (index < 0 || index >= x.Shape[axis]) throw Fail(n, $"index {indices.GetLong(0)} is outside dimension {x.Shape[axis]} of axis {axis}");
        var shape = indices.Shape.Length == 0 ? x.Shape.Where((_, i) => i != axis).ToArray() : x.Shape.Select((d, i) => i == axis ? 1 : d).ToArray();
        Emit(n, OpType.Slice, [x.Name], shape, SliceAttributes(axis, (int)index, (int)index + 1));
    }

    /// <summary>Slice of a run-time tensor with step 1: one Slice operator per axis that is actually cut.</summary>
    private void LowerSlice(NodeProto n)
    {
        var x = Input(n, 0);
        int rank = x.Shape.Length;
        long[] starts, ends;
        long[]? axes, steps = null;
        if (_opset < 10)
        {
            starts = OnnxNodeAttributes.Ints(n, "starts") ?? throw Fail(n, "attribute 'starts' is required");
            ends = OnnxNodeAttributes.Ints(n, "ends") ?? throw Fail(n, "attribute 'ends' is required");
            axes = OnnxNodeAttributes.Ints(n, "axes");
        }
        else
        {
            starts = ConstInput(n, 1, "starts").AsLongs();
            ends = ConstInput(n, 2, "ends").AsLongs();
            axes = HasInput(n, 3) ? ConstInput(n, 3, "axes").AsLongs() : null;
            steps = HasInput(n, 4) ? ConstInput(n, 4, "steps").AsLongs() : null;
        }
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || (steps != null && steps.Length != starts.Length))
            throw Fail(n, "starts, ends, axes and steps differ in length");
        var cuts = new List<(int Axis, int Start, int End)>();
        for (int i = 0; i < starts.Length; i++)
        {
            if (steps != null && steps[i] != 1) throw Fail(n, $"step {steps[i]} on a run-time tensor is not supported (only 1)");
            int axis = ConstantFolder.NormalizeAxis(axes[i], rank, "axes", m => Fail(n, m));
            long dim = x.Shape[axis];
            long start = starts[i] < 0 ? starts[i] + dim : starts[i];
            long end = ends[i] < 0 ? ends[i] + dim : ends[i];
            start = Math.Clamp(start, 0, dim);
            end = Math.Clamp(end, 0, dim);
            if (end <= start) throw Fail(n, $"the slice [{starts[i]}, {ends[i]}) of axis {axis} is empty; empty tensors are not supported");
            if (start > 0 || end < dim) cuts.Add((axis, (int)start, (int)end));
        }
        if (cuts.Count == 0) { _alias[n.Output[0]] = x.Name; return; }
        string current = x.Name;
        var shape = (int[])x.Shape.Clone();
        for (int c = 0; c < cuts.Count; c++)
        {
            var (axis, start, end) = cuts[c];
            shape = (int[])shape.Clone();
            shape[axis] = end - start;
            string output = c == cuts.Count - 1 ? n.Output[0] : Temp(n, "slice" + c);
            EmitTo(n, OpType.Slice, [current], output, shape, SliceAttributes(axis, start, end));
            current = output;
        }
    }

    private static OpAttributes SliceAttributes(int axis, int start, int end) =>
        new OpAttributes().Set(AttributeKey.Axis, axis).Set(AttributeKey.Starts, start).Set(AttributeKey.Ends, end);
}
