using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Kernels.Selection;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>
/// Conv + MaxPool 2x2/2 fusion: each fused variant against the reference Conv then the reference MaxPool, bit for bit;
/// sessions that fuse give the reference-only session's bytes; the fusion is taken only where it is safe.
/// </summary>
[TestFixture]
public class ConvPoolFusionTests
{
    private static IEnumerable<string> FusedNames() => ConvPoolFusion.All.Select(e => e.Name);

    private static bool AnyFusedSupported => ConvPoolFusion.All.Any(e => e.IsSupported());

    [TestCaseSource(nameof(FusedNames))]
    public void FusedVariantMatchesReferenceConvThenMaxPool(string name)
    {
        var variant = ConvPoolFusion.All.Single(e => e.Name == name);
        if (!variant.IsSupported()) Assert.Ignore($"{name} is not supported on this CPU ({CpuFeatures.Describe()})");
        var outcome = KernelSelfTest.CheckFused(variant);
        Assert.That(outcome.Failure, Is.Null);
        // Every pair is a 3x3 stride-1 Conv the Winograd kernels compute; the first-layer kernel takes up to 64 input channels.
        int channelLimit = name.StartsWith("DirectConv3x3", StringComparison.Ordinal) ? ConvInt8DirectVnni.MaxInChannels : ConvInt8Winograd.MaxInChannels;
        int expected = KernelCases.ConvPoolPairs().Count(k => k.Graph.Tensors[k.Graph.Ops[0].Inputs[0]].Shape[1] <= channelLimit);
        Assert.That(expected, Is.GreaterThanOrEqualTo(KernelCases.ConvPoolPairs().Count - 1));
        Assert.That(outcome.Cases, Is.EqualTo(expected));
    }

    [Test]
    public void CasesHoldLeftShiftsBatchesAndSmallMaps()
    {
        var cases = KernelCases.ConvPoolPairs();
        Assert.That(cases.Any(c => c.Graph.Ops[0].Attributes.GetInts(AttributeKey.OutputShift)!.Any(s => s > 0)), "left-shift multipliers");
        Assert.That(cases.Any(c => c.Graph.Tensors[c.Graph.Inputs[0]].Shape[0] == 2), "a batch of 2");
        Assert.That(cases.Any(c => c.Graph.Tensors[c.Graph.Outputs[0]].ElementCount / c.Graph.Tensors[c.Graph.Outputs[0]].Shape[1] < 16), "maps of fewer than 16 tiles");
        Assert.That(cases.Select(c => c.Graph.Tensors[c.Graph.Inputs[0]].Shape[1]).Distinct().Count(), Is.GreaterThan(10), "many input channel counts");
    }

    /// <summary>The comparison must catch a fused kernel that pools the wrong pixels.</summary>
    [Test]
    public void ComparisonCatchesAWrongPooledValue()
    {
        var c = KernelCases.ConvPoolPairs()[0];
        var wrong = new FusedConvPoolEntry("TopLeftPixel", Isa.Scalar, (conv, pool) => new TopLeftPixelKernel(conv, pool), _ => true);
        var conv = KernelRegistry.Reference(OpType.Conv, DataType.Int8);
        var pool = KernelRegistry.Reference(OpType.MaxPool, DataType.Int8);
        Assert.That(KernelSelfTest.CompareFused(wrong, conv, pool, c), Does.Contain("element"));
    }

    [Test]
    public void GestureModelFusesEveryConvPoolPairAndGivesTheReferenceBytes()
    {
        if (!AnyFusedSupported) Assert.Ignore($"no fused Conv + MaxPool variant on this CPU ({CpuFeatures.Describe()})");
        var model = Model.Load(Path.Combine(RepoPaths.GestureModel, "model.enet"));
        var calibration = NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "calibration.npy"));
        using var fused = model.CreateSession();
        using var reference = model.CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        using var threaded = model.CreateSession(new SessionOptions { Threads = 2 });
        var ops = model.Graph.Ops;
        for (int i = 0; i < ops.Count; i++)
        {
            if (ops[i].Type != OpType.MaxPool) continue;
            Assert.That(fused.KernelNames[i], Is.EqualTo($"MaxPool2dInt8 (fused into #{i - 1})"));
            Assert.That(fused.KernelNames[i - 1], Does.Contain("MaxPool2x2"));
            Assert.That(threaded.KernelNames[i], Is.EqualTo(fused.KernelNames[i]));
            Assert.That(reference.KernelNames[i], Is.EqualTo("MaxPool2dInt8_Reference"));
        }
        var output = new float[10];
        for (int i = 0; i < 16; i++)
        {
            var sample = calibration.Sample(i);
            reference.Run(sample, output);
            fused.Run(sample, output);
            threaded.Run(sample, output);
            var expected = reference.GetTensorBytes(model.Graph.Outputs[0]).ToArray();
            Assert.That(fused.GetTensorBytes(model.Graph.Outputs[0]).ToArray(), Is.EqualTo(expected), $"sample {i}");
            Assert.That(threaded.GetTensorBytes(model.Graph.Outputs[0]).ToArray(), Is.EqualTo(expected), $"sample {i}, 2 threads");
        }
    }

    [Test]
    public void FusedThreadedGestureRunsAllocateNothing()
    {
        var model = Model.Load(Path.Combine(RepoPaths.GestureModel, "model.enet"));
        var input = NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "calibration.npy")).Sample(0);
        using var session = model.CreateSession(new SessionOptions { Threads = 2 });
        var output = new float[10];
        var warmup = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 50 || warmup.ElapsedMilliseconds < 1500; i++) session.Run(input, output);
        long before = GC.GetAllocatedBytesForCurrentThread();
        long beforeWorkers = session.WorkerAllocatedBytes;
        for (int i = 0; i < 1000; i++) session.Run(input, output);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "the calling thread allocates nothing");
        Assert.That(session.WorkerAllocatedBytes - beforeWorkers, Is.Zero, "the worker threads allocate nothing");
        if (AnyFusedSupported) Assert.That(session.KernelNames.Count(n => n.Contains("(fused into", StringComparison.Ordinal)), Is.EqualTo(3));
    }

    /// <summary>
    /// Pairs big enough to split across threads: the fused kernel's split (Winograd: by output channels; the
    /// first-layer direct kernel, few input channels: by row pairs) gives the reference bytes.
    /// </summary>
    [TestCase("Conv int8 [1,24,20,20]", "WinogradConv3x3MaxPool2x2Int8_")]
    [TestCase("Conv int8 [1,3,64,64]", "DirectConv3x3MaxPool2x2Int8_AvxVnni")]
    public void FusedPairSplitAcrossThreadsGivesTheReferenceBytes(string casePrefix, string kernelPrefix)
    {
        bool direct = kernelPrefix.StartsWith("Direct", StringComparison.Ordinal);
        if (direct ? !System.Runtime.Intrinsics.X86.AvxVnni.IsSupported : !AnyFusedSupported)
            Assert.Ignore($"{kernelPrefix} is not supported on this CPU ({CpuFeatures.Describe()})");
        var c = KernelCases.ConvPoolPairs().First(k => k.Description.StartsWith(casePrefix, StringComparison.Ordinal));
        var model = Model.Load(EnetWriter.Write(c.Graph));
        using var threaded = model.CreateSession(new SessionOptions { Threads = 2 });
        Assert.That(threaded.KernelNames[0], Does.StartWith(kernelPrefix));
        bool split = direct ? threaded.Kernels.OfType<ConvInt8DirectVnni>().Single().IsParallel : threaded.Kernels.OfType<ConvInt8Winograd>().Single().IsParallel;
        Assert.That(split, Is.True, "the layer is split");
        Assert.That(threaded.KernelNames[1], Is.EqualTo("MaxPool2dInt8 (fused into #0)"));
        Assert.That(Run(threaded, c), Is.EqualTo(RunReference(c)));
    }

    [Test]
    public void ConvOutputWithASecondReaderIsNotFused()
    {
        var c = KernelCases.ConvPoolPairs()[1];
        var g = c.Graph;
        int y = g.Ops[0].Outputs[0];
        var shape = g.Tensors[y].Shape;
        var second = new TensorInfo("second", DataType.Int8, [shape[0], shape[1], shape[2] / 2, shape[3] / 2], TensorKind.Activation)
        {
            Offset = g.ArenaBytes,
            Quantization = g.Tensors[y].Quantization,
        };
        g.ArenaBytes = EnetFormat.AlignUp(g.ArenaBytes + second.ByteLength);
        int secondId = g.AddTensor(second);
        g.Outputs.Add(secondId);
        g.Ops.Add(new OpInfo(OpType.MaxPool, "second_pool", [y], [secondId], g.Ops[1].Attributes));
        AssertUnfusedAndExact(c, g.Outputs);
    }

    [Test]
    public void ConvOutputThatIsAGraphOutputIsNotFused()
    {
        var c = KernelCases.ConvPoolPairs()[2];
        c.Graph.Outputs.Add(c.Graph.Ops[0].Outputs[0]);
        AssertUnfusedAndExact(c, c.Graph.Outputs);
    }

    /// <summary>
    /// The memory plan may give the pool's output the bytes of the Conv's input (dead once the Conv has run): fused with
    /// one image (the kernel reads the whole image first), not with two.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    public void PooledOutputSharingTheConvInputFusesOnlyForOneImage(int images)
    {
        if (!AnyFusedSupported) Assert.Ignore("no fused Conv + MaxPool variant on this CPU");
        var c = KernelCases.ConvPoolPairs().First(k => k.Graph.Tensors[k.Graph.Inputs[0]].Shape[0] == images
            && k.Graph.Tensors[k.Graph.Outputs[0]].ByteLength <= k.Graph.Tensors[k.Graph.Inputs[0]].ByteLength
            && ConvPoolFusion.All.Any(e => e.IsSupported() && e.IsExact(new KernelSetup(k.Graph, k.Graph.Ops[0]))
                && SelectionPolicies.IsPreferred(e.Name, new KernelSetup(k.Graph, k.Graph.Ops[0]))));
        var g = c.Graph;
        g.Tensors[g.Outputs[0]].Offset = g.Tensors[g.Inputs[0]].Offset;
        g.ArenaBytes = GraphValidator.PlannedArenaBytes(g); // the output's old bytes are no longer needed
        var model = Model.Load(EnetWriter.Write(g));
        using var session = model.CreateSession();
        Assert.That(session.KernelNames[1].Contains("fused", StringComparison.Ordinal), Is.EqualTo(images == 1));
        // The reference runs the same plan: the pool overwrites the (dead) input.
        using var reference = model.CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        Assert.That(Run(session, c), Is.EqualTo(Run(reference, c)));
    }

    private static void AssertUnfusedAndExact(KernelCase c, List<int> outputs)
    {
        var model = Model.Load(EnetWriter.Write(c.Graph));
        using var session = model.CreateSession();
        using var reference = model.CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        Assert.That(session.KernelNames.Any(n => n.Contains("fused", StringComparison.Ordinal) || n.Contains("MaxPool2x2", StringComparison.Ordinal)), Is.False,
            string.Join(", ", session.KernelNames));
        Run(session, c);
        Run(reference, c);
        foreach (int output in outputs)
            Assert.That(session.GetTensorBytes(output).ToArray(), Is.EqualTo(reference.GetTensorBytes(output).ToArray()));
    }

    internal static byte[] RunReference(KernelCase c)
    {
        using var reference = Model.Load(EnetWriter.Write(c.Graph)).CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        return Run(reference, c);
    }

    /// <summary>The case's inputs into the session, two runs, the first output's bytes.</summary>
    internal static byte[] Run(Session session, KernelCase c)
    {
        var g = session.Model.Graph;
        foreach (var (tensor, bytes) in c.Inputs) bytes.CopyTo(session.GetInputBytes(g.Inputs.IndexOf(tensor)));
        session.Invoke();
        session.Invoke();
        return session.GetTensorBytes(g.Outputs[0]).ToArray();
    }

    /// <summary>The reference Conv, then each window's top-left pixel instead of its largest.</summary>
    private sealed class TopLeftPixelKernel(KernelSetup conv, KernelSetup pool) : OpKernel
    {
        private readonly OpKernel _reference = KernelRegistry.Reference(OpType.Conv, DataType.Int8).Create(conv);
        private readonly int _y = conv.OutputId(0), _pooled = pool.OutputId(0);
        public override string Name => "TopLeftPixel";

        public override void Run(TensorMemory memory)
        {
            _reference.Run(memory);
            var y = memory.Read<sbyte>(_y);
            var pooled = memory.Write<sbyte>(_pooled);
            var shape = conv.Output(0).Shape;
            int h = shape[2], w = shape[3], o = 0;
            for (int plane = 0; plane < shape[0] * shape[1]; plane++)
                for (int i = 0; i < h / 2; i++)
                    for (int j = 0; j < w / 2; j++)
                        pooled[o++] = y[plane * h * w + 2 * i * w + 2 * j];
        }
    }
}
