namespace EdgeNets.Host.V4l2;

/// <summary>The driver's buffer queue as the capture loop sees it (VIDIOC_DQBUF / VIDIOC_QBUF).</summary>
public interface IBufferQueue
{
    /// <summary>Dequeues the oldest filled buffer; false when none is waiting (EAGAIN).</summary>
    bool TryDequeue(out V4l2Buffer buffer);

    void Queue(uint index);
}

/// <summary>
/// Keeps the capture loop on the newest frame: every filled buffer is dequeued, all but the newest are handed straight
/// back to the driver, and the newest is held by the reader until the next frame is requested. Frames lost this way,
/// and frames the driver overwrote because no buffer was free (gaps in the sequence numbers), count as dropped.
/// </summary>
public sealed class FreshestFrameRing
{
    private long _held = -1;
    private uint _lastSequence;
    private bool _haveSequence;

    public long DroppedFrames { get; private set; }

    /// <summary>The buffer the reader holds, -1 when none.</summary>
    public long Held => _held;

    /// <summary>Gives the buffer held since the last <see cref="TryTakeFreshest"/> back to the driver.</summary>
    public void Release(IBufferQueue queue)
    {
        if (_held < 0) return;
        queue.Queue((uint)_held);
        _held = -1;
    }

    /// <summary>Drains the queue and holds the newest buffer; false when nothing was filled.</summary>
    public bool TryTakeFreshest(IBufferQueue queue, out V4l2Buffer newest)
    {
        Release(queue);
        newest = default;
        bool have = false;
        long older = 0;
        while (queue.TryDequeue(out var buffer))
        {
            if (have) { queue.Queue(newest.Index); older++; }
            newest = buffer;
            have = true;
        }
        if (!have) return false;
        // Sequence numbers also reveal frames the driver dropped itself; without them count the drained ones.
        long gap = _haveSequence && newest.Sequence > _lastSequence ? newest.Sequence - _lastSequence - 1 : 0;
        DroppedFrames += Math.Max(gap, older);
        _lastSequence = newest.Sequence;
        _haveSequence = true;
        _held = newest.Index;
        return true;
    }
}
