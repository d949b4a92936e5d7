using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// Sliding-window geometry shared by Conv and the pools, for NCW (rank 3, treated as H = 1) and NCHW (rank 4) tensors.
/// Reads Strides, Pads (ONNX order: begins, then ends), Dilations, checks the output shape and precomputes, for every
/// output row and column, the range of kernel taps that land inside the input, so the run loops never test bounds.
/// </summary>
internal sealed class Window2d
{
    public int N, C, H, W;
    public int OutH, OutW;
    public int KernelH, KernelW;
    public int StrideH, StrideW;
    public int PadTop, PadLeft;
    public int DilationH, DilationW;

    /// <summary>Taps kh in [RowTapBegin[oh], RowTapEnd[oh]) read input row oh*StrideH - PadTop + kh*DilationH, all inside [0, H).</summary>
    public int[] RowTapBegin = [], RowTapEnd = [];
    public int[] ColTapBegin = [], ColTapEnd = [];

    /// <summary>
    /// Window extent counted the way ONNX Runtime counts it for count_include_pad: from the window start up to the end of
    /// the declared end padding (positions that ceil_mode adds beyond it are not counted). Only meaningful with dilation 1.
    /// </summary>
    public int[] RowPaddedCount = [], ColPaddedCount = [];

    /// <param name="kernelSpatial">Kernel size per spatial axis (1 value for rank 3, 2 for rank 4).</param>
    /// <param name="outChannels">Channels the output must have.</param>
    /// <param name="allowCeilMode">Pools: the output may have the ceil_mode size as well as the floor size.</param>
    /// <param name="requireNonEmptyWindows">Pools: every window must cover at least one input element.</param>
    public static Window2d Create(KernelSetup s, TensorInfo x, TensorInfo y, ReadOnlySpan<int> kernelSpatial, int outChannels,
        bool allowCeilMode, bool requireNonEmptyWindows)
    {
        int rank = x.Rank;
        if (rank != 3 && rank != 4) throw s.Fail($"input '{x.Name}' must be NCW or NCHW, has shape [{ShapeUtil.Format(x.Shape)}]");
        int spatial = rank - 2;
        if (kernelSpatial.Length != spatial) throw s.Fail($"kernel has {kernelSpatial.Length} spatial dimensions, input has {spatial}");

        int[] strides = s.Attributes.GetInts(AttributeKey.Strides) ?? Filled(spatial, 1);
        int[] pads = s.Attributes.GetInts(AttributeKey.Pads) ?? Filled(2 * spatial, 0);
        int[] dilations = s.Attributes.GetInts(AttributeKey.Dilations) ?? Filled(spatial, 1);
        if (strides.Length != spatial) throw s.Fail($"Strides has {strides.Length} values, expected {spatial}");
        if (pads.Length != 2 * spatial) throw s.Fail($"Pads has {pads.Length} values, expected {2 * spatial}");
        if (dilations.Length != spatial) throw s.Fail($"Dilations has {dilations.Length} values, expected {spatial}");

        var g = new Window2d { N = x.Shape[0], C = x.Shape[1] };
        var expected = new int[rank];
        expected[0] = g.N;
        expected[1] = outChannels;
        var ceilExpected = (int[])expected.Clone();
        for (int a = 0; a < spatial; a++)
        {
            int input = x.Shape[2 + a], k = kernelSpatial[a], stride = strides[a], dilation = dilations[a];
            int padBegin = pads[a], padEnd = pads[spatial + a];
            if (k < 1) throw s.Fail($"kernel size {k} on spatial axis {a} must be positive");
            if (stride < 1) throw s.Fail($"stride {stride} on spatial axis {a} must be positive");
            if (dilation < 1) throw s.Fail($"dilation {dilation} on spatial axis {a} must be positive");
            if (padBegin < 0 || padEnd < 0) throw s.Fail($"pads [{ShapeUtil.Format(pads)}] must not be negative");
            long extent = (long)(k - 1) * dilation + 1;
            long room = (long)input + padBegin + padEnd - extent;
            if (room < 0) throw s.Fail($"kernel extent {extent} exceeds padded input {input + (long)padBegin + padEnd} on spatial axis {a}");
            expected[2 + a] = checked((int)(room / stride + 1));
            ceilExpected[2 + a] = checked((int)((room + stride - 1) / stride + 1));
            // ceil_mode never starts a window in the end padding (ONNX Runtime, PyTorch).
            if ((long)(ceilExpected[2 + a] - 1) * stride >= (long)input + padBegin) ceilExpected[2 + a]--;
        }
        bool floorOk = ShapeUtil.SameShape(y.Shape, expected);
        bool ceilOk = allowCeilMode && ShapeUtil.SameShape(y.Shape, ceilExpected);
        if (!floorOk && !ceilOk)
        {
            string want = allowCeilMode && !ShapeUtil.SameShape(expected, ceilExpected)
                ? $"[{ShapeUtil.Format(expected)}] or, with ceil_mode, [{ShapeUtil.Format(ceilExpected)}]"
                : $"[{ShapeUtil.Format(expected)}]";
            throw s.Fail($"output '{y.Name}' has shape [{ShapeUtil.Format(y.Shape)}], expected {want}");
        }

        if (spatial == 1)
        {
            g.H = 1; g.OutH = 1; g.KernelH = 1; g.StrideH = 1; g.DilationH = 1; g.PadTop = 0;
            g.W = x.Shape[2]; g.OutW = y.Shape[2]; g.KernelW = kernelSpatial[0]; g.StrideW = strides[0]; g.DilationW = dilations[0];
            g.PadLeft = pads[0];
            Taps(g.H, g.OutH, 1, 1, 0, 0, 1, out g.RowTapBegin, out g.RowTapEnd, out g.RowPaddedCount);
            Taps(g.W, g.OutW, g.KernelW, g.StrideW, pads[0], pads[1], g.DilationW, out g.ColTapBegin, out g.ColTapEnd, out g.ColPaddedCount);
        }
        else
        {
            g.H = x.Shape[2]; g.OutH = y.Shape[2]; g.KernelH = kernelSpatial[0]; g.StrideH = strides[0]; g.DilationH = dilations[0];
            g.W = x.Shape[3]; g.OutW = y.Shape[3]; g.KernelW = kernelSpatial[1]; g.StrideW = strides[1]; g.DilationW = dilations[1];
            g.PadTop = pads[0];
            g.PadLeft = pads[1];
            Taps(g.H, g.OutH, g.KernelH, g.StrideH, pads[0], pads[2], g.DilationH, out g.RowTapBegin, out g.RowTapEnd, out g.RowPaddedCount);
            Taps(g.W, g.OutW, g.KernelW, g.StrideW, pads[1], pads[3], g.DilationW, out g.ColTapBegin, out g.ColTapEnd, out g.ColPaddedCount);
        }

        if (requireNonEmptyWindows)
        {
            for (int o = 0; o < g.OutH; o++)
                if (g.RowTapBegin[o] >= g.RowTapEnd[o]) throw s.Fail($"output row {o} has a window with no input element");
            for (int o = 0; o < g.OutW; o++)
                if (g.ColTapBegin[o] >= g.ColTapEnd[o]) throw s.Fail($"output column {o} has a window with no input element");
        }
        return g;
    }

    private static int[] Filled(int count, int value)
    {
        var a = new int[count];
        Array.Fill(a, value);
        return a;
    }

    private static void Taps(int input, int outputs, int kernel, int stride, int padBegin, int padEnd, int dilation,
        out int[] begin, out int[] end, out int[] paddedCount)
    {
        begin = new int[outputs];
        end = new int[outputs];
        paddedCount = new int[outputs];
        for (int o = 0; o < outputs; o++)
        {
            long start = (long)o * stride - padBegin;
            // First tap at or after input index 0, one past the last tap before input index `input`.
            long first = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
            long last = input - 1 - start < 0 ? 0 : (input - 1 - start) / dilation + 1;
            begin[o] = (int)Math.Min(first, kernel);
            end[o] = (int)Math.Max(begin[o], Math.Min(last, kernel));
            long paddedEnd = Math.Min(start + kernel, (long)input + padEnd);
            paddedCount[o] = (int)Math.Max(0, paddedEnd - start);
        }
    }
}
