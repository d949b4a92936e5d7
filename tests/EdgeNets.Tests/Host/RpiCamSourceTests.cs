using EdgeNets.Host;
using EdgeNets.Host.Preprocessing;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// The rpicam source against stand-ins for rpicam-vid: shell scripts that write synthetic I420 frames (every byte of
/// frame k is k + 1, so a frame mixed from two writes is visible) and record their arguments.
/// </summary>
[NonParallelizable]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class RpiCamSourceTests
{
    private const int W = 8, H = 6, FrameBytes = W * H * 3 / 2;
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("rpicam-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Frames(string name, int count, int first = 1)
    {
        var bytes = new byte[count * FrameBytes];
        for (int k = 0; k < count; k++) bytes.AsSpan(k * FrameBytes, FrameBytes).Fill((byte)(first + k));
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Script(string body)
    {
        string path = Path.Combine(_dir, "fake-rpicam-vid");
        File.WriteAllText(path, $"#!/bin/sh\necho \"$@\" > '{_dir}/args'\ncd '{_dir}'\n{body}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static SourceUri Uri(string exe, string extra = "") => SourceUri.Parse($"rpicam:?width={W}&height={H}&fps=15&exe={exe}{extra}");

    private static int FrameMark(in Frame frame)
    {
        Assert.That(frame.Format, Is.EqualTo(FrameFormat.I420));
        Assert.That((frame.Width, frame.Height, frame.Pixels.Length), Is.EqualTo((W, H, FrameBytes)));
        byte mark = frame.Pixels[0];
        Assert.That(frame.Pixels.IndexOfAnyExcept(mark), Is.EqualTo(-1), "a frame is never mixed from two writes");
        return mark;
    }

    [Test]
    public void StartsTheChildWithRawI420OnStdoutAndAlwaysGivesTheFreshestFrame()
    {
        Frames("frames", 60);
        using var source = new RpiCamSource(Uri(Script("cat frames\nexec sleep 30")));
        var seen = new List<int>(64);
        Assert.That(source.Read(out var first), Is.EqualTo(ReadStatus.Frame));
        seen.Add(FrameMark(first));
        long before = GC.GetAllocatedBytesForCurrentThread();
        while (seen[^1] < 60 && source.Read(out var frame) == ReadStatus.Frame) seen.Add(frame.Pixels[0]);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "reading frames allocates nothing");
        Assert.That(File.ReadAllText(Path.Combine(_dir, "args")).Trim(),
            Is.EqualTo($"-t 0 -n --codec yuv420 --width {W} --height {H} --framerate 15 --flush -o -"));
        Assert.That(seen, Is.Ordered.Ascending.And.Unique, "never an older frame after a newer one");
        Assert.That(source.DroppedFrames, Is.EqualTo(60 - seen.Count), "every frame is either delivered or counted as dropped");
    }

    [Test]
    public void ChildThatDiesMidStreamIsRestartedWithBackoff()
    {
        // The first run writes two and a half frames and exits 3; the second writes frames 101.. and stays.
        Frames("first", 3);
        Frames("second", 5, first: 101);
        string exe = Script($"""
            n=$(cat runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > runs
            if [ $n = 1 ]; then head -c {FrameBytes * 5 / 2} first; exit 3; fi
            cat second
            exec sleep 30
            """);
        var waits = new List<TimeSpan>();
        var log = new StringWriter();
        using var source = new ResilientSource("rpicam:test", () => new RpiCamSource(Uri(exe)), log, sleep: waits.Add);
        var seen = new List<int>();
        while (seen.Count == 0 || seen[^1] < 105)
        {
            Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
            seen.Add(FrameMark(frame));
        }
        Assert.That(seen, Has.None.EqualTo(3), "the half frame is not delivered");
        Assert.That(seen.Where(m => m < 100), Is.Not.Empty.And.All.LessThanOrEqualTo(2));
        Assert.That(source.Reopens, Is.EqualTo(1));
        Assert.That(waits, Has.Count.EqualTo(1));
        Assert.That(log.ToString(), Does.Contain("exited with code 3"));
        Assert.That(File.ReadAllText(Path.Combine(_dir, "runs")).Trim(), Is.EqualTo("2"));
    }

    // A child that handles SIGTERM ends on it (and runs its handler); one that ignores it is killed after the timeout.
    [TestCase("trap 'echo stopped > stopped; exit 0' TERM", 20000, true)]
    [TestCase("trap '' TERM", 200, false)]
    public void StopSendsSigtermAndKillsAChildThatIgnoresIt(string trap, int stopTimeoutMs, bool handlesSigterm)
    {
        Frames("frames", 2);
        string exe = Script($"{trap}\ncat frames\nwhile true; do sleep 0.05; done");
        var source = new RpiCamSource(Uri(exe), stopTimeout: TimeSpan.FromMilliseconds(stopTimeoutMs));
        source.Read(out _);
        int pid = source.ChildProcessId;
        source.Dispose();
        Assert.That(File.Exists(Path.Combine(_dir, "stopped")), Is.EqualTo(handlesSigterm), "the child saw SIGTERM and ran its handler");
        Assert.That(IsAlive(pid), Is.False);
    }

    private static bool IsAlive(int pid)
    {
        try { return !System.Diagnostics.Process.GetProcessById(pid).HasExited; }
        catch (ArgumentException) { return false; }
    }

    [Test]
    public void MissingExecutableAndOddSizesAreClearErrors()
    {
        var e = Assert.Throws<IOException>(() => new RpiCamSource(Uri(Path.Combine(_dir, "nope"))))!;
        Assert.That(e.Message, Does.Contain("nope"));
        var odd = Assert.Throws<SourceUriException>(() => new RpiCamSource(SourceUri.Parse("rpicam:?width=7&exe=/bin/true")))!;
        Assert.That(odd.Message, Does.Contain("even"));
        Assert.Throws<SourceUriException>(() => new RpiCamSource(SourceUri.Parse("rpicam:?widht=8")));
    }

    [TestCase(1)]
    [TestCase(3)]
    public void CameraFrameGoesIntoTheQuantizedInputAsBt601(int channels)
    {
        // One uniform frame (Y=100, U=90, V=200), so resizing changes nothing and the oracle is the BT.601 studio-range
        // formula in double precision, then the input's quantization.
        var frame = new byte[FrameBytes];
        frame.AsSpan(0, W * H).Fill(100);
        frame.AsSpan(W * H, W * H / 4).Fill(90);
        frame.AsSpan(W * H * 5 / 4).Fill(200);
        File.WriteAllBytes(Path.Combine(_dir, "frames"), frame);
        using var source = new RpiCamSource(Uri(Script("cat frames\nexec sleep 30")));
        var quant = QuantizationInfo.PerTensor(1f / 255, -128);
        using var session = HostTestModels.Flatten(DataType.Int8, [1, channels, 3, 4], quant).CreateSession();
        var input = new ModelInput(session);
        var pre = new FramePreprocessor(input);
        Assert.That(source.Read(out var f), Is.EqualTo(ReadStatus.Frame));
        Assert.That(pre.Process(f), Is.True);

        double y = 1.164 * (100 - 16), u = 90 - 128, v = 200 - 128;
        double[] rgb = [y + 1.596 * v, y - 0.813 * v - 0.391 * u, y + 2.018 * u];
        var q = input.Int8.ToArray();
        for (int c = 0; c < channels; c++)
        {
            double pixel = Math.Clamp(channels == 1 ? y : rgb[c], 0, 255);
            var plane = q.AsSpan(c * 12, 12).ToArray();
            Assert.That(plane.Select(b => (double)b), Has.All.EqualTo(pixel - 128).Within(1.0), $"channel {c}");
        }
    }
}
