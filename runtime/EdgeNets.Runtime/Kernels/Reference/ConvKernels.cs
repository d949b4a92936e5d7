namespace EdgeNets.Runtime.Kernels.Reference;

public static class ConvKernels
{
    public static void Register(List<KernelEntry> list)
    {
    }
}
