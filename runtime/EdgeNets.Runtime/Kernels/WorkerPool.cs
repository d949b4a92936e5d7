namespace EdgeNets.Runtime.Kernels;

/// <summary>Work split into numbered chunks that may run at the same time on different threads.</summary>
internal interface IParallelWork
{
    /// <summary>Runs chunk <paramref name="chunk"/> of <paramref name="chunks"/>; chunks must touch disjoint outputs.</summary>
    void RunChunk(int chunk, int chunks);
}

/// <summary>
/// Worker threads created once per session. <see cref="Run"/> publishes the chunks of one piece of work; the calling
/// thread and every worker that is awake claim chunks one at a time until none is left, and the caller then waits only
/// for chunks already claimed. So a worker the OS has not scheduled (a loaded machine) costs nothing: the caller does
/// its share. Workers spin briefly on the dispatch counter before sleeping; nothing is allocated per dispatch.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    /// <summary>Spin iterations (tens of microseconds: longer than the gap between layers) before a worker sleeps.</summary>
    private const int SpinIterations = 200;
    /// <summary>Chunk index of a closed claim word: no dispatch has that many chunks, so any claim fails.</summary>
    private const long ClosedIndex = uint.MaxValue;

    private readonly Thread[] _threads;
    private readonly object _gate = new();
    private IParallelWork? _work;
    private int _chunks, _completed, _generation, _sleepers;
    /// <summary>
    /// The claim word: dispatch number in the high 32 bits, next chunk index in the low 32. A claim is a compare-exchange
    /// of the word it read, so a thread delayed between reading the word and claiming can never take a chunk of a later
    /// dispatch under an index of an earlier one (which would run that chunk twice and over-count completions).
    /// </summary>
    private long _claim = ClosedIndex;
    private volatile bool _stopping;
    /// <summary>Bytes each worker thread has allocated, as of its last finished chunk (so tests can check it stays put).</summary>
    private readonly long[] _allocated;

    public WorkerPool(int workers)
    {
        _threads = new Thread[workers];
        _allocated = new long[workers + 1];
        for (int i = 0; i < workers; i++)
        {
            int index = i + 1;
            _threads[i] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"edgenets-worker-{index}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that may take part in a dispatch, the caller included.</summary>
    public int Parts => _threads.Length + 1;

    public void Run(IParallelWork work, int chunks)
    {
        // The word changes (closed under the new dispatch number) before anything a claimant reads is rewritten, and
        // opens only after: a claimant that read the old word fails its compare-exchange.
        long dispatch = (Volatile.Read(ref _claim) >> 32) + 1 & uint.MaxValue;
        Interlocked.Exchange(ref _claim, dispatch << 32 | ClosedIndex);
        _work = work;
        _chunks = chunks;
        _completed = 0;
        Interlocked.Exchange(ref _claim, dispatch << 32);
        Interlocked.Increment(ref _generation);
        if (Volatile.Read(ref _sleepers) > 0)
            lock (_gate) Monitor.PulseAll(_gate);
        RunClaimed();
        var spinner = new SpinWait();
        while (Volatile.Read(ref _completed) < chunks) spinner.SpinOnce(sleep1Threshold: -1);
    }

    /// <summary>Claims and runs chunks until none is left; returns how many this thread ran.</summary>
    private int RunClaimed()
    {
        int ran = 0;
        while (true)
        {
            long word = Volatile.Read(ref _claim);
            // Read after the word: if the claim below succeeds, no dispatch has opened since, so these are its values.
            int chunks = Volatile.Read(ref _chunks);
            var work = Volatile.Read(ref _work);
            long chunk = word & uint.MaxValue;
            if (chunk >= chunks) return ran;
            if (Interlocked.CompareExchange(ref _claim, word + 1, word) != word) continue;
            work!.RunChunk((int)chunk, chunks);
            ran++;
            Interlocked.Increment(ref _completed);
        }
    }

    private void Loop(int index)
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
            if (RunClaimed() > 0) Volatile.Write(ref _allocated[index], GC.GetAllocatedBytesForCurrentThread());
        }
    }

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
