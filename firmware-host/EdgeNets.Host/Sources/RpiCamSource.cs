using System.Diagnostics;
using EdgeNets.Host.V4l2;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>rpicam:[CAMERA]?width=160&amp;height=120&amp;fps=30&amp;exe=PATH</c>: a Pi camera module through libcamera. Starts
/// <c>rpicam-vid</c> (or <c>libcamera-vid</c> on older systems; <c>exe=</c> or <c>EDGENETS_RPICAM</c> names another)
/// writing raw I420 frames to a pipe; a reader thread reads each frame straight into one of three fixed buffers
/// (<see cref="LatestFrameSlots"/>), so the model always gets the freshest frame and a slow model drops frames
/// (counted) instead of falling behind. When the child ends or stalls, reads fail with <see cref="IOException"/> and
/// the reopen logic starts a new one with backoff. Dispose sends SIGTERM and kills the child if it has not ended
/// within the stop timeout.
/// </summary>
public sealed class RpiCamSource : ISource
{
    /// <summary>Longest wait for a frame; the camera pipeline takes a moment to start.</summary>
    private const int FrameTimeoutMs = 5000;
    private const int PollSliceMs = 100;
    public const string ExecutableVariable = "EDGENETS_RPICAM";

    private readonly Process _child;
    private readonly Thread _reader;
    private readonly LatestFrameSlots _slots;
    private readonly CancellationToken _cancel;
    private readonly TimeSpan _stopTimeout;
    private readonly string _exe;
    private bool _disposed;

    public RpiCamSource(SourceUri uri, CancellationToken cancel = default, TimeSpan? stopTimeout = null)
    {
        uri.RejectUnknownKeys("width", "height", "fps", "exe");
        Name = uri.Text;
        _cancel = cancel;
        _stopTimeout = stopTimeout ?? TimeSpan.FromSeconds(2);
        Width = uri.GetInt("width", 160, 2, 8192);
        Height = uri.GetInt("height", 120, 2, 8192);
        int fps = uri.GetInt("fps", 30, 1, 1000);
        if (Width % 2 != 0 || Height % 2 != 0)
            throw new SourceUriException($"source '{uri.Text}': width and height must be even for I420 frames");
        string? exe = uri.GetString("exe");
        if (exe == null)
        {
            string? fromEnvironment = Environment.GetEnvironmentVariable(ExecutableVariable);
            exe = string.IsNullOrEmpty(fromEnvironment) ? FindOnPath("rpicam-vid") ?? FindOnPath("libcamera-vid") : fromEnvironment;
        }
        _exe = exe ?? throw new IOException($"source '{uri.Text}': neither rpicam-vid nor libcamera-vid is on PATH (install rpicam-apps, or give exe=)");
        _slots = new LatestFrameSlots(Width * Height * 3 / 2);

        var start = new ProcessStartInfo(_exe) { RedirectStandardOutput = true, UseShellExecute = false };
        if (uri.Path.Length > 0)
        {
            start.ArgumentList.Add("--camera");
            start.ArgumentList.Add(uri.Path);
        }
        foreach (var arg in (string[])["-t", "0", "-n", "--codec", "yuv420", "--width", $"{Width}", "--height", $"{Height}",
                     "--framerate", $"{fps}", "--flush", "-o", "-"])
            start.ArgumentList.Add(arg);
        try { _child = Process.Start(start) ?? throw new IOException($"{_exe}: could not be started"); }
        catch (System.ComponentModel.Win32Exception e) { throw new IOException($"{_exe}: {e.Message}", e); }
        _reader = new Thread(ReadFrames) { IsBackground = true, Name = "rpicam frames" };
        _reader.Start();
    }

    public string Name { get; }
    public int Width { get; }
    public int Height { get; }
    public long DroppedFrames => _slots.DroppedFrames;

    /// <summary>The child's process id, for tests and logs.</summary>
    public int ChildProcessId => _child.Id;

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private void ReadFrames()
    {
        var pipe = _child.StandardOutput.BaseStream;
        try
        {
            while (true)
            {
                var buffer = _slots.WriteBuffer;
                if (pipe.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false) < buffer.Length) break;
                _slots.Publish();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            _slots.End($"{_exe}: reading its frames failed: {e.Message}");
            return;
        }
        _slots.End(_child.WaitForExit(1000) ? $"{_exe} exited with code {_child.ExitCode}" : $"{_exe} closed its output");
    }

    public ReadStatus Read(out Frame frame)
    {
        for (int waited = 0; ; waited += PollSliceMs)
        {
            if (_cancel.IsCancellationRequested) { frame = default; return ReadStatus.EndOfStream; }
            if (_slots.TryTake(PollSliceMs)) break;
            if (waited >= FrameTimeoutMs) throw new IOException($"{_exe}: no frame within {FrameTimeoutMs} ms");
        }
        frame = new Frame(FrameFormat.I420, Width, Height, _slots.Held);
        return ReadStatus.Frame;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (!_child.HasExited)
            {
                Libc.Kill(_child.Id, Libc.SIGTERM); // rpicam-vid stops the camera cleanly on SIGTERM
                if (!_child.WaitForExit(_stopTimeout)) _child.Kill(entireProcessTree: true);
                _child.WaitForExit();
            }
        }
        catch (InvalidOperationException) { } // already reaped
        _reader.Join();
        _child.Dispose();
    }
}
