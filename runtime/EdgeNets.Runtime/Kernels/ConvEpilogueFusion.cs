using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels;

/// <summary>What a Conv kernel does after its requantization: store the int8 values, or the fused operator's epilogue.</summary>
internal enum ConvEpilogueKind
{
    Store,
    /// <summary>A LookupTable with one 256-entry table (an int8 activation) reads the Conv's output.</summary>
    Lookup,
    /// <summary>An int8 Add of the Conv's output and a residual tensor of the same shape.</summary>
    ResidualAdd,
}

/// <summary>
/// The operator fused into a Conv kernel's epilogue, prepared from its setup: the tensor the Conv's kernel then writes
/// (the operator's output) and the <see cref="IInt8Epilogue"/> to run (<see cref="ConvEpilogueFusion"/>).
/// </summary>
internal sealed class ConvEpilogue
{
    public static ConvEpilogue Store { get; } = new();

    public ConvEpilogueKind Kind { get; }
    /// <summary>The operator's output (the Conv's kernel writes it instead of the Conv's own output), or -1 for a plain store.</summary>
    public int Output { get; } = -1;
    public readonly LookupEpilogue Lookup;
    private readonly AddInt8Operator _add;
    private readonly bool _convFirst;
    private readonly int _residual = -1;

    private ConvEpilogue() { }

    /// <summary>The epilogue of <paramref name="consumer"/>, which <see cref="ConvEpilogueFusion.Fuses"/> accepts with <paramref name="conv"/>.</summary>
    public ConvEpilogue(KernelSetup conv, KernelSetup consumer)
    {
        if (!ConvEpilogueFusion.Fuses(conv, consumer)) throw consumer.Fail($"cannot fuse into {conv.Op}");
        Output = consumer.OutputId(0);
        if (consumer.Op.Type == OpType.LookupTable)
        {
            Kind = ConvEpilogueKind.Lookup;
            Lookup = new LookupEpilogue(MemoryMarshal.Cast<byte, sbyte>(consumer.Input(1).Data.Span).ToArray());
            return;
        }
        Kind = ConvEpilogueKind.ResidualAdd;
        _add = new AddInt8Operator(consumer);
        _convFirst = consumer.InputId(0) == conv.OutputId(0);
        _residual = consumer.InputId(_convFirst ? 1 : 0);
    }

    /// <summary>The Add's epilogue on this run's memory: the residual's distance from the output in the arena.</summary>
    public ResidualAddEpilogue ResidualAdd(TensorMemory memory)
    {
        ref byte output = ref MemoryMarshal.GetReference(memory.Bytes(Output));
        ref byte residual = ref MemoryMarshal.GetReference(memory.Bytes(_residual));
        return new ResidualAddEpilogue(_add, _convFirst, Unsafe.ByteOffset(ref output, ref residual));
    }
}

/// <summary>
/// Conv + elementwise fusions in the Conv kernel's epilogue, decided when a <see cref="Session"/> is created as the
/// Conv + MaxPool fusion is (<see cref="ConvPoolFusion.Plan"/> finds the sites of both): a LookupTable activation
/// (Hardswish, SiLU, Sigmoid, GELU ... as one table) or a residual Add reading the Conv's output. The fused kernel
/// requantizes, applies the operator's own arithmetic to the int8 values and writes the operator's output, so it gives
/// the bytes of the Conv followed by the operator.
/// </summary>
public static class ConvEpilogueFusion
{
    public static IReadOnlyList<FusedConvPoolEntry> All { get; } = OptimizedKernels.RegisterEpilogueFused();

    /// <summary>
    /// Whether <paramref name="consumer"/> reads the int8 2-D/1-D output of <paramref name="conv"/> and can run in its
    /// epilogue: a LookupTable with one 256-entry constant table, or an int8 Add whose other operand is an activation
    /// (not the Conv's output, not its input, not a constant) of the Conv's output shape, as is the Add's output. False
    /// rather than an exception for anything else.
    /// </summary>
    public static bool Fuses(KernelSetup conv, KernelSetup consumer) => KernelEntry.ExactOrDeclined(setup =>
    {
        if (setup.Op.Type != OpType.Conv || conv.OutputCount != 1 || consumer.OutputCount != 1) return false;
        int y = conv.OutputId(0);
        var output = conv.Output(0);
        if (output.Type != DataType.Int8 || consumer.Output(0).Type != DataType.Int8) return false;
        if (!ShapeUtil.SameShape(output.Shape, consumer.Output(0).Shape)) return false;
        switch (consumer.Op.Type)
        {
            case OpType.LookupTable:
                if (consumer.InputCount != 2 || consumer.InputId(0) != y) return false;
                var table = consumer.Input(1);
                return table.IsConstant && table.Type == DataType.Int8 && table.Rank == 1 && table.Shape[0] == 256;
            case OpType.Add:
                if (consumer.InputCount != 2 || consumer.InputId(0) == consumer.InputId(1)) return false;
                int side = consumer.InputId(0) == y ? 1 : consumer.InputId(1) == y ? 0 : -1;
                if (side < 0 || consumer.InputId(side) == conv.InputId(0)) return false;
                var residual = consumer.Input(side);
                if (residual.IsConstant || residual.Type != DataType.Int8 || !ShapeUtil.SameShape(residual.Shape, output.Shape)) return false;
                _ = new AddInt8Operator(consumer);
                return true;
            default:
                return false;
        }
    }, conv);

    /// <summary>The residual an Add site reads besides the Conv's output, else -1.</summary>
    internal static int Residual(OpInfo conv, OpInfo consumer) =>
        consumer.Type != OpType.Add ? -1 : consumer.Inputs[0] == conv.Outputs[0] ? consumer.Inputs[1] : consumer.Inputs[0];
}
