using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels;

/// <summary>
/// A Conv variant fused with the operator that reads its output: the MaxPool 2x2 stride 2 (<see cref="ConvPoolFusion"/>)
/// or, when <paramref name="epilogue"/>, an elementwise operator in its epilogue (<see cref="ConvEpilogueFusion"/>:
/// LookupTable, Add); it writes that operator's output directly. It must give the bytes of the reference Conv followed
/// by the operator's reference kernel.
/// </summary>
public sealed class FusedConvPoolEntry(string name, Isa isa, Func<KernelSetup, KernelSetup, OpKernel> create, Func<KernelSetup, bool> isExact,
    bool readsImageBeforeWriting = false, bool epilogue = false)
{
    public string Name { get; } = name;
    /// <summary>Whether the variant fuses the operator of a site <see cref="ConvPoolFusion.Plan"/> found: the pool, or an epilogue's operator.</summary>
    public bool Fuses(OpType type) => epilogue ? type != OpType.MaxPool : type == OpType.MaxPool;
    public Isa Isa { get; } = isa;
    /// <summary>Prepares the fused kernel from the Conv's and the MaxPool's setups.</summary>
    public Func<KernelSetup, KernelSetup, OpKernel> Create { get; } = create;
    public bool IsSupported() => Isa.IsSupported();
    /// <summary>Whether the kernel computes this Conv exactly (the pool checked by <see cref="ConvPoolFusion.TilesConvOutput"/>); false for a malformed Conv.</summary>
    public bool IsExact(KernelSetup conv) => KernelEntry.ExactOrDeclined(isExact, conv);
    /// <summary>
    /// Whether the kernel reads all of an image's input before it writes any of that image's output, so that with one
    /// image the pool's output may share bytes with the Conv's input (as the memory plan may place them).
    /// </summary>
    public bool ReadsImageBeforeWriting { get; } = readsImageBeforeWriting;
}

/// <summary>
/// Conv + MaxPool 2x2/2 fusion, decided when a <see cref="Session"/> is created (the model file and its memory plan stay
/// as they are): <see cref="Plan"/> finds the pairs, the Conv's policy (<see cref="Selection.ConvSelection"/>) decides
/// whether a fused variant runs one; then the Conv's kernel writes the pool's output and the MaxPool's position runs nothing.
/// </summary>
public static class ConvPoolFusion
{
    public static IReadOnlyList<FusedConvPoolEntry> All { get; } = OptimizedKernels.RegisterFused();

    /// <summary>The fused variant of this name, Conv + MaxPool or Conv + epilogue.</summary>
    public static FusedConvPoolEntry? Find(string name)
    {
        foreach (var e in All) if (e.Name == name) return e;
        foreach (var e in ConvEpilogueFusion.All) if (e.Name == name) return e;
        return null;
    }

    /// <summary>
    /// Whether <paramref name="pool"/> is an int8 MaxPool 2x2, stride 2, no padding, dilation 1 whose windows tile the
    /// int8 2-D output of <paramref name="conv"/> exactly (even height and width, so floor and ceil_mode agree); returns
    /// the pool's output clamp. False rather than an exception for anything else.
    /// </summary>
    public static bool TilesConvOutput(KernelSetup conv, KernelSetup pool, out int min, out int max)
    {
        int poolMin = sbyte.MinValue, poolMax = sbyte.MaxValue;
        bool tiles = KernelEntry.ExactOrDeclined(_unused =>
        {
            if (conv.Op.Type != OpType.Conv || pool.Op.Type != OpType.MaxPool) return false;
            if (conv.OutputCount != 1 || pool.InputCount != 1 || pool.InputId(0) != conv.OutputId(0)) return false;
            if (!conv.HasInput(0) || conv.Input(0).Rank != 4 || conv.Input(0).Type != DataType.Int8 || conv.Output(0).Type != DataType.Int8) return false;
            var g = PoolKernels.PreparePool(pool, DataType.Int8, out _, out poolMin, out poolMax);
            return g.KernelH == 2 && g.KernelW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadTop == 0 && g.PadLeft == 0
                && g.DilationH == 1 && g.DilationW == 1 && g.H % 2 == 0 && g.W % 2 == 0 && g.OutH == g.H / 2 && g.OutW == g.W / 2;
        }, conv);
        (min, max) = (poolMin, poolMax);
        return tiles;
    }

    /// <summary>
    /// Per operator, the position of the MaxPool (or of the operator <see cref="ConvEpilogueFusion.Fuses"/> accepts) its
    /// Conv can be fused with, else -1. The Conv's output must be read by that operator alone and not be a graph
    /// output; and as the fused kernel writes the operator's output when the Conv runs, that tensor's bytes
    /// (<paramref name="offsets"/>) must not overlap any tensor read or written from the Conv up to the operator (the
    /// memory plan only keeps it apart from tensors alive when the operator runs), except the Conv's own input when it
    /// holds one image: then <paramref name="sharesInput"/> is set for that Conv. A residual Add's other operand must be
    /// written before the Conv, and either be the output's very bytes (each element is read before it is written) or
    /// not overlap them.
    /// </summary>
    internal static int[] Plan(ModelGraph graph, long[] offsets, out bool[] sharesInput)
    {
        var ops = graph.Ops;
        var plan = new int[ops.Count];
        Array.Fill(plan, -1);
        sharesInput = new bool[ops.Count];
        for (int i = 0; i < ops.Count; i++)
        {
            var conv = ops[i];
            if (conv.Type != OpType.Conv || conv.Outputs.Length != 1) continue;
            int y = conv.Outputs[0];
            if (graph.Outputs.Contains(y)) continue;
            int reader = -1, readers = 0;
            for (int k = i + 1; k < ops.Count; k++)
                if (Array.IndexOf(ops[k].Inputs, y) >= 0) { reader = k; readers++; }
            if (readers != 1) continue;
            var convSetup = new KernelSetup(graph, conv);
            var readerSetup = new KernelSetup(graph, ops[reader]);
            if (ops[reader].Type == OpType.MaxPool ? !TilesConvOutput(convSetup, readerSetup, out _, out _) : !ConvEpilogueFusion.Fuses(convSetup, readerSetup))
                continue;
            int pooled = ops[reader].Outputs[0], x = conv.Inputs[0];
            int residual = ConvEpilogueFusion.Residual(conv, ops[reader]);
            bool clear = residual < 0 || offsets[residual] == offsets[pooled] || !Overlap(graph, offsets, residual, pooled);
            for (int k = i; k < reader && clear; k++)
            {
                foreach (int t in ops[k].Inputs) clear &= t == y || (k == i && t == x) || !Overlap(graph, offsets, t, pooled);
                foreach (int t in ops[k].Outputs) clear &= t == y || t != residual && !Overlap(graph, offsets, t, pooled);
            }
            bool shares = Overlap(graph, offsets, x, pooled);
            // (Read again before the pool, the input failed the check above.) With several images, image 0's pooled
            // output could overwrite the input of the next.
            if (shares && graph.Tensors[x].Shape[0] != 1) clear = false;
            if (!clear) continue;
            plan[i] = reader;
            sharesInput[i] = shares;
        }
        return plan;
    }

    private static bool Overlap(ModelGraph graph, long[] offsets, int a, int b)
    {
        if (a < 0 || offsets[a] < 0 || offsets[b] < 0) return false;
        long aBegin = offsets[a], aEnd = aBegin + graph.Tensors[a].ByteLength;
        long bBegin = offsets[b], bEnd = bBegin + graph.Tensors[b].ByteLength;
        return aBegin < bEnd && bBegin < aEnd;
    }
}

/// <summary>The position of the operator fused into a Conv (a MaxPool, an activation, an Add): the Conv's kernel has already written the output.</summary>
internal sealed class FusedIntoConvKernel(OpType op, int convPosition) : OpKernel
{
    public override string Name { get; } = $"{(op == OpType.MaxPool ? "MaxPool2d" : op)}Int8 (fused into #{convPosition})";
    public override void Run(TensorMemory memory) { }
}
