namespace EdgeNets.Host.Output;

/// <summary>Latencies of the frames since the last report (the most recent <c>capacity</c> of them), with percentiles.</summary>
public sealed class LatencyStats(int capacity = 4096)
{
    private readonly double[] _samples = new double[capacity];
    private readonly double[] _sorted = new double[capacity];
    private int _count, _next;

    public int Count => _count;

    public void Add(double microseconds)
    {
        _samples[_next] = microseconds;
        _next = _next + 1 == _samples.Length ? 0 : _next + 1;
        if (_count < _samples.Length) _count++;
    }

    /// <summary>Nearest-rank percentiles of the collected latencies (NaN when empty); then starts a new period.</summary>
    public void TakePercentiles(out double p50, out double p99)
    {
        if (_count == 0) { p50 = p99 = double.NaN; return; }
        var sorted = _sorted.AsSpan(0, _count);
        _samples.AsSpan(0, _count).CopyTo(sorted);
        sorted.Sort();
        p50 = sorted[NearestRank(50, _count)];
        p99 = sorted[NearestRank(99, _count)];
        _count = _next = 0;
    }

    internal static int NearestRank(int percent, int n) => Math.Max(0, (int)Math.Ceiling(percent / 100.0 * n) - 1);
}
