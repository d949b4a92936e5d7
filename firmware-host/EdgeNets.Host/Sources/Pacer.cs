using System.Diagnostics;

namespace EdgeNets.Host.Sources;

/// <summary>
/// Holds a replay source to a fixed rate (frames or samples per second); rate 0 means as fast as possible. A wait ends
/// early when <c>cancel</c> is cancelled, so a slow replay does not hold up a stop.
/// </summary>
public sealed class Pacer(double rate, CancellationToken cancel = default)
{
    private readonly long _ticksPerItem = rate > 0 ? (long)(Stopwatch.Frequency / rate) : 0;
    private long _next;

    public void Wait()
    {
        if (_ticksPerItem == 0) return;
        long now = Stopwatch.GetTimestamp();
        if (_next == 0 || now - _next > Stopwatch.Frequency) _next = now; // start, or resync after a long stall
        long wait = _next - now;
        if (wait > 0) cancel.WaitHandle.WaitOne(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
        _next += _ticksPerItem;
    }
}
