namespace EdgeNets.Runtime.Kernels.Reference;

public static class ActivationKernels
{
    public static void Register(List<KernelEntry> list)
    {
    }
}
