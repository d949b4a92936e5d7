using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Kernels.Selection;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>
/// The int8 Conv/Gemm variants beyond the per-case bit-exactness check: the cases reach every shape family the
/// variants special-case, each family goes to the variant meant for it, and a whole model gives the reference's bytes.
/// </summary>
[TestFixture]
public class Int8ConvGemmVariantTests
{
    private static KernelEntry Entry(string name) => KernelRegistry.All.Single(e => e.Name == name);

    [Test]
    public void ConvCasesReachEveryShapeFamily()
    {
        var cases = KernelCases.For(OpType.Conv, DataType.Int8);
        var gemmVariant = Entry("Conv2dInt8_Vector128");
        var depthwiseVariant = Entry("DepthwiseConv2dInt8_Vector128");
        int depthwise = 0, gemmShaped = 0;
        foreach (var c in cases)
        {
            var setup = new KernelSetup(c.Graph, c.Op);
            bool byGemm = gemmVariant.IsExact(setup), byDepthwise = depthwiseVariant.IsExact(setup);
            Assert.That(byGemm ^ byDepthwise, $"{c.Description}: exactly one int8 Conv family takes it");
            if (byDepthwise) depthwise++;
            else gemmShaped++;
        }
        Assert.That(depthwise, Is.GreaterThanOrEqualTo(2));
        Assert.That(gemmShaped, Is.GreaterThanOrEqualTo(15));
        string all = string.Join("\n", cases.Select(c => c.Description));
        foreach (var family in new[] { "kernel [1,1]", "strides [2,2]", "dilations [2,2]", "group 2", "kernel [5]", "zx=-128", "zx=127", "bias near int32 ends", "raw multiplier" })
            Assert.That(all, Does.Contain(family), $"no Conv case with {family}");
    }

    [Test]
    public void MalformedConvIsDeclinedNotThrown()
    {
        var c = KernelCases.For(OpType.Conv, DataType.Int8)[0];
        var op = new OpInfo(OpType.Conv, "bad", [c.Op.Inputs[0]], c.Op.Outputs, c.Op.Attributes);
        foreach (var name in new[] { "Conv2dInt8_Vector128", "DepthwiseConv2dInt8_Vector128", "GemmInt8_Vector128" })
            Assert.That(Entry(name).IsExact(new KernelSetup(c.Graph, op)), Is.False, name);
    }

    /// <summary>
    /// The Winograd variants on every Conv case they can compute, including those the registry leaves to the direct
    /// kernels for speed (1x1 and 3x5 maps, few channels): each gives the reference's bytes.
    /// </summary>
    [TestCase("WinogradConv3x3Int8_Avx512")]
    [TestCase("WinogradConv3x3Int8_Avx2")]
    [TestCase("WinogradConv3x3Int8_Vector128")]
    public void WinogradMatchesReferenceOnEveryValidCase(string name)
    {
        var variant = Entry(name);
        if (!variant.IsSupported()) Assert.Ignore($"{name} is not supported on this CPU ({CpuFeatures.Describe()})");
        var reference = KernelSelfTest.ReferenceFor(variant)!;
        var failures = new List<string>();
        int valid = 0, chosen = 0;
        var descriptions = new List<string>();
        foreach (var c in KernelCases.For(OpType.Conv, DataType.Int8))
        {
            var setup = new KernelSetup(c.Graph, c.Op);
            if (!ConvInt8Winograd.IsValid(setup)) continue;
            valid++;
            if (SelectionPolicies.IsPreferred(name, setup)) chosen++;
            descriptions.Add(c.Description);
            string? mismatch = KernelSelfTest.Compare(variant, reference, c);
            if (mismatch != null) failures.Add($"{c.Description}: {mismatch}");
        }
        Assert.That(failures, Is.Empty);
        Assert.That(chosen, Is.GreaterThan(0).And.LessThan(valid), "some valid cases are chosen, some left to the direct kernels");
        string all = string.Join("\n", descriptions);
        foreach (var family in new[] { "[1,1,1,1] -> [1,3,1,1]", "[1,3,3,5]", "[2,16,5,18]", "[1,33,9,7]", "extreme sums", "zx=-128", "zx=127" })
            Assert.That(all, Does.Contain(family), $"no valid Winograd case with {family}");
    }

    /// <summary>
    /// The direct AVX-VNNI Conv on every Conv case it can compute (2-D ones too, which the registry leaves to the
    /// other kernels; odd channel counts, rows past a block, batches, pads, extreme sums): each gives the reference's bytes.
    /// </summary>
    [Test]
    public void DirectVnniMatchesReferenceOnEveryValidCase()
    {
        var variant = Entry("DirectConvInt8_AvxVnni");
        if (!variant.IsSupported()) Assert.Ignore($"no AVX-VNNI on this CPU ({CpuFeatures.Describe()})");
        var reference = KernelSelfTest.ReferenceFor(variant)!;
        var failures = new List<string>();
        int valid = 0, chosen = 0, twoD = 0;
        foreach (var c in KernelCases.For(OpType.Conv, DataType.Int8))
        {
            var setup = new KernelSetup(c.Graph, c.Op);
            if (!ConvInt8DirectVnni.IsValid(setup)) continue;
            valid++;
            if (SelectionPolicies.IsPreferred(variant.Name, setup)) chosen++;
            if (c.Graph.Tensors[c.Op.Inputs[0]].Rank == 4) twoD++;
            string? mismatch = KernelSelfTest.Compare(variant, reference, c);
            if (mismatch != null) failures.Add($"{c.Description}: {mismatch}");
        }
        Assert.That(failures, Is.Empty);
        Assert.That(chosen, Is.GreaterThanOrEqualTo(3), "the 1-D cases the registry gives it");
        Assert.That(twoD, Is.GreaterThan(10), "2-D cases it computes exactly");
        Assert.That(valid, Is.GreaterThan(chosen));
    }

    [Test]
    public void WinogradDeclinesWhatItCannotComputeExactly()
    {
        foreach (var c in KernelCases.For(OpType.Conv, DataType.Int8))
        {
            var weight = c.Graph.Tensors[c.Op.Inputs[1]];
            var setup = new KernelSetup(c.Graph, c.Op);
            bool threeByThree = weight.Rank == 4 && weight.Shape[2] == 3 && weight.Shape[3] == 3;
            var strides = c.Op.Attributes.GetInts(AttributeKey.Strides) ?? [1, 1];
            var dilations = c.Op.Attributes.GetInts(AttributeKey.Dilations) ?? [1, 1];
            bool plain = strides.All(v => v == 1) && dilations.All(v => v == 1) && c.Op.Attributes.GetInt(AttributeKey.Group, 1) == 1;
            Assert.That(ConvInt8Winograd.IsValid(setup), Is.EqualTo(threeByThree && plain), c.Description);
        }
    }

    /// <summary>
    /// The gesture model (three 3x3 Convs, each fused with its MaxPool, two Gemms) on random inputs: the optimized
    /// session's bytes are the reference session's (except the fused Convs' own outputs, which are never written).
    /// </summary>
    [Test]
    public void GestureModelOutputIsByteIdenticalToTheReference()
    {
        var model = Model.Load(Path.Combine(RepoPaths.GestureModel, "model.enet"));
        using var fast = model.CreateSession(new SessionOptions());
        using var reference = model.CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        if (KernelRegistry.All.Any(e => e.Op == OpType.Conv && e.Type == DataType.Int8 && !e.IsReference && e.IsSupported()))
            Assert.That(fast.KernelNames.Count(n => (n.StartsWith("Conv2dInt8_", StringComparison.Ordinal) || n.StartsWith("WinogradConv3x3", StringComparison.Ordinal)
                || n.StartsWith("DirectConv3x3", StringComparison.Ordinal))
                && !n.EndsWith("_Reference", StringComparison.Ordinal)), Is.EqualTo(3), string.Join(", ", fast.KernelNames));
        var graph = model.Graph;
        var rng = new Random(31);
        for (int trial = 0; trial < 5; trial++)
        {
            var input = new byte[fast.GetInputBytes(0).Length];
            rng.NextBytes(input);
            input.CopyTo(fast.GetInputBytes(0));
            input.CopyTo(reference.GetInputBytes(0));
            fast.Invoke();
            reference.Invoke();
            for (int i = 0; i < graph.Ops.Count; i++)
            {
                var op = graph.Ops[i];
                if (fast.KernelNames[i].Contains("MaxPool2x2", StringComparison.Ordinal)) continue;
                Assert.That(fast.GetTensorBytes(op.Outputs[0]).ToArray(), Is.EqualTo(reference.GetTensorBytes(op.Outputs[0]).ToArray()),
                    $"trial {trial}: output of {op}");
            }
        }
    }
}
