using System.Diagnostics;
using System.Runtime.InteropServices;
using EdgeNets.Host;
using EdgeNets.Host.Sources;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>The serial source on a pseudo-terminal: the test writes to the master side like a microcontroller would.</summary>
public partial class SerialSourceTests
{
    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static partial int PosixOpenPt(int flags);
    [LibraryImport("libc", EntryPoint = "grantpt")]
    private static partial int GrantPt(int fd);
    [LibraryImport("libc", EntryPoint = "unlockpt")]
    private static partial int UnlockPt(int fd);
    [LibraryImport("libc", EntryPoint = "ptsname")]
    private static partial nint PtsName(int fd);
    [LibraryImport("libc", EntryPoint = "write")]
    private static partial nint Write(int fd, ReadOnlySpan<byte> buffer, nuint count);
    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary>A new pseudo-terminal: the master descriptor (the "microcontroller" end) and the slave's device path.</summary>
    private static (int Master, string Slave) OpenPty()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("pseudo-terminals are tested on Linux");
        int master = PosixOpenPt(2 /* O_RDWR */ | 0x100 /* O_NOCTTY */);
        if (master < 0 || GrantPt(master) != 0 || UnlockPt(master) != 0) Assert.Ignore("no pseudo-terminal available");
        return (master, Marshal.PtrToStringUTF8(PtsName(master))!);
    }

    private static void Send(int master, ReadOnlySpan<byte> text) => Assert.That((long)Write(master, text, (nuint)text.Length), Is.EqualTo(text.Length));

    [Test]
    public void CsvLinesFromTheSerialPortBecomeSamplesAndGarbageIsSkipped()
    {
        var (master, slave) = OpenPty();
        try
        {
            using var source = new SerialSource(SourceUri.Parse($"serial:{slave}?baud=115200&columns=2,0"));
            Send(master, "boot v1.2\n1.5,2,-3.25\n7,8\n4,5,6\n"u8);
            Assert.That(source.Read(out var first), Is.EqualTo(ReadStatus.Frame));
            Assert.That(first.Values.ToArray(), Is.EqualTo(new[] { -3.25f, 1.5f }));
            Assert.That(source.Read(out var second), Is.EqualTo(ReadStatus.Frame));
            Assert.That(second.Values.ToArray(), Is.EqualTo(new[] { 6f, 4f }));
            Assert.That(source.DroppedFrames, Is.EqualTo(2), "the boot message and the short line");
        }
        finally
        {
            Close(master);
        }
    }

    [Test]
    public void ALineLongerThanTheBufferIsSkippedAndCounted()
    {
        var (master, slave) = OpenPty();
        try
        {
            using var source = new SerialSource(SourceUri.Parse($"serial:{slave}?columns=0,1"));
            // Garbage of 5000 bytes (a stuck transmitter, noise at the wrong baud rate), then good lines. Written from
            // another thread: the pseudo-terminal buffers only a few KB until the reader takes them.
            var garbage = new byte[5000];
            new Random(3).NextBytes(garbage);
            for (int i = 0; i < garbage.Length; i++) if (garbage[i] == '\n') garbage[i] = (byte)'x';
            var writer = Task.Run(() =>
            {
                Send(master, "1,2\n"u8);
                Send(master, garbage);
                Send(master, "\n3,4\n"u8);
            });
            Assert.That(source.Read(out var first), Is.EqualTo(ReadStatus.Frame));
            Assert.That(first.Values.ToArray(), Is.EqualTo(new[] { 1f, 2f }));
            Assert.That(source.Read(out var second), Is.EqualTo(ReadStatus.Frame));
            Assert.That(second.Values.ToArray(), Is.EqualTo(new[] { 3f, 4f }), "the line after the over-long one");
            Assert.That(source.DroppedFrames, Is.EqualTo(1));
            Assert.That(writer.Wait(10_000), Is.True);
        }
        finally
        {
            Close(master);
        }
    }

    [Test]
    public void AQuietLineEndsTheReadAsSoonAsTheHostIsStopped()
    {
        var (master, slave) = OpenPty();
        try
        {
            using var stop = new CancellationTokenSource();
            using var source = new SerialSource(SourceUri.Parse($"serial:{slave}?columns=0"), stop.Token);
            Send(master, "5\n"u8);
            Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
            Assert.That(frame.Values[0], Is.EqualTo(5f));
            // Nothing more arrives: the read waits until the stop, then reports the end of the stream.
            var read = Task.Run(() => source.Read(out _));
            Assert.That(read.Wait(200), Is.False, "no data: the read is still waiting");
            stop.Cancel();
            Assert.That(read.Wait(10_000), Is.True, "the read must end when the host is stopped (liveness bound, not a speed test)");
            Assert.That(read.Result, Is.EqualTo(ReadStatus.EndOfStream));
        }
        finally
        {
            Close(master);
        }
    }

    [Test]
    public void AnUnpluggedAdapterIsReopenedWhenItComesBack()
    {
        // The port is reached through a symlink, like /dev/serial/by-id/...: closing the master hangs the slave up the
        // way a pulled USB adapter does; the link then points nowhere (the node is gone), and then to a new
        // pseudo-terminal (the adapter plugged back in, under another ttyUSB number).
        var (first, firstSlave) = OpenPty();
        int second = -1;
        string link = Path.Combine(RepoPaths.TempDirectory(), "ttyADAPTER");
        try
        {
            File.CreateSymbolicLink(link, firstSlave);
            var log = new StringWriter();
            using var source = SourceFactory.Create(SourceUri.Parse($"serial:{link}?columns=0"), TextWriter.Synchronized(log));
            Send(first, "1\n"u8);
            Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
            Assert.That(frame.Values[0], Is.EqualTo(1f));
            var read = Task.Run(() => { source.Read(out var f); return f.Values[0]; });
            Close(first);
            first = -1;
            File.Delete(link);
            Thread.Sleep(300); // a few reopen attempts find no device node
            (second, string secondSlave) = OpenPty();
            File.CreateSymbolicLink(link, secondSlave);
            Send(second, "2\n"u8);
            Assert.That(read.Wait(30_000), Is.True, () => $"no sample after the adapter came back; log: {log}");
            Assert.That(read.Result, Is.EqualTo(2f));
            Assert.That(((ResilientSource)source).Reopens, Is.GreaterThanOrEqualTo(2), () => log.ToString());
            Assert.That(log.ToString(), Does.Contain("reopening"));
        }
        finally
        {
            if (first >= 0) Close(first);
            if (second >= 0) Close(second);
        }
    }

    [Test]
    public void SigtermEndsAHostWaitingOnAQuietSerialLine()
    {
        var (master, slave) = OpenPty();
        string exe = Path.Combine(AppContext.BaseDirectory, "edgenets-host");
        if (!File.Exists(exe)) Assert.Ignore($"host executable not found next to the tests ({exe})");
        try
        {
            string modelPath = Path.Combine(RepoPaths.TempDirectory(), "m.enet");
            File.WriteAllBytes(modelPath, HostTestModels.Flatten(EdgeNets.Runtime.Graph.DataType.Float32, [1, 2]).FileBytes);
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--model", modelPath, "--source", $"serial:{slave}?columns=0,1", "--metrics", "0" }) psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            var stderr = new System.Text.StringBuilder();
            process.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
            process.BeginErrorReadLine();
            Send(master, "0.5,0.25\n"u8);
            Assert.That(process.StandardOutput.ReadLine(), Does.Contain("\"prediction\""), () => stderr.ToString());
            // The line is quiet from here on; the host sits in its read when the signal comes.
            Thread.Sleep(200);
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) kill.WaitForExit();
            var rest = process.StandardOutput.ReadToEndAsync();
            bool exited = process.WaitForExit(10_000);
            if (!exited) process.Kill();
            Assert.That(exited, Is.True, "SIGTERM on a quiet line must end the host (liveness bound, not a speed test)");
            Assert.That(process.ExitCode, Is.Zero, () => stderr.ToString());
            Assert.That(rest.Wait(10_000), Is.True);
            Assert.That(rest.Result, Does.Contain("\"type\": \"summary\", \"frames\": 1, \"predictions\": 1"));
        }
        finally
        {
            Close(master);
        }
    }

    [Test]
    public void SerialNeedsColumns()
    {
        var e = Assert.Throws<SourceUriException>(() => new SerialSource(SourceUri.Parse("serial:/dev/ttyUSB0?baud=9600")))!;
        Assert.That(e.Message, Does.Contain("columns"));
    }
}
