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
    /// With more parts than cores (as under the emulator that counts per-thread instructions) the split is exactly the
    /// fixed one: the chunks one thread runs depend only on the chunk count, the caller taking the chunks Parts − 1,
    /// 2·Parts − 1, ... and worker i the chunks i − 1 + k·Parts, in every dispatch, however the threads are scheduled.
    /// </summary>
    [TestCase(1, 2)]
    [TestCase(3, 16)]
    [TestCase(3, 7)]
    [TestCase(3, 3)]
    public void EachChunkRunsOnTheThreadItIsAssignedTo(int workers, int chunks)
    {
        using var pool = new WorkerPool(workers, corePerPart: false);
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

    /// <summary>
    /// Worker 1's first chunk (0) waits until every other chunk has run, its second one (2) included; the caller's first
    /// chunk (1) waits until chunk 0 has started, so the worker holds it.
    /// </summary>
    private sealed class StalledWorkerWork : IParallelWork
    {
        public readonly int[] Threads = new int[4];
        private int _done, _started;
        public bool TimedOut;

        public void RunChunk(int chunk, int chunks)
        {
            Threads[chunk] = Environment.CurrentManagedThreadId;
            if (chunk == 0) Volatile.Write(ref _started, 1);
            if (chunk == 0) WaitFor(ref _done, chunks - 1);
            if (chunk == 1) WaitFor(ref _started, 1);
            if (chunk != 0) Interlocked.Increment(ref _done);
        }

        private void WaitFor(ref int value, int target)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Volatile.Read(ref value) < target)
            {
                if (DateTime.UtcNow > deadline) { TimedOut = true; return; }
                Thread.Sleep(1);
            }
        }
    }

    /// <summary>
    /// With a core per part, the caller takes over the chunks a worker has not started (on a loaded machine, a worker
    /// the OS has not scheduled), instead of waiting for it.
    /// </summary>
    [Test]
    public void CallerTakesTheChunksOfAStalledWorker()
    {
        using var pool = new WorkerPool(1, corePerPart: true);
        var work = new StalledWorkerWork();
        pool.Run(work, 4);
        Assert.That(work.TimedOut, Is.False, "worker 1's second chunk ran while its first one was stalled");
        Assert.That(work.Threads[2], Is.EqualTo(Environment.CurrentManagedThreadId), "the caller ran it");
    }
}
