using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Int16;

/// <summary>Registers the scalar reference kernels of layers with int16 activations and int8 weights, and their boundaries.</summary>
internal static class Int16Kernels
{
    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry(ConvInt16Reference.KernelName, OpType.Conv, DataType.Int16, s => new ConvInt16Reference(s)));
        list.Add(new KernelEntry(GemmInt16Reference.KernelName, OpType.Gemm, DataType.Int16, s => new GemmInt16Reference(s)));
        Int16ConversionKernels.Register(list);
    }
}
