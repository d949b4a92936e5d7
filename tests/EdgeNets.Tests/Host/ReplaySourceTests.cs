using EdgeNets.Host;
using EdgeNets.Host.Sources;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

public class ReplaySourceTests
{
    [Test]
    public void CsvGivesTheChosenColumnsInOrderWithLabels()
    {
        string path = Path.Combine(RepoPaths.TempDirectory(), "walk.csv");
        var values = TestData.Floats(12, 9 * 4, -20, 20);
        var lines = new List<string> { "t, ax,ay,az,activity" };
        for (int r = 0; r < 9; r++)
            lines.Add(FormattableString.Invariant($"{r * 0.02},{values[r * 4]:R}, {values[r * 4 + 1]:R},{values[r * 4 + 2]:R},{r % 3}") + (r == 4 ? "\r" : ""));
        lines.Insert(5, "");
        File.WriteAllText(path, string.Join('\n', lines)); // no newline after the last line
        using var source = new CsvSource(SourceUri.Parse($"csv:{path}?columns=az,ax&label=activity&loop=true"));
        for (int pass = 0; pass < 2; pass++)
            for (int r = 0; r < 9; r++)
            {
                Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
                Assert.That(frame.Values.ToArray(), Is.EqualTo(new[] { values[r * 4 + 2], values[r * 4] }), $"pass {pass}, row {r}");
                Assert.That(frame.Label, Is.EqualTo(r % 3));
            }
        Assert.That(() => new CsvSource(SourceUri.Parse($"csv:{path}?columns=gx")), Throws.TypeOf<SourceUriException>().With.Message.Contains("column 'gx' is not in the header"));
    }

    [Test]
    public void MalformedCsvLinesAreSkippedCountedAndNamed()
    {
        string path = Path.Combine(RepoPaths.TempDirectory(), "walk.csv");
        File.WriteAllText(path, "a,b,label\n1,2,0\n3,x,1\n4\n5,6,?\n" + new string('9', 70_000) + "\n7,8,1\n7,y,1\n");
        var log = new StringWriter();
        using var source = new CsvSource(SourceUri.Parse($"csv:{path}?columns=a,b&label=label"), log);
        var rows = new List<(float, float, int)>();
        while (source.Read(out var frame) == ReadStatus.Frame) rows.Add((frame.Values[0], frame.Values[1], frame.Label));
        Assert.That(rows, Is.EqualTo(new[] { (1f, 2f, 0), (7f, 8f, 1) }));
        Assert.That(source.DroppedFrames, Is.EqualTo(5), "four malformed lines and one longer than 64 KB");
        Assert.That(log.ToString(), Does.Contain("walk.csv:3: column b is missing or not a number; line skipped")
            .And.Contain("walk.csv:4: column b").And.Contain("walk.csv:5: label column").And.Contain("walk.csv:8: column b"));

        // A looped file with no good line at all ends instead of spinning.
        File.WriteAllText(path, "a\nx\ny\n");
        using var hopeless = new CsvSource(SourceUri.Parse($"csv:{path}?loop=true"));
        Assert.That(hopeless.Read(out _), Is.EqualTo(ReadStatus.EndOfStream));
        Assert.That(hopeless.DroppedFrames, Is.EqualTo(2));
    }

    [Test]
    public void AReplayWithMalformedLinesStillEndsWithItsSummary()
    {
        string path = Path.Combine(RepoPaths.TempDirectory(), "s.csv");
        File.WriteAllText(path, "x,y\n0.5,1\nnan?,2\n3,1\n");
        string modelPath = Path.Combine(RepoPaths.TempDirectory(), "m.enet");
        File.WriteAllBytes(modelPath, HostTestModels.Flatten(EdgeNets.Runtime.Graph.DataType.Float32, [1, 2]).FileBytes);
        var output = new CaptureStream(1 << 16);
        var err = new StringWriter();
        int code = EdgeNets.Host.Program.Run(["--model", modelPath, "--source", $"csv:{path}", "--metrics", "0"], output, err, default);
        Assert.That(code, Is.Zero, err.ToString());
        Assert.That(err.ToString(), Does.Contain("s.csv:3: column x is missing or not a number; line skipped"));
        Assert.That(output.Lines.Last(), Does.StartWith("{\"type\": \"summary\", \"frames\": 2, \"predictions\": 2, \"dropped\": 1"));
    }

    [Test]
    public void ASlowReplayStopsWaitingWhenTheHostIsStopped()
    {
        // One row every 1000 s: the second read waits for its turn until the stop comes.
        string path = Path.Combine(RepoPaths.TempDirectory(), "rows.npy");
        EdgeNets.Runtime.IO.NpyFile.WriteFloat32(path, [3, 2], [1, 2, 3, 4, 5, 6]);
        using var stop = new CancellationTokenSource();
        using var source = new NpySource(SourceUri.Parse($"npy:{path}?rate=0.001"), stop.Token);
        Assert.That(source.Read(out _), Is.EqualTo(ReadStatus.Frame));
        var second = Task.Factory.StartNew(() => source.Read(out var f) == ReadStatus.Frame ? f.Values[0] : float.NaN, TaskCreationOptions.LongRunning);
        Assert.That(second.Wait(200), Is.False, "the replay is pacing");
        stop.Cancel();
        Assert.That(second.Wait(10_000), Is.True, "the wait must end when the host is stopped (liveness bound, not a speed test)");
        Assert.That(second.Result, Is.EqualTo(3f));
    }

    [Test]
    public void Y4mFramesComeBackByteForByteAndLoop()
    {
        string path = Path.Combine(RepoPaths.TempDirectory(), "clip.y4m");
        var frames = Y4mTestFiles.Write(path, 7, 5, 3, seed: 4);
        using var source = new Y4mSource(SourceUri.Parse($"video:{path}?loop=true"));
        Assert.That((source.Width, source.Height, source.Format), Is.EqualTo((7, 5, FrameFormat.I420)));
        for (int i = 0; i < 7; i++)
        {
            Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
            Assert.That(frame.Pixels.ToArray(), Is.EqualTo(frames[i % 3]), $"frame {i}");
        }
        using var once = new Y4mSource(SourceUri.Parse($"video:{path}"));
        for (int i = 0; i < 3; i++) Assert.That(once.Read(out _), Is.EqualTo(ReadStatus.Frame));
        Assert.That(once.Read(out _), Is.EqualTo(ReadStatus.EndOfStream));
        File.WriteAllText(path, "YUV4MPEG2 W4 H4 C422\n");
        Assert.That(() => new Y4mSource(SourceUri.Parse($"video:{path}")), Throws.TypeOf<InvalidDataException>().With.Message.Contains("C422"));
    }

    [Test]
    public void ImagesAreDecodedInPathOrderWithFolderLabels()
    {
        string dir = RepoPaths.TempDirectory();
        // Uncompressed 24-bit BMPs written here, so the decoded pixels are known exactly.
        var expected = new Dictionary<string, byte[]>();
        foreach (var (name, seed) in new[] { ("1/b.bmp", 1), ("1/a.bmp", 2), ("0/z.bmp", 3) })
        {
            var rgb = TestData.Int32(seed, 3 * 2 * 3, 0, 255).Select(v => (byte)v).ToArray();
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, name))!);
            File.WriteAllBytes(Path.Combine(dir, name), Bmp(3, 2, rgb));
            expected[name] = rgb;
        }
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "not an image");
        using var source = new ImageDirectorySource(SourceUri.Parse($"images:{dir}?labels=dir"));
        Assert.That(source.Files, Is.EqualTo(new[] { "0/z.bmp", "1/a.bmp", "1/b.bmp" }));
        foreach (var (name, label) in new[] { ("0/z.bmp", 0), ("1/a.bmp", 1), ("1/b.bmp", 1) })
        {
            Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
            Assert.That((frame.Format, frame.Width, frame.Height, frame.Label), Is.EqualTo((FrameFormat.Rgb24, 3, 2, label)));
            Assert.That(frame.Pixels.ToArray(), Is.EqualTo(expected[name]), name);
        }
        Assert.That(source.Read(out _), Is.EqualTo(ReadStatus.EndOfStream));
        File.WriteAllBytes(Path.Combine(dir, "bad.png"), [1, 2, 3]);
        using var unlabelled = new ImageDirectorySource(SourceUri.Parse($"images:{dir}"));
        Assert.That(() => new ImageDirectorySource(SourceUri.Parse($"images:{dir}?labels=dir")), Throws.TypeOf<InvalidDataException>().With.Message.Contains("bad.png"));
        for (int i = 0; i < 3; i++) unlabelled.Read(out _);
        Assert.That(() => unlabelled.Read(out _), Throws.TypeOf<InvalidDataException>().With.Message.Contains("cannot decode"));
    }

    /// <summary>A bottom-up 24-bit BMP (BGR rows padded to 4 bytes) from top-down RGB pixels.</summary>
    private static byte[] Bmp(int w, int h, byte[] rgb)
    {
        int stride = (w * 3 + 3) / 4 * 4, size = 54 + stride * h;
        var b = new byte[size];
        void I32(int o, int v) => BitConverter.GetBytes(v).CopyTo(b, o);
        b[0] = (byte)'B'; b[1] = (byte)'M'; I32(2, size); I32(10, 54); I32(14, 40); I32(18, w); I32(22, h);
        b[26] = 1; b[28] = 24; I32(34, stride * h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) b[54 + (h - 1 - y) * stride + x * 3 + c] = rgb[(y * w + x) * 3 + (2 - c)];
        return b;
    }
}
