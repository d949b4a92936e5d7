using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Ops;

namespace EdgeNets.Converter.Passes;

/// <summary>
/// Fuses Relu and Clip into the operator that produces their input, when its schema takes them (Conv, Gemm, Add), as
/// the float clamp ActivationMin/ActivationMax, when that intermediate feeds nothing else and is not a graph output.
/// The fused operator then writes the activation's output name.
/// </summary>
internal static class ActivationFusion
{
    public static void Run(IrGraph g)
    {
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var act = g.Nodes[i];
            float min, max;
            if (act.Op == OpType.Relu) { min = 0f; max = float.PositiveInfinity; }
            else if (act.Op == OpType.Clip)
            {
                min = act.Attributes.GetFloat(AttributeKey.ActivationMin, float.NegativeInfinity);
                max = act.Attributes.GetFloat(AttributeKey.ActivationMax, float.PositiveInfinity);
            }
            else continue;

            string input = act.Inputs[0];
            var producer = g.Producer(input);
            if (producer == null || !OperatorSchemas.For(producer.Op).FusesActivation) continue;
            if (g.ConsumerCount(input) != 1 || g.IsGraphOutput(input) || g.Inputs.Contains(input)) continue;

            // A QDQ model quantizes the producer's output before the activation: its int8 range clamps too.
            if (g.Value(input).Given is { } inner)
            {
                min = Math.Max(min, inner.Scale * (-128 - inner.ZeroPoint));
                max = Math.Min(max, inner.Scale * (127 - inner.ZeroPoint));
            }
            min = Math.Max(min, producer.Attributes.GetFloat(AttributeKey.ActivationMin, float.NegativeInfinity));
            max = Math.Min(max, producer.Attributes.GetFloat(AttributeKey.ActivationMax, float.PositiveInfinity));
            if (!float.IsNegativeInfinity(min)) producer.Attributes.Set(AttributeKey.ActivationMin, min);
            if (!float.IsPositiveInfinity(max)) producer.Attributes.Set(AttributeKey.ActivationMax, max);

            g.Nodes.RemoveAt(i);
            i--;
            // The quantization a QDQ model gives the activation's output is the fused operator's output's.
            var given = g.Value(act.Outputs[0]).Given;
            g.Values.Remove(act.Outputs[0]);
            g.Rename(input, act.Outputs[0]);
            if (given != null) g.Value(act.Outputs[0]).Given = given;
        }
    }
}
