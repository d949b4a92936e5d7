using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Tests.Quantization;
using NUnit.Framework;

namespace EdgeNets.Tests.Recurrent;

/// <summary>
/// The optimized LSTM/GRU/RNN variants: the shared kernel cases (which VariantBitExactTests and the self-test run
/// against the reference) reach every option, and streaming sessions with the selected variants give the bytes of a
/// reference-only whole-sequence run.
/// </summary>
[TestFixture]
public class RecurrentVariantTests
{
    private static IEnumerable<TestCaseData> OpsAndTypes()
    {
        foreach (var op in new[] { OpType.Lstm, OpType.Gru, OpType.Rnn })
            foreach (var type in new[] { DataType.Int8, DataType.Float32 })
                yield return new TestCaseData(op, type);
    }

    [TestCaseSource(nameof(OpsAndTypes))]
    public void CasesReachEveryOption(OpType op, DataType type)
    {
        var cases = KernelCases.For(op, type);
        var text = cases.Select(c => c.Description).ToList();
        var required = new List<string> { "forward", "reverse", "bidirectional", "layout 0", "layout 1", "batch 1", "batch 2", "steps 1 ", "clip", "activations", "no bias", "initial_h" };
        if (op == OpType.Lstm) required.AddRange(["peepholes", "input_forget", "initial_c"]);
        if (op == OpType.Gru) required.AddRange(["linear_before_reset 0", "linear_before_reset 1"]);
        if (type == DataType.Int8)
        {
            required.AddRange(["zx=-128", "zx=127", "zh=-128", "zh=127", "per row", "per tensor", "int8 initial_h"]);
            if (op == OpType.Lstm) required.Add("int8 Y_c");
        }
        foreach (var option in required) Assert.That(text.Any(t => t.Contains(option)), $"no {op} {type} case with '{option}'");

        var hidden = cases.Select(c => c.Graph.Tensors[c.Op.Outputs[1]].Shape[^1]).ToHashSet();
        Assert.That(hidden.Any(h => h % 4 != 0) && hidden.Any(h => h % 8 == 4) && hidden.Any(h => h > 16 && h % 16 != 0) && hidden.Contains(48),
            $"hidden sizes {string.Join(", ", hidden)}");
        Assert.That(KernelCases.For(op, type).Select(c => c.Description), Is.EqualTo(text), "fixed seed");
    }

    /// <summary>The int8 cases must not collapse into saturated outputs, or a wrong gate computation could hide.</summary>
    [TestCaseSource(nameof(OpsAndTypes))]
    public void ReferenceOutputsOfTheCasesVary(OpType op, DataType type)
    {
        var reference = KernelRegistry.All.Single(e => e.Op == op && e.Type == type && e.IsReference);
        int varied = 0, total = 0;
        foreach (var c in KernelCases.For(op, type))
        {
            var graph = c.Graph;
            var offsets = graph.Tensors.Select(t => t.IsConstant ? -1 : t.Offset).ToArray();
            var memory = new TensorMemory(graph, offsets, graph.ArenaBytes);
            foreach (var (tensor, bytes) in c.Inputs) bytes.CopyTo(memory.Bytes(tensor));
            reference.Create(new KernelSetup(graph, c.Op)).Run(memory);
            var y = memory.Bytes(c.Op.Outputs[0]);
            int size = type.SizeInBytes(), count = y.Length / size;
            var distinct = new HashSet<string>();
            for (int i = 0; i < count; i++) distinct.Add(Convert.ToHexString(y.Slice(i * size, size)));
            total++;
            if (distinct.Count >= Math.Min(count, 6) * 2 / 3) varied++;
        }
        Assert.That(varied, Is.GreaterThanOrEqualTo(total * 3 / 4), $"{varied} of {total} cases have varied outputs");
    }

    /// <summary>
    /// A streaming session (which selects the optimized variant and carries its state between steps) against a
    /// reference-kernel session over the whole sequence: the same Y bytes at every step, twice with a Reset between.
    /// </summary>
    [TestCase(OpType.Lstm)]
    [TestCase(OpType.Gru)]
    [TestCase(OpType.Rnn)]
    public void Int8_StreamingVariantEqualsReferenceWholeSequence(OpType op)
    {
        const int steps = 11, features = 4, hidden = 5;
        var pair = QuantTestKit.Quantize(StreamingTests.SequenceClassifier(op, 31, perStepOutput: true), QuantTestKit.Samples(7, 24, steps * features, -1.5f, 1.5f));
        var model = pair.Int8;
        var x = QuantTestKit.Samples(8, 1, steps * features, -1.5f, 1.5f)[0];

        using var whole = model.CreateSession(new SessionOptions { ReferenceKernelsOnly = true });
        Assert.That(whole.KernelNames, Does.Contain($"{op}Int8_Reference"));
        whole.SetInput(0, x);
        whole.Invoke();
        var y = whole.GetTensorBytes(model.Graph.Outputs[1]).ToArray();

        using var stream = model.CreateStreamingSession();
        var selected = KernelRegistry.Select(model.Graph.Ops.Single(o => o.Type == op), model.Graph);
        bool variantSupported = KernelRegistry.Variants(op, DataType.Int8).Any(e => !e.IsReference && e.IsSupported());
        Assert.That(selected.IsReference, Is.EqualTo(!variantSupported), $"{selected.Name} is selected on this CPU ({CpuFeatures.Describe()})");
        Assert.That(stream.Session.KernelNames, Does.Contain(selected.Name));
        var output = new float[3];
        for (int pass = 0; pass < 2; pass++)
        {
            for (int t = 0; t < steps; t++)
            {
                stream.Step(x.AsSpan(t * features, features), output);
                var stepY = stream.Session.GetTensorBytes(stream.StepGraph.Outputs[1]).ToArray();
                Assert.That(stepY, Is.EqualTo(y.AsSpan(t * hidden, hidden).ToArray()), $"pass {pass} step {t}: Y bytes");
            }
            stream.Reset();
        }
    }
}
