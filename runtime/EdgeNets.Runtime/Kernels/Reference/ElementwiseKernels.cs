namespace EdgeNets.Runtime.Kernels.Reference;

public static class ElementwiseKernels
{
    public static void Register(List<KernelEntry> list)
    {
    }
}
