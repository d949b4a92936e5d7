using System.Diagnostics;
using System.Runtime.InteropServices;
using EdgeNets.Host;
using EdgeNets.Host.Sources;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// A CSV replay from a named pipe that goes quiet must end when the host is stopped. The time limits below only bound a
/// hang (a read that never returns); they are not speed checks.
/// </summary>
public partial class CsvPipeTests
{
    private const int HangLimitMs = 30_000;

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkFifo(string path, uint mode);

    private static string NewFifo()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("named pipes are tested on Linux");
        string path = Path.Combine(RepoPaths.TempDirectory(), "samples.csv");
        Assert.That(MkFifo(path, 0x180 /* 0600 */), Is.Zero, $"mkfifo {path}");
        return path;
    }

    /// <summary>
    /// Opens the pipe's write end once the reader has opened its end (opening a FIFO for writing waits for it) and
    /// sends <paramref name="text"/>.
    /// </summary>
    private static Task<FileStream> OpenWriter(string fifo, string text) => Task.Run(() =>
    {
        var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        Send(writer, text);
        return writer;
    });

    private static void Send(FileStream writer, string text)
    {
        writer.Write(System.Text.Encoding.UTF8.GetBytes(text));
        writer.Flush();
    }

    [Test]
    public void CancellingEndsAReadFromAQuietPipe()
    {
        string fifo = NewFifo();
        using var stop = new CancellationTokenSource();
        var writerTask = OpenWriter(fifo, "a,b\n0.5,0.25\n");
        // The source reads the header as it opens.
        var open = Task.Run(() => new CsvSource(SourceUri.Parse($"csv:{fifo}"), TextWriter.Null, stop.Token));
        Assert.That(open.Wait(HangLimitMs) && writerTask.Wait(HangLimitMs), Is.True, "the writer opened the pipe and sent the header");
        using var writer = writerTask.Result;
        using var source = open.Result;
        Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
        Assert.That(frame.Values.ToArray(), Is.EqualTo(new[] { 0.5f, 0.25f }));
        // The writer keeps the pipe open and sends nothing more: the next read waits until the stop.
        var next = Task.Run(() => source.Read(out _));
        Assert.That(next.Wait(300), Is.False, "a read from a quiet pipe waits for data");
        stop.Cancel();
        Assert.That(next.Wait(HangLimitMs), Is.True, "the stop ends the wait");
        Assert.That(next.Result, Is.EqualTo(ReadStatus.EndOfStream));
    }

    [Test]
    public void APipeWhoseWriterClosesEndsTheReplay()
    {
        string fifo = NewFifo();
        var writerTask = OpenWriter(fifo, "a,b\n1,2\n3,4\n");
        var open = Task.Run(() => new CsvSource(SourceUri.Parse($"csv:{fifo}?columns=b"), TextWriter.Null));
        Assert.That(writerTask.Wait(HangLimitMs), Is.True, "the writer opened the pipe");
        writerTask.Result.Dispose();
        Assert.That(open.Wait(HangLimitMs), Is.True, "the header arrived");
        using var source = open.Result;
        Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
        Assert.That(frame.Values[0], Is.EqualTo(2f));
        Assert.That(source.Read(out frame), Is.EqualTo(ReadStatus.Frame));
        Assert.That(frame.Values[0], Is.EqualTo(4f));
        Assert.That(source.Read(out _), Is.EqualTo(ReadStatus.EndOfStream));
    }

    [Test]
    public void SigtermEndsAHostReplayingAQuietPipeWithItsSummary()
    {
        string fifo = NewFifo();
        using var host = StartHost(fifo);
        var writerTask = OpenWriter(fifo, "a,b\n0.5,0.25\n");
        Assert.That(writerTask.Wait(HangLimitMs), Is.True, () => $"the host opened the pipe; stderr: {host.Stderr}");
        using var writer = writerTask.Result;
        Assert.That(host.Process.StandardOutput.ReadLine(), Does.Contain("\"prediction\""), () => host.Stderr);
        // The pipe stays open and quiet: the host sits in its read when the signal comes.
        Thread.Sleep(200);
        string rest = host.Terminate();
        Assert.That(rest, Does.Contain("\"type\": \"summary\", \"frames\": 1, \"predictions\": 1"), () => host.Stderr);
    }

    [Test]
    public void SigtermEndsAHostWhosePipeNeverGetsAWriter()
    {
        string fifo = NewFifo();
        using var host = StartHost(fifo);
        // Nothing ever opens the pipe for writing: the host waits for its header until the signal.
        Thread.Sleep(500);
        Assert.That(host.Process.HasExited, Is.False, () => $"the host waits for the pipe; stderr: {host.Stderr}");
        string rest = host.Terminate();
        Assert.That(rest, Does.Contain("\"type\": \"summary\", \"frames\": 0, \"predictions\": 0"), () => host.Stderr);
    }

    private static HostProcess StartHost(string fifo)
    {
        string exe = Path.Combine(AppContext.BaseDirectory, "edgenets-host");
        if (!File.Exists(exe)) Assert.Ignore($"host executable not found next to the tests ({exe})");
        string modelPath = Path.Combine(Path.GetDirectoryName(fifo)!, "m.enet");
        File.WriteAllBytes(modelPath, HostTestModels.Flatten(EdgeNets.Runtime.Graph.DataType.Float32, [1, 2]).FileBytes);
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--model", modelPath, "--source", $"csv:{fifo}", "--metrics", "0" }) psi.ArgumentList.Add(a);
        return new HostProcess(Process.Start(psi)!);
    }

    /// <summary>The host as a child process, stopped the way systemd stops it.</summary>
    private sealed class HostProcess : IDisposable
    {
        private readonly System.Text.StringBuilder _stderr = new();

        public HostProcess(Process process)
        {
            Process = process;
            process.ErrorDataReceived += (_, e) => { lock (_stderr) _stderr.AppendLine(e.Data); };
            process.BeginErrorReadLine();
        }

        public Process Process { get; }
        public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

        /// <summary>Sends SIGTERM; asserts the host exits with 0; returns the rest of its output.</summary>
        public string Terminate()
        {
            using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", Process.Id.ToString()])) kill.WaitForExit();
            var rest = Process.StandardOutput.ReadToEndAsync();
            bool exited = Process.WaitForExit(HangLimitMs);
            Assert.That(exited, Is.True, "SIGTERM must end the host (a hang bound, not a speed check)");
            Assert.That(Process.ExitCode, Is.Zero, () => Stderr);
            Assert.That(rest.Wait(HangLimitMs), Is.True);
            return rest.Result;
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill();
            Process.Dispose();
        }
    }
}
