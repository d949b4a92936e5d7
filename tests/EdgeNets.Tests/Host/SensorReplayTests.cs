using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeNets.Host;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// The host on the example sensor models with held-out real data: the activity model (Conv1d + GRU, windows of 128
/// samples) on the continuous hapt-uci recording, replayed from the normalized npy and from a CSV of the raw
/// recording, and the air-quality LSTM streamed one hourly sample at a time. The oracle is the model's own Session
/// (and ONNX Runtime for the float model) on windows cut here from the same data.
/// </summary>
public class SensorReplayTests
{
    private const int Window = 128, Channels = 6, Classes = 6;

    private static string ActivityDir => Path.Combine(RepoPaths.Models, "activity-hapt");
    private static string AirQualityDir => Path.Combine(RepoPaths.Models, "airquality-forecast");

    private static string ModelFile(string dir)
    {
        string enet = Path.Combine(dir, "model.enet");
        if (!File.Exists(enet)) Assert.Ignore($"{enet} is not built yet");
        return enet;
    }

    private static JsonElement[] RunHost(string[] args, int capacity = 1 << 22)
    {
        var output = new CaptureStream(capacity);
        var err = new StringWriter();
        int code = EdgeNets.Host.Program.Run(args, output, err, default);
        Assert.That(code, Is.Zero, err.ToString());
        return output.Lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
    }

    private static JsonElement[] OfType(JsonElement[] lines, string type) =>
        lines.Where(l => l.GetProperty("type").GetString() == type).ToArray();

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int top = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[top]) top = i;
        return top;
    }

    /// <summary>The model input for samples [start, start + 128) of a [T, 6] recording: channels first, [6, 128].</summary>
    private static float[] WindowAt(float[] stream, int start)
    {
        var x = new float[Channels * Window];
        for (int t = 0; t < Window; t++)
            for (int c = 0; c < Channels; c++)
                x[c * Window + t] = stream[(start + t) * Channels + c];
        return x;
    }

    /// <summary>Class index of a window from per-sample activity ids (1..6 = class + 1, else unlabelled), by the host's rule.</summary>
    private static int WindowClass(int[] ids, int start, bool uniform)
    {
        int id = ids[start + Window - 1];
        if (uniform)
            for (int t = start; t < start + Window; t++)
                if (ids[t] != id) return -1;
        return id is >= 1 and <= Classes ? id - 1 : -1;
    }

    private static int[] OnnxClasses(List<float[]> windows)
    {
        using var session = new InferenceSession(Path.Combine(ActivityDir, "model.onnx"));
        var all = windows.SelectMany(w => w).ToArray();
        using var value = OrtValue.CreateTensorValueFromMemory(all, [windows.Count, Channels, Window]);
        using var results = session.Run(new RunOptions(), [session.InputNames[0]], [value], [session.OutputNames[0]]);
        var logits = results[0].GetTensorDataAsSpan<float>();
        var classes = new int[windows.Count];
        for (int n = 0; n < classes.Length; n++) classes[n] = ArgMax(logits.Slice(n * Classes, Classes));
        return classes;
    }

    [TestCase("last")]
    [TestCase("uniform")]
    public void ActivityRecordingReplayReportsTheModelsAccuracyOnTheSameWindows(string rule)
    {
        string enet = ModelFile(ActivityDir);
        string streamPath = Path.Combine(ActivityDir, "test_stream.npy"), labelsPath = Path.Combine(ActivityDir, "test_stream_labels.npy");
        const int hop = 64;
        var lines = RunHost(["--model", enet, "--source", $"npy:{streamPath}?labels={labelsPath}&kind=samples", "--hop", $"{hop}",
            "--label-offset", "1", "--window-label", rule, "--metrics", "0"]);

        var streamArray = NpyFile.Read(streamPath);
        var stream = streamArray.ToFloat32();
        var ids = NpyFile.Read(labelsPath).ToInt32();
        using var session = Model.Load(enet).CreateSession();
        var logits = new float[Classes];
        var windows = new List<float[]>();
        var labels = new List<int>();
        var classes = new List<int>();
        for (int start = 0; start + Window <= streamArray.SampleCount; start += hop)
        {
            var x = WindowAt(stream, start);
            session.Run(x, logits);
            windows.Add(x);
            classes.Add(ArgMax(logits));
            labels.Add(WindowClass(ids, start, rule == "uniform"));
        }

        var predictions = OfType(lines, "prediction");
        Assert.That(predictions, Has.Length.EqualTo(windows.Count), "one prediction per window");
        for (int n = 0; n < windows.Count; n++)
        {
            Assert.That(predictions[n].GetProperty("class").GetInt32(), Is.EqualTo(classes[n]), $"window {n}");
            int label = predictions[n].TryGetProperty("label", out var l) ? l.GetInt32() : -1;
            Assert.That(label, Is.EqualTo(labels[n]), $"label of window {n}");
        }
        int labelled = labels.Count(l => l >= 0);
        int correct = Enumerable.Range(0, windows.Count).Count(n => labels[n] >= 0 && labels[n] == classes[n]);
        var summary = lines.Last();
        Assert.That(labelled, Is.GreaterThan(40), "the recording has labelled windows of several activities");
        Assert.That(summary.GetProperty("labelled").GetInt32(), Is.EqualTo(labelled));
        Assert.That(summary.GetProperty("correct").GetInt32(), Is.EqualTo(correct));
        Assert.That(summary.GetProperty("accuracy").GetDouble(), Is.EqualTo((double)correct / labelled).Within(1e-6));

        var floatClasses = OnnxClasses(windows);
        int floatCorrect = Enumerable.Range(0, windows.Count).Count(n => labels[n] >= 0 && labels[n] == floatClasses[n]);
        int agree = Enumerable.Range(0, windows.Count).Count(n => labels[n] >= 0 && floatClasses[n] == classes[n]);
        TestContext.Out.WriteLine($"window label {rule}: host int8 {correct}/{labelled} = {(double)correct / labelled:P2}, " +
                                  $"float model in ONNX Runtime {floatCorrect}/{labelled} = {(double)floatCorrect / labelled:P2}, same class on {agree}/{labelled}");
        // int8 keeps top-1 agreement with the float model on almost every window (99.35% on the test set).
        Assert.That(agree, Is.GreaterThanOrEqualTo(labelled - Math.Max(2, labelled / 20)), "int8 and float agree on the labelled windows");
    }

    private static string HaptRawDirectory()
    {
        for (var dir = Directory.GetParent(RepoPaths.Root); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "datasets", "hapt-uci", "RawData");
            if (Directory.Exists(candidate)) return candidate;
        }
        Assert.Ignore($"the hapt-uci raw recordings are not available (looked for shared/datasets/hapt-uci/RawData beside and above {RepoPaths.Root})");
        return "";
    }

    private static float[] NormalizationValues(string dir, string key) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "normalization.json"))).RootElement.GetProperty(key)
            .EnumerateArray().Select(e => e.GetSingle()).ToArray();

    private static string Join(float[] values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>
    /// The raw phone recording as a CSV (the sensor files' own text, acc in g and gyro in rad/s, plus the activity id of
    /// labels.txt per sample) through the host with the model card's normalization, a window every 2 samples. Wherever a
    /// window is one of the model card's test windows (test_windows.txt, test_inputs.npy) the host must report the class
    /// and score the model gives on that test window, and the summary must count exactly the windows lying inside one
    /// labelled segment.
    /// </summary>
    [Test]
    public void RawRecordingCsvReplayGivesTheModelCardsTestWindowResults()
    {
        string enet = ModelFile(ActivityDir);
        string raw = HaptRawDirectory();
        // The continuous held-out recording of test_stream.npy (experiment 4, user 2, samples 5000..11999) from sample
        // 5001 on: with hop 2 the host's windows then start on all but 3 of the model card's test windows in it.
        const int experiment = 4, user = 2, first = 5001, length = 6999, hop = 2;
        var acc = File.ReadLines(Path.Combine(raw, $"acc_exp{experiment:D2}_user{user:D2}.txt")).Skip(first).Take(length).ToArray();
        var gyro = File.ReadLines(Path.Combine(raw, $"gyro_exp{experiment:D2}_user{user:D2}.txt")).Skip(first).Take(length).ToArray();
        Assert.That(acc, Has.Length.EqualTo(length));
        // labels.txt rows: experiment, user, activity id, start, end (1-based, inclusive).
        var segments = File.ReadLines(Path.Combine(raw, "labels.txt"))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray())
            .Where(r => r[0] == experiment)
            .Select(r => (Id: r[2], First: r[3] - 1, Last: r[4] - 1)).ToArray();
        var ids = new int[length];
        foreach (var s in segments)
            for (int i = Math.Max(s.First, first); i <= Math.Min(s.Last, first + length - 1); i++) ids[i - first] = s.Id;

        string csv = Path.Combine(RepoPaths.TempDirectory(), "exp04.csv");
        var text = new StringBuilder("acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z,activity\n");
        for (int i = 0; i < length; i++)
            text.Append(acc[i].Trim().Replace(' ', ',')).Append(',').Append(gyro[i].Trim().Replace(' ', ',')).Append(',').Append(ids[i]).Append('\n');
        File.WriteAllText(csv, text.ToString());

        var lines = RunHost(["--model", enet, "--source", $"csv:{csv}?label=activity", "--hop", $"{hop}",
            "--mean", Join(NormalizationValues(ActivityDir, "mean")), "--std", Join(NormalizationValues(ActivityDir, "std")),
            "--label-offset", "1", "--window-label", "uniform", "--metrics", "0"]);
        var predictions = OfType(lines, "prediction");
        Assert.That(predictions, Has.Length.EqualTo((length - Window) / hop + 1));

        // The model card's test windows inside this stretch, and what the model gives on them (as `edgenets eval` runs them).
        var testInputs = NpyFile.Read(Path.Combine(ActivityDir, "test_inputs.npy"));
        var testValues = testInputs.ToFloat32();
        var testLabels = NpyFile.Read(Path.Combine(ActivityDir, "test_labels.npy")).ToInt32();
        var rows = File.ReadLines(Path.Combine(ActivityDir, "test_windows.txt")).Where(l => !l.StartsWith('#'))
            .Select((l, row) => (Row: row, Fields: l.Split(' ').Select(int.Parse).ToArray()))
            .Where(r => r.Fields[0] == experiment && r.Fields[2] >= first && r.Fields[2] + Window <= first + length && (r.Fields[2] - first) % hop == 0).ToArray();
        Assert.That(rows, Has.Length.GreaterThan(50), "test windows of experiment 4 inside the recording");
        using var session = Model.Load(enet).CreateSession();
        var logits = new float[Classes];
        int modelCorrect = 0, hostCorrect = 0;
        foreach (var (row, fields) in rows)
        {
            session.Run(testValues.AsSpan(row * testInputs.SampleSize, testInputs.SampleSize), logits);
            int cls = ArgMax(logits);
            double score = 1.0 / logits.Sum(v => Math.Exp(v - logits[cls]));
            var p = predictions[(fields[2] - first) / hop];
            Assert.That(p.GetProperty("class").GetInt32(), Is.EqualTo(cls), $"test window {row} (sample {fields[2]})");
            Assert.That(p.GetProperty("score").GetDouble(), Is.EqualTo(score).Within(1e-4), $"test window {row}");
            Assert.That(p.GetProperty("label").GetInt32(), Is.EqualTo(testLabels[row]), $"test window {row}");
            if (cls == testLabels[row]) modelCorrect++;
            if (p.GetProperty("class").GetInt32() == testLabels[row]) hostCorrect++;
        }
        Assert.That(hostCorrect, Is.EqualTo(modelCorrect));

        // Windows that lie wholly inside one segment of activity 1..6, straight from the segment boundaries.
        int inside = 0;
        for (int start = first; start + Window <= first + length; start += hop)
            if (segments.Any(s => s.Id <= Classes && s.First <= start && start + Window - 1 <= s.Last)) inside++;
        int linesCorrect = predictions.Count(p => p.TryGetProperty("label", out var l) && l.GetInt32() == p.GetProperty("class").GetInt32());
        var summary = lines.Last();
        Assert.That(summary.GetProperty("labelled").GetInt32(), Is.EqualTo(inside));
        Assert.That(summary.GetProperty("correct").GetInt32(), Is.EqualTo(linesCorrect));
        TestContext.Out.WriteLine($"raw CSV, hop {hop}: {summary.GetProperty("correct").GetInt32()}/{inside} windows = {summary.GetProperty("accuracy").GetDouble():P2}; " +
                                  $"on the {rows.Length} model-card test windows: {hostCorrect}/{rows.Length} = {(double)hostCorrect / rows.Length:P2}");
    }

    /// <summary>The raw CSV and the model card's normalized recording give the same windows: identical host output.</summary>
    [Test]
    public void RawCsvWithTheCardsNormalizationMatchesTheNormalizedRecording()
    {
        string enet = ModelFile(ActivityDir);
        string raw = HaptRawDirectory();
        const int first = 5000, length = 7000;
        var acc = File.ReadLines(Path.Combine(raw, "acc_exp04_user02.txt")).Skip(first).Take(length).ToArray();
        var gyro = File.ReadLines(Path.Combine(raw, "gyro_exp04_user02.txt")).Skip(first).Take(length).ToArray();
        string csv = Path.Combine(RepoPaths.TempDirectory(), "exp04.csv");
        File.WriteAllLines(csv, acc.Zip(gyro, (a, g) => a.Trim().Replace(' ', ',') + "," + g.Trim().Replace(' ', ','))
            .Prepend("acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z"));
        string[] common = ["--model", enet, "--hop", "32", "--metrics", "0"];
        var fromCsv = OfType(RunHost([.. common, "--source", $"csv:{csv}",
            "--mean", Join(NormalizationValues(ActivityDir, "mean")), "--std", Join(NormalizationValues(ActivityDir, "std"))]), "prediction");
        var fromNpy = OfType(RunHost([.. common, "--source", $"npy:{Path.Combine(ActivityDir, "test_stream.npy")}?kind=samples"]), "prediction");
        Assert.That(fromCsv, Has.Length.EqualTo((length - Window) / 32 + 1));
        Assert.That(fromCsv.Select(p => (p.GetProperty("class").GetInt32(), p.GetProperty("score").GetDouble())),
            Is.EqualTo(fromNpy.Select(p => (p.GetProperty("class").GetInt32(), p.GetProperty("score").GetDouble()))));
    }

    /// <summary>
    /// The air-quality test windows overlap by 23 hours where their targets are consecutive hours; the hourly series they
    /// come from, and the window starting at each hour.
    /// </summary>
    private static (float[] Series, float[][] Windows, float[] Targets) AirQualitySeries(int maxWindows)
    {
        var inputs = NpyFile.Read(Path.Combine(AirQualityDir, "test_inputs.npy"));
        var all = inputs.ToFloat32();
        var targets = NpyFile.Read(Path.Combine(AirQualityDir, "test_targets.npy")).ToFloat32();
        var times = File.ReadLines(Path.Combine(AirQualityDir, "test_times.txt")).Where(l => !l.StartsWith('#'))
            .Select(l => DateTime.ParseExact(l.Trim(), "dd/MM/yyyy HH:mm:ss", CultureInfo.InvariantCulture)).ToArray();
        int steps = inputs.Shape[1], size = inputs.SampleSize;
        int count = 1;
        while (count < maxWindows && times[count] - times[count - 1] == TimeSpan.FromHours(1)) count++;
        Assert.That(count, Is.EqualTo(maxWindows), "the first test windows are consecutive hours");
        var windows = Enumerable.Range(0, count).Select(k => all.AsSpan(k * size, size).ToArray()).ToArray();
        var series = new List<float>(windows[0]);
        for (int k = 1; k < count; k++)
        {
            Assert.That(windows[k][..((steps - 1) * Channels)], Is.EqualTo(windows[k - 1][Channels..]), $"window {k} is window {k - 1} one hour later");
            series.AddRange(windows[k][((steps - 1) * Channels)..]);
        }
        return (series.ToArray(), windows, targets[..count]);
    }

    private static float[] Values(JsonElement[] predictions) => predictions.Select(p => p.GetProperty("value").GetSingle()).ToArray();

    /// <summary>
    /// Stream mode on the LSTM forecaster: one prediction per hourly sample, equal to the runtime's StreamingSession on the
    /// same series; after the 24th sample of a fresh state (the start, or every --reset 24) exactly the Session's
    /// whole-window forecast for those 24 hours.
    /// </summary>
    [Test]
    public void AirQualityStreamMatchesTheWholeWindowRunAfterEachFullSequence()
    {
        string enet = ModelFile(AirQualityDir);
        const int steps = 24, count = 24 * 8 + 1;
        var (series, windows, targets) = AirQualitySeries(count);
        string path = Path.Combine(RepoPaths.TempDirectory(), "hours.npy");
        int samples = series.Length / Channels;
        NpyFile.WriteFloat32(path, [samples, Channels], series);
        var model = Model.Load(enet);

        var free = Values(OfType(RunHost(["--model", enet, "--source", $"npy:{path}?kind=samples", "--mode", "stream", "--metrics", "0"]), "prediction"));
        var reset = Values(OfType(RunHost(["--model", enet, "--source", $"npy:{path}?kind=samples", "--mode", "stream", "--reset", $"{steps}", "--metrics", "0"]), "prediction"));
        Assert.That(free, Has.Length.EqualTo(samples));
        Assert.That(reset, Has.Length.EqualTo(samples));

        // The runtime's streaming session stepped over the same samples (no reset): the host adds nothing and loses nothing.
        using (var stream = model.CreateStreamingSession())
        {
            var y = new float[1];
            for (int t = 0; t < samples; t++)
            {
                stream.Step(series.AsSpan(t * Channels, Channels), y);
                Assert.That(free[t], Is.EqualTo(y[0]), $"sample {t}");
            }
        }

        using var session = model.CreateSession();
        var windowed = new float[count];
        for (int k = 0; k < count; k++)
        {
            var y = new float[1];
            session.Run(windows[k], y);
            windowed[k] = y[0];
        }
        Assert.That(free[steps - 1], Is.EqualTo(windowed[0]), "the first full sequence from the zero state");
        for (int block = 0; (block + 1) * steps <= samples; block++)
            Assert.That(reset[block * steps + steps - 1], Is.EqualTo(windowed[block * steps]), $"block {block}: reset every {steps} samples");
        Assert.That(Enumerable.Range(steps, samples - steps).Count(t => free[t] != windowed[t - steps + 1]), Is.GreaterThan(0),
            "without resets the state carries more than 24 hours, so later forecasts differ from the 24-hour windows");

        // Forecast error of the three ways over the same target hours (normalized units; the card reports 0.262 on all windows).
        double Mae(Func<int, float> forecast) => Enumerable.Range(0, count).Average(k => Math.Abs(forecast(k) - targets[k]));
        TestContext.Out.WriteLine($"MAE over {count} hours: whole windows {Mae(k => windowed[k]):F4}, stream without reset {Mae(k => free[k + steps - 1]):F4}");

        // Forecasts in sensor units with the card's target normalization.
        float mean = NormalizationValues(AirQualityDir, "mean")[0], std = NormalizationValues(AirQualityDir, "std")[0];
        var units = Values(OfType(RunHost(["--model", enet, "--source", $"npy:{path}?kind=samples", "--mode", "stream", "--max", "30",
            "--output-mean", mean.ToString("R", CultureInfo.InvariantCulture), "--output-std", std.ToString("R", CultureInfo.InvariantCulture), "--metrics", "0"]), "prediction"));
        Assert.That(units, Has.Length.EqualTo(30));
        for (int t = 0; t < units.Length; t++) Assert.That(units[t], Is.EqualTo(free[t] * std + mean), $"sample {t}");
    }

    /// <summary>
    /// Stream mode on the activity model (two Conv1d over time, then a GRU): the host steps one IMU sample at a time; with
    /// --reset 128 each block's last prediction is the model's output on that 128-sample window run whole (same class,
    /// same score), and each block reports 120 predictions (the convolutions' windows fill over the first 8 samples).
    /// </summary>
    [Test]
    public void ActivityStreamMatchesTheWholeWindowAfterEachBlock()
    {
        string enet = ModelFile(ActivityDir);
        const int window = 128, blocks = 6;
        var stream = NpyFile.Read(Path.Combine(ActivityDir, "test_stream.npy")).ToFloat32();
        string path = Path.Combine(RepoPaths.TempDirectory(), "imu.npy");
        NpyFile.WriteFloat32(path, [blocks * window, Channels], stream.AsSpan(0, blocks * window * Channels).ToArray());
        var predictions = OfType(RunHost(["--model", enet, "--source", $"npy:{path}?kind=samples", "--mode", "stream", "--reset", $"{window}", "--metrics", "0"]), "prediction");
        var model = Model.Load(enet);
        using var streaming = model.CreateStreamingSession();
        int perBlock = window - streaming.StepsToFirstOutput + 1;
        Assert.That(predictions, Has.Length.EqualTo(blocks * perBlock));

        using var session = model.CreateSession();
        var x = new float[Channels * window];
        var y = new float[model.Outputs[0].ElementCount];
        for (int b = 0; b < blocks; b++)
        {
            for (int t = 0; t < window; t++)
                for (int c = 0; c < Channels; c++) x[c * window + t] = stream[(b * window + t) * Channels + c];
            session.Run(x, y);
            int top = Array.IndexOf(y, y.Max());
            double score = 1.0 / y.Sum(v => Math.Exp(v - y[top]));
            var last = predictions[b * perBlock + perBlock - 1];
            Assert.That(last.GetProperty("class").GetInt32(), Is.EqualTo(top), $"block {b}: class");
            Assert.That(last.GetProperty("score").GetDouble(), Is.EqualTo(score).Within(1e-4), $"block {b}: score");
        }
    }

    /// <summary>
    /// A regression replay with targets: with windows every hour the host's summary MAE is the mean of |forecast - target|
    /// computed here from the Session's forecasts on the same windows, and each prediction line carries its target.
    /// </summary>
    [Test]
    public void ValueReplayWithTargetsReportsTheMeanAbsoluteError()
    {
        string enet = ModelFile(AirQualityDir);
        const int steps = 24, count = 100;
        var (series, windows, targets) = AirQualitySeries(count);
        int samples = series.Length / Channels;
        var perSample = Enumerable.Repeat(float.NaN, samples).ToArray();
        for (int k = 0; k < count; k++) perSample[k + steps - 1] = targets[k]; // window k ends at sample k + 23
        string dir = RepoPaths.TempDirectory();
        string seriesPath = Path.Combine(dir, "hours.npy"), targetsPath = Path.Combine(dir, "targets.npy");
        NpyFile.WriteFloat32(seriesPath, [samples, Channels], series);
        NpyFile.WriteFloat32(targetsPath, [samples], perSample);

        var lines = RunHost(["--model", enet, "--source", $"npy:{seriesPath}?kind=samples&targets={targetsPath}", "--hop", "1", "--metrics", "0"]);
        var predictions = OfType(lines, "prediction");
        Assert.That(predictions, Has.Length.EqualTo(count));
        using var session = Model.Load(enet).CreateSession();
        var y = new float[1];
        double sum = 0;
        for (int k = 0; k < count; k++)
        {
            session.Run(windows[k], y);
            Assert.That(predictions[k].GetProperty("value").GetSingle(), Is.EqualTo(y[0]), $"window {k}");
            Assert.That(predictions[k].GetProperty("target").GetSingle(), Is.EqualTo(targets[k]), $"window {k}");
            sum += Math.Abs((double)y[0] - targets[k]);
        }
        var summary = OfType(lines, "summary").Single();
        Assert.That(summary.GetProperty("targets").GetInt64(), Is.EqualTo(count));
        Assert.That(summary.GetProperty("mae").GetDouble(), Is.EqualTo(sum / count).Within(1e-9));
        TestContext.Out.WriteLine($"host MAE over {count} hourly windows: {sum / count:F4} (normalized units)");
    }

    [Test]
    public void StreamModeAllocatesNothingPerSample()
    {
        string enet = ModelFile(AirQualityDir);
        var (series, _, _) = AirQualitySeries(40);
        string path = Path.Combine(RepoPaths.TempDirectory(), "hours.npy");
        NpyFile.WriteFloat32(path, [series.Length / Channels, Channels], series);
        using var source = new NpySource(SourceUri.Parse($"npy:{path}?kind=samples&loop=true"));
        var options = new HostOptions { Mode = HostMode.Stream, ResetEvery = 24, MetricsIntervalSeconds = 1e-6, OutputMean = [1100f], OutputStd = [220f] };
        using var pipeline = new HostPipeline(Model.Load(enet), source, new CaptureStream(1 << 16) { Wrap = true }, options);
        var warmUp = System.Diagnostics.Stopwatch.StartNew();
        while (warmUp.Elapsed < TimeSpan.FromSeconds(1.5)) pipeline.Step(); // tiered JIT allocates
        long before = GC.GetAllocatedBytesForCurrentThread();
        bool ended = false;
        for (int i = 0; i < 5000; i++) ended |= !pipeline.Step(); // no Assert in the loop: constraints allocate
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(ended, Is.False, "the looped source never ends");
        Assert.That(allocated, Is.Zero);
        Assert.That(pipeline.IsClassifier, Is.False, "a single output is a value");
    }

    [Test]
    public void StreamModeNeedsAStreamableModelAndSensorOptionsFitTheMode()
    {
        string activity = ModelFile(ActivityDir), air = ModelFile(AirQualityDir), gesture = ModelFile(Path.Combine(RepoPaths.Models, "gesture-digits"));
        string samples = $"npy:{Path.Combine(ActivityDir, "test_stream.npy")}?kind=samples";
        int Run(string[] args, out string err)
        {
            var w = new StringWriter();
            int code = EdgeNets.Host.Program.Run(args, Stream.Null, w, default);
            err = w.ToString();
            return code;
        }
        Assert.That(Run(["--model", gesture, "--source", samples, "--mode", "stream"], out var e), Is.EqualTo(1));
        Assert.That(e, Does.Contain("streaming:").And.Contain("no LSTM, GRU or RNN"));
        Assert.That(Run(["--model", air, "--source", samples, "--mode", "stream", "--hop", "4"], out e), Is.EqualTo(1));
        Assert.That(e, Does.Contain("--hop is for window mode"));
        Assert.That(Run(["--model", air, "--source", samples, "--reset", "24"], out e), Is.EqualTo(1));
        Assert.That(e, Does.Contain("--reset is for stream mode"));
        Assert.That(Run(["--model", air, "--source", samples, "--mode", "burst"], out e), Is.EqualTo(2));
        Assert.That(e, Does.Contain("expected window or stream"));
        Assert.That(Run(["--model", activity, "--source", samples, "--output-mean", "3"], out e), Is.EqualTo(1));
        Assert.That(e, Does.Contain("apply to value outputs"));
    }
}
