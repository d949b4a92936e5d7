using System.Diagnostics;
using System.Text.Json;
using EdgeNets.Host;
using EdgeNets.Host.Output;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

public class PipelineTests
{
    private static JsonElement[] Parse(CaptureStream s) => HostTestModels.ParseLines(s);

    private static (string Data, string Labels, float[] Rows, int[] LabelValues) LabelledRows(int rows, int width, int seed)
    {
        var values = TestData.Floats(seed, rows * width, -3, 3);
        var labels = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            int top = 0;
            for (int i = 1; i < width; i++) if (values[r * width + i] > values[r * width + top]) top = i;
            labels[r] = r % 4 == 3 ? (top + 1) % width : top; // every fourth label disagrees with the model
        }
        string dir = RepoPaths.TempDirectory();
        string data = Path.Combine(dir, "rows.npy"), labelPath = Path.Combine(dir, "labels.npy");
        NpyFile.WriteFloat32(data, [rows, width], values);
        NpyFile.Write(labelPath, new NpyArray(NpyType.Int32, [rows], labels.SelectMany(BitConverter.GetBytes).ToArray()));
        return (data, labelPath, values, labels);
    }

    [Test]
    public void PrintsOneJsonLinePerPredictionAndASummaryWithAccuracy()
    {
        const int rows = 23, width = 5;
        var (data, labels, values, labelValues) = LabelledRows(rows, width, 17);
        var model = HostTestModels.Flatten(DataType.Float32, [1, width]);
        var output = new CaptureStream(1 << 20);
        using (var source = new NpySource(SourceUri.Parse($"npy:{data}?labels={labels}")))
        using (var pipeline = new HostPipeline(model, source, output))
            pipeline.Run();

        var lines = Parse(output);
        var predictions = lines.Where(l => l.GetProperty("type").GetString() == "prediction").ToArray();
        Assert.That(predictions, Has.Length.EqualTo(rows));
        int correct = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * width, width).ToArray();
            int top = Array.IndexOf(row, row.Max());
            double softmax = 1.0 / row.Sum(v => Math.Exp(v - row[top]));
            var p = predictions[r];
            Assert.That(p.GetProperty("index").GetInt64(), Is.EqualTo(r));
            Assert.That(p.GetProperty("class").GetInt32(), Is.EqualTo(top));
            Assert.That(p.GetProperty("score").GetDouble(), Is.EqualTo(softmax).Within(1e-4));
            Assert.That(p.GetProperty("label").GetInt32(), Is.EqualTo(labelValues[r]));
            Assert.That(p.GetProperty("latency_us").GetDouble(), Is.GreaterThanOrEqualTo(0));
            Assert.That(Math.Abs(p.GetProperty("timestamp").GetDouble() - DateTimeOffset.UtcNow.ToUnixTimeSeconds()), Is.LessThan(120));
            if (labelValues[r] == top) correct++;
        }
        var summary = lines.Last();
        Assert.That(summary.GetProperty("type").GetString(), Is.EqualTo("summary"));
        Assert.That(summary.GetProperty("correct").GetInt32(), Is.EqualTo(correct));
        Assert.That(summary.GetProperty("accuracy").GetDouble(), Is.EqualTo((double)correct / rows).Within(1e-6));
    }

    [Test]
    public void ValueOutputsPrintTheNumbersDenormalized()
    {
        const int rows = 9, width = 3;
        var (data, _, values, _) = LabelledRows(rows, width, 41);
        var model = HostTestModels.Flatten(DataType.Float32, [1, width]);
        var output = new CaptureStream(1 << 20);
        float[] mean = [1, -2, 0.5f], std = [10, 0.25f, 3];
        using (var source = new NpySource(SourceUri.Parse($"npy:{data}")))
        using (var pipeline = new HostPipeline(model, source, output, new HostOptions { Output = OutputKind.Value, OutputMean = mean, OutputStd = std }))
            pipeline.Run();
        var predictions = Parse(output).Where(l => l.GetProperty("type").GetString() == "prediction").ToArray();
        Assert.That(predictions, Has.Length.EqualTo(rows));
        for (int r = 0; r < rows; r++)
        {
            Assert.That(predictions[r].TryGetProperty("class", out _), Is.False, "no class for value outputs");
            var printed = predictions[r].GetProperty("values").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            var expected = Enumerable.Range(0, width).Select(i => values[r * width + i] * std[i] + mean[i]).ToArray();
            Assert.That(printed, Is.EqualTo(expected), $"row {r}: printed in round-trip precision");
        }
        Assert.That(Parse(output).Last().TryGetProperty("accuracy", out _), Is.False);
    }

    [Test]
    public void LabelsAreShiftedByTheOffsetAndLabelsOutsideTheClassesAreUnlabelled()
    {
        const int rows = 30, width = 4;
        var (data, _, values, labelValues) = LabelledRows(rows, width, 43);
        // Stored as id = class + 1 with 0 = unknown, plus ids beyond the model's classes (e.g. activities it does not know).
        var ids = labelValues.Select((l, r) => r % 5 == 0 ? 0 : r % 7 == 0 ? width + 1 + r % 3 : l + 1).ToArray();
        string labels = Path.Combine(RepoPaths.TempDirectory(), "ids.npy");
        NpyFile.Write(labels, new NpyArray(NpyType.Int32, [rows], ids.SelectMany(BitConverter.GetBytes).ToArray()));
        var output = new CaptureStream(1 << 20);
        using (var source = new NpySource(SourceUri.Parse($"npy:{data}?labels={labels}")))
        using (var pipeline = new HostPipeline(HostTestModels.Flatten(DataType.Float32, [1, width]), source, output, new HostOptions { LabelOffset = 1 }))
            pipeline.Run();
        var predictions = Parse(output).Where(l => l.GetProperty("type").GetString() == "prediction").ToArray();
        int labelled = 0, correct = 0;
        for (int r = 0; r < rows; r++)
        {
            int expected = ids[r] >= 1 && ids[r] <= width ? ids[r] - 1 : -1;
            int printed = predictions[r].TryGetProperty("label", out var l) ? l.GetInt32() : -1;
            Assert.That(printed, Is.EqualTo(expected), $"row {r}, id {ids[r]}");
            if (expected < 0) continue;
            labelled++;
            var row = values.AsSpan(r * width, width).ToArray();
            if (Array.IndexOf(row, row.Max()) == expected) correct++;
        }
        var summary = Parse(output).Last();
        Assert.That(labelled, Is.InRange(10, rows - 5));
        Assert.That(summary.GetProperty("labelled").GetInt32(), Is.EqualTo(labelled));
        Assert.That(summary.GetProperty("correct").GetInt32(), Is.EqualTo(correct));
    }

    [Test]
    public void EventsNeedTheClassToHoldKFrames()
    {
        var rng = new Random(21);
        var classes = Enumerable.Range(0, 400).Select(_ => rng.Next(10) < 7 ? rng.Next(2) : rng.Next(3)).ToArray();
        foreach (int k in new[] { 1, 2, 3, 5 })
        {
            var smoother = new EventSmoother(k);
            int reported = -1;
            for (int i = 0; i < classes.Length; i++)
            {
                // Literal definition: the last k classes are all the same and differ from the last event.
                bool held = i + 1 >= k && classes.Skip(i + 1 - k).Take(k).All(c => c == classes[i]);
                bool expected = held && classes[i] != reported;
                if (expected) reported = classes[i];
                Assert.That(smoother.Update(classes[i]), Is.EqualTo(expected), $"k={k}, frame {i}");
                Assert.That(smoother.Current, Is.EqualTo(reported));
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new EventSmoother(0));
    }

    [Test]
    public void GpioPinOfTheReportedClassIsHighAndTheOthersLow()
    {
        const int rows = 40, width = 4;
        var (data, _, values, _) = LabelledRows(rows, width, 23);
        var model = HostTestModels.Flatten(DataType.Float32, [1, width]);
        var fake = new RecordingPins();
        int[] pinOf = [17, 27, -1, 22];
        var output = new CaptureStream(1 << 20);
        var smoother = new EventSmoother(2);
        using (var source = new NpySource(SourceUri.Parse($"npy:{data}")))
        using (var pipeline = new HostPipeline(model, source, output, new HostOptions { HoldFrames = 2 }, new ClassPins(fake, pinOf)))
        {
            Assert.That(fake.Opened, Is.EqualTo(new[] { 17, 27, 22 }));
            for (int r = 0; r < rows; r++)
            {
                Assert.That(pipeline.Step(), Is.True);
                var row = values.AsSpan(r * width, width).ToArray();
                smoother.Update(Array.IndexOf(row, row.Max()));
                for (int c = 0; c < width; c++)
                    if (pinOf[c] >= 0)
                        Assert.That(fake.Level[pinOf[c]], Is.EqualTo(c == smoother.Current), $"row {r}, pin of class {c}");
            }
        }
        Assert.That(fake.Disposed, Is.True);
        Assert.That(fake.Level.Values, Has.All.False, "pins are released low");
        var events = Parse(output).Where(l => l.GetProperty("type").GetString() == "event").ToArray();
        Assert.That(events, Is.Not.Empty);
        Assert.That(events.All(e => e.GetProperty("held_frames").GetInt32() == 2));
    }

    [Test]
    public void LatencyPercentilesAreNearestRank()
    {
        var stats = new LatencyStats(capacity: 1000);
        var latencies = TestData.Floats(31, 1000, 10, 5000);
        foreach (var v in latencies) stats.Add(v);
        stats.TakePercentiles(out double p50, out double p99);
        var sorted = latencies.Select(v => (double)v).OrderBy(v => v).ToArray();
        Assert.That(p50, Is.EqualTo(sorted[499]), "nearest rank: ceil(0.50 * 1000) = 500th");
        Assert.That(p99, Is.EqualTo(sorted[989]), "nearest rank: ceil(0.99 * 1000) = 990th");
        Assert.That(stats.Count, Is.Zero, "a new period starts");
    }

    [Test]
    public void MetricsLinesReportRateLatencyAndDropsFromTheInjectedClock()
    {
        // 50 frames arriving every 2 ms of (fake) time, metrics every 20 ms: a line after every 10th frame, each at
        // exactly 500 frames/s. No time passes while the model runs in the fake world, so every latency is 0.
        var (data, _, _, _) = LabelledRows(50, 3, 5);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var output = new CaptureStream(1 << 20);
        using (var source = new ClockedSource(new NpySource(SourceUri.Parse($"npy:{data}")), clock, TimeSpan.FromMilliseconds(2)))
        using (var pipeline = new HostPipeline(HostTestModels.Flatten(DataType.Float32, [1, 3]), source, output,
                   new HostOptions { MetricsIntervalSeconds = 0.02, PrintPredictions = false }, time: clock))
            pipeline.Run();
        var metrics = Parse(output).Where(l => l.GetProperty("type").GetString() == "metrics").ToArray();
        Assert.That(metrics, Has.Length.EqualTo(5));
        double start = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() / 1000.0;
        for (int i = 0; i < metrics.Length; i++)
        {
            var m = metrics[i];
            Assert.That(m.GetProperty("timestamp").GetDouble(), Is.EqualTo(start + 0.02 * (i + 1)).Within(1e-6), $"line {i}");
            Assert.That(m.GetProperty("frames").GetInt64(), Is.EqualTo(10 * (i + 1)));
            Assert.That(m.GetProperty("predictions").GetInt64(), Is.EqualTo(10 * (i + 1)));
            Assert.That(m.GetProperty("fps").GetDouble(), Is.EqualTo(500.0));
            Assert.That(m.GetProperty("latency_p50_us").GetDouble(), Is.Zero);
            Assert.That(m.GetProperty("latency_p99_us").GetDouble(), Is.Zero);
            Assert.That(m.GetProperty("dropped").GetInt64(), Is.Zero);
            Assert.That(m.GetProperty("non_finite_outputs").GetInt64(), Is.Zero);
            Assert.That(m.GetProperty("saturated_inputs").GetInt64(), Is.Zero, "a float model input never saturates");
        }
    }

    /// <summary>
    /// Bytes allocated by the fewest-allocating of three rounds of <paramref name="steps"/> steps, after a warm-up. The
    /// tiered JIT's one-off recompilations can land in any round (more so on a loaded machine); an allocation per frame,
    /// or per source loop, shows in all three.
    /// </summary>
    internal static long AllocatedOverSteps(HostPipeline pipeline, int steps) => AllocatedOverSteps(pipeline, steps, out _);

    private static long AllocatedOverSteps(HostPipeline pipeline, int steps, out int stepsTaken)
    {
        stepsTaken = 0;
        var warmUp = System.Diagnostics.Stopwatch.StartNew();
        for (; stepsTaken < 200 || warmUp.ElapsedMilliseconds < 300; stepsTaken++) Assert.That(pipeline.Step(), Is.True); // JIT, lazily sized buffers
        long fewest = long.MaxValue;
        for (int round = 0; round < 3 && fewest > 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < steps; i++, stepsTaken++)
                if (!pipeline.Step()) Assert.Fail("source ended");
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }

    private static HostOptions Busy => new() { HoldFrames = 2, MetricsIntervalSeconds = 1e-6 };

    [Test]
    public void NpyReplayAllocatesNothingPerFrame()
    {
        var (data, labels, _, _) = LabelledRows(37, 12, 3);
        var model = HostTestModels.Flatten(DataType.Int8, [1, 12], HostTestModels.UnitRangeInt8);
        var output = new CaptureStream(1 << 16) { Wrap = true };
        using var source = new NpySource(SourceUri.Parse($"npy:{data}?labels={labels}&loop=true"));
        using var pipeline = new HostPipeline(model, source, output, Busy, new ClassPins(new RecordingPins(), [5, 6, 7]));
        Assert.That(AllocatedOverSteps(pipeline, 10_000, out int steps), Is.Zero);
        Assert.That(pipeline.Predictions, Is.EqualTo(steps));
        Assert.That(output.TotalBytes, Is.GreaterThan(steps * 60L), "every frame printed a line");
    }

    [Test]
    public void VideoReplayThroughImagePreprocessingAllocatesNothingPerFrame()
    {
        string path = Path.Combine(RepoPaths.TempDirectory(), "clip.y4m");
        Y4mTestFiles.Write(path, 20, 14, 5, seed: 8);
        var model = HostTestModels.Flatten(DataType.Int8, [1, 3, 6, 8], HostTestModels.UnitRangeInt8);
        using var source = new Y4mSource(SourceUri.Parse($"video:{path}?loop=true"));
        using var pipeline = new HostPipeline(model, source, new CaptureStream(1 << 16) { Wrap = true }, Busy);
        Assert.That(AllocatedOverSteps(pipeline, 10_000), Is.Zero);
    }

    [Test]
    public void GestureModelOnCameraSizedVideoAllocatesNothingPerFrame()
    {
        string enet = Path.Combine(RepoPaths.GestureModel, "model.enet");
        if (!File.Exists(enet)) Assert.Ignore($"{enet} is not built yet");
        string path = Path.Combine(RepoPaths.TempDirectory(), "camera.y4m");
        Y4mTestFiles.Write(path, 160, 120, 3, seed: 12);
        using var source = new Y4mSource(SourceUri.Parse($"video:{path}?loop=true"));
        var options = new HostOptions { HoldFrames = 3, MetricsIntervalSeconds = 1e-6, Preprocess = { Crop = (20, 0, 120, 120) } };
        using var pipeline = new HostPipeline(EdgeNets.Runtime.Model.Load(enet), source, new CaptureStream(1 << 16) { Wrap = true }, options);
        Assert.That(AllocatedOverSteps(pipeline, 300), Is.Zero, "the real int8 model (the long run is on the small models above)");
    }

    [Test]
    public void SensorWindowReplayAllocatesNothingPerSample()
    {
        string path = Path.Combine(RepoPaths.TempDirectory(), "imu.npy");
        NpyFile.WriteFloat32(path, [101, 6], TestData.Floats(2, 606, -2, 2));
        var model = HostTestModels.Flatten(DataType.Int8, [1, 16, 6], QuantizationInfo.PerTensor(0.02f, 0));
        using var source = new NpySource(SourceUri.Parse($"npy:{path}?loop=true&kind=samples"));
        using var pipeline = new HostPipeline(model, source, new CaptureStream(1 << 16) { Wrap = true },
            new HostOptions { Preprocess = { Hop = 4 }, MetricsIntervalSeconds = 1e-6 });
        Assert.That(AllocatedOverSteps(pipeline, 10_000, out int steps), Is.Zero);
        Assert.That(pipeline.Predictions, Is.EqualTo((steps - 16) / 4 + 1));
    }

    [Test]
    public void CommandLineRunsAModelFileAndReportsUsageErrors()
    {
        var (data, labels, _, labelValues) = LabelledRows(12, 4, 9);
        string modelPath = Path.Combine(RepoPaths.TempDirectory(), "m.enet");
        File.WriteAllBytes(modelPath, HostTestModels.Flatten(DataType.Float32, [1, 4]).FileBytes);
        var output = new CaptureStream(1 << 20);
        var err = new StringWriter();
        int code = EdgeNets.Host.Program.Run(["--model", modelPath, "--source", $"npy:{data}?labels={labels}", "--metrics", "0", "--max", "10"], output, err, default);
        Assert.That(code, Is.Zero, err.ToString());
        var lines = Parse(output);
        Assert.That(lines.Count(l => l.GetProperty("type").GetString() == "prediction"), Is.EqualTo(10));
        int correct = Enumerable.Range(0, 10).Count(r => r % 4 != 3);
        Assert.That(lines.Last().GetProperty("accuracy").GetDouble(), Is.EqualTo(correct / 10.0).Within(1e-6));

        err = new StringWriter();
        Assert.That(EdgeNets.Host.Program.Run(["--model", modelPath, "--source", "webcam:0"], Stream.Null, err, default), Is.EqualTo(2));
        Assert.That(err.ToString(), Does.Contain("unknown scheme 'webcam'"));
        err = new StringWriter();
        Assert.That(EdgeNets.Host.Program.Run(["--model", modelPath], Stream.Null, err, default), Is.EqualTo(2));
        Assert.That(err.ToString(), Does.Contain("--model and --source are required").And.Contain("usage:"));
        err = new StringWriter();
        Assert.That(EdgeNets.Host.Program.Run(["--model", modelPath, "--source", "npy:/nonexistent/x.npy"], Stream.Null, err, default), Is.EqualTo(1));
        Assert.That(err.ToString(), Does.Contain("x.npy"));
    }

    [Test]
    public void HelpGoesToStandardOutputWithExamples()
    {
        foreach (var flag in new[] { "--help", "-h" })
        {
            var output = new CaptureStream(1 << 16);
            var err = new StringWriter();
            Assert.That(EdgeNets.Host.Program.Run([flag], output, err, default), Is.Zero);
            Assert.That(err.ToString(), Is.Empty, flag);
            Assert.That(output.Text, Does.StartWith("usage: edgenets-host --model MODEL.enet --source SOURCE").And.Contain("examples:")
                .And.Contain("edgenets-host --model model.enet --source camera:/dev/video0"), flag);
        }
    }

    [Test]
    public void NormalizationStoredInTheModelIsAppliedToSensorSamples()
    {
        // A [1, 1, 3] model (one sample of three channels) whose metadata carries the training normalization.
        var g = new TestGraph();
        int x = g.Input("input", DataType.Float32, [1, 1, 3]);
        int y = g.Output("output", DataType.Float32, [1, 3]);
        g.Op(OpType.Reshape, [x], [y]);
        g.Graph.Metadata["input_mean"] = "10,0,-5";
        g.Graph.Metadata["input_std"] = "10,1,0.5";
        string modelPath = Path.Combine(RepoPaths.TempDirectory(), "m.enet");
        File.WriteAllBytes(modelPath, g.Build().FileBytes);
        var rows = TestData.Floats(14, 30 * 3, -20, 20);
        string data = Path.Combine(RepoPaths.TempDirectory(), "s.npy");
        NpyFile.WriteFloat32(data, [30, 3], rows);
        var output = new CaptureStream(1 << 20);
        Assert.That(EdgeNets.Host.Program.Run(["--model", modelPath, "--source", $"npy:{data}?kind=samples", "--metrics", "0"], output, TextWriter.Null, default), Is.Zero);
        var predictions = Parse(output).Where(l => l.GetProperty("type").GetString() == "prediction").ToArray();
        Assert.That(predictions, Has.Length.EqualTo(30));
        double[] mean = [10, 0, -5], std = [10, 1, 0.5];
        for (int r = 0; r < 30; r++)
        {
            var normalized = Enumerable.Range(0, 3).Select(c => (rows[r * 3 + c] - mean[c]) / std[c]).ToArray();
            Assert.That(predictions[r].GetProperty("class").GetInt32(), Is.EqualTo(Array.IndexOf(normalized, normalized.Max())), $"row {r}");
        }
    }

    [Test]
    public void SigtermStopsTheHostCleanlyWithASummary()
    {
        var (data, _, _, _) = LabelledRows(8, 4, 10);
        string modelPath = Path.Combine(RepoPaths.TempDirectory(), "m.enet");
        File.WriteAllBytes(modelPath, HostTestModels.Flatten(DataType.Float32, [1, 4]).FileBytes);
        string exe = Path.Combine(AppContext.BaseDirectory, "edgenets-host");
        if (!File.Exists(exe)) Assert.Ignore($"host executable not found next to the tests ({exe})");
        foreach (string signal in new[] { "TERM", "INT" })
        {
            // A process started from a background job inherits SIGINT ignored, and .NET then leaves it ignored (the
            // shell convention); `env --default-signal` gives the host the disposition it has when run from a terminal.
            var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--default-signal=INT,TERM", exe, "--model", modelPath, "--source", $"npy:{data}?loop=true&rate=200", "--metrics", "0" }) psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            var stderr = new System.Text.StringBuilder();
            process.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
            process.BeginErrorReadLine();
            string? first = process.StandardOutput.ReadLine();
            Assert.That(first, Does.Contain("\"prediction\""), () => stderr.ToString());
            using (var kill = Process.Start("kill", ["-" + signal, process.Id.ToString()])) kill.WaitForExit();
            var rest = process.StandardOutput.ReadToEndAsync();
            bool exited = process.WaitForExit(10_000);
            if (!exited) process.Kill();
            Assert.That(exited, Is.True, $"SIG{signal} did not stop the host");
            Assert.That(process.ExitCode, Is.Zero, () => $"SIG{signal}: {stderr}");
            Assert.That(rest.Wait(10_000), Is.True);
            Assert.That(rest.Result.TrimEnd().Split('\n').Last(), Does.Contain("\"type\": \"summary\""));
        }
    }
}

/// <summary>Writes small YUV4MPEG2 clips with seeded random 4:2:0 frames.</summary>
public static class Y4mTestFiles
{
    public static byte[][] Write(string path, int width, int height, int frames, int seed)
    {
        var rng = new Random(seed);
        var all = new byte[frames][];
        using var f = File.Create(path);
        f.Write(System.Text.Encoding.ASCII.GetBytes($"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n"));
        for (int i = 0; i < frames; i++)
        {
            all[i] = new byte[width * height + 2 * ((width + 1) / 2) * ((height + 1) / 2)];
            rng.NextBytes(all[i]);
            f.Write("FRAME\n"u8);
            f.Write(all[i]);
        }
        return all;
    }
}
