using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Kernels.Selection;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>
/// Conv + LookupTable and Conv + residual Add in the Conv kernel's epilogue: each fused variant against the reference
/// Conv then the reference operator, bit for bit; sessions fuse only where the graph and the memory plan allow it.
/// </summary>
[TestFixture]
public class ConvEpilogueFusionTests
{
    private static IEnumerable<string> FusedNames() => ConvEpilogueFusion.All.Select(e => e.Name);

    // The epilogue variants are not preferred by default (they measured slower); these tests exercise the fusion path.
    [OneTimeSetUp]
    public void PreferEpilogues() => ConvSelection.PreferEpilogues = true;

    [OneTimeTearDown]
    public void RestoreSelection() => ConvSelection.PreferEpilogues = false;

    private static bool AnyFusedSupported => ConvEpilogueFusion.All.Any(e => e.IsSupported());

    [TestCaseSource(nameof(FusedNames))]
    public void FusedVariantMatchesReferenceConvThenOperator(string name)
    {
        var variant = ConvEpilogueFusion.All.Single(e => e.Name == name);
        if (!variant.IsSupported()) Assert.Ignore($"{name} is not supported on this CPU ({CpuFeatures.Describe()})");
        var outcome = KernelSelfTest.CheckFused(variant);
        Assert.That(outcome.Failure, Is.Null);
        Assert.That(outcome.Cases, Is.EqualTo(KernelCases.ConvEpiloguePairs().Count), "every pair has one group");
    }

    [Test]
    public void CasesHoldBothOperatorsBothAddOrdersTailsAndBatches()
    {
        var cases = KernelCases.ConvEpiloguePairs();
        Assert.That(cases.Count(c => c.Graph.Ops[1].Type == OpType.LookupTable), Is.GreaterThanOrEqualTo(10));
        var adds = cases.Where(c => c.Graph.Ops[1].Type == OpType.Add).ToList();
        Assert.That(adds.Any(c => c.Graph.Ops[1].Inputs[0] == c.Graph.Ops[0].Outputs[0]), "the Conv as the Add's first operand");
        Assert.That(adds.Any(c => c.Graph.Ops[1].Inputs[1] == c.Graph.Ops[0].Outputs[0]), "the Conv as the Add's second operand");
        Assert.That(cases.Any(c => c.Graph.Tensors[c.Graph.Inputs[0]].Shape[0] == 2), "a batch of 2");
        Assert.That(cases.Any(c => c.Graph.Tensors[c.Graph.Outputs[0]].ElementCount / c.Graph.Tensors[c.Graph.Outputs[0]].Shape[1] % 8 != 0), "pixel tails");
        Assert.That(cases.All(c => ConvEpilogueFusion.Fuses(new KernelSetup(c.Graph, c.Graph.Ops[0]), new KernelSetup(c.Graph, c.Graph.Ops[1]))));
    }

    /// <summary>The comparison must catch a fused kernel that stores the Conv's values without the operator.</summary>
    [Test]
    public void ComparisonCatchesAnOmittedEpilogue()
    {
        var conv = KernelRegistry.Reference(OpType.Conv, DataType.Int8);
        foreach (var c in KernelCases.ConvEpiloguePairs().Take(2))
        {
            var wrong = new FusedConvPoolEntry("StoreOnly", Isa.Scalar, (s, consumer) => new StoreOnlyKernel(s, consumer), _ => true, epilogue: true);
            var second = KernelRegistry.Reference(c.Graph.Ops[1].Type, DataType.Int8);
            Assert.That(KernelSelfTest.CompareFused(wrong, conv, second, c), Does.Contain("element"), c.Description);
        }
    }

    [TestCase(OpType.LookupTable)]
    [TestCase(OpType.Add)]
    public void SessionFusesAndGivesTheReferenceBytes(OpType op)
    {
        if (!AnyFusedSupported) Assert.Ignore($"no Conv epilogue variant on this CPU ({CpuFeatures.Describe()})");
        var c = KernelCases.ConvEpiloguePairs().First(k => k.Graph.Ops[1].Type == op);
        var model = Model.Load(EnetWriter.Write(c.Graph));
        using var session = model.CreateSession();
        using var threaded = model.CreateSession(new SessionOptions { Threads = 2 });
        Assert.That(session.KernelNames[0], Does.StartWith("Conv2dEpilogueInt8_"));
        Assert.That(session.KernelNames[1], Is.EqualTo($"{op}Int8 (fused into #0)"));
        var expected = ConvPoolFusionTests.RunReference(c);
        Assert.That(ConvPoolFusionTests.Run(session, c), Is.EqualTo(expected));
        Assert.That(ConvPoolFusionTests.Run(threaded, c), Is.EqualTo(expected));
        long before = GC.GetAllocatedBytesForCurrentThread();
        session.Invoke();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void ConvOutputWithASecondReaderIsNotFused()
    {
        var c = KernelCases.ConvEpiloguePairs().First(k => k.Graph.Ops[1].Type == OpType.LookupTable);
        var g = c.Graph;
        int y = g.Ops[0].Outputs[0];
        var second = new TensorInfo("second", DataType.Int8, g.Tensors[y].Shape, TensorKind.Activation)
        {
            Offset = g.ArenaBytes,
            Quantization = g.Tensors[g.Outputs[0]].Quantization,
        };
        g.ArenaBytes = EnetFormat.AlignUp(g.ArenaBytes + second.ByteLength);
        int secondId = g.AddTensor(second);
        g.Outputs.Add(secondId);
        g.Ops.Add(new OpInfo(OpType.LookupTable, "second_table", [y, g.Ops[1].Inputs[1]], [secondId], g.Ops[1].Attributes));
        var model = Model.Load(EnetWriter.Write(g));
        using var session = model.CreateSession();
        Assert.That(session.KernelNames.Any(n => n.Contains("fused", StringComparison.Ordinal) || n.Contains("Epilogue", StringComparison.Ordinal)), Is.False,
            string.Join(", ", session.KernelNames));
        using var reference = model.CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        ConvPoolFusionTests.Run(session, c);
        ConvPoolFusionTests.Run(reference, c);
        foreach (int output in g.Outputs)
            Assert.That(session.GetTensorBytes(output).ToArray(), Is.EqualTo(reference.GetTensorBytes(output).ToArray()));
    }

    /// <summary>
    /// The memory plan may give the Add's output the Conv input's bytes (dead once the Conv has run): fused with one
    /// image (the kernel reads the whole image first), not with two.
    /// </summary>
    [TestCase(1, true)]
    [TestCase(2, false)]
    public void OutputSharingTheConvInputFusesOnlyForOneImage(int images, bool fuses)
    {
        if (!AnyFusedSupported) Assert.Ignore($"no Conv epilogue variant on this CPU ({CpuFeatures.Describe()})");
        var c = KernelCases.ConvEpiloguePairs().First(k => k.Graph.Ops[1].Type == OpType.Add
            && k.Graph.Tensors[k.Graph.Inputs[0]].Shape[0] == images
            && k.Graph.Tensors[k.Graph.Outputs[0]].ByteLength <= k.Graph.Tensors[k.Graph.Inputs[0]].ByteLength
            && SelectionPolicies.IsPreferred(ConvEpilogueFusion.All[0].Name, new KernelSetup(k.Graph, k.Graph.Ops[0])));
        var g = c.Graph;
        g.Tensors[g.Outputs[0]].Offset = g.Tensors[g.Ops[0].Inputs[0]].Offset;
        g.ArenaBytes = GraphValidator.PlannedArenaBytes(g);
        var model = Model.Load(EnetWriter.Write(g));
        using var session = model.CreateSession();
        Assert.That(session.KernelNames[1].Contains("fused", StringComparison.Ordinal), Is.EqualTo(fuses), string.Join(", ", session.KernelNames));
        using var reference = model.CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        Assert.That(ConvPoolFusionTests.Run(session, c), Is.EqualTo(ConvPoolFusionTests.Run(reference, c)));
    }

    /// <summary>The reference Conv, its values copied to the operator's output as they are.</summary>
    private sealed class StoreOnlyKernel(KernelSetup conv, KernelSetup consumer) : OpKernel
    {
        private readonly OpKernel _reference = KernelRegistry.Reference(OpType.Conv, DataType.Int8).Create(conv);
        private readonly int _y = conv.OutputId(0), _z = consumer.OutputId(0);
        public override string Name => "StoreOnly";

        public override void Run(TensorMemory memory)
        {
            _reference.Run(memory);
            memory.Read<sbyte>(_y).CopyTo(memory.Write<sbyte>(_z));
        }
    }
}
