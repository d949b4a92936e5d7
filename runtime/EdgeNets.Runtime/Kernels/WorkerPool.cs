using System.Runtime.InteropServices;

namespace EdgeNets.Runtime.Kernels;

/// <summary>Work split into numbered chunks that may run at the same time on different threads.</summary>
internal interface IParallelWork
{
    /// <summary>Runs chunk <paramref name="chunk"/> of <paramref name="chunks"/>; chunks must touch disjoint outputs.</summary>
    void RunChunk(int chunk, int chunks);
}

/// <summary>
/// Worker threads created once per session. <see cref="Run"/> gives each thread a fixed share of the chunks: worker i
/// owns chunks i − 1, i − 1 + <see cref="Parts"/>, i − 1 + 2·<see cref="Parts"/>, ..., the caller chunks
/// <see cref="Parts"/> − 1, 2·<see cref="Parts"/> − 1, ... (when the chunks do not divide evenly, the caller, which also
/// runs everything between the dispatches, is left with fewer). Which thread does what depends only on the chunk count,
/// so on equal cores equal chunks finish together, and the per-thread work counted under an emulator is each core's.
/// When every part has a core of its own, waiting threads spin briefly before sleeping, and the caller, done with its
/// own chunks, also takes those a worker has not started (a worker the OS has not scheduled on a loaded machine then
/// costs little). When the parts outnumber the cores, threads sleep at once (a spinning thread would take the core the
/// awaited one needs) and nothing is taken over: the split stays exactly the fixed one. Nothing is allocated per dispatch.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    /// <summary>Spin iterations (tens of microseconds: longer than the gap between layers) before a thread sleeps.</summary>
    private const int SpinIterations = 200;
    /// <summary>Index of a closed claim word: no dispatch has that many chunks, so any claim fails.</summary>
    private const long ClosedIndex = uint.MaxValue;

    /// <summary>
    /// A part's claim word, on a cache line of its own: dispatch number in the high 32 bits, the index of the part's next
    /// chunk among its own in the low 32. A claim is a compare-exchange of the word it read, so a thread delayed between
    /// reading the word and claiming can never take a chunk of a later dispatch under an index of an earlier one.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct ClaimWord
    {
        [FieldOffset(0)] public long Value;
    }

    private readonly Thread[] _threads;
    private readonly ClaimWord[] _claims;
    /// <summary>Every part has a core: waiting threads spin first, and the caller takes over unstarted chunks.</summary>
    private readonly bool _corePerPart;
    /// <summary>Workers sleep on it waiting for a dispatch; the caller sleeps on it waiting for the workers.</summary>
    private readonly object _gate = new();
    private IParallelWork? _work;
    private int _chunks, _completed, _generation, _sleepers, _callerWaiting;
    private volatile bool _stopping;
    /// <summary>Bytes each worker thread has allocated, as of its last finished chunk (so tests can check it stays put).</summary>
    private readonly long[] _allocated;

    public WorkerPool(int workers) : this(workers, corePerPart: Environment.ProcessorCount > workers) { }

    internal WorkerPool(int workers, bool corePerPart)
    {
        _corePerPart = corePerPart;
        _threads = new Thread[workers];
        _claims = new ClaimWord[workers + 1];
        for (int p = 0; p < _claims.Length; p++) _claims[p].Value = ClosedIndex;
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
        // The words close under the new dispatch number before anything a claimant reads is rewritten, and open only
        // after: a claimant that read an old word fails its compare-exchange.
        long dispatch = ((Volatile.Read(ref _claims[0].Value) >> 32) + 1) & uint.MaxValue;
        for (int p = 0; p < _claims.Length; p++) Interlocked.Exchange(ref _claims[p].Value, dispatch << 32 | ClosedIndex);
        _work = work;
        _chunks = chunks;
        _completed = 0;
        for (int p = 0; p < _claims.Length; p++) Interlocked.Exchange(ref _claims[p].Value, dispatch << 32);
        // A full fence: the sleepers count is read after the dispatch is visible (a worker counts itself before its
        // last look at the generation).
        Interlocked.Increment(ref _generation);
        if (Volatile.Read(ref _sleepers) > 0)
            lock (_gate) Monitor.PulseAll(_gate);
        RunClaimed(0);
        if (_corePerPart)
            for (int p = 1; p < _claims.Length; p++) RunClaimed(p);
        for (int spins = 0; _corePerPart && spins < SpinIterations && Volatile.Read(ref _completed) < chunks; spins++) Thread.SpinWait(8);
        if (Volatile.Read(ref _completed) == chunks) return;
        lock (_gate)
        {
            // Announced before the check, and a finishing thread reads it after counting: one of the two sees the other.
            Interlocked.Exchange(ref _callerWaiting, 1);
            while (Volatile.Read(ref _completed) < chunks) Monitor.Wait(_gate);
            _callerWaiting = 0;
        }
    }

    /// <summary>Claims and runs chunks of part <paramref name="owner"/> until none is left; returns how many it ran.</summary>
    private int RunClaimed(int owner)
    {
        int ran = 0, parts = Parts, first = owner == 0 ? parts - 1 : owner - 1;
        ref long claim = ref _claims[owner].Value;
        while (true)
        {
            long word = Volatile.Read(ref claim);
            // Read after the word: if the claim below succeeds, no dispatch has opened since, so these are its values.
            int chunks = Volatile.Read(ref _chunks);
            var work = Volatile.Read(ref _work);
            long index = word & uint.MaxValue;
            if (index == ClosedIndex || first + index * parts >= chunks) return ran;
            if (Interlocked.CompareExchange(ref claim, word + 1, word) != word) continue;
            work!.RunChunk((int)(first + index * parts), chunks);
            ran++;
            if (Interlocked.Increment(ref _completed) == chunks && Volatile.Read(ref _callerWaiting) != 0)
                lock (_gate) Monitor.PulseAll(_gate);
        }
    }

    private void Loop(int index)
    {
        int seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen && !_stopping && _corePerPart && spins < SpinIterations)
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
            if (RunClaimed(index) > 0) Volatile.Write(ref _allocated[index], GC.GetAllocatedBytesForCurrentThread());
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
