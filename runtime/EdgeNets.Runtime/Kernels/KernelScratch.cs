using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels;

/// <summary>
/// The memory a kernel may allocate while it is prepared (packed weights, im2col and Winograd buffers, padded planes,
/// recurrent gate and state buffers, per-worker buffers), bounded from the node's shapes alone, before any kernel is
/// created. One bound per operator covers every variant of it (reference, SIMD, fused), so the figure does not depend on
/// the CPU; the scratch test holds every registered variant to it on every verification case. A session sums the bounds
/// of its operators and refuses a model over <see cref="Format.EnetFormat.MaxScratchBytes"/>.
/// </summary>
public static class KernelScratch
{
    /// <summary>Fixed part per kernel: objects, per-channel parameter arrays of small nodes, vector-width paddings.</summary>
    public const long PerKernelBytes = 64 << 10;
    /// <summary>Bytes per element of the node's own tensors for their copies, repackings and widenings (int8 weights packed to int32 lanes, per-worker planes).</summary>
    private const long BytesPerNodeElement = 8;
    /// <summary>Padding the vector kernels add to each side of a window, a row or a matrix dimension, in elements.</summary>
    private const long Pad = 64;

    /// <summary>Upper bound of the bytes any kernel of <paramref name="s"/>'s operator allocates when prepared (workers included).</summary>
    public static long Bytes(KernelSetup s)
    {
        long bytes = PerKernelBytes + BytesPerNodeElement * NodeElements(s);
        try
        {
            bytes += s.Op.Type switch
            {
                OpType.Conv or OpType.ConvTranspose => WindowBytes(s),
                OpType.Gemm or OpType.MatMul => MatrixBytes(s),
                OpType.Lstm or OpType.Gru or OpType.Rnn => RecurrentBytes(s),
                _ => 0,
            };
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or OverflowException or Format.ModelFormatException)
        {
            // A malformed node: its kernel's preparation reports what is wrong.
        }
        return bytes;
    }

    /// <summary>Elements of the node's tensors: activations and constants, inputs and outputs.</summary>
    private static long NodeElements(KernelSetup s)
    {
        long elements = 0;
        foreach (int id in s.Op.Inputs.Concat(s.Op.Outputs))
            if (id >= 0 && id < s.Graph.Tensors.Count) elements += s.Graph.Tensors[id].ElementCount;
        return elements;
    }

    /// <summary>
    /// Conv and ConvTranspose: an im2col matrix (weights per output channel by the larger of the input and output planes:
    /// Conv's taps by output pixels, ConvTranspose's output rows by input pixels) and a padded copy of the input (each
    /// plane grown by the output's reach and the kernel).
    /// </summary>
    private static long WindowBytes(KernelSetup s)
    {
        var x = s.Input(0).Shape;
        var w = s.Input(1).Shape;
        var y = s.Output(0).Shape;
        if (x.Length < 3 || w.Length != x.Length || y.Length != x.Length) return 0;
        long rowLength = 1, inPlane = 1, outPlane = 1, paddedPlane = 1;
        var strides = s.Attributes.GetInts(AttributeKey.Strides);
        var dilations = s.Attributes.GetInts(AttributeKey.Dilations);
        var pads = s.Attributes.GetInts(AttributeKey.Pads);
        for (int d = 1; d < w.Length; d++) rowLength *= Math.Max(w[d], 1);
        for (int d = 2; d < x.Length; d++)
        {
            long stride = strides != null && d - 2 < strides.Length ? Math.Max(strides[d - 2], 1) : 1;
            long dilation = dilations != null && d - 2 < dilations.Length ? Math.Max(dilations[d - 2], 1) : 1;
            long padBegin = pads != null && d - 2 < pads.Length ? Math.Max(pads[d - 2], 0) : 0;
            inPlane *= x[d];
            outPlane *= y[d];
            paddedPlane *= Math.Max(x[d] + padBegin, y[d] * stride + w[d] * dilation);
        }
        // Bytes per (tap, pixel): int16 pairs (int8), float32 columns, int32 columns of ConvTranspose, or the 8-byte row
        // addresses of the depthwise lane kernels (one weight per output channel's tap).
        long columnBytes = w[1] == 1 ? IntPtr.Size : s.Op.Type == OpType.ConvTranspose || s.Output(0).Type == DataType.Float32 ? sizeof(float) : sizeof(short);
        long columns = (rowLength + Pad / 4) * (Math.Max(inPlane, outPlane) + 4 * Pad) * columnBytes;
        long padded = ((long)x[1] * paddedPlane + Pad) * sizeof(int);
        return columns + padded;
    }

    /// <summary>Gemm and MatMul: the weights packed in blocks (both dimensions padded) as int16 pairs or float32.</summary>
    private static long MatrixBytes(KernelSetup s)
    {
        var b = s.Input(1).Shape;
        if (b.Length < 2) return 0;
        long k = b[^2], n = b[^1];
        long batches = 1;
        for (int d = 0; d < b.Length - 2; d++) batches *= b[d];
        return 2 * batches * (k + Pad) * (n + Pad) * sizeof(float);
    }

    /// <summary>
    /// LSTM, GRU, RNN: the input projections of every step (gate rows by steps x batch, float32), the inputs widened
    /// with their padding, per-direction states, and the weights packed in padded blocks.
    /// </summary>
    private static long RecurrentBytes(KernelSetup s)
    {
        var x = s.Input(0).Shape;
        var w = s.Input(1).Shape;
        var r = s.Input(2).Shape;
        // Float weights keep the ONNX shape [D, G*H, I], int8 ones are [D*G*H, I].
        if (x.Length != 3 || w.Length is not (2 or 3) || r.Length != w.Length) return 0;
        long stepsBatch = (long)x[0] * x[1], input = x[2];
        long directions = s.Attributes.GetInt(AttributeKey.Direction, 0) == 2 ? 2 : 1;
        long rows = (w.Length == 3 ? (long)w[0] * w[1] : w[0]) / directions, hidden = r[^1];
        long projections = stepsBatch * (rows + Pad) * sizeof(float) * 2;
        long inputs = stepsBatch * (input + Pad) * sizeof(int);
        long states = directions * (Math.Max(x[0], x[1]) + 1) * (hidden + Pad) * 4 * sizeof(float);
        long weights = directions * (rows + Pad) * (input + hidden + 2 * Pad) * sizeof(int);
        return projections + inputs + states + weights;
    }
}
