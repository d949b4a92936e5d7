using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Converter.Passes;

/// <summary>
/// Replaces x times a function of x, as exporters write SiLU (Sigmoid, Mul), Hardswish before opset 14 (HardSigmoid,
/// Mul) and Mish (Softplus, Tanh, Mul), by one SelfGate activation: in int8 y depends on the int8 x alone, so it is one
/// lookup table instead of a table and a rescaled Mul, with no rounding in between. The gate is a chain of activations
/// from x to one operand of the Mul whose values feed nothing else. A gate on another tensor (squeeze-excite's
/// sigmoid of a pooled branch) is a different pattern and stays a Mul.
/// </summary>
internal static class SelfGateFusion
{
    public static void Run(IrGraph g)
    {
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var mul = g.Nodes[i];
            if (mul.Op != OpType.Mul || mul.Inputs.Count != 2 || HasClamp(mul)) continue;
            for (int k = 0; k < 2; k++)
            {
                if (Gate(g, mul.Inputs[k], mul.Inputs[1 - k]) is not { } chain) continue;
                var gate = chain.Select(n => ActivationFunction.For(n.Op, n.Attributes)!.Value).ToList();
                g.Nodes[i] = new IrNode(OpType.SelfGate, mul.Name, [mul.Inputs[1 - k]], [mul.Outputs[0]], ActivationFunction.SelfGateAttributes(gate));
                foreach (var n in chain)
                {
                    g.Nodes.Remove(n);
                    g.Values.Remove(n.Outputs[0]);
                }
                i -= chain.Count;
                break;
            }
        }
    }

    /// <summary>The activations from <paramref name="x"/> to <paramref name="gated"/>, first to last; null unless they are a private chain.</summary>
    private static List<IrNode>? Gate(IrGraph g, string gated, string x)
    {
        var chain = new List<IrNode>();
        for (string v = gated; v != x;)
        {
            var producer = g.Producer(v);
            if (producer == null || producer.Inputs.Count != 1 || producer.Outputs.Count != 1 || HasClamp(producer)
                || g.ConsumerCount(v) != 1 || g.IsGraphOutput(v) || ActivationFunction.For(producer.Op, producer.Attributes) == null
                || producer.Op == OpType.SelfGate)
                return null;
            chain.Insert(0, producer);
            v = producer.Inputs[0];
        }
        return chain.Count > 0 ? chain : null;
    }

    private static bool HasClamp(IrNode n) =>
        n.Op != OpType.Clip && (n.Attributes.GetFloats(AttributeKey.ActivationMin) != null || n.Attributes.GetFloats(AttributeKey.ActivationMax) != null);
}
