using EdgeNets.Converter.Planning;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Quantization;

/// <summary>Shared steps of the quantization tests: plan and load graphs, calibrate, quantize, compare outputs.</summary>
internal static class QuantTestKit
{
    public static Model Load(ModelGraph graph)
    {
        ArenaPlanner.Plan(graph);
        return Model.Load(EnetWriter.Write(graph));
    }

    public static List<float[]> Samples(int seed, int count, int size, float min = -1f, float max = 1f)
    {
        var list = new List<float[]>();
        for (int i = 0; i < count; i++) list.Add(TestData.Floats(seed * 1000 + i, size, min, max));
        return list;
    }

    public static float[] Run(Model model, float[] input)
    {
        using var session = model.CreateSession();
        var output = new float[model.Outputs[0].ElementCount];
        session.Run(input, output);
        return output;
    }

    public sealed record Pair(Model Float, Model Int8, ModelGraph Int8Graph, CalibrationStats Stats);

    /// <summary>Calibrates <paramref name="floatGraph"/> on <paramref name="calibration"/>, quantizes it and loads both models.</summary>
    public static Pair Quantize(ModelGraph floatGraph, IReadOnlyList<float[]> calibration, CalibrationOptions? options = null)
    {
        var stats = Calibrator.Calibrate(floatGraph, calibration, options);
        var int8Graph = Quantizer.Quantize(floatGraph, stats);
        var floatModel = Load(floatGraph);
        var int8Model = Load(int8Graph);
        return new Pair(floatModel, int8Model, int8Model.Graph, stats);
    }

    /// <summary>
    /// Runs both models on held-out inputs. Every int8 output element must be within <paramref name="maxSteps"/>
    /// quantization steps of the float output clamped to the int8 output's representable range (held-out values past
    /// the calibrated range saturate, as they should); the step is the output's scale, or the coarser scale of
    /// <paramref name="stepTensor"/> when the output is finer than what feeds it. The SQNR against the unclamped
    /// float output over all inputs must be at least <paramref name="minSqnrDb"/>.
    /// </summary>
    public static void AssertInt8Close(Pair pair, IReadOnlyList<float[]> heldOut, double maxSteps, double minSqnrDb, string? stepTensor = null)
    {
        var outputQuant = pair.Int8.Outputs[0].Quantization!;
        float lowest = outputQuant.Scale * (-128 - outputQuant.ZeroPoint), highest = outputQuant.Scale * (127 - outputQuant.ZeroPoint);
        double step = outputQuant.Scale;
        if (stepTensor != null) step = Math.Max(step, Tensor(pair.Int8Graph, stepTensor).Quantization!.Scale);
        double signal = 0, noise = 0, worst = 0;
        foreach (var x in heldOut)
        {
            var f = Run(pair.Float, x);
            var q = Run(pair.Int8, x);
            for (int i = 0; i < f.Length; i++)
            {
                double d = (double)f[i] - q[i];
                signal += (double)f[i] * f[i];
                noise += d * d;
                worst = Math.Max(worst, Math.Abs(Math.Clamp(f[i], lowest, highest) - (double)q[i]));
            }
        }
        double sqnr = PerLayerError.Sqnr(signal, noise);
        TestContext.Out.WriteLine($"output: worst error {worst / step:F2} steps of {step:G4}, SQNR {sqnr:F1} dB");
        Assert.That(worst, Is.LessThanOrEqualTo(maxSteps * step), "worst output error in quantization steps");
        Assert.That(sqnr, Is.GreaterThanOrEqualTo(minSqnrDb), "output SQNR (dB)");
    }

    public static OpAttributes Conv2d(int pad, int stride = 1, float? activationMin = null, float? activationMax = null)
    {
        var a = new OpAttributes()
            .Set(AttributeKey.Strides, stride, stride)
            .Set(AttributeKey.Pads, pad, pad, pad, pad)
            .Set(AttributeKey.Dilations, 1, 1)
            .Set(AttributeKey.Group, 1);
        if (activationMin is float min) a.Set(AttributeKey.ActivationMin, min);
        if (activationMax is float max) a.Set(AttributeKey.ActivationMax, max);
        return a;
    }

    /// <summary>Adds a float Conv with random weights and bias; returns the output tensor.</summary>
    public static int AddConv(TestGraph g, string name, int x, int[] xShape, int outChannels, int k, int seed, float? activationMin = null,
        float? activationMax = null, float weightRange = 0.5f)
    {
        int c = xShape[1], pad = k / 2;
        int w = g.Constant(name + ".weight", DataType.Float32, [outChannels, c, k, k], TestData.Floats(seed, outChannels * c * k * k, -weightRange, weightRange));
        int b = g.Constant(name + ".bias", DataType.Float32, [outChannels], TestData.Floats(seed + 1, outChannels, -0.2f, 0.2f));
        int y = g.Activation(name + ".out", DataType.Float32, [xShape[0], outChannels, xShape[2], xShape[3]]);
        g.Op(OpType.Conv, [x, w, b], [y], Conv2d(pad, 1, activationMin, activationMax), name);
        return y;
    }

    /// <summary>Adds a float Gemm [1,K] x [N,K]^T + b; returns the output tensor (an activation, or the graph output when <paramref name="output"/>).</summary>
    public static int AddGemm(TestGraph g, string name, int x, int k, int n, int seed, bool output, float? activationMin = null)
    {
        int w = g.Constant(name + ".weight", DataType.Float32, [n, k], TestData.Floats(seed, n * k, -1f / MathF.Sqrt(k) * 2, 1f / MathF.Sqrt(k) * 2));
        int b = g.Constant(name + ".bias", DataType.Float32, [n], TestData.Floats(seed + 1, n, -0.3f, 0.3f));
        int y = output ? g.Output(name + ".out", DataType.Float32, [1, n]) : g.Activation(name + ".out", DataType.Float32, [1, n]);
        var a = new OpAttributes();
        if (activationMin is float min) a.Set(AttributeKey.ActivationMin, min);
        g.Op(OpType.Gemm, [x, w, b], [y], a, name);
        return y;
    }

    public static TensorInfo Tensor(ModelGraph graph, string name)
    {
        int id = graph.FindTensor(name);
        Assert.That(id, Is.GreaterThanOrEqualTo(0), $"tensor '{name}' is missing");
        return graph.Tensors[id];
    }

    public static OpInfo OpNamed(ModelGraph graph, string name) => graph.Ops.Single(o => o.Name == name);
}

/// <summary>Records progress reports synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
internal sealed class RecordingProgress : IProgress<int>
{
    public List<int> Reports { get; } = new();
    public void Report(int value) => Reports.Add(value);
}
