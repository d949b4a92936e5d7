using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Passes;

/// <summary>
/// Folds a constant Pad on the spatial axes into the Conv or pool that reads it (TensorFlow-style asymmetric "same"
/// padding, PyTorch's ZeroPad2d, MobileNet's Pad + AveragePool), so the kernels pad as they read their input instead
/// of a separate pass over it. The padded tensor must feed only that operator. Folded only where exact, in float and
/// int8 alike (the int8 Pad value is the quantized float value at the input's scale):
/// <list type="bullet">
/// <item>Conv: the value is 0; a Conv's padding contributes zero, as padding with 0 does.</item>
/// <item>AveragePool: the value is 0 and the pool counts its own padding or has none; the folded pool counts all of it
/// (count_include_pad), as the padded zeros were counted as elements.</item>
/// <item>MaxPool: the value cannot win a max: -inf, or at most the lower clamp of a Relu or Clip producing the input.
/// </item>
/// </list>
/// Every pool window must keep a real element (each side's padding shorter than the kernel, no dilation), as a pool's
/// own padding must. Pools are folded only without ceil_mode (their output size is the floor size), where the windows are the same
/// whether the padding is the Pad's or the pool's.
/// </summary>
internal static class PadFusion
{
    public static void Run(IrGraph g)
    {
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var pad = g.Nodes[i];
            if (pad.Op != OpType.Pad || pad.Inputs.Count < 1) continue;
            float value = pad.Attributes.GetFloat(AttributeKey.PadValue, 0f);
            var pads = pad.Attributes.GetInts(AttributeKey.Pads);
            string padded = pad.Outputs[0];
            if (pads == null || g.ConsumerCount(padded) != 1 || g.IsGraphOutput(padded)) continue;
            var reader = g.Nodes.FirstOrDefault(n => n.Inputs.Count > 0 && n.Inputs[0] == padded);
            if (reader == null) continue;
            int rank = pads.Length / 2, spatial = rank - 2;
            if (spatial < 1 || pads[0] != 0 || pads[1] != 0 || pads[rank] != 0 || pads[rank + 1] != 0) continue;
            var ownPads = reader.Attributes.GetInts(AttributeKey.Pads) ?? new int[2 * spatial];
            if (ownPads.Length != 2 * spatial) continue;
            var merged = new int[2 * spatial];
            for (int a = 0; a < spatial; a++)
            {
                merged[a] = ownPads[a] + pads[2 + a];
                merged[spatial + a] = ownPads[spatial + a] + pads[rank + 2 + a];
            }
            bool fold = reader.Op switch
            {
                OpType.Conv => IsZero(value),
                OpType.AveragePool => IsZero(value) && (ownPads.All(p => p == 0) || reader.Attributes.GetInt(AttributeKey.CountIncludePad, 0) == 1)
                    && IsFloorWindow(g, reader, padded, ownPads) && KeepsRealElements(reader, merged),
                OpType.MaxPool => NeverWins(g, pad, value) && IsFloorWindow(g, reader, padded, ownPads) && KeepsRealElements(reader, merged),
                _ => false,
            };
            if (!fold) continue;
            reader.Attributes.Set(AttributeKey.Pads, merged);
            if (reader.Op == OpType.AveragePool) reader.Attributes.Set(AttributeKey.CountIncludePad, 1);
            reader.Inputs[0] = pad.Inputs[0];
            g.Nodes.RemoveAt(i);
            g.Values.Remove(padded);
            i--;
        }
    }

    /// <summary>+0 only: a -0 pad would give -0 sums where the folded kernels give +0.</summary>
    private static bool IsZero(float value) => value == 0f && !float.IsNegative(value);

    /// <summary>Whether the pad value is below every value the Pad's input can hold: -inf, or the lower bound of a Relu or Clip producing it.</summary>
    private static bool NeverWins(IrGraph g, IrNode pad, float value)
    {
        if (float.IsNegativeInfinity(value)) return true;
        var producer = g.Nodes.FirstOrDefault(n => n.Outputs.Contains(pad.Inputs[0]));
        float lowest = producer?.Op switch
        {
            OpType.Relu => 0f,
            OpType.Clip => producer.Attributes.GetFloat(AttributeKey.ActivationMin, float.NegativeInfinity),
            _ => float.NegativeInfinity,
        };
        return value <= lowest;
    }

    /// <summary>Whether the pool's output has the floor size (no ceil_mode windows) over its padded input.</summary>
    private static bool IsFloorWindow(IrGraph g, IrNode pool, string input, int[] ownPads)
    {
        if (pool.Outputs.Count < 1 || !g.Values.TryGetValue(input, out var x) || !g.Values.TryGetValue(pool.Outputs[0], out var y)) return false;
        int spatial = ownPads.Length / 2;
        var kernel = pool.Attributes.GetInts(AttributeKey.KernelShape);
        var strides = pool.Attributes.GetInts(AttributeKey.Strides);
        var dilations = pool.Attributes.GetInts(AttributeKey.Dilations);
        if (kernel == null || kernel.Length != spatial || x.Shape.Length != spatial + 2 || y.Shape.Length != spatial + 2) return false;
        for (int a = 0; a < spatial; a++)
        {
            int stride = strides?[a] ?? 1, dilation = dilations?[a] ?? 1;
            int span = x.Shape[2 + a] + ownPads[a] + ownPads[spatial + a] - ((kernel[a] - 1) * dilation + 1);
            if (span < 0 || y.Shape[2 + a] != span / stride + 1) return false;
        }
        return true;
    }

    private static bool KeepsRealElements(IrNode pool, int[] merged)
    {
        var kernel = pool.Attributes.GetInts(AttributeKey.KernelShape)!;
        var dilations = pool.Attributes.GetInts(AttributeKey.Dilations);
        int spatial = kernel.Length;
        for (int a = 0; a < spatial; a++)
            if ((dilations?[a] ?? 1) != 1 || merged[a] >= kernel[a] || merged[spatial + a] >= kernel[a]) return false;
        return true;
    }
}
