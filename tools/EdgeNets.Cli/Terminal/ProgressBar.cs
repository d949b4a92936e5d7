namespace EdgeNets.Cli.Terminal;

/// <summary>
/// A one-line progress bar on stderr for long work (calibration, evaluation). Redraws at most ~10 times a second;
/// when stderr is not a terminal it prints a line at each 10% so logs stay short.
/// </summary>
public sealed class ProgressBar : IProgress<int>, IDisposable
{
    private readonly string _label;
    private readonly int _total;
    private readonly TextWriter _out;
    private readonly bool _interactive;
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private long _lastDrawMs = -1000;
    private int _lastDecile = -1;
    private int _done;

    public ProgressBar(string label, int total, TextWriter? output = null)
    {
        _label = label;
        _total = Math.Max(total, 1);
        _out = output ?? Console.Error;
        _interactive = ReferenceEquals(_out, Console.Error) && !Console.IsErrorRedirected;
    }

    public void Report(int done)
    {
        _done = Math.Clamp(done, 0, _total);
        if (_interactive)
        {
            long now = _clock.ElapsedMilliseconds;
            if (now - _lastDrawMs < 100 && _done < _total) return;
            _lastDrawMs = now;
            const int width = 30;
            int filled = (int)((long)_done * width / _total);
            _out.Write($"\r{_label} [{new string('#', filled)}{new string('.', width - filled)}] {_done}/{_total} {_clock.Elapsed.TotalSeconds:F1}s");
        }
        else
        {
            int decile = (int)((long)_done * 10 / _total);
            if (decile == _lastDecile) return;
            _lastDecile = decile;
            _out.WriteLine($"{_label}: {_done}/{_total} ({decile * 10}%)");
        }
    }

    public void Dispose()
    {
        if (_interactive) _out.WriteLine();
    }
}
