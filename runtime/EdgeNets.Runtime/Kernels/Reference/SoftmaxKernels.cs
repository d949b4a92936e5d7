namespace EdgeNets.Runtime.Kernels.Reference;

public static class SoftmaxKernels
{
    public static void Register(List<KernelEntry> list)
    {
    }
}
