using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Recurrent;

/// <summary>
/// Streaming models with windows over time in front of the recurrent layer (the DeepConvLSTM shape): each step's
/// outputs equal the whole-sequence run's row for the same time once the windows are full (int8: same bytes;
/// float32: within 1e-6), strided windows output every stride steps, padding at the end is refused, and the
/// runtime-only StreamWindow operator never loads from a file.
/// </summary>
[TestFixture]
public class WindowStreamingTests
{
    private const int Features = 3, Steps = 23, Filters = 5, Hidden = 4, Classes = 3;

    /// <summary>
    /// X [1, F, T] → Conv1d (kernel 3, dilation 2, causal padding 2 at the start) + Relu → MaxPool (2, stride 2)
    /// → Transpose [T', 1, C] → GRU (Y is output 1) → last step → Gemm → logits (output 0).
    /// </summary>
    public static ModelGraph ConvPoolGru(int seed, int[]? convPads = null)
    {
        convPads ??= [2, 0];
        int convSteps = (Steps + convPads[0] + convPads[1] - 5) + 1, pooled = (convSteps - 2) / 2 + 1;
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, [1, Features, Steps]);
        int cw = g.Constant("conv.weight", DataType.Float32, [Filters, Features, 3], TestData.Floats(seed, Filters * Features * 3, -0.6f, 0.6f));
        int cb = g.Constant("conv.bias", DataType.Float32, [Filters], TestData.Floats(seed + 1, Filters, -0.2f, 0.2f));
        int c = g.Activation("conv", DataType.Float32, [1, Filters, convSteps]);
        g.Op(OpType.Conv, [x, cw, cb], [c], new OpAttributes().Set(AttributeKey.KernelShape, 3).Set(AttributeKey.Dilations, 2)
            .Set(AttributeKey.Strides, 1).Set(AttributeKey.Pads, convPads).Set(AttributeKey.Group, 1).Set(AttributeKey.ActivationMin, 0f), "conv");
        int p = g.Activation("pool", DataType.Float32, [1, Filters, pooled]);
        g.Op(OpType.MaxPool, [c], [p], new OpAttributes().Set(AttributeKey.KernelShape, 2).Set(AttributeKey.Strides, 2)
            .Set(AttributeKey.Pads, 0, 0).Set(AttributeKey.Dilations, 1), "pool");
        int seq = g.Activation("seq", DataType.Float32, [pooled, 1, Filters]);
        g.Op(OpType.Transpose, [p], [seq], new OpAttributes().Set(AttributeKey.Perm, 2, 0, 1));
        int w = g.Constant("gru.W", DataType.Float32, [1, 3 * Hidden, Filters], TestData.Floats(seed + 2, 3 * Hidden * Filters, -0.7f, 0.7f));
        int r = g.Constant("gru.R", DataType.Float32, [1, 3 * Hidden, Hidden], TestData.Floats(seed + 3, 3 * Hidden * Hidden, -0.7f, 0.7f));
        int b = g.Constant("gru.B", DataType.Float32, [1, 6 * Hidden], TestData.Floats(seed + 4, 6 * Hidden, -0.3f, 0.3f));
        int y = g.Output("gru.Y", DataType.Float32, [pooled, 1, 1, Hidden]);
        int yh = g.Activation("gru.Y_h", DataType.Float32, [1, 1, Hidden]);
        g.Op(OpType.Gru, [seq, w, r, b], [y, yh], new OpAttributes().Set(AttributeKey.Direction, 0).Set(AttributeKey.LinearBeforeReset, 1), "gru");
        int flat = g.Activation("gru.Y_flat", DataType.Float32, [pooled, 1, Hidden]);
        g.Op(OpType.Reshape, [y], [flat]);
        int last = g.Activation("last", DataType.Float32, [1, Hidden]);
        g.Op(OpType.Slice, [flat], [last], new OpAttributes().Set(AttributeKey.Axis, 0).Set(AttributeKey.Starts, pooled - 1).Set(AttributeKey.Ends, pooled));
        int hw = g.Constant("head.weight", DataType.Float32, [Classes, Hidden], TestData.Floats(seed + 5, Classes * Hidden, -1f, 1f));
        int hb = g.Constant("head.bias", DataType.Float32, [Classes], TestData.Floats(seed + 6, Classes, -0.2f, 0.2f));
        int logits = g.Output("logits", DataType.Float32, [1, Classes]);
        g.Op(OpType.Gemm, [last, hw, hb], [logits]);
        g.Graph.Outputs.Reverse(); // logits first, Y second
        return g.Graph;
    }

    /// <summary>Step t of X [1, F, T]: the F values at time t.</summary>
    private static float[] StepOf(float[] x, int t) => Enumerable.Range(0, Features).Select(f => x[f * Steps + t]).ToArray();

    [Test]
    public void ConvAndPoolInFront_StreamLikeTheWholeSequence([Values] bool int8)
    {
        var pair = QuantTestKit.Quantize(ConvPoolGru(40), QuantTestKit.Samples(41, 24, Features * Steps, -1.5f, 1.5f));
        var model = int8 ? pair.Int8 : pair.Float;
        var x = TestData.Floats(42, Features * Steps, -1.5f, 1.5f);
        using var whole = model.CreateSession();
        whole.SetInput(0, x);
        whole.Invoke();
        double[] Values(Session s, int tensor) => int8
            ? s.GetTensorBytes(tensor).ToArray().Select(v => (double)(sbyte)v).ToArray()
            : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(s.GetTensorBytes(tensor)).ToArray().Select(v => (double)v).ToArray();
        var logits = Values(whole, model.Graph.Outputs[0]);
        var y = Values(whole, model.Graph.Outputs[1]);

        using var stream = model.CreateStreamingSession();
        Assert.That(stream.InputTimeAxis, Is.EqualTo(2));
        // The conv's window of 5 holds 2 leading pads, so it is full at step 3; the pool needs 2 conv steps and strides by 2.
        Assert.That((stream.StepsToFirstOutput, stream.OutputPeriod), Is.EqualTo((4, 2)));
        Assert.That(stream.Session.KernelNames, Has.Some.StartsWith("StreamWindow"));
        var output = new float[Classes];
        for (int pass = 0; pass < 2; pass++)
        {
            var rows = new List<int>();
            for (int t = 0; t < Steps; t++)
            {
                if (!stream.Step(StepOf(x, t), output)) continue;
                int row = (int)stream.ReadySteps - 1;
                rows.Add(t);
                Assert.That(Values(stream.Session, stream.StepGraph.Outputs[1]), Is.EqualTo(y.AsSpan(row * Hidden, Hidden).ToArray()).Within(int8 ? 0 : 1e-6),
                    $"pass {pass} step {t}: Y row {row}");
            }
            Assert.That(rows, Is.EqualTo(Enumerable.Range(0, y.Length / Hidden).Select(i => 3 + 2 * i)), "steps that produce output");
            Assert.That(Values(stream.Session, stream.StepGraph.Outputs[0]), Is.EqualTo(logits).Within(int8 ? 0 : 1e-6), $"pass {pass}: logits after the last step");
            stream.Reset();
        }
    }

    [Test]
    public void ConvFrontEnd_StepAllocatesNothing()
    {
        var pair = QuantTestKit.Quantize(ConvPoolGru(50), QuantTestKit.Samples(51, 8, Features * Steps, -1.5f, 1.5f));
        foreach (var model in new[] { pair.Float, pair.Int8 })
        {
            using var stream = model.CreateStreamingSession();
            var step = new float[Features];
            var output = new float[Classes];
            var warmUp = System.Diagnostics.Stopwatch.StartNew();
            while (warmUp.ElapsedMilliseconds < 1500) stream.Step(step, output); // tiered JIT settles before counting
            stream.Reset();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int t = 0; t < 500; t++)
            {
                step[t % Features] = (t % 7) * 0.2f - 0.6f;
                stream.Step(step, output);
                if (t % 100 == 99) stream.Reset();
            }
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.EqualTo(0), "bytes allocated over 500 steps");
        }
    }

    [Test]
    public void ConvPaddedAtTheEnd_CannotStream()
    {
        var model = QuantTestKit.Load(ConvPoolGru(60, convPads: [1, 1]));
        var e = Assert.Throws<ModelFormatException>(() => model.CreateStreamingSession());
        Assert.That(e!.Message, Does.Contain("'conv'").And.Contain("pads the end of the time axis").And.Contain("per window"));
    }

    [Test]
    public void StreamWindowOperator_IsRejectedInAModelFile()
    {
        var model = QuantTestKit.Load(ConvPoolGru(70));
        using var stream = model.CreateStreamingSession();
        var graph = stream.StepGraph;
        EdgeNets.Converter.Planning.ArenaPlanner.Plan(graph);
        var bytes = EnetWriter.Write(graph);
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(bytes));
        Assert.That(e!.Message, Does.Contain("unknown operator type 1000"));
    }

    /// <summary>
    /// The activity example (Conv1d, Conv1d, GRU on raw IMU): fed one held-out window sample by sample, the int8 model's
    /// output after the last sample is the whole-window output, byte for byte, and the next window after a Reset too.
    /// </summary>
    [Test]
    public void ActivityExample_StreamsEachWindowToTheWholeWindowOutput()
    {
        string dir = Path.Combine(RepoPaths.Root, "models", "activity-hapt");
        var model = Model.Load(Path.Combine(dir, "model.enet"));
        var windows = NpyFile.Read(Path.Combine(dir, "test_inputs.npy"));
        int channels = windows.Shape[1], steps = windows.Shape[2];
        var all = windows.ToFloat32();
        using var whole = model.CreateSession();
        using var stream = model.CreateStreamingSession();
        Assert.That(stream.StepInputSize, Is.EqualTo(channels));
        var sample = new float[channels];
        var output = new float[model.Outputs[0].ElementCount];
        foreach (int w in new[] { 0, 17, 301 })
        {
            var x = all.AsSpan(w * channels * steps, channels * steps);
            whole.SetInput(0, x);
            whole.Invoke();
            int produced = 0;
            for (int t = 0; t < steps; t++)
            {
                for (int c = 0; c < channels; c++) sample[c] = x[c * steps + t];
                if (stream.Step(sample, output)) produced++;
            }
            Assert.That(produced, Is.EqualTo(steps - stream.StepsToFirstOutput + 1));
            Assert.That(stream.Session.GetTensorBytes(stream.StepGraph.Outputs[0]).ToArray(),
                Is.EqualTo(whole.GetTensorBytes(model.Graph.Outputs[0]).ToArray()), $"window {w}: output bytes");
            stream.Reset();
        }
    }
}
