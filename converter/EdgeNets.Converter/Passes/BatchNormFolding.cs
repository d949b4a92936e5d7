using EdgeNets.Converter.Import;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Passes;

/// <summary>
/// Removes every inference-mode BatchNormalization: folded into the Conv (or 2-D Gemm) that produces its input when
/// that output feeds nothing else, otherwise lowered to Mul + Add with per-channel [C,1,...] constants.
/// </summary>
internal static class BatchNormFolding
{
    public static void Run(IrGraph g)
    {
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var bn = g.Nodes[i];
            if (bn.Op != OpType.BatchNormalization) continue;
            float epsilon = bn.Attributes.GetFloat(AttributeKey.Alpha, 1e-5f);
            var x = g.Value(bn.Inputs[0]);
            int channels = x.Shape[1];
            var scale = Params(g, bn, 1, channels);
            var beta = Params(g, bn, 2, channels);
            var mean = Params(g, bn, 3, channels);
            var variance = Params(g, bn, 4, channels);
            // y = x * s + (beta - mean * s), s = scale / sqrt(var + eps); computed in double once.
            var s = new double[channels];
            for (int c = 0; c < channels; c++)
            {
                double denominator = (double)variance[c] + epsilon;
                if (!(denominator > 0))
                    throw new ConversionDetailException($"node '{bn.Name}' (BatchNormalization): variance + epsilon of channel {c} is {variance[c]} + {epsilon}; it must be positive");
                s[c] = scale[c] / Math.Sqrt(denominator);
            }

            // Conv weights [M, ...] and Gemm weights [N, K] both have the output channel on axis 0; a Gemm's
            // output channel is BatchNormalization's axis 1 only when that output is 2-D.
            var conv = g.Producer(x.Name);
            bool foldable = conv != null && (conv.Op == OpType.Conv || conv.Op == OpType.Gemm && x.Shape.Length == 2);
            if (foldable && g.ConsumerCount(x.Name) == 1 && !g.IsGraphOutput(x.Name) && g.Value(conv!.Inputs[1]).Shape[0] == channels)
            {
                FoldIntoConv(g, conv, bn, s, beta, mean);
                g.Nodes.RemoveAt(i);
                i--;
                continue;
            }

            var mulShape = new int[Math.Max(1, x.Shape.Length - 1)];
            Array.Fill(mulShape, 1);
            mulShape[0] = channels;
            var mulValues = new float[channels];
            var addValues = new float[channels];
            for (int c = 0; c < channels; c++)
            {
                mulValues[c] = (float)s[c];
                addValues[c] = (float)(beta[c] - mean[c] * s[c]);
            }
            RequireFinite(bn, mulValues, "scale");
            RequireFinite(bn, addValues, "shift");
            string scaleName = g.NewConstant(bn.Name + "_scale", ConstTensor.FromFloats(mulShape, mulValues));
            string shiftName = g.NewConstant(bn.Name + "_shift", ConstTensor.FromFloats(mulShape, addValues));
            string scaled = g.AddActivation(g.UniqueName(bn.Outputs[0] + "_scaled"), x.Shape).Name;
            var mul = new IrNode(OpType.Mul, g.UniqueName(bn.Name + "_mul"), [x.Name, scaleName], [scaled]);
            var add = new IrNode(OpType.Add, g.UniqueName(bn.Name + "_add"), [scaled, shiftName], [bn.Outputs[0]]);
            g.Nodes[i] = mul;
            g.Nodes.Insert(i + 1, add);
            i++;
        }
    }

    private static void FoldIntoConv(IrGraph g, IrNode conv, IrNode bn, double[] s, float[] beta, float[] mean)
    {
        var w = g.Value(conv.Inputs[1]).Constant!;
        int m = w.Shape[0];
        int perChannel = w.Count / m;
        var weights = w.AsFloats();
        var newWeights = new float[weights.Length];
        for (int o = 0; o < m; o++)
            for (int k = 0; k < perChannel; k++) newWeights[o * perChannel + k] = (float)(weights[o * perChannel + k] * s[o]);
        var oldBias = conv.Inputs.Count > 2 && conv.Inputs[2] != "" ? g.Value(conv.Inputs[2]).Constant!.AsFloats() : new float[m];
        var newBias = new float[m];
        for (int o = 0; o < m; o++) newBias[o] = (float)((oldBias[o] - mean[o]) * s[o] + beta[o]);
        RequireFinite(bn, newWeights, $"weights of '{conv.Name}'");
        RequireFinite(bn, newBias, $"bias of '{conv.Name}'");

        // New constants: the original weights may be shared with other convolutions.
        string wName = g.NewConstant(conv.Inputs[1] + "_bn", ConstTensor.FromFloats(w.Shape, newWeights));
        string bName = g.NewConstant((conv.Inputs.Count > 2 && conv.Inputs[2] != "" ? conv.Inputs[2] : conv.Name + "_bias") + "_bn", ConstTensor.FromFloats([m], newBias));
        conv.Inputs[1] = wName;
        if (conv.Inputs.Count > 2) conv.Inputs[2] = bName; else conv.Inputs.Add(bName);

        // The convolution now produces the batch norm's output, under that name.
        string convOut = conv.Outputs[0];
        g.Values.Remove(bn.Outputs[0]);
        g.Rename(convOut, bn.Outputs[0]);
    }

    /// <summary>Statistics far out of float range (a mean of 1e38, a variance of 1e-45) fold into infinities: refused here, by the node.</summary>
    private static void RequireFinite(IrNode bn, float[] folded, string what)
    {
        int bad = Array.FindIndex(folded, v => !float.IsFinite(v));
        if (bad >= 0)
            throw new ConversionDetailException($"node '{bn.Name}' (BatchNormalization): folding gives {what} value {folded[bad]} at index {bad}; its scale, bias, mean or variance is out of range");
    }

    private static float[] Params(IrGraph g, IrNode bn, int index, int channels)
    {
        var v = g.Value(bn.Inputs[index]);
        if (v.Constant == null || !v.Constant.IsFloat || v.Constant.Count != channels)
            throw new ConversionDetailException($"node '{bn.Name}' (BatchNormalization): input {index} '{v.Name}' must be a constant float tensor of {channels} values (shape [{ShapeUtil.Format(v.Shape)}])");
        return v.Constant.Floats!;
    }
}
