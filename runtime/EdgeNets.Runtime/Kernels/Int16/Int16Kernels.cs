using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Int16;

/// <summary>Registers the kernels of layers with int16 activations and int8 weights, and their boundaries.</summary>
internal static class Int16Kernels
{
    /// <summary>The scalar reference kernels: the spec of the variants below.</summary>
    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry(ConvInt16Reference.KernelName, OpType.Conv, DataType.Int16, s => new ConvInt16Reference(s)));
        list.Add(new KernelEntry(GemmInt16Reference.KernelName, OpType.Gemm, DataType.Int16, s => new GemmInt16Reference(s)));
        Int16ConversionKernels.Register(list);
    }

    /// <summary>The vector variants: AVX2 vpmaddwd and AdvSimd SMLAL/SMLAL2 (Int16Dot's exact blocks).</summary>
    public static void RegisterOptimized(List<KernelEntry> list)
    {
        foreach (var isa in new[] { Isa.Avx2, Isa.AdvSimd })
        {
            string conv = $"Conv2dInt16_{isa}", gemm = $"GemmInt16_{isa}";
            list.Add(KernelEntry.Variant(conv, OpType.Conv, DataType.Int16, isa, s => new ConvInt16Gemm(s, isa, conv), ConvInt16Gemm.CanHandle));
            list.Add(KernelEntry.Variant(gemm, OpType.Gemm, DataType.Int16, isa, s => new GemmInt16Vector(s, isa, gemm), GemmInt16Vector.CanHandle));
        }
    }
}
