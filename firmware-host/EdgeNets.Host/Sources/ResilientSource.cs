namespace EdgeNets.Host.Sources;

/// <summary>
/// Keeps a live source running for months: when opening or reading fails with a device loss (camera unplugged, I2C
/// bus error, serial adapter gone, device node vanished: any exception <see cref="DeviceFailure.IsDeviceLoss"/>
/// accepts), the source is disposed and reopened with exponential backoff instead of ending the program. Other
/// exceptions (bugs) still end it.
/// </summary>
public sealed class ResilientSource : ISource
{
    private readonly Func<ISource> _open;
    private readonly Action<TimeSpan> _sleep;
    private readonly TextWriter _log;
    private readonly CancellationToken _cancel;
    private readonly TimeSpan _initialBackoff, _maxBackoff;
    private ISource? _inner;
    private long _droppedBefore;

    public ResilientSource(string name, Func<ISource> open, TextWriter log, CancellationToken cancel = default,
        TimeSpan? initialBackoff = null, TimeSpan? maxBackoff = null, Action<TimeSpan>? sleep = null)
    {
        Name = name;
        _open = open;
        _log = log;
        _cancel = cancel;
        _initialBackoff = initialBackoff ?? TimeSpan.FromMilliseconds(100);
        _maxBackoff = maxBackoff ?? TimeSpan.FromSeconds(10);
        _sleep = sleep ?? (t => cancel.WaitHandle.WaitOne(t));
    }

    public string Name { get; }
    public long DroppedFrames => _droppedBefore + (_inner?.DroppedFrames ?? 0);

    /// <summary>How many times the source failed and was reopened.</summary>
    public int Reopens { get; private set; }

    /// <summary>The last backoff waited, for tests and logs.</summary>
    public TimeSpan LastBackoff { get; private set; }

    public ReadStatus Read(out Frame frame)
    {
        var backoff = _initialBackoff;
        while (true)
        {
            if (_cancel.IsCancellationRequested) { frame = default; return ReadStatus.EndOfStream; }
            try
            {
                _inner ??= _open();
                return _inner.Read(out frame);
            }
            catch (Exception e) when (DeviceFailure.IsDeviceLoss(e))
            {
                Close();
                Reopens++;
                LastBackoff = backoff;
                _log.WriteLine($"edgenets-host: source {Name} failed ({e.Message}); reopening in {backoff.TotalSeconds:0.###} s");
                _sleep(backoff);
                backoff = backoff * 2 < _maxBackoff ? backoff * 2 : _maxBackoff;
            }
        }
    }

    private void Close()
    {
        if (_inner == null) return;
        _droppedBefore += _inner.DroppedFrames;
        try { _inner.Dispose(); } catch (Exception e) when (DeviceFailure.IsDeviceLoss(e)) { }
        _inner = null;
    }

    public void Dispose() => Close();
}
