using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// Element offsets of two operands broadcast (NumPy/ONNX rules) to an output shape, precomputed once.
/// Output dimensions of size 1 are dropped and neighbouring dimensions that both operands walk the same way are
/// merged, so the common cases (same shapes, scalar, per-channel) become one long inner row and few outer rows.
/// The output is walked as <see cref="OuterCount"/> rows of <see cref="InnerCount"/> contiguous elements; in each row
/// operand A advances by <see cref="InnerStrideA"/> (0 or 1) and B by <see cref="InnerStrideB"/>.
/// </summary>
internal sealed class BroadcastPlan
{
    private readonly int[] _dims;      // merged outer dimensions (all but the innermost)
    private readonly int[] _stridesA;  // element strides of A per outer dimension, 0 where A is broadcast
    private readonly int[] _stridesB;

    public int OuterCount { get; }
    public int InnerCount { get; }
    public int InnerStrideA { get; }
    public int InnerStrideB { get; }

    /// <summary>
    /// Plans <paramref name="a"/> and <paramref name="b"/> broadcast to <paramref name="output"/>; returns null when
    /// they do not broadcast to exactly that shape.
    /// </summary>
    public static BroadcastPlan? Create(int[] a, int[] b, int[] output)
    {
        var shape = ShapeUtil.Broadcast(a, b);
        if (shape == null || !ShapeUtil.SameShape(shape, output)) return null;
        return new BroadcastPlan(a, b, output);
    }

    private BroadcastPlan(int[] a, int[] b, int[] output)
    {
        int rank = output.Length;
        var fullA = AlignedStrides(a, output);
        var fullB = AlignedStrides(b, output);

        var dims = new List<int>();
        var sa = new List<int>();
        var sb = new List<int>();
        for (int d = 0; d < rank; d++)
        {
            if (output[d] == 1) continue;
            int last = dims.Count - 1;
            // Merge into the previous dimension when both operands step through it as one longer run.
            if (last >= 0 && sa[last] == fullA[d] * output[d] && sb[last] == fullB[d] * output[d])
            {
                dims[last] *= output[d];
                sa[last] = fullA[d];
                sb[last] = fullB[d];
                continue;
            }
            dims.Add(output[d]);
            sa.Add(fullA[d]);
            sb.Add(fullB[d]);
        }
        if (dims.Count == 0) { dims.Add(1); sa.Add(0); sb.Add(0); }

        int inner = dims.Count - 1;
        InnerCount = dims[inner];
        InnerStrideA = sa[inner];
        InnerStrideB = sb[inner];
        _dims = dims.GetRange(0, inner).ToArray();
        _stridesA = sa.GetRange(0, inner).ToArray();
        _stridesB = sb.GetRange(0, inner).ToArray();
        int outer = 1;
        foreach (int d in _dims) outer *= d;
        OuterCount = InnerCount == 0 ? 0 : outer;
    }

    /// <summary>Row-major strides of <paramref name="shape"/> right-aligned to the output's rank, 0 on broadcast axes.</summary>
    private static int[] AlignedStrides(int[] shape, int[] output)
    {
        var strides = new int[output.Length];
        var own = ShapeUtil.Strides(shape);
        int offset = output.Length - shape.Length;
        for (int d = 0; d < shape.Length; d++)
            strides[d + offset] = shape[d] == 1 ? 0 : own[d];
        return strides;
    }

    /// <summary>Offsets in A and B of the first element of output row <paramref name="row"/>.</summary>
    public void RowOffsets(int row, out int offsetA, out int offsetB)
    {
        int a = 0, b = 0;
        for (int d = _dims.Length - 1; d >= 0; d--)
        {
            int n = _dims[d];
            int i = row % n;
            row /= n;
            a += i * _stridesA[d];
            b += i * _stridesB[d];
        }
        offsetA = a;
        offsetB = b;
    }
}
