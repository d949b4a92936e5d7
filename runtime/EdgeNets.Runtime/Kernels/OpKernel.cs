namespace EdgeNets.Runtime.Kernels;

/// <summary>
/// A prepared operator: all shape checks, parameter math and weight packing happen in the constructor
/// (from a <see cref="KernelSetup"/>); <see cref="Run"/> only indexes tensor memory and must not allocate or throw.
/// </summary>
public abstract class OpKernel
{
    /// <summary>Kernel variant name: contract and implementation, e.g. "Conv2dInt8_Reference".</summary>
    public abstract string Name { get; }

    public abstract void Run(TensorMemory memory);

    /// <summary>
    /// Offers the session's worker threads (SessionOptions.Threads &gt; 1); a kernel whose work is large enough keeps them
    /// and splits its runs across them, producing the same bytes as on one thread. Called once, before any run.
    /// </summary>
    internal virtual void UseWorkers(WorkerPool workers) { }

    /// <summary>Whether this kernel kept the workers <see cref="UseWorkers"/> offered and splits its runs across them.</summary>
    internal virtual bool IsParallel => false;
}
