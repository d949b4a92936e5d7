using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Passes;

/// <summary>
/// Folds a zero Pad on the spatial axes into the Conv that reads it (TensorFlow-style asymmetric "same" padding and
/// PyTorch's ZeroPad2d), so the Conv kernels pad as they copy their input instead of a separate pass over it. Exact in
/// float and int8 alike: a Conv's padding contributes zero, as padding with 0 does. The padded tensor must feed only
/// that Conv.
/// </summary>
internal static class PadFusion
{
    public static void Run(IrGraph g)
    {
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var pad = g.Nodes[i];
            if (pad.Op != OpType.Pad || pad.Inputs.Count < 1) continue;
            if (pad.Attributes.GetFloat(AttributeKey.PadValue, 0f) is var value && (value != 0f || float.IsNegative(value))) continue;
            var pads = pad.Attributes.GetInts(AttributeKey.Pads);
            string padded = pad.Outputs[0];
            if (pads == null || g.ConsumerCount(padded) != 1 || g.IsGraphOutput(padded)) continue;
            var conv = g.Nodes.FirstOrDefault(n => n.Inputs.Count > 0 && n.Inputs[0] == padded);
            if (conv == null || conv.Op != OpType.Conv) continue;
            int rank = pads.Length / 2, spatial = rank - 2;
            if (spatial < 1 || pads[0] != 0 || pads[1] != 0 || pads[rank] != 0 || pads[rank + 1] != 0) continue;
            var convPads = conv.Attributes.GetInts(AttributeKey.Pads) ?? new int[2 * spatial];
            if (convPads.Length != 2 * spatial) continue;
            var merged = new int[2 * spatial];
            for (int a = 0; a < spatial; a++)
            {
                merged[a] = convPads[a] + pads[2 + a];
                merged[spatial + a] = convPads[spatial + a] + pads[rank + 2 + a];
            }
            conv.Attributes.Set(AttributeKey.Pads, merged);
            conv.Inputs[0] = pad.Inputs[0];
            g.Nodes.RemoveAt(i);
            g.Values.Remove(padded);
            i--;
        }
    }
}
