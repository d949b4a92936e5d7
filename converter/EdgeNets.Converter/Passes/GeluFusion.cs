using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Passes;

/// <summary>
/// Replaces GELU as exporters write it, x · ½ · (1 + erf(x / √2)) (after import: Mul by 1/√2, Erf, Add 1, Mul by x,
/// Mul by ½), with one Gelu activation: one lookup table in int8 instead of a table and three rescaled int8 ops, and
/// no rounding between them. The chain's intermediates must feed nothing else.
/// </summary>
internal static class GeluFusion
{
    public static void Run(IrGraph g)
    {
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var erf = g.Nodes[i];
            if (erf.Op != OpType.Erf || erf.Inputs.Count != 1) continue;
            var scale = g.Producer(erf.Inputs[0]);
            if (scale == null || !Private(g, erf.Inputs[0]) || OtherOperand(g, scale, OpType.Mul, 0.70710678f) is not { } x) continue;
            if (Only(g, erf.Outputs[0]) is not { } add || OtherOperand(g, add, OpType.Add, 1f) != erf.Outputs[0]) continue;
            if (Only(g, add.Outputs[0]) is not { } times || times.Op != OpType.Mul || times.Inputs.Count != 2) continue;
            if (!(times.Inputs[0] == x && times.Inputs[1] == add.Outputs[0]) && !(times.Inputs[1] == x && times.Inputs[0] == add.Outputs[0])) continue;
            if (Only(g, times.Outputs[0]) is not { } half || OtherOperand(g, half, OpType.Mul, 0.5f) != times.Outputs[0]) continue;
            if (HasClamp(scale) || HasClamp(add) || HasClamp(times) || HasClamp(half)) continue;

            var gelu = new IrNode(OpType.Gelu, half.Name, [x], [half.Outputs[0]]);
            int at = g.Nodes.IndexOf(half);
            g.Nodes[at] = gelu;
            foreach (var n in new[] { scale, erf, add, times })
            {
                g.Nodes.Remove(n);
                foreach (var o in n.Outputs) g.Values.Remove(o);
            }
            i = -1; // indices moved; the graph is small
        }
    }

    /// <summary>The single consumer of a value that is not a graph output, else null.</summary>
    private static IrNode? Only(IrGraph g, string value)
    {
        if (!Private(g, value)) return null;
        foreach (var n in g.Nodes) if (n.Inputs.Contains(value)) return n;
        return null;
    }

    private static bool Private(IrGraph g, string value) => g.ConsumerCount(value) == 1 && !g.IsGraphOutput(value);

    private static bool HasClamp(IrNode n) =>
        n.Attributes.GetFloats(AttributeKey.ActivationMin) != null || n.Attributes.GetFloats(AttributeKey.ActivationMax) != null;

    /// <summary>For a binary <paramref name="op"/> with one operand the scalar constant <paramref name="value"/>: the other operand.</summary>
    private static string? OtherOperand(IrGraph g, IrNode n, OpType op, float value)
    {
        if (n.Op != op || n.Inputs.Count != 2) return null;
        for (int k = 0; k < 2; k++)
        {
            var c = g.Values.TryGetValue(n.Inputs[k], out var v) ? v.Constant : null;
            if (c?.Floats is { Length: 1 } f && Math.Abs(f[0] - value) <= 1e-6f * Math.Max(1f, Math.Abs(value))) return n.Inputs[1 - k];
        }
        return null;
    }
}
