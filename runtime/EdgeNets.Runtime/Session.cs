using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Kernels.Selection;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime;

/// <summary>
/// Runs a model from one pre-allocated arena. Kernels are chosen and prepared once here; <see cref="Run"/> and
/// <see cref="Invoke"/> allocate nothing. One run at a time: use one session per thread
/// (<see cref="SessionOptions.Threads"/> lets one session's runs use several); a run started while another is in
/// progress throws <see cref="InvalidOperationException"/>, and a disposed session <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class Session : IDisposable
{
    private readonly ModelGraph _graph;
    private readonly OpKernel[] _kernels;
    /// <summary>The kernels that can stop a streaming step (windows over time), by position; null elsewhere.</summary>
    private readonly Kernels.Reference.IStreamGate?[] _gates;
    private readonly TensorMemory _memory;
    private readonly string[] _choices;
    private readonly long[]? _ticks;
    private readonly WorkerPool? _workers;
    /// <summary>1 while a run is in progress (taken with one interlocked exchange, so a concurrent run is refused, not interleaved).</summary>
    private int _running;
    private volatile bool _disposed;

    internal Session(Model model, SessionOptions options)
    {
        Model = model;
        _graph = model.Graph;
        long[] offsets = options.KeepAllActivations ? _graph.UnsharedOffsets(out long arenaBytes) : CurrentOffsets(_graph, out arenaBytes);
        _memory = new TensorMemory(_graph, offsets, arenaBytes);

        _kernels = new OpKernel[_graph.Ops.Count];
        _choices = new string[_graph.Ops.Count];
        // Conv + MaxPool 2x2/2 and Conv + LookupTable/Add pairs that may run as one kernel; not with reference kernels
        // only, nor when every activation is kept (the fused Conv never writes its own output).
        bool[] sharesInput = [];
        int[]? fusible = options.ReferenceKernelsOnly || options.KeepAllActivations ? null : ConvPoolFusion.Plan(_graph, offsets, out sharesInput);
        for (int i = 0; i < _kernels.Length; i++)
        {
            var op = _graph.Ops[i];
            if (_kernels[i] != null) continue; // the second operator of a fused pair
            var setup = new KernelSetup(_graph, op);
            var site = fusible != null && fusible[i] >= 0 ? new FusionSite(new KernelSetup(_graph, _graph.Ops[fusible[i]]), sharesInput[i]) : null;
            var choice = KernelRegistry.Choose(setup, options.ReferenceKernelsOnly, site);
            _choices[i] = choice.Why;
            ScratchBytes += CheckScratch(op, KernelScratch.Bytes(setup) + (choice.Fused != null ? KernelScratch.Bytes(site!.Pool) : 0));
            try
            {
                if (choice.Fused != null)
                {
                    _kernels[i] = choice.Fused.Create(setup, site!.Pool);
                    _kernels[fusible![i]] = new FusedIntoConvKernel(_graph.Ops[fusible[i]].Type, i);
                    _choices[fusible[i]] = $"fused into #{i} ({choice.Fused.Name})";
                    continue;
                }
                _kernels[i] = choice.Entry.Create(setup);
            }
            catch (ModelFormatException) { throw; }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or IndexOutOfRangeException or OverflowException)
            {
                throw new ModelFormatException($"{op}: {e.Message}", e);
            }
        }
        _gates = Array.ConvertAll(_kernels, k => k as Kernels.Reference.IStreamGate);
        if (options.Threads < 1 || options.Threads > 256) throw new ArgumentOutOfRangeException(nameof(options), $"Threads must be 1..256, is {options.Threads}");
        if (options.Threads > 1)
        {
            _workers = new WorkerPool(options.Threads - 1);
            foreach (var kernel in _kernels) kernel.UseWorkers(_workers);
        }
        if (options.Profile) _ticks = new long[_kernels.Length + 2];
        if (options.LogKernelChoice)
        {
            var log = options.Log ?? Console.Error;
            log.WriteLine($"edgenets: CPU features: {CpuFeatures.Describe()}");
            for (int i = 0; i < _kernels.Length; i++) log.WriteLine($"edgenets: {_graph.Ops[i]} -> {_kernels[i].Name} ({_choices[i]})");
        }
    }

    public Model Model { get; }
    public long ArenaBytes => _memory.ArenaLength;

    /// <summary>
    /// Upper bound of the bytes the kernels allocated when the session was created (<see cref="KernelScratch"/>), at
    /// most <see cref="EnetFormat.MaxScratchBytes"/>; with <see cref="ArenaBytes"/>, the session's memory.
    /// </summary>
    public long ScratchBytes { get; }

    /// <summary>Refuses an operator whose kernel would bring the session's scratch over the limit, before it allocates anything.</summary>
    private long CheckScratch(OpInfo op, long bytes)
    {
        if (ScratchBytes + bytes > EnetFormat.MaxScratchBytes)
            throw new ModelFormatException(
                $"{op}: its kernel needs up to {bytes} bytes of scratch memory, which takes the session's to {ScratchBytes + bytes} bytes, over the limit of {EnetFormat.MaxScratchBytes} bytes");
        return bytes;
    }

    /// <summary>The prepared kernels, in execution order (for tests).</summary>
    internal IReadOnlyList<OpKernel> Kernels => _kernels;

    /// <summary>
    /// Bytes the session's worker threads (<see cref="SessionOptions.Threads"/> &gt; 1) had allocated when they last
    /// finished a piece of work; 0 without workers. With the caller's own count, shows that runs allocate nothing.
    /// </summary>
    public long WorkerAllocatedBytes => _workers?.WorkerAllocatedBytes() ?? 0;

    /// <summary>Name of the kernel variant chosen for each operator, in execution order.</summary>
    public IReadOnlyList<string> KernelNames => _kernels.Select(k => k.Name).ToArray();

    /// <summary>Why each operator got its kernel (its selection policy's reason), in execution order.</summary>
    public IReadOnlyList<string> KernelChoiceReasons => _choices;

    /// <summary>Runs a single-input, single-output model on float data (quantizing and dequantizing as the model needs).</summary>
    public void Run(ReadOnlySpan<float> input, Span<float> output)
    {
        Enter();
        try
        {
            if (_ticks == null)
            {
                SetInput(0, input);
                InvokeKernels();
                GetOutput(0, output);
                return;
            }
            long start = Stopwatch.GetTimestamp();
            SetInput(0, input);
            _ticks[_kernels.Length] += Stopwatch.GetTimestamp() - start;
            InvokeKernels();
            start = Stopwatch.GetTimestamp();
            GetOutput(0, output);
            _ticks[_kernels.Length + 1] += Stopwatch.GetTimestamp() - start;
        }
        finally { Exit(); }
    }

    /// <summary>Runs every operator on the inputs already set.</summary>
    public void Invoke()
    {
        Enter();
        try { InvokeKernels(); }
        finally { Exit(); }
    }

    /// <summary>Marks a run in progress; throws when the session is disposed or already running (allocates nothing otherwise).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Enter()
    {
        if (Interlocked.Exchange(ref _running, 1) != 0) ThrowBusy();
        if (_disposed)
        {
            Exit();
            ThrowDisposed();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Exit() => Volatile.Write(ref _running, 0);

    /// <summary>The flag is taken: by another run, or for good by <see cref="Dispose"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBusy()
    {
        if (_disposed) ThrowDisposed();
        throw new InvalidOperationException("a run of this session was started while another run of it is in progress: use one session per thread");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(Session));

    private void InvokeKernels()
    {
        var kernels = _kernels;
        var ticks = _ticks;
        if (ticks == null)
        {
            for (int i = 0; i < kernels.Length; i++) kernels[i].Run(_memory);
            return;
        }
        for (int i = 0; i < kernels.Length; i++)
        {
            long start = Stopwatch.GetTimestamp();
            kernels[i].Run(_memory);
            ticks[i] += Stopwatch.GetTimestamp() - start;
        }
    }

    /// <summary>
    /// Runs the operators in order up to the first stream gate that is not ready after running (a streaming window
    /// still filling); returns whether every operator ran. Without gates, the same as <see cref="Invoke"/>.
    /// </summary>
    internal bool InvokeUntilGateCloses()
    {
        Enter();
        try
        {
            var kernels = _kernels;
            var gates = _gates;
            for (int i = 0; i < kernels.Length; i++)
            {
                kernels[i].Run(_memory);
                if (gates[i] is { Ready: false }) return false;
            }
            return true;
        }
        finally { Exit(); }
    }

    /// <summary>
    /// With <see cref="SessionOptions.Profile"/>: Stopwatch ticks summed over all runs so far, one per operator in
    /// execution order, then the input conversion and the output conversion of <see cref="Run"/>. Empty otherwise.
    /// </summary>
    public ReadOnlySpan<long> ProfileTicks => _ticks;

    /// <summary>Sets the profile counters back to zero.</summary>
    public void ResetProfile()
    {
        if (_ticks != null) Array.Clear(_ticks);
    }

    /// <summary>Copies float input data into graph input <paramref name="index"/>, quantizing when that input is int8.</summary>
    public void SetInput(int index, ReadOnlySpan<float> values)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int id = _graph.Inputs[index];
        WriteFloat(id, values);
    }

    /// <summary>Reads graph output <paramref name="index"/> as float, dequantizing when it is int8.</summary>
    public void GetOutput(int index, Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ReadTensorAsFloat(_graph.Outputs[index], destination);
    }

    /// <summary>The raw bytes of graph input <paramref name="index"/>, for preprocessing straight into the (quantized) input.</summary>
    public Span<byte> GetInputBytes(int index) => _memory.Bytes(_graph.Inputs[index]);

    /// <summary>The raw bytes of any activation (valid after a run; with <see cref="SessionOptions.KeepAllActivations"/> for intermediates).</summary>
    public ReadOnlySpan<byte> GetTensorBytes(int tensorId) => _graph.Tensors[tensorId].IsConstant ? _graph.Tensors[tensorId].Data.Span : _memory.Bytes(tensorId);

    /// <summary>Reads any tensor as float, dequantizing int8/int16/int32 with its quantization parameters.</summary>
    public void ReadTensorAsFloat(int tensorId, Span<float> destination)
    {
        var tensor = _graph.Tensors[tensorId];
        if (destination.Length != tensor.ElementCount)
            throw new ArgumentException($"tensor '{tensor.Name}' has {tensor.ElementCount} elements, destination has {destination.Length}");
        var bytes = GetTensorBytes(tensorId);
        switch (tensor.Type)
        {
            case DataType.Float32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                break;
            case DataType.Int8:
            {
                var q = MemoryMarshal.Cast<byte, sbyte>(bytes);
                Dequantize(tensor, q, destination);
                break;
            }
            case DataType.UInt8:
                for (int i = 0; i < bytes.Length; i++) destination[i] = bytes[i];
                break;
            case DataType.Int16:
            {
                var q = MemoryMarshal.Cast<byte, short>(bytes);
                float scale = tensor.Quantization?.Scale ?? 1f;
                for (int i = 0; i < q.Length; i++) destination[i] = scale * q[i];
                break;
            }
            case DataType.Int32:
            {
                var q = MemoryMarshal.Cast<byte, int>(bytes);
                float scale = tensor.Quantization?.Scale ?? 1f;
                int zp = tensor.Quantization?.ZeroPoint ?? 0;
                for (int i = 0; i < q.Length; i++) destination[i] = scale * (q[i] - zp);
                break;
            }
        }
    }

    private static void Dequantize(TensorInfo tensor, ReadOnlySpan<sbyte> q, Span<float> destination)
    {
        var quant = tensor.Quantization;
        if (quant == null) { for (int i = 0; i < q.Length; i++) destination[i] = q[i]; return; }
        if (!quant.IsPerChannel)
        {
            float scale = quant.Scale;
            int zp = quant.ZeroPoint;
            for (int i = 0; i < q.Length; i++) destination[i] = scale * (q[i] - zp);
            return;
        }
        int channels = tensor.Shape[quant.Axis];
        int inner = 1;
        for (int d = quant.Axis + 1; d < tensor.Rank; d++) inner *= tensor.Shape[d];
        for (int i = 0; i < q.Length; i++) destination[i] = quant.Scales[i / inner % channels] * (q[i] - quant.ZeroPoint);
    }

    private void WriteFloat(int tensorId, ReadOnlySpan<float> values)
    {
        var tensor = _graph.Tensors[tensorId];
        if (values.Length != tensor.ElementCount)
            throw new ArgumentException($"input '{tensor.Name}' expects {tensor.ElementCount} values (shape [{ShapeUtil.Format(tensor.Shape)}]), got {values.Length}");
        var bytes = _memory.Bytes(tensorId);
        switch (tensor.Type)
        {
            case DataType.Float32:
                values.CopyTo(MemoryMarshal.Cast<byte, float>(bytes));
                break;
            case DataType.Int8:
            {
                var q = MemoryMarshal.Cast<byte, sbyte>(bytes);
                float inverseScale = 1f / tensor.Quantization!.Scale;
                int zp = tensor.Quantization.ZeroPoint;
                EdgeNets.Runtime.Kernels.Optimized.QuantizeVector.Quantize(values, q, inverseScale, zp);
                break;
            }
            default:
                throw new NotSupportedException($"input '{tensor.Name}' of type {tensor.Type} cannot be set from float");
        }
    }

    private static long[] CurrentOffsets(ModelGraph graph, out long arenaBytes)
    {
        arenaBytes = graph.ArenaBytes;
        return graph.Tensors.Select(t => t.IsConstant ? -1 : t.Offset).ToArray();
    }

    /// <summary>Stops the worker threads of a multi-threaded session (after a run in progress ends); later runs throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        var wait = new SpinWait();
        while (Interlocked.CompareExchange(ref _running, 1, 0) != 0) wait.SpinOnce();
        _workers?.Dispose();
    }
}
