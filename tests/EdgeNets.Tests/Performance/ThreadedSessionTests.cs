using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.IO;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Performance;

/// <summary>SessionOptions.Threads: the same output bytes as one thread, the split really taken, nothing allocated per run.</summary>
public class ThreadedSessionTests
{
    private static byte[] RunCase(KernelCase c, int threads, out bool parallel)
    {
        var model = Model.Load(EnetWriter.Write(c.Graph));
        using var session = model.CreateSession(new SessionOptions { Threads = threads });
        parallel = session.Kernels.Any(k => k.IsParallel);
        var g = model.Graph;
        foreach (var (tensor, bytes) in c.Inputs) bytes.CopyTo(session.GetInputBytes(g.Inputs.IndexOf(tensor)));
        // Twice: a second run must not depend on state the first left behind.
        session.Invoke();
        session.Invoke();
        return session.GetTensorBytes(g.Outputs[0]).ToArray();
    }

    // Odd channel counts split unevenly (by blocks of 4 channels, 8 with AVX-512); two images and groups dispatch several
    // times per run; a stride-2 layer. The 3x3 stride-1 ones with 8 and more input channels run the Winograd kernels,
    // the 8-channel one on 31-pixel rows and the ungrouped 1x1 one (its plane one row of 400 pixels) the direct AVX-VNNI
    // kernel where the CPU has AVX-VNNI (split by 32-pixel blocks).
    [TestCase(new[] { 1, 16, 20, 20 }, 37, 3, 1, 1, 2)]
    [TestCase(new[] { 1, 16, 20, 20 }, 37, 3, 1, 1, 3)]
    [TestCase(new[] { 2, 24, 15, 13 }, 21, 3, 2, 1, 4)]
    [TestCase(new[] { 1, 32, 20, 20 }, 48, 1, 1, 2, 3)]
    [TestCase(new[] { 1, 8, 33, 31 }, 11, 3, 1, 1, 2)]
    [TestCase(new[] { 1, 32, 20, 20 }, 48, 1, 1, 1, 3)]
    [TestCase(new[] { 2, 32, 9, 9 }, 50, 3, 1, 1, 3)]
    // Depthwise, split by channels: rows of 24 pixels, and small maps in plane mode (stride 1 and 2).
    [TestCase(new[] { 1, 32, 24, 24 }, 32, 3, 1, 32, 3)]
    [TestCase(new[] { 2, 64, 12, 12 }, 64, 3, 1, 64, 4)]
    [TestCase(new[] { 1, 96, 13, 13 }, 96, 3, 2, 96, 3)]
    public void ConvOutputIsIdenticalToOneThread(int[] input, int outChannels, int kernel, int stride, int group, int threads)
    {
        if (!KernelRegistry.All.Any(e => e.Name.StartsWith("Conv2dInt8_", StringComparison.Ordinal) && !e.IsReference && e.IsSupported()))
            Assert.Ignore("no optimized int8 Conv on this CPU");
        var c = KernelCases.Conv2dInt8(input, outChannels, kernel, stride, seed: 7, group: group);
        var single = RunCase(c, 1, out bool singleParallel);
        var multi = RunCase(c, threads, out bool multiParallel);
        Assert.That(singleParallel, Is.False);
        Assert.That(multiParallel, Is.True, "the layer is large enough to be split");
        Assert.That(multi, Is.EqualTo(single));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void GestureModelRunsIdenticallyAndAllocatesNothing(int threads)
    {
        var model = Model.Load(Path.Combine(RepoPaths.GestureModel, "model.enet"));
        var calibration = NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "calibration.npy"));
        using var single = model.CreateSession();
        using var multi = model.CreateSession(new SessionOptions { Threads = threads });
        var expected = new float[10];
        var actual = new float[10];
        for (int i = 0; i < 16; i++)
        {
            var sample = calibration.Sample(i);
            single.Run(sample, expected);
            multi.Run(sample, actual);
            Assert.That(multi.GetTensorBytes(model.Graph.Outputs[0]).ToArray(), Is.EqualTo(single.GetTensorBytes(model.Graph.Outputs[0]).ToArray()), $"sample {i}");
        }
        var input = calibration.Sample(0);
        // Enough warm-up runs for the JIT's tiering to settle (it allocates on its own thread).
        for (int i = 0; i < 1000; i++) multi.Run(input, actual);
        // On a loaded machine tier-up can still be under way after the warm-up; a per-run allocation shows in every
        // round, so the fewest bytes over a few rounds is the figure to hold at zero.
        long fewestCaller = long.MaxValue, fewestWorkers = long.MaxValue;
        for (int round = 0; round < 4 && (fewestCaller > 0 || fewestWorkers > 0); round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            long beforeWorkers = multi.WorkerAllocatedBytes;
            for (int i = 0; i < 1000; i++) multi.Run(input, actual);
            fewestCaller = Math.Min(fewestCaller, GC.GetAllocatedBytesForCurrentThread() - before);
            fewestWorkers = Math.Min(fewestWorkers, multi.WorkerAllocatedBytes - beforeWorkers);
        }
        Assert.That(fewestCaller, Is.Zero, "the calling thread allocates nothing");
        Assert.That(fewestWorkers, Is.Zero, "the worker threads allocate nothing");
        if (threads > 1)
            Assert.That(multi.Kernels.Count(k => k.IsParallel), Is.GreaterThan(0), "some layer is split");
    }

    /// <summary>
    /// The benchmark CNNs (every Conv form they use split: im2col and 1x1 GEMMs with their columns and bordered copies,
    /// depthwise, residual Add) give the same output bytes on several threads as on one, run after run.
    /// </summary>
    [TestCase("mobilenet_v1_025_96", 4)]
    [TestCase("resnet8_32", 4)]
    [TestCase("resnet8_32", 3)]
    public void BenchmarkModelRunsIdenticallyOnThreads(string stem, int threads)
    {
        var graph = OnnxImporter.Import(Path.Combine(RepoPaths.Root, "tools", "benchmarks", "models", stem + ".onnx"));
        int size = graph.Tensors[graph.Inputs[0]].ElementCount;
        var rng = new Random(11);
        var samples = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, size).Select(_ => (float)rng.NextDouble()).ToArray()).ToList();
        var model = Model.Load(ModelConverter.Convert(graph, new ConvertOptions { CalibrationSamples = samples.Take(4).ToList() }));
        using var single = model.CreateSession();
        using var multi = model.CreateSession(new SessionOptions { Threads = threads });
        Assert.That(multi.Kernels.Count(k => k.IsParallel), Is.GreaterThan(1), "layers are split");
        var expected = new float[model.Graph.Tensors[model.Graph.Outputs[0]].ElementCount];
        var actual = new float[expected.Length];
        for (int i = 0; i < samples.Count; i++)
        {
            single.Run(samples[i], expected);
            multi.Run(samples[i], actual);
            Assert.That(multi.GetTensorBytes(model.Graph.Outputs[0]).ToArray(), Is.EqualTo(single.GetTensorBytes(model.Graph.Outputs[0]).ToArray()), $"sample {i}");
        }
    }

    [Test]
    public void ThreadCountIsChecked()
    {
        var model = Model.Load(Path.Combine(RepoPaths.GestureModel, "model.enet"));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateSession(new SessionOptions { Threads = 0 }));
    }
}
