namespace EdgeNets.Runtime.Kernels;

/// <summary>Work split into numbered parts that may run at the same time on different threads.</summary>
internal interface IParallelWork
{
    /// <summary>Runs part <paramref name="part"/> of <paramref name="parts"/>; parts must touch disjoint outputs.</summary>
    void RunPart(int part, int parts);
}

/// <summary>
/// Worker threads created once per session. <see cref="Run"/> hands one piece of work to the calling thread (part 0)
/// and every worker (parts 1..n), then waits until all are done. Workers spin briefly on the dispatch counter before
/// sleeping, so back-to-back layers do not pay a wake-up each; nothing is allocated per dispatch.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    /// <summary>Spin iterations (about 50 us: longer than the gap between layers, shorter than between runs) before a worker sleeps.</summary>
    private const int SpinIterations = 200;

    private readonly Thread[] _threads;
    private readonly object _gate = new();
    private IParallelWork? _work;
    private int _generation, _remaining, _sleepers;
    private volatile bool _stopping;
    /// <summary>Bytes each worker thread has allocated, as of its last finished part (so tests can check it stays put).</summary>
    private readonly long[] _allocated;

    public WorkerPool(int workers)
    {
        _threads = new Thread[workers];
        _allocated = new long[workers + 1];
        for (int i = 0; i < workers; i++)
        {
            int part = i + 1;
            _threads[i] = new Thread(() => Loop(part)) { IsBackground = true, Name = $"edgenets-worker-{part}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads taking part in a dispatch, the caller included.</summary>
    public int Parts => _threads.Length + 1;

    public void Run(IParallelWork work)
    {
        int parts = Parts;
        _work = work;
        Volatile.Write(ref _remaining, parts - 1);
        Interlocked.Increment(ref _generation);
        if (Volatile.Read(ref _sleepers) > 0)
            lock (_gate) Monitor.PulseAll(_gate);
        work.RunPart(0, parts);
        var spinner = new SpinWait();
        while (Volatile.Read(ref _remaining) != 0) spinner.SpinOnce(sleep1Threshold: -1);
        _work = null;
    }

    private void Loop(int part)
    {
        int seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen && !_stopping && spins < SpinIterations)
            {
                Thread.SpinWait(8);
                spins++;
            }
            if (Volatile.Read(ref _generation) == seen && !_stopping)
            {
                lock (_gate)
                {
                    Interlocked.Increment(ref _sleepers);
                    while (Volatile.Read(ref _generation) == seen && !_stopping) Monitor.Wait(_gate);
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            if (_stopping) return;
            seen = Volatile.Read(ref _generation);
            _work!.RunPart(part, Parts);
            Volatile.Write(ref _allocated[part], GC.GetAllocatedBytesForCurrentThread());
            Interlocked.Decrement(ref _remaining);
        }
    }

    /// <summary>Sum over the worker threads of the bytes they had allocated when they last finished a part.</summary>
    public long WorkerAllocatedBytes()
    {
        long sum = 0;
        for (int i = 1; i < _allocated.Length; i++) sum += Volatile.Read(ref _allocated[i]);
        return sum;
    }

    public void Dispose()
    {
        _stopping = true;
        lock (_gate) Monitor.PulseAll(_gate);
        foreach (var t in _threads) t.Join();
    }
}
