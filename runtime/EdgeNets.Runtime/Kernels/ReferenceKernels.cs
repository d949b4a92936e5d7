namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>Registers the scalar reference kernels: the executable spec of every operator (docs/operators.md).</summary>
public static class ReferenceKernels
{
    public static void Register(List<KernelEntry> list)
    {
        ConvKernels.Register(list);
        ConvTransposeKernels.Register(list);
        PoolKernels.Register(list);
        GemmKernels.Register(list);
        ElementwiseKernels.Register(list);
        ShapeKernels.Register(list);
        ActivationKernels.Register(list);
        SoftmaxKernels.Register(list);
        LayerNormKernels.Register(list);
        UpsampleKernels.Register(list);
        RecurrentKernels.Register(list);
        SliceKernels.Register(list);
        ConversionKernels.Register(list);
        Int16.Int16Kernels.Register(list);
        StreamWindowKernels.Register(list);
    }
}
