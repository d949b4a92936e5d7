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

    /// <summary>Records the thread that ran each chunk.</summary>
    private sealed class ThreadRecordingWork : IParallelWork
    {
        public readonly int[] Threads = new int[64];
        public void RunChunk(int chunk, int chunks) => Threads[chunk] = Environment.CurrentManagedThreadId;
    }

    /// <summary>
    /// The split is static: the chunks one thread runs depend only on the chunk count, the caller taking the chunks
    /// Parts − 1, 2·Parts − 1, ... and worker i the chunks i − 1 + k·Parts, in every dispatch, however the threads are
    /// scheduled. (So per-thread work counted under an emulator is what each core of a device does.)
    /// </summary>
    [TestCase(1, 2)]
    [TestCase(3, 16)]
    [TestCase(3, 7)]
    [TestCase(3, 3)]
    public void EachChunkRunsOnTheThreadItIsAssignedTo(int workers, int chunks)
    {
        using var pool = new WorkerPool(workers);
        int parts = workers + 1, caller = Environment.CurrentManagedThreadId;
        var work = new ThreadRecordingWork();
        var threadOfPart = new int[parts];
        for (int dispatch = 0; dispatch < 200; dispatch++)
        {
            Array.Clear(work.Threads);
            pool.Run(work, chunks);
            for (int c = 0; c < chunks; c++)
            {
                int part = (c + 1) % parts;
                if (part == 0) Assert.That(work.Threads[c], Is.EqualTo(caller), $"dispatch {dispatch}: chunk {c} belongs to the caller");
                else if (dispatch == 0 && c < parts) threadOfPart[part] = work.Threads[c];
                else Assert.That(work.Threads[c], Is.EqualTo(threadOfPart[part]), $"dispatch {dispatch}: chunk {c} belongs to worker {part}");
            }
        }
        Assert.That(threadOfPart.Skip(1).Take(Math.Min(chunks, workers)), Is.Unique.And.Not.Contains(caller), "each worker is a thread of its own");
    }
}
