using System.Runtime.InteropServices;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Tests.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Recurrent;

/// <summary>
/// Streaming one time step at a time equals the whole-sequence run (int8: same bytes; float32: within 1e-6), allocates
/// nothing per step, and Reset starts over. Also the int8 quantization of recurrent graphs against float.
/// </summary>
[TestFixture]
public class StreamingTests
{
    private const int Steps = 11, Features = 4, Embed = 6, Hidden = 5, Classes = 3;

    /// <summary>
    /// X [1, T, F] (batch first) → Transpose → [T, 1, F] → Gemm + Tanh (per step) → recurrent layer (layout 0)
    /// → Reshape [T, 1, H] → Slice of the last step [1, H] → Gemm → [1, classes]. With <paramref name="perStepOutput"/>
    /// the recurrent Y is the (second) graph output too.
    /// </summary>
    public static ModelGraph SequenceClassifier(OpType op, int seed, bool perStepOutput = false, int direction = 0)
    {
        var g = new TestGraph();
        int d = direction == 2 ? 2 : 1;
        int x = g.Input("x", DataType.Float32, [1, Steps, Features]);
        int xt = g.Activation("x_t", DataType.Float32, [Steps, 1, Features]);
        g.Op(OpType.Transpose, [x], [xt], new OpAttributes().Set(AttributeKey.Perm, 1, 0, 2));
        int ew = g.Constant("embed.weight", DataType.Float32, [Embed, Features], TestData.Floats(seed, Embed * Features, -0.8f, 0.8f));
        int eb = g.Constant("embed.bias", DataType.Float32, [Embed], TestData.Floats(seed + 1, Embed, -0.2f, 0.2f));
        int e = g.Activation("embed", DataType.Float32, [Steps, 1, Embed]);
        g.Op(OpType.Gemm, [xt, ew, eb], [e]);
        int et = g.Activation("embed_tanh", DataType.Float32, [Steps, 1, Embed]);
        g.Op(OpType.Tanh, [e], [et]);

        int gates = op == OpType.Lstm ? 4 : op == OpType.Gru ? 3 : 1;
        int w = g.Constant("rnn.W", DataType.Float32, [d, gates * Hidden, Embed], TestData.Floats(seed + 2, d * gates * Hidden * Embed, -0.7f, 0.7f));
        int r = g.Constant("rnn.R", DataType.Float32, [d, gates * Hidden, Hidden], TestData.Floats(seed + 3, d * gates * Hidden * Hidden, -0.7f, 0.7f));
        int b = g.Constant("rnn.B", DataType.Float32, [d, 2 * gates * Hidden], TestData.Floats(seed + 4, d * 2 * gates * Hidden, -0.3f, 0.3f));
        int y = perStepOutput ? g.Output("rnn.Y", DataType.Float32, [Steps, d, 1, Hidden]) : g.Activation("rnn.Y", DataType.Float32, [Steps, d, 1, Hidden]);
        var outputs = new List<int> { y, g.Activation("rnn.Y_h", DataType.Float32, [d, 1, Hidden]) };
        if (op == OpType.Lstm) outputs.Add(g.Activation("rnn.Y_c", DataType.Float32, [d, 1, Hidden]));
        var attributes = new OpAttributes().Set(AttributeKey.Direction, direction);
        if (op == OpType.Gru) attributes.Set(AttributeKey.LinearBeforeReset, 1);
        g.Op(op, [et, w, r, b], outputs.ToArray(), attributes, "rnn");

        int flat = g.Activation("rnn.Y_flat", DataType.Float32, [Steps, 1, d * Hidden]);
        g.Op(OpType.Reshape, [y], [flat]);
        int last = g.Activation("last", DataType.Float32, [1, d * Hidden]);
        g.Op(OpType.Slice, [flat], [last], new OpAttributes().Set(AttributeKey.Axis, 0).Set(AttributeKey.Starts, Steps - 1).Set(AttributeKey.Ends, Steps));
        int hw = g.Constant("head.weight", DataType.Float32, [Classes, d * Hidden], TestData.Floats(seed + 5, Classes * d * Hidden, -1f, 1f));
        int hb = g.Constant("head.bias", DataType.Float32, [Classes], TestData.Floats(seed + 6, Classes, -0.2f, 0.2f));
        int logits = g.Output("logits", DataType.Float32, [1, Classes]);
        g.Op(OpType.Gemm, [last, hw, hb], [logits]);
        if (perStepOutput) g.Graph.Outputs.Reverse(); // logits first, Y second
        return g.Graph;
    }

    private static float[] Sequence(int seed) => TestData.Floats(seed, Steps * Features, -1.5f, 1.5f);

    private static float[] StepOf(float[] sequence, int t) => sequence.AsSpan(t * Features, Features).ToArray();

    [TestCase(OpType.Lstm)]
    [TestCase(OpType.Gru)]
    [TestCase(OpType.Rnn)]
    public void Float32_StreamEqualsWholeSequence(OpType op)
    {
        var model = QuantTestKit.Load(SequenceClassifier(op, 7, perStepOutput: true));
        var x = Sequence(100);
        using var whole = model.CreateSession();
        whole.SetInput(0, x);
        whole.Invoke();
        var logits = new float[Classes];
        var y = new float[Steps * Hidden];
        whole.GetOutput(0, logits);
        whole.GetOutput(1, y);

        using var stream = model.CreateStreamingSession();
        Assert.That(stream.InputTimeAxis, Is.EqualTo(1));
        Assert.That(stream.StepInputSize, Is.EqualTo(Features));
        var stepLogits = new float[Classes];
        var stepY = new float[Hidden];
        for (int pass = 0; pass < 2; pass++)
        {
            for (int t = 0; t < Steps; t++)
            {
                stream.Step(StepOf(x, t), stepLogits);
                stream.Session.GetOutput(1, stepY);
                for (int j = 0; j < Hidden; j++) Assert.That(stepY[j], Is.EqualTo(y[t * Hidden + j]).Within(1e-6), $"pass {pass} step {t} Y[{j}]");
            }
            for (int k = 0; k < Classes; k++) Assert.That(stepLogits[k], Is.EqualTo(logits[k]).Within(1e-6), $"pass {pass} logits[{k}]");
            stream.Reset();
        }
    }

    [TestCase(OpType.Lstm)]
    [TestCase(OpType.Gru)]
    [TestCase(OpType.Rnn)]
    public void Int8_StreamEqualsWholeSequenceBytes(OpType op)
    {
        var floatGraph = SequenceClassifier(op, 11, perStepOutput: true);
        var pair = QuantTestKit.Quantize(floatGraph, QuantTestKit.Samples(3, 24, Steps * Features, -1.5f, 1.5f));
        var model = pair.Int8;
        Assert.That(model.Graph.Ops.Single(o => o.Name == "rnn").Type, Is.EqualTo(op));
        Assert.That(model.Graph.Tensors[model.Graph.Ops.Single(o => o.Name == "rnn").Outputs[0]].Type, Is.EqualTo(DataType.Int8));

        var x = Sequence(200);
        using var whole = model.CreateSession();
        whole.SetInput(0, x);
        whole.Invoke();
        var logits = whole.GetTensorBytes(model.Graph.Outputs[0]).ToArray();
        var y = whole.GetTensorBytes(model.Graph.Outputs[1]).ToArray();

        using var stream = model.CreateStreamingSession();
        var output = new float[Classes];
        for (int t = 0; t < Steps; t++)
        {
            stream.Step(StepOf(x, t), output);
            var stepY = stream.Session.GetTensorBytes(stream.StepGraph.Outputs[1]).ToArray();
            Assert.That(stepY, Is.EqualTo(y.AsSpan(t * Hidden, Hidden).ToArray()), $"step {t}: Y bytes");
        }
        Assert.That(stream.Session.GetTensorBytes(stream.StepGraph.Outputs[0]).ToArray(), Is.EqualTo(logits), "logits bytes after the last step");
    }

    [TestCase(OpType.Lstm)]
    [TestCase(OpType.Gru)]
    public void Step_AllocatesNothing(OpType op)
    {
        var floatGraph = SequenceClassifier(op, 13);
        var pair = QuantTestKit.Quantize(floatGraph, QuantTestKit.Samples(4, 8, Steps * Features, -1.5f, 1.5f));
        foreach (var model in new[] { pair.Float, pair.Int8 })
        {
            using var stream = model.CreateStreamingSession();
            var step = new float[Features];
            var output = new float[Classes];
            stream.Step(step, output); // warm-up (JIT)
            stream.Reset();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int t = 0; t < 200; t++)
            {
                step[t % Features] = (t % 7) * 0.2f - 0.6f;
                stream.Step(step, output);
                if (t % 50 == 49) stream.Reset();
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.That(allocated, Is.EqualTo(0), $"{model.Graph.Metadata.GetValueOrDefault("precision")}: bytes allocated over 200 steps");
        }
    }

    [Test]
    public void Cli_RunStream_WritesOneRowPerStep()
    {
        var graph = SequenceClassifier(OpType.Gru, 29);
        EdgeNets.Converter.Planning.ArenaPlanner.Plan(graph);
        string dir = RepoPaths.TempDirectory();
        string modelPath = Path.Combine(dir, "gru.enet"), xPath = Path.Combine(dir, "x.npy"), yPath = Path.Combine(dir, "y.npy");
        File.WriteAllBytes(modelPath, EnetWriter.Write(graph));
        var x = Sequence(300);
        EdgeNets.Runtime.IO.NpyFile.WriteFloat32(xPath, [Steps, Features], x);

        var stdout = new StringWriter();
        int code = EdgeNets.Cli.Program.Run(["run", modelPath, "--stream", "--input", xPath, "--output", yPath], stdout, new StringWriter());
        Assert.That(code, Is.EqualTo(0), stdout.ToString());
        var y = EdgeNets.Runtime.IO.NpyFile.Read(yPath);
        Assert.That(y.Shape, Is.EqualTo(new[] { Steps, Classes }));

        var model = Model.Load(modelPath);
        using var stream = model.CreateStreamingSession();
        var expected = new float[Classes];
        var rows = y.ToFloat32();
        for (int t = 0; t < Steps; t++)
        {
            stream.Step(StepOf(x, t), expected);
            Assert.That(rows.AsSpan(t * Classes, Classes).ToArray(), Is.EqualTo(expected), $"row {t}");
        }
        var whole = QuantTestKit.Run(model, x);
        var inspect = new StringWriter();
        Assert.That(EdgeNets.Cli.Program.Run(["inspect", modelPath], inspect, new StringWriter()), Is.EqualTo(0));
        Assert.That(inspect.ToString(), Does.Contain("Gru").And.Contain("Slice"));
        Assert.That(rows.AsSpan((Steps - 1) * Classes, Classes).ToArray(), Is.EqualTo(whole).Within(1e-6), "last row = whole-sequence output");
        Directory.Delete(dir, recursive: true);
    }

    [Test]
    public void Bidirectional_CannotStream()
    {
        var model = QuantTestKit.Load(SequenceClassifier(OpType.Gru, 17, direction: 2));
        var e = Assert.Throws<ModelFormatException>(() => model.CreateStreamingSession());
        Assert.That(e!.Message, Does.Contain("bidirectional").And.Contain("per window"));
    }

    [Test]
    public void SliceOfAnEarlierStep_CannotStream()
    {
        var graph = SequenceClassifier(OpType.Rnn, 19);
        var slice = graph.Ops.Single(o => o.Type == OpType.Slice);
        slice.Attributes.Set(AttributeKey.Starts, 0).Set(AttributeKey.Ends, 1);
        var model = QuantTestKit.Load(graph);
        var e = Assert.Throws<ModelFormatException>(() => model.CreateStreamingSession());
        Assert.That(e!.Message, Does.Contain("last"));
    }

    [TestCase(OpType.Lstm)]
    [TestCase(OpType.Gru)]
    [TestCase(OpType.Rnn)]
    public void Int8_SequenceClassifierIsCloseToFloat(OpType op)
    {
        var pair = QuantTestKit.Quantize(SequenceClassifier(op, 23), QuantTestKit.Samples(5, 64, Steps * Features, -1.5f, 1.5f));
        var rnn = pair.Int8Graph.Ops.Single(o => o.Name == "rnn");
        var w = pair.Int8Graph.Tensors[rnn.Inputs[1]];
        Assert.That(w.Type, Is.EqualTo(DataType.Int8));
        Assert.That(w.Quantization!.Scales, Has.Length.EqualTo(w.Shape[0]), "one scale per gate row");
        var yq = pair.Int8Graph.Tensors[rnn.Outputs[0]].Quantization!;
        var yhq = pair.Int8Graph.Tensors[rnn.Outputs[1]].Quantization!;
        Assert.That((yhq.Scale, yhq.ZeroPoint), Is.EqualTo((yq.Scale, yq.ZeroPoint)));
        var (min, max) = pair.Stats.Range("rnn.Y");
        Assert.That(yq.Scale, Is.EqualTo((Math.Max(max, 0) - Math.Min(min, 0)) / 255f).Within(1e-6), "hidden scale from the calibrated range of Y");
        QuantTestKit.AssertInt8Close(pair, QuantTestKit.Samples(6, 32, Steps * Features, -1.5f, 1.5f), maxSteps: 6, minSqnrDb: 25);
    }
}
