using System.Text.Json;
using EdgeNets.Host;
using EdgeNets.Host.Rollout;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// Replacing the model file during a replay: a good file is swapped in between two frames and reported, a corrupt or
/// incompatible one is refused with one error line while the running model keeps predicting.
/// </summary>
public class ModelRolloutTests
{
    private static string GestureEnet => Path.Combine(RepoPaths.GestureModel, "model.enet");

    private static string GestureReplay =>
        $"npy:{Path.Combine(RepoPaths.GestureModel, "test_inputs.npy")}?labels={Path.Combine(RepoPaths.GestureModel, "test_labels.npy")}";

    private static string FileHash(byte[] bytes) => Convert.ToHexStringLower(System.IO.Hashing.XxHash64.Hash(bytes));

    /// <summary>Replaces <paramref name="path"/> the way deployments do: write beside it, then rename over it.</summary>
    private static void Replace(string path, byte[] bytes)
    {
        string staging = path + ".new";
        File.WriteAllBytes(staging, bytes);
        File.Move(staging, path, overwrite: true);
    }

    private static string ModelDirectory(string name)
    {
        string dir = Path.Combine(RepoPaths.TempDirectory(), name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static JsonElement[] OfType(JsonElement[] lines, string type) =>
        lines.Where(l => l.GetProperty("type").GetString() == type).ToArray();

    [Test]
    public void GestureReplayKeepsRunningThroughCorruptIncompatibleAndGoodReplacements()
    {
        if (!File.Exists(GestureEnet)) Assert.Ignore($"{GestureEnet} is not built yet");
        string path = Path.Combine(ModelDirectory("rollout-gesture"), "model.enet");
        byte[] original = File.ReadAllBytes(GestureEnet);
        File.WriteAllBytes(path, original);
        var running = Model.Load(path);

        // The same network under a new version: a different file (and hash) with the same inputs and outputs.
        var next = Model.Load(GestureEnet);
        next.Graph.Metadata["version"] = "2";
        byte[] good = EnetWriter.Write(next.Graph);
        byte[] truncated = original[..(original.Length / 2)];
        byte[] badChecksum = (byte[])original.Clone();
        badChecksum[^1] ^= 0x5A;
        byte[] otherShape = File.ReadAllBytes(Path.Combine(RepoPaths.Models, "activity-hapt", "model.enet"));

        var output = new CaptureStream(1 << 20);
        var options = new HostOptions { MetricsIntervalSeconds = 0 };
        using var source = new NpySource(SourceUri.Parse(GestureReplay));
        using var pipeline = new HostPipeline(running, source, output, options);
        using var rollout = new ModelRollout(path, running, options);
        pipeline.Rollout = rollout;
        var firstSession = pipeline.Session;

        // The oracle: the same replay through the original model with no rollout.
        var plain = new CaptureStream(1 << 20);
        using (var oracleSource = new NpySource(SourceUri.Parse(GestureReplay)))
        using (var oracle = new HostPipeline(Model.Load(GestureEnet), oracleSource, plain, options))
            oracle.Run();
        var expected = OfType(HostTestModels.ParseLines(plain), "prediction").Select(p => p.GetProperty("class").GetInt32()).ToArray();

        void StepFrames(int n) { for (int i = 0; i < n; i++) Assert.That(pipeline.Step(), Is.True); }
        StepFrames(3);
        foreach (var bad in new[] { truncated, badChecksum, otherShape })
        {
            Replace(path, bad);
            Assert.That(rollout.Reload(), Is.True);
            StepFrames(3);
            Assert.That(pipeline.Session, Is.SameAs(firstSession), "a refused file leaves the running model in place");
        }
        Replace(path, good);
        Assert.That(rollout.Reload(), Is.True);
        Assert.That(rollout.Reload(), Is.False, "the same file again needs no swap");
        StepFrames(3);
        Assert.That(pipeline.Session, Is.Not.SameAs(firstSession));
        Assert.That(pipeline.Session.Model.Graph.Metadata["version"], Is.EqualTo("2"));
        pipeline.Run();

        var lines = HostTestModels.ParseLines(output);
        var errors = OfType(lines, "error");
        Assert.That(errors, Has.Length.EqualTo(3));
        foreach (var e in errors) Assert.That(e.GetProperty("file").GetString(), Is.EqualTo(path));
        Assert.That(errors[0].GetProperty("error").GetString(), Does.Contain(path));
        Assert.That(errors[1].GetProperty("error").GetString(), Does.Contain("checksum mismatch"));
        Assert.That(errors[2].GetProperty("error").GetString(), Does.Contain("input 0").And.Contain("shape"));
        Assert.That(errors.Select(e => e.GetProperty("frame").GetInt64()), Is.EqualTo(new long[] { 3, 6, 9 }), "refused before the next frame");

        var model = OfType(lines, "model").Single();
        Assert.That(model.GetProperty("xxhash64").GetString(), Is.EqualTo(FileHash(good)));
        Assert.That(model.GetProperty("file").GetString(), Is.EqualTo(path));
        Assert.That(model.GetProperty("frame").GetInt64(), Is.EqualTo(12), "swapped between frames 11 and 12");

        var predictions = OfType(lines, "prediction").Select(p => p.GetProperty("class").GetInt32()).ToArray();
        Assert.That(predictions, Is.EqualTo(expected), "no frame lost or mispredicted across the refusals and the swap");
        var summary = OfType(lines, "summary").Single();
        Assert.That(summary.GetProperty("model_reloads").GetInt64(), Is.EqualTo(1));
        Assert.That(summary.GetProperty("model_rejections").GetInt64(), Is.EqualTo(3));
    }

    /// <summary>Two models with the same input and output: the first passes its input through, the second is a softmax.</summary>
    private static (Model Identity, Model Softmax) TwoCompatibleModels()
    {
        var identity = HostTestModels.Flatten(DataType.Float32, [1, 4]);
        var g = new TestGraph();
        int x = g.Input("input", DataType.Float32, [1, 4]);
        int y = g.Output("output", DataType.Float32, [1, 4]);
        g.Op(OpType.Softmax, [x], [y], new OpAttributes().Set(AttributeKey.Axis, -1));
        return (identity, g.Build());
    }

    [Test]
    public void FramesAfterTheSwapRunTheNewModel()
    {
        var (identity, softmax) = TwoCompatibleModels();
        string path = Path.Combine(ModelDirectory("rollout-swap"), "model.enet");
        File.WriteAllBytes(path, identity.FileBytes);
        var rows = TestData.Floats(5, 6 * 4, -2, 2);
        string data = HostTestModels.WriteTemp("rollout-rows.npy", p => NpyFile.WriteFloat32(p, [6, 4], rows));
        var output = new CaptureStream(1 << 16);
        var options = new HostOptions { Output = OutputKind.Value };
        using var source = new NpySource(SourceUri.Parse($"npy:{data}"));
        var running = Model.Load(path);
        using var pipeline = new HostPipeline(running, source, output, options);
        using var rollout = new ModelRollout(path, running, options);
        pipeline.Rollout = rollout;
        for (int i = 0; i < 2; i++) Assert.That(pipeline.Step(), Is.True);
        Replace(path, softmax.FileBytes);
        Assert.That(rollout.Reload(), Is.True);
        pipeline.Run();

        var values = OfType(HostTestModels.ParseLines(output), "prediction")
            .Select(p => p.GetProperty("values").EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        Assert.That(values, Has.Length.EqualTo(6));
        for (int r = 0; r < 6; r++)
        {
            var row = rows.AsSpan(r * 4, 4).ToArray();
            double sum = row.Sum(v => Math.Exp(v));
            var want = r < 2 ? row : row.Select(v => (float)(Math.Exp(v) / sum)).ToArray();
            Assert.That(values[r], Is.EqualTo(want).Within(1e-5f), $"row {r}");
        }
    }

    [Test]
    public void CompatibilityNamesTheInputAndBothShapes()
    {
        var a = HostTestModels.Flatten(DataType.Float32, [1, 4]);
        var b = HostTestModels.Flatten(DataType.Float32, [1, 1, 4]);
        var c = HostTestModels.Flatten(DataType.Int8, [1, 4], HostTestModels.UnitRangeInt8);
        Assert.That(ModelRollout.Mismatch(a, b), Is.EqualTo("input 0 'input' has shape [1, 1, 4]; the running model's is [1, 4]"));
        Assert.That(ModelRollout.Mismatch(a, c), Is.EqualTo("input 0 'input' is Int8; the running model's is Float32"));
        Assert.That(ModelRollout.Mismatch(a, a), Is.Null);
    }

    [Test]
    public void WatcherReloadsWhenTheFileIsReplacedByRename()
    {
        var (identity, softmax) = TwoCompatibleModels();
        string path = Path.Combine(ModelDirectory("rollout-watch"), "model.enet");
        File.WriteAllBytes(path, identity.FileBytes);
        var running = Model.Load(path);
        using var rollout = new ModelRollout(path, running, new HostOptions());
        // A long poll period: the directory notification is what must trigger the reload.
        rollout.Watch(settle: TimeSpan.FromMilliseconds(50), poll: TimeSpan.FromHours(1));
        Replace(path, softmax.FileBytes);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!rollout.HasResult && waited.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(20);
        Assert.That(rollout.TryTakeResult(out var result), Is.True, "no reload within 20 s of the rename");
        Assert.That(result.Error, Is.Null);
        Assert.That(result.FileHash, Is.EqualTo(FileHash(softmax.FileBytes)));
        result.Session!.Dispose();
    }

    [Test]
    public void WatchedPipelineAllocatesNothingPerFrame()
    {
        var model = HostTestModels.Flatten(DataType.Int8, [1, 12], HostTestModels.UnitRangeInt8);
        string path = Path.Combine(ModelDirectory("rollout-alloc"), "model.enet");
        File.WriteAllBytes(path, model.FileBytes);
        var rows = TestData.Floats(9, 37 * 12, 0, 1);
        string data = HostTestModels.WriteTemp("rollout-alloc.npy", p => NpyFile.WriteFloat32(p, [37, 12], rows));
        var options = new HostOptions { MetricsIntervalSeconds = 1e-6 };
        using var source = new NpySource(SourceUri.Parse($"npy:{data}?loop=true"));
        using var pipeline = new HostPipeline(model, source, new CaptureStream(1 << 16) { Wrap = true }, options);
        using var rollout = new ModelRollout(path, model, options);
        rollout.Watch(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100));
        pipeline.Rollout = rollout;
        Assert.That(PipelineTests.AllocatedOverSteps(pipeline, 10_000), Is.Zero);
    }
}
