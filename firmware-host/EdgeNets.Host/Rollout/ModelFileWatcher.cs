namespace EdgeNets.Host.Rollout;

/// <summary>
/// Calls back when a file is written or replaced. Editors and <c>mv</c> replace the file rather than write into it, so
/// the watcher looks at its directory (changes, creations and renames onto the name) and waits for the writes to settle
/// before calling back. A periodic check of the file's modification time and size catches what the notifications miss
/// (file systems without inotify, an exhausted watch limit).
/// </summary>
public sealed class ModelFileWatcher : IDisposable
{
    private readonly string _path;
    private readonly Action _changed;
    private readonly TimeSpan _settle;
    private readonly FileSystemWatcher _watcher;
    private readonly Timer _settleTimer, _pollTimer;
    private (DateTime, long) _seen;

    public ModelFileWatcher(string path, Action changed, TimeSpan settle, TimeSpan poll)
    {
        _path = System.IO.Path.GetFullPath(path);
        _changed = changed;
        _settle = settle;
        _seen = Stamp();
        _settleTimer = new Timer(_ => Fire());
        _pollTimer = new Timer(_ => Poll(), null, poll, poll);
        _watcher = new FileSystemWatcher(System.IO.Path.GetDirectoryName(_path)!, System.IO.Path.GetFileName(_path))
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += (_, _) => Touched();
        _watcher.Created += (_, _) => Touched();
        _watcher.Renamed += (_, e) => { if (e.FullPath == _path) Touched(); };
        _watcher.EnableRaisingEvents = true;
    }

    // Every notification pushes the callback back, so a file written in several pieces is read once, when complete.
    private void Touched() => _settleTimer.Change(_settle, Timeout.InfiniteTimeSpan);

    private void Poll()
    {
        if (Stamp() != _seen) Touched();
    }

    private void Fire()
    {
        _seen = Stamp();
        _changed();
    }

    private (DateTime, long) Stamp()
    {
        var info = new FileInfo(_path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (default, -1);
    }

    public void Dispose()
    {
        _watcher.Dispose();
        _pollTimer.Dispose();
        _settleTimer.Dispose();
    }
}
