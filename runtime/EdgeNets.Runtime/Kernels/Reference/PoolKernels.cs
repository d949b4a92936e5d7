namespace EdgeNets.Runtime.Kernels.Reference;

public static class PoolKernels
{
    public static void Register(List<KernelEntry> list)
    {
    }
}
