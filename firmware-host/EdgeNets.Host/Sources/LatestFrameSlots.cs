namespace EdgeNets.Host.Sources;

/// <summary>
/// Three fixed frame buffers between a producer thread (a child process's pipe) and the reader: the producer fills
/// one, publishes it as the latest, and moves on to a free one; the reader takes the latest and holds it until it asks
/// again. A published frame replaced before the reader took it is dropped and counted. Nothing is allocated per frame.
/// </summary>
public sealed class LatestFrameSlots
{
    private readonly byte[][] _slots;
    private readonly object _gate = new();
    private int _writing, _ready = -1, _held = -1;
    private string? _endReason;

    public LatestFrameSlots(int frameBytes)
    {
        _slots = [new byte[frameBytes], new byte[frameBytes], new byte[frameBytes]];
    }

    /// <summary>The buffer the producer fills next (producer thread only).</summary>
    public byte[] WriteBuffer => _slots[_writing];

    /// <summary>The frame the reader took last.</summary>
    public ReadOnlySpan<byte> Held => _held < 0 ? default : _slots[_held];

    public long DroppedFrames { get; private set; }

    /// <summary>Frames the producer completed.</summary>
    public long Published { get; private set; }

    /// <summary>Makes the filled <see cref="WriteBuffer"/> the latest frame; an untaken older one is dropped.</summary>
    public void Publish()
    {
        lock (_gate)
        {
            Published++;
            int previous = _ready;
            _ready = _writing;
            if (previous >= 0)
            {
                DroppedFrames++;
                _writing = previous;
            }
            else
            {
                _writing = 0;
                while (_writing == _ready || _writing == _held) _writing++;
            }
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The producer has stopped; the reader gets <paramref name="reason"/> once the latest frame is taken.</summary>
    public void End(string reason)
    {
        lock (_gate)
        {
            _endReason ??= reason;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for a frame newer than the held one and holds it. False on timeout;
    /// throws <see cref="IOException"/> with the end reason when the producer stopped.
    /// </summary>
    public bool TryTake(int timeoutMs)
    {
        lock (_gate)
        {
            if (_ready < 0 && _endReason == null) Monitor.Wait(_gate, timeoutMs);
            if (_ready < 0)
            {
                if (_endReason != null) throw new IOException(_endReason);
                return false;
            }
            _held = _ready;
            _ready = -1;
            return true;
        }
    }
}
