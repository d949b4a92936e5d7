namespace EdgeNets.Runtime.Kernels.Reference;

public static class GemmKernels
{
    public static void Register(List<KernelEntry> list)
    {
    }
}
