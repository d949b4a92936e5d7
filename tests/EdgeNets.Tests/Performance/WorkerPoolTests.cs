using EdgeNets.Runtime.Kernels;
using NUnit.Framework;

namespace EdgeNets.Tests.Performance;

/// <summary>The worker pool runs every chunk of every dispatch exactly once, however the threads interleave.</summary>
public class WorkerPoolTests
{
    /// <summary>Counts the runs of each chunk of the current dispatch.</summary>
    private sealed class CountingWork : IParallelWork
    {
        public readonly int[] Runs = new int[64];
        public void RunChunk(int chunk, int chunks)
        {
            Interlocked.Increment(ref Runs[chunk]);
            if (chunks > Runs.Length) throw new InvalidOperationException($"chunk count {chunks} was never dispatched");
        }
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(7)]
    public void EveryChunkRunsOnceAcrossManyBackToBackDispatches(int workers)
    {
        using var pool = new WorkerPool(workers);
        // Two works alternating, chunk counts alternating small and large: a thread still finishing its claim on one
        // dispatch meets the next one's larger count (the case a stale claim would take twice).
        var works = new[] { new CountingWork(), new CountingWork() };
        int[] counts = [1, 64, 2, 37, 3, 64, 1, 5];
        var deadline = DateTime.UtcNow.AddSeconds(2);
        int dispatches = 0;
        for (; dispatches < 200_000 && DateTime.UtcNow < deadline; dispatches++)
        {
            var work = works[dispatches & 1];
            int chunks = counts[dispatches % counts.Length];
            Array.Clear(work.Runs);
            pool.Run(work, chunks);
            for (int c = 0; c < work.Runs.Length; c++)
            {
                int expected = c < chunks ? 1 : 0;
                if (work.Runs[c] != expected)
                    Assert.Fail($"dispatch {dispatches} ({chunks} chunks): chunk {c} ran {work.Runs[c]} times");
            }
        }
        Assert.That(dispatches, Is.GreaterThan(1000), "dispatches in the time given");
    }
}
