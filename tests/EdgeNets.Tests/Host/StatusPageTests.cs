using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EdgeNets.Host;
using EdgeNets.Host.Sources;
using EdgeNets.Host.Status;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// The status page over real HTTP: /metrics parsed as Prometheus text and checked against the pipeline's own counts,
/// the model input image against the replayed tensors, the score history against the printed prediction lines, and
/// the read-only surface (no method but GET/HEAD). Times come from a fake clock.
/// </summary>
public class StatusPageTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static string GestureEnet => Path.Combine(RepoPaths.GestureModel, "model.enet");

    /// <summary>A pipeline on a replay with a status board and server on a free loopback port.</summary>
    internal sealed class Served : IDisposable
    {
        public required HostPipeline Pipeline { get; init; }
        public required StatusServer Server { get; init; }
        public required StatusBoard Board { get; init; }
        public required CaptureStream Output { get; init; }
        public required ISource Source { get; init; }
        public Uri Url(string path) => new($"http://127.0.0.1:{Server.LocalEndPoint.Port}{path}");
        public void Dispose() { Server.Dispose(); Pipeline.Dispose(); Source.Dispose(); }
    }

    internal static Served Serve(Model model, ISource source, TimeProvider time, HostOptions? options = null, string modelPath = "model.enet")
    {
        options ??= new HostOptions();
        var output = new CaptureStream(1 << 22);
        var pipeline = new HostPipeline(model, source, output, options, time: time);
        var input = model.Graph.Tensors[model.Graph.Inputs[0]];
        var board = new StatusBoard(input.ByteLength, pipeline.LastOutput.Length, time.TimestampFrequency);
        pipeline.Status = board;
        var content = new StatusContent(board, () => pipeline.Session.Model, modelPath, options.Preprocess.Mean, options.Preprocess.Std);
        var server = new StatusServer(new IPEndPoint(IPAddress.Loopback, 0), content);
        return new Served { Pipeline = pipeline, Server = server, Board = board, Output = output, Source = source };
    }

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Prometheus text format: HELP/TYPE comments, then "name{labels} value" samples; every sample's family has a TYPE.</summary>
    internal static Dictionary<string, double> ParsePrometheus(string text)
    {
        var types = new Dictionary<string, string>();
        var samples = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.That(parts, Has.Length.EqualTo(4), line);
                Assert.That(parts[3], Is.AnyOf("counter", "gauge", "summary", "histogram", "untyped"), line);
                types[parts[2]] = parts[3];
                continue;
            }
            if (line.StartsWith('#')) { Assert.That(line, Does.StartWith("# HELP "), line); continue; }
            int space = line.LastIndexOf(' ');
            string name = line[..space];
            string family = name.Split('{')[0];
            Assert.That(family, Does.Match("^[a-zA-Z_:][a-zA-Z0-9_:]*$"), line);
            string typed = family.EndsWith("_sum") || family.EndsWith("_count") ? family[..family.LastIndexOf('_')] : family;
            Assert.That(types.ContainsKey(family) || types.ContainsKey(typed), Is.True, $"no TYPE before {line}");
            if (family.EndsWith("_total")) Assert.That(types.GetValueOrDefault(family), Is.EqualTo("counter"), line);
            samples[name] = line[(space + 1)..] switch
            {
                "NaN" => double.NaN,
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
        }
        return samples;
    }

    [Test]
    public async Task MetricsAreParseablePrometheusTextWithThePipelinesCounts()
    {
        if (!File.Exists(GestureEnet)) Assert.Ignore($"{GestureEnet} is not built yet");
        string inputs = Path.Combine(RepoPaths.GestureModel, "test_inputs.npy");
        // One photo every 50 ms of fake time: 20 frames per second; no fake time passes while the model runs.
        var clock = new FakeTimeProvider(Start);
        using var served = Serve(Model.Load(GestureEnet), new ClockedSource(new NpySource(SourceUri.Parse($"npy:{inputs}")), clock,
            TimeSpan.FromMilliseconds(50)), clock);
        served.Pipeline.Run();

        var response = await Http.GetAsync(served.Url("/metrics"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType!.ToString(), Does.StartWith("text/plain; version=0.0.4"));
        var metrics = ParsePrometheus(await response.Content.ReadAsStringAsync());
        var p = served.Pipeline;
        Assert.That(p.Frames, Is.EqualTo(408));
        Assert.That(metrics["edgenets_frames_total"], Is.EqualTo(p.Frames));
        Assert.That(metrics["edgenets_predictions_total"], Is.EqualTo(p.Predictions));
        Assert.That(metrics["edgenets_dropped_frames_total"], Is.Zero);
        Assert.That(metrics["edgenets_saturated_inputs_total"], Is.EqualTo(p.SaturatedInputs));
        Assert.That(metrics["edgenets_model_reloads_total"], Is.Zero);
        Assert.That(metrics["edgenets_class"], Is.EqualTo(p.LastClass));
        Assert.That(metrics["edgenets_score"], Is.EqualTo(p.LastScore));
        Assert.That(metrics["edgenets_fps"], Is.EqualTo(20.0).Within(1e-9));
        Assert.That(metrics["edgenets_latency_microseconds{quantile=\"0.5\"}"], Is.Zero);
        Assert.That(metrics["edgenets_latency_microseconds{quantile=\"0.99\"}"], Is.Zero);
        Assert.That(metrics["edgenets_latency_microseconds_count"], Is.EqualTo(p.Predictions));
    }

    [Test]
    public async Task StatusHistoryIsThePrintedPredictionsAndTheImageIsTheModelInput()
    {
        // A float model whose output is its input: the picture must be the replayed tensor itself, and the classes the
        // argmax of each tensor as printed on stdout.
        const int Side = 8;
        var rows = TestData.Floats(5, 30 * 3 * Side * Side, 0, 1);
        string data = HostTestModels.WriteTemp("status-rows.npy", path => NpyFile.WriteFloat32(path, [30, 1, 3, Side, Side], rows));
        var clock = new FakeTimeProvider(Start);
        var model = HostTestModels.Flatten(DataType.Float32, [1, 3, Side, Side]);
        using var served = Serve(model, new ClockedSource(new NpySource(SourceUri.Parse($"npy:{data}")), clock, TimeSpan.FromMilliseconds(30)), clock);
        Assert.That((await Http.GetAsync(served.Url("/input.bmp"))).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "no input before the first frame");
        served.Pipeline.Run();

        using var status = JsonDocument.Parse(await Http.GetStringAsync(served.Url("/status.json")));
        var root = status.RootElement;
        var printed = HostTestModels.ParseLines(served.Output).Where(l => l.GetProperty("type").GetString() == "prediction").ToArray();
        var history = root.GetProperty("history").EnumerateArray().ToArray();
        Assert.That(history, Has.Length.EqualTo(printed.Length));
        for (int i = 0; i < printed.Length; i++)
        {
            Assert.That(history[i][0].GetInt64(), Is.EqualTo(printed[i].GetProperty("index").GetInt64()));
            Assert.That(history[i][1].GetInt32(), Is.EqualTo(printed[i].GetProperty("class").GetInt32()), $"prediction {i}");
            Assert.That(history[i][2].GetDouble(), Is.EqualTo(printed[i].GetProperty("score").GetDouble()).Within(5e-5), $"prediction {i}");
        }
        Assert.That(root.GetProperty("frames").GetInt64(), Is.EqualTo(30));
        Assert.That(root.GetProperty("fps").GetDouble(), Is.EqualTo(1000.0 / 30).Within(1e-3));

        // Snapshots are taken at most 10 times a (fake) second: frames 0, 4, 8, ... at 30 ms apart; the last is 28.
        long shown = root.GetProperty("input_prediction").GetInt64();
        Assert.That(shown, Is.EqualTo(28));
        var bmp = await Http.GetByteArrayAsync(served.Url("/input.bmp"));
        Assert.That(Encoding.ASCII.GetString(bmp, 0, 2), Is.EqualTo("BM"));
        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(bmp.AsSpan(18)), Is.EqualTo(Side));
        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(bmp.AsSpan(22)), Is.EqualTo(Side));
        int stride = (Side * 3 + 3) & ~3, size = 3 * Side * Side;
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
                for (int c = 0; c < 3; c++)
                {
                    float expected = rows[(int)shown * size + (c * Side + y) * Side + x];
                    byte actual = bmp[54 + (Side - 1 - y) * stride + 3 * x + (2 - c)];   // bottom-up rows, BGR
                    Assert.That(actual, Is.EqualTo((byte)MathF.Round(expected * 255f)), $"x {x}, y {y}, channel {c}");
                }
        var outputs = root.GetProperty("outputs").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.That(outputs, Is.EqualTo(rows.AsSpan((int)shown * size, size).ToArray()), "the snapshot's outputs are its prediction's");
    }

    [Test]
    public async Task PageAndModelCardAreServedAndNothingChangesAnything()
    {
        var clock = new FakeTimeProvider(Start);
        string data = HostTestModels.WriteTemp("status-page.npy", path => NpyFile.WriteFloat32(path, [3, 1, 4], TestData.Floats(1, 12, 0, 1)));
        using var served = Serve(HostTestModels.Flatten(DataType.Float32, [1, 4]), new NpySource(SourceUri.Parse($"npy:{data}")), clock,
            modelPath: "/var/lib/edgenets/model.enet");
        served.Pipeline.Run();

        var page = await Http.GetAsync(served.Url("/"));
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(page.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/html"));
        string html = await page.Content.ReadAsStringAsync();
        Assert.That(html, Does.Contain("<canvas id=\"chart\"").And.Contain("<img id=\"input\"").And.Contain("/status.json"));

        using var card = JsonDocument.Parse(await Http.GetStringAsync(served.Url("/model.json")));
        Assert.That(card.RootElement.GetProperty("file").GetString(), Is.EqualTo("/var/lib/edgenets/model.enet"));
        var input = card.RootElement.GetProperty("inputs")[0];
        Assert.That(input.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(new[] { 1, 4 }));
        Assert.That(input.GetProperty("type").GetString(), Is.EqualTo("f32"));

        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete })
        {
            var response = await Http.SendAsync(new HttpRequestMessage(method, served.Url("/metrics")) { Content = new StringContent("x") });
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed), method.Method);
            Assert.That(response.Content.Headers.Allow, Is.EquivalentTo(new[] { "GET", "HEAD" }));
        }
        Assert.That((await Http.GetAsync(served.Url("/nothing"))).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, served.Url("/metrics")));
        Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(served.Board.Frames, Is.EqualTo(3), "requests changed nothing");
    }

    [Test]
    public void AddressIsLoopbackUnlessGivenAndMalformedValuesAreUsageErrors()
    {
        Assert.That(StatusServer.ParseEndpoint("8080"), Is.EqualTo(new IPEndPoint(IPAddress.Loopback, 8080)));
        Assert.That(StatusServer.ParseEndpoint("localhost:8080"), Is.EqualTo(new IPEndPoint(IPAddress.Loopback, 8080)));
        Assert.That(StatusServer.ParseEndpoint("0.0.0.0:9000"), Is.EqualTo(new IPEndPoint(IPAddress.Any, 9000)));
        Assert.That(StatusServer.ParseEndpoint("[::1]:8080"), Is.EqualTo(new IPEndPoint(IPAddress.IPv6Loopback, 8080)));
        foreach (var bad in new[] { "", "host", "10.0.0.1", "::1:8080", "127.0.0.1:70000", "example.org:80", "[127.0.0.1]:80" })
            Assert.Throws<ArgumentException>(() => StatusServer.ParseEndpoint(bad), bad);

        string model = HostTestModels.WriteTemp("status-usage.enet", path => File.WriteAllBytes(path, HostTestModels.Flatten(DataType.Float32, [1, 4]).FileBytes));
        var stderr = new StringWriter();
        int code = Program.Run(["--model", model, "--source", "npy:x.npy", "--http", "8o8o"], new MemoryStream(), stderr, CancellationToken.None);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.StartWith("edgenets-host: --http 8o8o: expected PORT"));
    }

    [Test]
    public void ReplayWithTheStatusBoardAllocatesNothingPerFrame()
    {
        // A snapshot on every frame (the page's cost at its worst), a prediction record on every frame.
        string data = HostTestModels.WriteTemp("status-alloc.npy", path => NpyFile.WriteFloat32(path, [7, 1, 3, 4, 4], TestData.Floats(3, 7 * 48, 0, 1)));
        var model = HostTestModels.Flatten(DataType.Int8, [1, 3, 4, 4], HostTestModels.UnitRangeInt8);
        using var source = new NpySource(SourceUri.Parse($"npy:{data}?loop=true"));
        using var pipeline = new HostPipeline(model, source, new CaptureStream(1 << 16) { Wrap = true }, new HostOptions { MetricsIntervalSeconds = 1e-6 });
        var board = new StatusBoard(48, 48, TimeProvider.System.TimestampFrequency, snapshotsPerSecond: double.PositiveInfinity);
        pipeline.Status = board;
        Assert.That(PipelineTests.AllocatedOverSteps(pipeline, 10_000), Is.Zero);
        var snapshot = board.NewSnapshot();
        Assert.That(board.CopyLatestInput(snapshot), Is.True);
        Assert.That(snapshot.Prediction, Is.EqualTo(board.Predictions - 1), "every frame was published");
    }

    [Test]
    public void ReadersNeverSeeAHalfWrittenSnapshotOrHistoryEntry()
    {
        // The frame loop writes snapshot bytes and history entries that all derive from the prediction index; readers
        // on other threads must only ever see consistent ones, in order, while it runs flat out.
        var board = new StatusBoard(4096, 4, 1000, historyLength: 64, snapshotsPerSecond: double.PositiveInfinity);
        var input = new byte[4096];
        var outputs = new float[4];
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (long i = 0; !stop.IsCancellationRequested; i++)
            {
                Array.Fill(input, (byte)i);
                Array.Fill(outputs, i);
                board.CaptureInput(input, i);
                board.Record(i, (int)(i % 10), i, outputs, i % 7, i);
            }
        });
        var failures = new List<string>();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var snapshot = board.NewSnapshot();
            long lastShown = -1;
            for (int round = 0; round < 3000; round++)
            {
                if (board.CopyLatestInput(snapshot))
                {
                    byte b = (byte)snapshot.Prediction;
                    if (snapshot.Bytes.Any(v => v != b) || snapshot.Outputs.Any(v => v != snapshot.Prediction) || snapshot.Class != snapshot.Prediction % 10)
                        lock (failures) failures.Add($"torn snapshot {snapshot.Prediction}");
                    if (snapshot.Prediction < lastShown) lock (failures) failures.Add($"snapshot went back from {lastShown} to {snapshot.Prediction}");
                    lastShown = snapshot.Prediction;
                }
                var history = board.History();
                for (int i = 0; i < history.Length; i++)
                {
                    var r = history[i];
                    if (r.Class != r.Index % 10 || r.Score != r.Index || r.Timestamp != r.Index || (i > 0 && r.Index != history[i - 1].Index + 1))
                        lock (failures) failures.Add($"torn or out-of-order history entry {r}");
                }
            }
        })).ToArray();
        Task.WaitAll(readers);
        stop.Cancel();
        writer.Wait();
        Assert.That(failures, Is.Empty);
        Assert.That(board.Predictions, Is.GreaterThan(0));
    }
}
