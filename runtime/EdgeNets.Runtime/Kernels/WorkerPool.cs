namespace EdgeNets.Runtime.Kernels;

/// <summary>Work split into numbered chunks that may run at the same time on different threads.</summary>
internal interface IParallelWork
{
    /// <summary>Runs chunk <paramref name="chunk"/> of <paramref name="chunks"/>; chunks must touch disjoint outputs.</summary>
    void RunChunk(int chunk, int chunks);
}

/// <summary>
/// Worker threads created once per session. <see cref="Run"/> splits the chunks of one piece of work statically: worker i
/// runs chunks i − 1, i − 1 + <see cref="Parts"/>, ..., the caller chunks <see cref="Parts"/> − 1, 2·<see cref="Parts"/> − 1,
/// ... (when the chunks do not divide evenly, the caller, which also runs everything between the dispatches, is the one
/// left with fewer). So
/// which thread does what depends only on the chunk count, never on which thread was scheduled first: the share of each
/// thread is fixed by the kernels' split (on equal cores, equal chunks finish together), and per-thread instruction
/// counts under an emulator are the ones a device would execute. Waiting threads spin briefly before sleeping when every
/// part has a core of its own, and sleep at once when the parts outnumber the cores (a spinning thread would take the
/// core the awaited one needs). Nothing is allocated per dispatch.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    /// <summary>Spin iterations (tens of microseconds: longer than the gap between layers) before a thread sleeps.</summary>
    private const int SpinIterations = 200;

    private readonly Thread[] _threads;
    private readonly bool _spin;
    /// <summary>Workers sleep on it waiting for a dispatch; the caller sleeps on it waiting for the workers.</summary>
    private readonly object _gate = new();
    private IParallelWork? _work;
    private int _chunks;
    /// <summary>
    /// Dispatch sequence: odd while <see cref="Run"/> rewrites the work and chunk count, even (2 × dispatches) after.
    /// A worker reads the work between two equal even values, so it never runs one dispatch's chunks under another's
    /// count (a worker with no chunk in a dispatch can still be reading when the next one starts).
    /// </summary>
    private int _sequence;
    /// <summary>Workers of the current dispatch with chunks not yet finished.</summary>
    private int _pending;
    private int _sleepers, _callerWaiting;
    private volatile bool _stopping;
    /// <summary>Bytes each worker thread has allocated, as of its last finished chunk (so tests can check it stays put).</summary>
    private readonly long[] _allocated;

    public WorkerPool(int workers) : this(workers, spin: Environment.ProcessorCount > workers) { }

    /// <param name="spin">Whether waiting threads spin before sleeping (worth it only with a core per part).</param>
    internal WorkerPool(int workers, bool spin)
    {
        _spin = spin;
        _threads = new Thread[workers];
        _allocated = new long[workers + 1];
        for (int i = 0; i < workers; i++)
        {
            int index = i + 1;
            _threads[i] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"edgenets-worker-{index}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that take part in a dispatch, the caller included.</summary>
    public int Parts => _threads.Length + 1;

    public void Run(IParallelWork work, int chunks)
    {
        if (chunks == 1)
        {
            work.RunChunk(0, 1);
            return;
        }
        int busy = Math.Min(chunks, Parts - 1);
        int sequence = _sequence;
        Interlocked.Exchange(ref _sequence, sequence + 1);
        _work = work;
        _chunks = chunks;
        _pending = busy;
        // A full fence: the sleepers count below must be read after the dispatch is visible (a worker counts itself
        // before its last look at the sequence).
        Interlocked.Exchange(ref _sequence, sequence + 2);
        if (busy > 0 && Volatile.Read(ref _sleepers) > 0)
            lock (_gate) Monitor.PulseAll(_gate);
        RunPart(work, 0, chunks);
        for (int spins = 0; _spin && spins < SpinIterations && Volatile.Read(ref _pending) > 0; spins++) Thread.SpinWait(8);
        if (Volatile.Read(ref _pending) == 0) return;
        lock (_gate)
        {
            // Announced before the check, and the last worker reads it after its decrement: one of the two sees the other.
            Interlocked.Exchange(ref _callerWaiting, 1);
            while (Volatile.Read(ref _pending) > 0) Monitor.Wait(_gate);
            _callerWaiting = 0;
        }
    }

    /// <summary>The chunks of part <paramref name="part"/> (0: the caller, i: worker i) in the dispatch.</summary>
    private void RunPart(IParallelWork work, int part, int chunks)
    {
        for (int chunk = part == 0 ? Parts - 1 : part - 1; chunk < chunks; chunk += Parts) work.RunChunk(chunk, chunks);
    }

    private void Loop(int index)
    {
        int seen = 0;
        while (true)
        {
            int spins = 0;
            while (!Published(seen) && !_stopping && _spin && spins < SpinIterations)
            {
                Thread.SpinWait(8);
                spins++;
            }
            if (!Published(seen) && !_stopping)
            {
                lock (_gate)
                {
                    Interlocked.Increment(ref _sleepers);
                    while (!Published(seen) && !_stopping) Monitor.Wait(_gate);
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            if (_stopping) return;
            int sequence = Volatile.Read(ref _sequence);
            var work = _work;
            int chunks = _chunks;
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _sequence) != sequence || (sequence & 1) != 0) continue;
            seen = sequence;
            if (index > chunks) continue;
            RunPart(work!, index, chunks);
            Volatile.Write(ref _allocated[index], GC.GetAllocatedBytesForCurrentThread());
            if (Interlocked.Decrement(ref _pending) == 0 && Volatile.Read(ref _callerWaiting) != 0)
                lock (_gate) Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Whether a dispatch after <paramref name="seen"/> has been published (or is being written).</summary>
    private bool Published(int seen) => Volatile.Read(ref _sequence) != seen;

    /// <summary>Sum over the worker threads of the bytes they had allocated when they last finished a chunk.</summary>
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
