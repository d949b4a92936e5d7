namespace EdgeNets.Host.Output;

/// <summary>
/// Debounces per-frame classes into events: a class is reported once it has been the top class for
/// <see cref="HoldFrames"/> consecutive frames, and again only after another class has been reported in between.
/// </summary>
public sealed class EventSmoother(int holdFrames)
{
    private int _candidate = -1, _count;

    public int HoldFrames { get; } = holdFrames >= 1 ? holdFrames : throw new ArgumentOutOfRangeException(nameof(holdFrames), "must be at least 1");

    /// <summary>The last reported class, -1 before the first event.</summary>
    public int Current { get; private set; } = -1;

    /// <summary>Feeds one frame's class; true when it becomes a new event (then <see cref="Current"/> is that class).</summary>
    public bool Update(int cls)
    {
        if (cls == _candidate) { if (_count < HoldFrames) _count++; }
        else { _candidate = cls; _count = 1; }
        if (_count < HoldFrames || _candidate == Current) return false;
        Current = _candidate;
        return true;
    }
}
