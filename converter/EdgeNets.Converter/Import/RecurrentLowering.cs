using EdgeNets.Converter.Passes;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Ops;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>LSTM, GRU and RNN nodes.</summary>
internal sealed partial class GraphImporter
{
    private static Lowering[] RecurrentLowerings =>
    [
        new("LSTM", (g, n) => g.LowerRecurrent(n, OpType.Lstm), IntegerConstants: true),
        new("GRU", (g, n) => g.LowerRecurrent(n, OpType.Gru), IntegerConstants: true),
        new("RNN", (g, n) => g.LowerRecurrent(n, OpType.Rnn), IntegerConstants: true),
    ];

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
        var (gates, actsPerDirection) = RecurrentSchema.Shape(op);
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
}
