using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Kernels.Selection;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Runtime.Quantization;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>
/// Every optimized kernel variant against the scalar reference of its operator: identical output bytes on seeded
/// random cases (tails 0..67, broadcasts, int8 extremes, float specials), and dispatch that really picks the variants.
/// Run once more with DOTNET_EnableAVX2=0 (and DOTNET_EnableHWIntrinsic=0) so the narrower paths are checked too.
/// </summary>
[TestFixture]
public class VariantBitExactTests
{
    private static IEnumerable<string> VariantNames() => KernelRegistry.All.Where(e => !e.IsReference).Select(e => e.Name);

    private static KernelEntry Entry(string name) => KernelRegistry.All.Single(e => e.Name == name);

    [TestCaseSource(nameof(VariantNames))]
    public void VariantMatchesReferenceBitForBit(string name)
    {
        var variant = Entry(name);
        if (!variant.IsSupported()) Assert.Ignore($"{name} is not supported on this CPU ({CpuFeatures.Describe()})");
        var reference = KernelSelfTest.ReferenceFor(variant);
        Assert.That(reference, Is.Not.Null, $"no reference kernel for {variant.Op} {variant.Type}");
        Assert.That(KernelCases.Covers(variant.Op, variant.Type), $"no test cases for {variant.Op} {variant.Type}");

        var failures = new List<string>();
        int accepted = 0;
        // Three thread parts: uneven splits.
        using var workers = new WorkerPool(2);
        foreach (var c in KernelCases.For(variant.Op, variant.Type))
        {
            if (!variant.IsExact(new KernelSetup(c.Graph, c.Op))) continue;
            accepted++;
            string? mismatch = KernelSelfTest.Compare(variant, reference!, c) ?? KernelSelfTest.Compare(variant, reference!, c, workers, out _);
            if (mismatch != null) failures.Add($"{c.Description}: {mismatch}");
        }
        Assert.That(accepted, Is.GreaterThan(0), $"{name} accepted none of the cases");
        Assert.That(failures, Is.Empty, $"{name} differs from {reference!.Name}");
    }

    [Test]
    public void CasesCoverTailsAndTheCasesThatVariantsDecline()
    {
        var cases = KernelCases.For(OpType.Add, DataType.Int8);
        var lengths = cases.Where(c => c.Graph.Tensors[c.Op.Outputs[0]].Rank == 1).Select(c => c.Graph.Tensors[c.Op.Outputs[0]].ElementCount).ToHashSet();
        Assert.That(Enumerable.Range(0, 68).All(lengths.Contains), "same-shape lengths 0..67 are all generated");
        var variant = Entry("AddInt8_Vector128");
        Assert.That(cases.Any(c => !variant.IsExact(new KernelSetup(c.Graph, c.Op)) || !SelectionPolicies.IsPreferred(variant.Name, new KernelSetup(c.Graph, c.Op))),
            "some cases exercise the declined (reference) path");
        Assert.That(KernelCases.For(OpType.Add, DataType.Int8).Select(c => c.Description), Is.EqualTo(cases.Select(c => c.Description)), "fixed seed");
    }

    /// <summary>The comparison must catch a variant that leaves one output element unwritten or gets one wrong.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public void ComparisonCatchesABrokenVariant(bool skipLast)
    {
        var broken = KernelEntry.Variant("AddInt8_Broken", OpType.Add, DataType.Int8, Isa.Scalar, s => new BrokenAddKernel(s, skipLast));
        var reference = KernelSelfTest.ReferenceFor(broken)!;
        var c = KernelCases.For(OpType.Add, DataType.Int8).First(k => k.Graph.Tensors[k.Op.Outputs[0]].ElementCount == 37);
        Assert.That(KernelSelfTest.Compare(broken, reference, c), Does.Contain("element 36"));
    }

    /// <summary>Runs the reference, then changes the last element (or restores the sentinel there).</summary>
    private sealed class BrokenAddKernel(KernelSetup s, bool skipLast) : OpKernel
    {
        private readonly OpKernel _inner = KernelSelfTest.ReferenceFor(Entry("AddInt8_Vector128"))!.Create(s);
        private readonly int _y = s.OutputId(0);
        public override string Name => "AddInt8_Broken";

        public override void Run(TensorMemory memory)
        {
            var y = memory.Bytes(_y);
            byte sentinel = y[^1];
            _inner.Run(memory);
            y[^1] = skipLast ? sentinel : (byte)(y[^1] ^ 1);
        }
    }

    /// <summary>
    /// Practice 3: every optimized variant stands in exactly one operator policy (none is registered and unreachable, none
    /// named that is not registered), and fused candidates name fused variants.
    /// </summary>
    [Test]
    public void EveryVariantHasOnePlaceInItsOperatorsPolicy()
    {
        foreach (var variant in KernelRegistry.All.Where(e => !e.IsReference))
        {
            var holders = SelectionPolicies.All.Where(p => p.Order.Any(c => !c.Fused && c.Variant == variant.Name)).ToList();
            Assert.That(holders, Has.Count.EqualTo(1), $"{variant.Name} is in {holders.Count} policies");
            Assert.That((holders[0].Op, holders[0].Type), Is.EqualTo((variant.Op, variant.Type)), $"{variant.Name} is in the policy of another operator");
        }
        foreach (var fused in ConvPoolFusion.All.Concat(ConvEpilogueFusion.All))
            Assert.That(SelectionPolicies.For(OpType.Conv, DataType.Int8)!.Order.Count(c => c.Fused && c.Variant == fused.Name), Is.EqualTo(1), fused.Name);
        foreach (var policy in SelectionPolicies.All)
            foreach (var c in policy.Order)
            {
                bool registered = c.Fused ? ConvPoolFusion.Find(c.Variant) != null : KernelRegistry.Find(c.Variant) is { } e && e.Op == policy.Op && e.Type == policy.Type;
                Assert.That(registered, $"{policy.Op} {policy.Type}: candidate {c.Variant} is not a registered variant of it");
                Assert.That(c.Why, Is.Not.Empty, c.Variant);
            }
    }

    /// <summary>
    /// Practice 3: for every case, dispatch takes the first candidate of the operator's policy that is supported, exact
    /// and preferred, so a supported variant is never silently replaced by the reference; and the first candidate this
    /// CPU supports is picked for some case.
    /// </summary>
    [Test]
    public void DispatchPicksEveryVariantForTheCasesItIsPreferredFor()
    {
        foreach (var policy in SelectionPolicies.All)
        {
            var plain = policy.Order.Where(c => !c.Fused).Select(c => KernelRegistry.Find(c.Variant)!).ToList();
            if (!plain.Any(e => e.IsSupported()) || !KernelCases.Covers(policy.Op, policy.Type)) continue;
            var picked = new HashSet<string>();
            foreach (var c in KernelCases.For(policy.Op, policy.Type))
            {
                var setup = new KernelSetup(c.Graph, c.Op);
                var claimants = plain.Where(e => e.IsSupported() && e.IsExact(setup) && SelectionPolicies.IsPreferred(e.Name, setup)).ToList();
                var selected = KernelRegistry.Select(c.Op, c.Graph);
                string expected = claimants.Count > 0 ? claimants[0].Name : KernelRegistry.Reference(policy.Op, policy.Type).Name;
                Assert.That(selected.Name, Is.EqualTo(expected), $"{c.Description}: selected {selected.Name}, claimed by {string.Join(", ", claimants.Select(e => e.Name))}");
                picked.Add(selected.Name);
            }
            var first = plain.First(e => e.IsSupported());
            Assert.That(picked, Does.Contain(first.Name), $"{first.Name}, the first candidate this CPU supports, is never selected");
        }
    }

    /// <summary>The session, loaded from a written model file, runs the variant that dispatch picks, gets the reference session's bytes, and allocates nothing per run.</summary>
    [TestCaseSource(nameof(VariantNames))]
    public void SessionRunsTheSelectedVariant(string name)
    {
        var variant = Entry(name);
        if (!variant.IsSupported()) Assert.Ignore($"{name} is not supported on this CPU");
        var c = KernelCases.For(variant.Op, variant.Type)
            .FirstOrDefault(k => k.Graph.Tensors[k.Op.Outputs[0]].ElementCount >= 40 && KernelRegistry.Select(k.Op, k.Graph).Name == name);
        if (c == null)
        {
            var earlier = SelectionPolicies.For(variant.Op, variant.Type)!.Order.TakeWhile(k => k.Variant != name);
            Assert.That(earlier.Any(k => !k.Fused && KernelRegistry.Find(k.Variant)!.IsSupported()),
                $"{name} is never selected although no earlier candidate of its policy is supported");
            Assert.Ignore($"{name} is shadowed by an earlier candidate of its policy on this CPU");
        }
        var model = Model.Load(EnetWriter.Write(c!.Graph));
        using var fast = model.CreateSession(new SessionOptions());
        using var reference = model.CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        Assert.That(fast.KernelNames, Is.EqualTo(new[] { name }));
        var outputs = new List<byte[]>();
        foreach (var session in new[] { fast, reference })
        {
            var g = model.Graph;
            foreach (var (tensor, bytes) in c.Inputs) bytes.CopyTo(session.GetInputBytes(g.Inputs.IndexOf(tensor)));
            session.Invoke();
            outputs.Add(session.GetTensorBytes(g.Outputs[0]).ToArray());
        }
        Assert.That(outputs[0], Is.EqualTo(outputs[1]));

        long before = GC.GetAllocatedBytesForCurrentThread();
        fast.Invoke();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, $"{name} allocates in Run");
    }

    [Test]
    public void SelfTestPassesAndReportsEveryVariant()
    {
        var log = new StringWriter();
        var result = KernelSelfTest.Run(log);
        string text = log.ToString();
        TestContext.Out.WriteLine(text);
        Assert.That(text, Does.StartWith($"CPU features: {CpuFeatures.Describe()}"));
        var fused = ConvPoolFusion.All.Concat(ConvEpilogueFusion.All).Select(e => e.Name).ToList();
        foreach (var name in VariantNames().Concat(fused)) Assert.That(text, Does.Contain($"  {name}: "));
        Assert.That(result.Failed, Is.EqualTo(0), text);
        Assert.That(result.Passed + result.Skipped, Is.EqualTo(VariantNames().Count() + fused.Count));
        Assert.That(text.TrimEnd(), Does.EndWith($"{result.Passed} passed, 0 failed"));
    }

    /// <summary>The vector fixed-point rescale against the scalar one on edge and random inputs, every accepted shift.</summary>
    [Test]
    public void VectorMultiplyByQuantizedMultiplierMatchesScalar()
    {
        if (!Sse41.IsSupported) Assert.Ignore("needs SSE4.1 on this x86 test machine");
        var rng = new Random(77);
        int[] edges = [int.MinValue, int.MinValue + 1, -(1 << 30) - 1, -(1 << 30), -(1 << 30) + 1, -65536, -2, -1, 0, 1, 2, 65535, 1 << 30, int.MaxValue - 1, int.MaxValue];
        int[] multipliers = [0, 1, 1 << 30, (1 << 30) + 1, int.MaxValue - 1, int.MaxValue, rng.Next(), rng.Next()];
        var xs = edges.Concat(Enumerable.Range(0, 200).Select(_ => rng.Next(int.MinValue, int.MaxValue))).ToArray();
        int checkedCount = 0;
        for (int shift = -31; shift <= 30; shift++)
            foreach (int m in multipliers)
                for (int i = 0; i + 8 <= xs.Length; i += 8)
                {
                    var x128 = Vector128.Create(xs.AsSpan(i, 4));
                    var y128 = Requantization.MultiplyByQuantizedMultiplier(x128, m, shift);
                    for (int k = 0; k < 4; k++)
                        Assert.That(y128[k], Is.EqualTo(FixedPoint.MultiplyByQuantizedMultiplier(xs[i + k], m, shift)), $"x={xs[i + k]} m={m} shift={shift} (Vector128)");
                    if (Avx2.IsSupported)
                    {
                        var y256 = Requantization.MultiplyByQuantizedMultiplier(Vector256.Create(xs.AsSpan(i, 8)), m, shift);
                        for (int k = 0; k < 8; k++)
                            Assert.That(y256[k], Is.EqualTo(FixedPoint.MultiplyByQuantizedMultiplier(xs[i + k], m, shift)), $"x={xs[i + k]} m={m} shift={shift} (Vector256)");
                    }
                    if (Avx512F.IsSupported && i + 16 <= xs.Length)
                    {
                        var y512 = Requantization.MultiplyByQuantizedMultiplier(Vector512.Create(xs.AsSpan(i, 16)), m, shift);
                        for (int k = 0; k < 16; k++)
                            Assert.That(y512[k], Is.EqualTo(FixedPoint.MultiplyByQuantizedMultiplier(xs[i + k], m, shift)), $"x={xs[i + k]} m={m} shift={shift} (Vector512)");
                    }
                    checkedCount++;
                }
        Assert.That(checkedCount, Is.GreaterThan(1000));
    }

    /// <summary>
    /// The rescale at exact rounding ties of its second step, both signs: with m = 2^30 the high multiply gives
    /// q = ⌊(x + 1) / 2⌋, so x = 2·(j·2^e ± 2^(e−1)) + {−1, 0, 1} puts q at a tie of the division by 2^e or next to it.
    /// </summary>
    [Test]
    public void VectorRescaleRoundsTiesLikeTheScalarRoutine()
    {
        if (!Sse41.IsSupported) Assert.Ignore("needs SSE4.1 on this x86 test machine");
        const int m = 1 << 30;
        int checkedCount = 0;
        for (int e = 1; e <= 29; e++)
        {
            var xs = new List<int>();
            foreach (long j in new long[] { 0, 1, 3, 1000, (1L << (29 - e)) - 1 })
                foreach (int sign in new[] { 1, -1 })
                    foreach (int delta in new[] { -1, 0, 1 })
                    {
                        long x = sign * 2 * (j * (1L << e) + (1L << (e - 1))) + delta;
                        if (x >= int.MinValue && x <= int.MaxValue) xs.Add((int)x);
                    }
            while (xs.Count % 16 != 0) xs.Add(xs[xs.Count % 7]);
            for (int i = 0; i < xs.Count; i += 16)
            {
                var expected = xs.Skip(i).Take(16).Select(x => FixedPoint.MultiplyByQuantizedMultiplier(x, m, -e)).ToArray();
                for (int k = 0; k < 16; k += 4)
                    Assert.That(Enumerable.Range(0, 4).Select(l => Requantization.MultiplyByQuantizedMultiplier(Vector128.Create(xs.GetRange(i + k, 4).ToArray()), m, -e)[l]),
                        Is.EqualTo(expected.Skip(k).Take(4)), $"e={e} (Vector128)");
                if (Avx2.IsSupported)
                    for (int k = 0; k < 16; k += 8)
                        Assert.That(Enumerable.Range(0, 8).Select(l => Requantization.MultiplyByQuantizedMultiplier(Vector256.Create(xs.GetRange(i + k, 8).ToArray()), m, -e)[l]),
                            Is.EqualTo(expected.Skip(k).Take(8)), $"e={e} (Vector256)");
                if (Avx512F.IsSupported)
                    Assert.That(Enumerable.Range(0, 16).Select(l => Requantization.MultiplyByQuantizedMultiplier(Vector512.Create(xs.GetRange(i, 16).ToArray()), m, -e)[l]),
                        Is.EqualTo(expected), $"e={e} (Vector512)");
                checkedCount += 16;
            }
        }
        Assert.That(checkedCount, Is.GreaterThan(500));
    }
}
