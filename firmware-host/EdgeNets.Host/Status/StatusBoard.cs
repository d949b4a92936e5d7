namespace EdgeNets.Host.Status;

/// <summary>One model input as the model saw it, with the prediction made on it.</summary>
public sealed class InputSnapshot
{
    internal InputSnapshot(int inputBytes, int outputs)
    {
        Bytes = new byte[inputBytes];
        Outputs = new float[outputs];
    }

    /// <summary>The model input's bytes (float32 or int8 values in the model's layout).</summary>
    public byte[] Bytes { get; }
    /// <summary>The model's output for this input (logits or probabilities, or values).</summary>
    public float[] Outputs { get; }
    /// <summary>Prediction index; -1 before the first snapshot.</summary>
    public long Prediction { get; internal set; } = -1;
    public int Class { get; internal set; } = -1;
    public float Score { get; internal set; }
}

/// <summary>One prediction in the history.</summary>
public readonly record struct PredictionRecord(long Index, long Frames, int Class, float Score, double LatencyUs, long Timestamp);

/// <summary>
/// What the status page shows, written by the frame loop and read by the page's requests without the frame loop ever
/// waiting or allocating. The model input of a frame (at most <c>snapshotsPerSecond</c> times a second) goes through a
/// triple buffer: the loop fills its own buffer and exchanges it with the shared one in one atomic step; readers
/// exchange their buffer with the shared one when a newer snapshot is there. Predictions go into a ring that readers
/// copy and keep only the entries that cannot have been overwritten while they copied. Counters are single words.
/// </summary>
public sealed class StatusBoard
{
    private const int Fresh = 4;
    private readonly InputSnapshot[] _buffers;
    private int _back = 0, _front = 1, _state = 2;   // _state: the shared buffer's index, | Fresh when newer than _front
    private readonly long _captureIntervalTicks;
    private long _lastCaptureTicks = long.MinValue;
    private bool _captured;

    private readonly PredictionRecord[] _history;
    private long _recorded;
    private long _frames, _dropped, _nonFinite, _saturatedInputs, _reloads, _rejections;
    private double _latencySumUs;
    private readonly object _readers = new();

    public StatusBoard(int inputBytes, int outputs, long timestampFrequency, int historyLength = 600, double snapshotsPerSecond = 10)
    {
        _buffers = [new(inputBytes, outputs), new(inputBytes, outputs), new(inputBytes, outputs)];
        _history = new PredictionRecord[historyLength];
        _captureIntervalTicks = (long)(timestampFrequency / snapshotsPerSecond);
        TimestampFrequency = timestampFrequency;
    }

    public long TimestampFrequency { get; }
    public int HistoryLength => _history.Length;

    // ---- frame loop side: no allocation, no lock, no waiting ----

    /// <summary>Copies the model input about to run, when a snapshot is due; called before the model runs (its input memory may be reused by later layers).</summary>
    public void CaptureInput(ReadOnlySpan<byte> input, long timestamp)
    {
        _captured = false;
        if (_lastCaptureTicks != long.MinValue && timestamp - _lastCaptureTicks < _captureIntervalTicks) return;
        var back = _buffers[_back];
        if (input.Length != back.Bytes.Length) return;   // a model of another input size, until the board is replaced
        input.CopyTo(back.Bytes);
        _lastCaptureTicks = timestamp;
        _captured = true;
    }

    /// <summary>Records a prediction; publishes the captured input with it when one was taken for this frame.</summary>
    public void Record(long index, int predictedClass, float score, ReadOnlySpan<float> outputs, double latencyUs, long timestamp)
    {
        long n = _recorded;
        _history[n % _history.Length] = new PredictionRecord(index, Volatile.Read(ref _frames), predictedClass, score, latencyUs, timestamp);
        Volatile.Write(ref _latencySumUs, _latencySumUs + latencyUs);
        Volatile.Write(ref _recorded, n + 1);
        if (!_captured) return;
        _captured = false;
        var back = _buffers[_back];
        if (outputs.Length == back.Outputs.Length) outputs.CopyTo(back.Outputs);
        back.Prediction = index;
        back.Class = predictedClass;
        back.Score = score;
        _back = Interlocked.Exchange(ref _state, _back | Fresh) & 3;
    }

    /// <summary>Counters of the run so far (from the start).</summary>
    public void SetCounters(long frames, long dropped, long nonFiniteOutputs, long saturatedInputs, long reloads, long rejections)
    {
        Volatile.Write(ref _frames, frames);
        Volatile.Write(ref _dropped, dropped);
        Volatile.Write(ref _nonFinite, nonFiniteOutputs);
        Volatile.Write(ref _saturatedInputs, saturatedInputs);
        Volatile.Write(ref _reloads, reloads);
        Volatile.Write(ref _rejections, rejections);
    }

    // ---- reader side (any thread; readers take turns) ----

    public long Frames => Volatile.Read(ref _frames);
    public long Dropped => Volatile.Read(ref _dropped);
    public long NonFiniteOutputs => Volatile.Read(ref _nonFinite);
    public long SaturatedInputs => Volatile.Read(ref _saturatedInputs);
    public long ModelReloads => Volatile.Read(ref _reloads);
    public long ModelRejections => Volatile.Read(ref _rejections);
    public long Predictions => Volatile.Read(ref _recorded);
    public double LatencySumUs => Volatile.Read(ref _latencySumUs);

    /// <summary>Copies the newest input snapshot into <paramref name="into"/>; false before the first one.</summary>
    public bool CopyLatestInput(InputSnapshot into)
    {
        lock (_readers)
        {
            if ((Volatile.Read(ref _state) & Fresh) != 0) _front = Interlocked.Exchange(ref _state, _front) & 3;
            var front = _buffers[_front];
            if (front.Prediction < 0) return false;
            front.Bytes.CopyTo(into.Bytes, 0);
            front.Outputs.CopyTo(into.Outputs, 0);
            into.Prediction = front.Prediction;
            into.Class = front.Class;
            into.Score = front.Score;
            return true;
        }
    }

    /// <summary>A new snapshot of this board's sizes, for <see cref="CopyLatestInput"/>.</summary>
    public InputSnapshot NewSnapshot() => new(_buffers[0].Bytes.Length, _buffers[0].Outputs.Length);

    /// <summary>The most recent predictions, oldest first (at most <see cref="HistoryLength"/>).</summary>
    public PredictionRecord[] History()
    {
        lock (_readers)
        {
            var copy = new PredictionRecord[_history.Length];
            long before = Volatile.Read(ref _recorded);
            Array.Copy(_history, copy, copy.Length);
            Interlocked.MemoryBarrier();
            long after = Volatile.Read(ref _recorded);
            // Entry p sits in slot p % length until entry p + length is written, which may have begun once `after`
            // reached p + length; entries from `before` on may be half written.
            long first = Math.Max(0, after - _history.Length + 1);
            if (first >= before) return [];
            var result = new PredictionRecord[before - first];
            for (long p = first; p < before; p++) result[p - first] = copy[p % _history.Length];
            return result;
        }
    }
}
