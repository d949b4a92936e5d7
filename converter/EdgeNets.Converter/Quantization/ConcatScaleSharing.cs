using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Ops;

namespace EdgeNets.Converter.Quantization;

/// <summary>
/// TFLite's rule for int8 Concat: inputs and output share one scale and zero point, so the kernel only copies blocks.
/// An input whose producer chooses its own output scale from calibration (Conv, Add, a lookup table, another Concat,
/// ...) and that only this Concat reads is quantized with the Concat output's calibrated range instead of its own.
/// The Concat then needs no rescaling, and the values are rounded once at the output's scale instead of twice.
/// Inputs that cannot follow (graph inputs, pools and other same-scale moves, recurrent states) keep their own and are
/// rescaled as before.
/// </summary>
internal static class ConcatScaleSharing
{
    /// <summary>Float tensor name → the name of the Concat output whose calibrated range it takes.</summary>
    public static Dictionary<string, string> Plan(ModelGraph g)
    {
        var consumers = new int[g.Tensors.Count];
        var producer = new OpInfo?[g.Tensors.Count];
        foreach (var op in g.Ops)
        {
            foreach (int i in op.Inputs.Distinct()) if (i >= 0) consumers[i]++;
            foreach (int o in op.Outputs) if (o >= 0) producer[o] = op;
        }
        var direct = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var op in g.Ops)
        {
            if (op.Type != OpType.Concat || op.Outputs.Length != 1) continue;
            foreach (int i in op.Inputs)
            {
                if (i < 0 || consumers[i] != 1 || g.Inputs.Contains(i) || g.Outputs.Contains(i) || producer[i] is not { } p) continue;
                if (ChoosesOwnScale(OperatorSchemas.For(p.Type).Quantization)) direct[g.Tensors[i].Name] = g.Tensors[op.Outputs[0]].Name;
            }
        }
        // A Concat read only by another Concat follows that one's output in turn.
        var plan = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in direct.Keys)
        {
            string target = direct[name];
            while (direct.TryGetValue(target, out var next)) target = next;
            plan[name] = target;
        }
        return plan;
    }

    private static bool ChoosesOwnScale(QuantizationRule rule) => rule is QuantizationRule.Weighted or QuantizationRule.Product or QuantizationRule.Sum
        or QuantizationRule.ElementwiseProduct or QuantizationRule.Concatenation or QuantizationRule.Normalization or QuantizationRule.Table
        or QuantizationRule.TablePerChannel;
}
