using System.Runtime.InteropServices;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;
using static EdgeNets.Tests.Quantization.QuantTestKit;

namespace EdgeNets.Tests.Quantization;

[TestFixture]
public class QuantizerTests
{
    private static readonly int[] ImageShape = [1, 3, 9, 7];
    private const int ImageSize = 3 * 9 * 7;

    /// <summary>x -> Conv 3x3 (fused Relu) -> Reshape -> Gemm.</summary>
    private static ModelGraph ConvReluGemm()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, ImageShape);
        int conv = AddConv(g, "conv", x, ImageShape, 8, 3, seed: 11, activationMin: 0f);
        int flat = g.Activation("flat", DataType.Float32, [1, 8 * 9 * 7]);
        g.Op(OpType.Reshape, [conv], [flat], name: "flatten");
        AddGemm(g, "fc", flat, 8 * 9 * 7, 5, seed: 12, output: true);
        return g.Graph;
    }

    [Test]
    public void ConvReluGemm_Int8OutputTracksFloat()
    {
        var pair = Quantize(ConvReluGemm(), Samples(1, 48, ImageSize));
        AssertInt8Close(pair, Samples(2, 16, ImageSize), maxSteps: 4, minSqnrDb: 25);

        var layers = PerLayerError.Compute(pair.Float, pair.Int8, Samples(3, 8, ImageSize));
        Assert.That(layers.Select(l => l.TensorName), Is.EqualTo(new[] { "x", "conv.out", "flat", "fc.out" }), "execution order");
        foreach (var layer in layers) Assert.That(layer.SqnrDb, Is.GreaterThan(25), layer.TensorName);
    }

    [Test]
    public void ConvWeights_AreSymmetricPerChannel_BiasHasInputTimesWeightScale()
    {
        var floatGraph = ConvReluGemm();
        var floatW = MemoryMarshal.Cast<byte, float>(Tensor(floatGraph, "conv.weight").Data.Span).ToArray();
        var floatB = MemoryMarshal.Cast<byte, float>(Tensor(floatGraph, "conv.bias").Data.Span).ToArray();
        var pair = Quantize(floatGraph, Samples(1, 16, ImageSize));
        var q = pair.Int8Graph;

        var w = Tensor(q, "conv.weight");
        var b = Tensor(q, "conv.bias");
        var sx = Tensor(q, "x").Quantization!;
        var y = Tensor(q, "conv.out").Quantization!;
        Assert.That(w.Type, Is.EqualTo(DataType.Int8));
        Assert.That(b.Type, Is.EqualTo(DataType.Int32));
        Assert.That(w.Quantization!.Axis, Is.EqualTo(0));
        Assert.That(w.Quantization.ZeroPoint, Is.EqualTo(0));
        Assert.That(w.Quantization.Scales, Has.Length.EqualTo(8));

        var wq = MemoryMarshal.Cast<byte, sbyte>(w.Data.Span).ToArray();
        var bq = MemoryMarshal.Cast<byte, int>(b.Data.Span).ToArray();
        var op = OpNamed(q, "conv");
        var multipliers = op.Attributes.GetInts(AttributeKey.OutputMultiplier)!;
        var shifts = op.Attributes.GetInts(AttributeKey.OutputShift)!;
        int perChannel = wq.Length / 8;
        for (int c = 0; c < 8; c++)
        {
            float sw = w.Quantization.Scales[c];
            var row = wq.AsSpan(c * perChannel, perChannel).ToArray();
            double maxAbs = floatW.Skip(c * perChannel).Take(perChannel).Max(v => Math.Abs(v));
            Assert.That(sw, Is.EqualTo(maxAbs / 127).Within(1e-6 * maxAbs), $"channel {c} scale");
            Assert.That(row.Min(v => (int)v), Is.GreaterThanOrEqualTo(-127), "symmetric range excludes -128");
            Assert.That(row.Max(v => Math.Abs((int)v)), Is.EqualTo(127), $"channel {c} uses the full range");
            for (int i = 0; i < perChannel; i++)
                Assert.That(Math.Abs(row[i] * sw - floatW[c * perChannel + i]), Is.LessThanOrEqualTo(sw / 2 * 1.0001), $"weight {c},{i}");

            double biasScale = (double)sx.Scale * sw;
            Assert.That(b.Quantization!.Scales[c], Is.EqualTo((float)biasScale), $"bias scale {c}");
            Assert.That(bq[c], Is.EqualTo((int)Math.Round(floatB[c] / biasScale, MidpointRounding.AwayFromZero)), $"bias {c}");
            Assert.That((multipliers[c], shifts[c]), Is.EqualTo(FixedPoint.QuantizeMultiplier(biasScale / y.Scale)), $"multiplier {c}");
        }
        // The calibrated range of a Relu-fused output starts at 0: zero is the lowest code and also the clamp.
        Assert.That(y.ZeroPoint, Is.EqualTo(-128));
        Assert.That(op.Attributes.GetInt(AttributeKey.QuantizedMin, 0), Is.EqualTo(y.ZeroPoint));
        Assert.That(op.Attributes.Has(AttributeKey.ActivationMin), Is.False);
    }

    [Test]
    public void FusedClip_BecomesOutputClamp_WhenTheOutputRangeIsWider()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, ImageShape);
        int conv = AddConv(g, "conv", x, ImageShape, 6, 3, seed: 21, activationMin: 0f, activationMax: 0.5f, weightRange: 1f);
        g.Graph.Outputs.Add(conv);
        var floatGraph = g.Graph;
        var stats = Calibrator.Calibrate(floatGraph, Samples(4, 16, ImageSize));
        // Widen the calibrated output range past the clamp, as a shared output range would.
        stats.Tensors["conv.out"].Add([-1f, 2f]);
        var q = Quantizer.Quantize(floatGraph, stats);
        var yq = Tensor(q, "conv.out").Quantization!;
        var op = OpNamed(q, "conv");
        int qmin = op.Attributes.GetInt(AttributeKey.QuantizedMin, -128);
        int qmax = op.Attributes.GetInt(AttributeKey.QuantizedMax, 127);
        Assert.That(qmin, Is.EqualTo(yq.ZeroPoint));
        Assert.That(qmax, Is.EqualTo((int)MathF.Round(0.5f / yq.Scale, MidpointRounding.AwayFromZero) + yq.ZeroPoint));
        Assert.That(qmin, Is.GreaterThan(-128));
        Assert.That(qmax, Is.LessThan(127));

        var int8 = Load(q);
        foreach (var input in Samples(5, 8, ImageSize, -2f, 2f))
        {
            var output = Run(int8, input);
            Assert.That(output.Min(), Is.GreaterThanOrEqualTo(0f));
            Assert.That(output.Max(), Is.LessThanOrEqualTo(0.5f + yq.Scale / 2));
        }
    }

    [Test]
    public void AddOfTwoBranches_Int8OutputTracksFloat()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, ImageShape);
        int left = AddConv(g, "left", x, ImageShape, 4, 1, seed: 31);
        int right = AddConv(g, "right", x, ImageShape, 4, 3, seed: 32, weightRange: 0.3f);
        int sum = g.Output("sum", DataType.Float32, [1, 4, 9, 7]);
        g.Op(OpType.Add, [left, right], [sum], new OpAttributes().Set(AttributeKey.ActivationMin, 0f), "add");
        var pair = Quantize(g.Graph, Samples(6, 48, ImageSize));

        var op = OpNamed(pair.Int8Graph, "add");
        double sa = Tensor(pair.Int8Graph, "left.out").Quantization!.Scale, sb = Tensor(pair.Int8Graph, "right.out").Quantization!.Scale;
        double twiceMax = 2 * Math.Max(sa, sb);
        Assert.That(op.Attributes.GetInt(AttributeKey.LeftShift, 0), Is.EqualTo(20));
        Assert.That(op.Attributes.GetInts(AttributeKey.InputMultiplier)![1], Is.EqualTo(FixedPoint.QuantizeMultiplier(sb / twiceMax).Multiplier));
        Assert.That(op.Attributes.GetInts(AttributeKey.OutputMultiplier)![0],
            Is.EqualTo(FixedPoint.QuantizeMultiplier(twiceMax / ((1 << 20) * (double)Tensor(pair.Int8Graph, "sum").Quantization!.Scale)).Multiplier));
        AssertInt8Close(pair, Samples(7, 16, ImageSize), maxSteps: 3, minSqnrDb: 25);
    }

    [Test]
    public void MulAndAddWithConstantOperands_QuantizeTheConstantPerTensorFromItsOwnRange()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, ImageShape);
        float[] scaleValues = TestData.Floats(41, 3, 0.5f, 2f);
        float[] shiftValues = TestData.Floats(42, 3, -0.7f, 0.9f);
        int scale = g.Constant("scale", DataType.Float32, [3, 1, 1], scaleValues);
        int shift = g.Constant("shift", DataType.Float32, [3, 1, 1], shiftValues);
        int scaled = g.Activation("scaled", DataType.Float32, ImageShape);
        int y = g.Output("y", DataType.Float32, ImageShape);
        g.Op(OpType.Mul, [x, scale], [scaled], name: "mul");
        g.Op(OpType.Add, [scaled, shift], [y], name: "add");
        var pair = Quantize(g.Graph, Samples(8, 32, ImageSize));

        var shiftQ = Tensor(pair.Int8Graph, "shift");
        Assert.That(shiftQ.Type, Is.EqualTo(DataType.Int8));
        Assert.That(shiftQ.Quantization!.IsPerChannel, Is.False);
        Assert.That(shiftQ.Quantization.Scale, Is.EqualTo((shiftValues.Max() - shiftValues.Min()) / 255).Within(1e-6));
        var codes = MemoryMarshal.Cast<byte, sbyte>(shiftQ.Data.Span).ToArray();
        for (int i = 0; i < 3; i++)
            Assert.That(shiftQ.Quantization.Scale * (codes[i] - shiftQ.Quantization.ZeroPoint), Is.EqualTo(shiftValues[i]).Within(shiftQ.Quantization.Scale / 2 * 1.0001));
        AssertInt8Close(pair, Samples(9, 16, ImageSize), maxSteps: 3, minSqnrDb: 30);
    }

    [Test]
    public void Concat_OfDifferentRanges_RescalesEachInput()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, ImageShape);
        int conv = AddConv(g, "conv", x, ImageShape, 5, 3, seed: 51, weightRange: 1.5f);
        int joined = g.Output("joined", DataType.Float32, [1, 8, 9, 7]);
        g.Op(OpType.Concat, [x, conv], [joined], new OpAttributes().Set(AttributeKey.Axis, 1), "concat");
        var pair = Quantize(g.Graph, Samples(10, 32, ImageSize));

        var q = pair.Int8Graph;
        var yq = Tensor(q, "joined").Quantization!;
        var op = OpNamed(q, "concat");
        var multipliers = op.Attributes.GetInts(AttributeKey.InputMultiplier)!;
        var shifts = op.Attributes.GetInts(AttributeKey.InputShift)!;
        Assert.That((multipliers[0], shifts[0]), Is.EqualTo(FixedPoint.QuantizeMultiplier((double)Tensor(q, "x").Quantization!.Scale / yq.Scale)));
        Assert.That((multipliers[1], shifts[1]), Is.EqualTo(FixedPoint.QuantizeMultiplier((double)Tensor(q, "conv.out").Quantization!.Scale / yq.Scale)));
        AssertInt8Close(pair, Samples(11, 16, ImageSize), maxSteps: 2, minSqnrDb: 30);
    }

    /// <summary>
    /// A SqueezeNet fire module's expand convolutions take the Concat output's calibrated range (TFLite's shared
    /// Concat quantization), so the Concat copies; a conv output also read elsewhere keeps its own range.
    /// </summary>
    [Test]
    public void Concat_OfConvOutputsReadOnlyThere_SharesTheOutputQuantization()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, ImageShape);
        int a = AddConv(g, "a", x, ImageShape, 4, 1, seed: 61, activationMin: 0f);
        int b = AddConv(g, "b", x, ImageShape, 5, 3, seed: 62, weightRange: 2f, activationMin: 0f);
        int c = AddConv(g, "c", x, ImageShape, 3, 3, seed: 63, weightRange: 0.3f);
        int joined = g.Activation("joined", DataType.Float32, [1, 12, 9, 7]);
        g.Op(OpType.Concat, [a, b, c], [joined], new OpAttributes().Set(AttributeKey.Axis, 1), "concat");
        int y = g.Output("y", DataType.Float32, [1, 12, 9, 7]);
        int sum = g.Output("sum", DataType.Float32, ImageShape);
        g.Op(OpType.Add, [c, x], [sum], name: "add");
        g.Op(OpType.Relu, [joined], [y], name: "relu");
        var pair = Quantize(g.Graph, Samples(12, 32, ImageSize));

        var q = pair.Int8Graph;
        var yq = Tensor(q, "joined").Quantization!;
        foreach (var name in new[] { "a.out", "b.out" })
            Assert.That((Tensor(q, name).Quantization!.Scale, Tensor(q, name).Quantization!.ZeroPoint), Is.EqualTo((yq.Scale, yq.ZeroPoint)), name);
        Assert.That(Tensor(q, "c.out").Quantization!.Scale, Is.Not.EqualTo(yq.Scale), "c.out is also read by the Add");
        var op = OpNamed(q, "concat");
        var multipliers = op.Attributes.GetInts(AttributeKey.InputMultiplier)!;
        var shifts = op.Attributes.GetInts(AttributeKey.InputShift)!;
        Assert.That((multipliers[0], shifts[0]), Is.EqualTo(FixedPoint.QuantizeMultiplier(1.0)));
        Assert.That((multipliers[1], shifts[1]), Is.EqualTo(FixedPoint.QuantizeMultiplier(1.0)));
        AssertInt8Close(pair, Samples(13, 16, ImageSize), maxSteps: 3, minSqnrDb: 30);
    }

    [Test]
    public void Concat_OfInputsSharingQuantization_CopiesTheirCodes()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, ImageShape);
        int joined = g.Output("joined", DataType.Float32, [1, 6, 9, 7]);
        g.Op(OpType.Concat, [x, x], [joined], new OpAttributes().Set(AttributeKey.Axis, 1), "concat");
        var pair = Quantize(g.Graph, Samples(30, 8, ImageSize));
        var q = pair.Int8Graph;
        var xq = Tensor(q, "x").Quantization!;
        var yq = Tensor(q, "joined").Quantization!;
        Assert.That((yq.Scale, yq.ZeroPoint), Is.EqualTo((xq.Scale, xq.ZeroPoint)));

        using var session = pair.Int8.CreateSession();
        session.SetInput(0, Samples(31, 1, ImageSize)[0]);
        session.Invoke();
        var input = session.GetTensorBytes(q.FindTensor("x")).ToArray();
        var output = session.GetTensorBytes(q.FindTensor("joined")).ToArray();
        Assert.That(output, Is.EqualTo(input.Concat(input).ToArray()));
    }

    [Test]
    public void PadPoolsAndTranspose_KeepTheQuantizationOfTheirInput()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, ImageShape);
        int conv = AddConv(g, "conv", x, ImageShape, 4, 3, seed: 111, activationMin: 0f);
        int padded = g.Activation("padded", DataType.Float32, [1, 4, 11, 9]);
        g.Op(OpType.Pad, [conv], [padded], new OpAttributes().Set(AttributeKey.Pads, 0, 0, 1, 1, 0, 0, 1, 1).Set(AttributeKey.PadValue, 0f), "pad");
        int averaged = g.Activation("averaged", DataType.Float32, [1, 4, 9, 7]);
        g.Op(OpType.AveragePool, [padded], [averaged], new OpAttributes()
            .Set(AttributeKey.KernelShape, 3, 3).Set(AttributeKey.Strides, 1, 1).Set(AttributeKey.Pads, 0, 0, 0, 0), "avgpool");
        int transposed = g.Activation("transposed", DataType.Float32, [1, 9, 7, 4]);
        g.Op(OpType.Transpose, [averaged], [transposed], new OpAttributes().Set(AttributeKey.Perm, 0, 2, 3, 1), "transpose");
        int pooled = g.Output("pooled", DataType.Float32, [1, 9, 1, 1]);
        g.Op(OpType.GlobalAveragePool, [transposed], [pooled], name: "gap");
        var pair = Quantize(g.Graph, Samples(32, 32, ImageSize));

        var q = pair.Int8Graph;
        var convQ = Tensor(q, "conv.out").Quantization!;
        foreach (string name in new[] { "padded", "averaged", "transposed", "pooled" })
        {
            var tq = Tensor(q, name).Quantization!;
            Assert.That((tq.Scale, tq.ZeroPoint), Is.EqualTo((convQ.Scale, convQ.ZeroPoint)), name);
        }
        // Real 0 is an exact code, so the border holds the zero point.
        Assert.That(OpNamed(q, "pad").Attributes.GetInt(AttributeKey.QuantizedPadValue, 999), Is.EqualTo(convQ.ZeroPoint));
        AssertInt8Close(pair, Samples(33, 16, ImageSize), maxSteps: 3, minSqnrDb: 25);
    }

    [Test]
    public void MaxPool_KeepsInputQuantization_AndSelectsTheLargestCode()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, ImageShape);
        int conv = AddConv(g, "conv", x, ImageShape, 4, 3, seed: 61);
        int pooled = g.Output("pooled", DataType.Float32, [1, 4, 4, 3]);
        g.Op(OpType.MaxPool, [conv], [pooled], new OpAttributes()
            .Set(AttributeKey.KernelShape, 2, 2).Set(AttributeKey.Strides, 2, 2).Set(AttributeKey.Pads, 0, 0, 0, 0).Set(AttributeKey.Dilations, 1, 1), "pool");
        var pair = Quantize(g.Graph, Samples(12, 32, ImageSize));
        var q = pair.Int8Graph;
        var inQ = Tensor(q, "conv.out").Quantization!;
        var outQ = Tensor(q, "pooled").Quantization!;
        Assert.That((outQ.Scale, outQ.ZeroPoint), Is.EqualTo((inQ.Scale, inQ.ZeroPoint)));

        using var session = pair.Int8.CreateSession(new EdgeNets.Runtime.SessionOptions { KeepAllActivations = true });
        session.SetInput(0, Samples(13, 1, ImageSize)[0]);
        session.Invoke();
        var before = MemoryMarshal.Cast<byte, sbyte>(session.GetTensorBytes(q.FindTensor("conv.out"))).ToArray();
        var after = MemoryMarshal.Cast<byte, sbyte>(session.GetTensorBytes(q.FindTensor("pooled"))).ToArray();
        for (int c = 0; c < 4; c++)
        for (int oh = 0; oh < 4; oh++)
        for (int ow = 0; ow < 3; ow++)
        {
            int best = -129;
            for (int kh = 0; kh < 2; kh++)
            for (int kw = 0; kw < 2; kw++)
                best = Math.Max(best, before[(c * 9 + oh * 2 + kh) * 7 + ow * 2 + kw]);
            Assert.That((int)after[(c * 4 + oh) * 3 + ow], Is.EqualTo(best), $"c{c} ({oh},{ow})");
        }
        AssertInt8Close(pair, Samples(14, 16, ImageSize), maxSteps: 2, minSqnrDb: 25);
    }

    [Test]
    public void Softmax_HasFixedOutputQuantization_AndTracksFloat()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, [1, 24]);
        int logits = AddGemm(g, "fc", x, 24, 10, seed: 71, output: false);
        int probs = g.Output("probs", DataType.Float32, [1, 10]);
        g.Op(OpType.Softmax, [logits], [probs], new OpAttributes().Set(AttributeKey.Axis, -1), "softmax");
        var pair = Quantize(g.Graph, Samples(15, 64, 24, -2f, 2f));
        var yq = Tensor(pair.Int8Graph, "probs").Quantization!;
        Assert.That((yq.Scale, yq.ZeroPoint), Is.EqualTo((1f / 256, -128)));
        var op = OpNamed(pair.Int8Graph, "softmax");
        var table = MemoryMarshal.Cast<byte, float>(pair.Int8Graph.Tensors[op.Inputs[1]].Data.Span).ToArray();
        float sx = Tensor(pair.Int8Graph, "fc.out").Quantization!.Scale;
        for (int d = 0; d < 256; d++) Assert.That(table[d], Is.EqualTo(MathF.Exp(-d * sx)).Within(1e-6f * MathF.Max(1e-30f, table[d]) + 1e-30f));
        AssertInt8Close(pair, Samples(16, 16, 24, -2f, 2f), maxSteps: 3, minSqnrDb: 25);
    }

    public static IEnumerable<TestCaseData> UnaryCases()
    {
        yield return new TestCaseData(OpType.Relu, new OpAttributes()).SetName("Unary_Relu");
        yield return new TestCaseData(OpType.LeakyRelu, new OpAttributes().Set(AttributeKey.Alpha, 0.1f)).SetName("Unary_LeakyRelu");
        yield return new TestCaseData(OpType.Clip, new OpAttributes().Set(AttributeKey.ActivationMin, -0.5f).Set(AttributeKey.ActivationMax, 0.75f)).SetName("Unary_Clip");
        yield return new TestCaseData(OpType.Sigmoid, new OpAttributes()).SetName("Unary_Sigmoid");
        yield return new TestCaseData(OpType.Tanh, new OpAttributes()).SetName("Unary_Tanh");
        yield return new TestCaseData(OpType.HardSigmoid, new OpAttributes().Set(AttributeKey.Alpha, 0.25f).Set(AttributeKey.Beta, 0.4f)).SetName("Unary_HardSigmoid");
        yield return new TestCaseData(OpType.HardSwish, new OpAttributes()).SetName("Unary_HardSwish");
    }

    /// <summary>Gemm -> activation: the activation becomes a LookupTable whose entries are the float function of each input code.</summary>
    [TestCaseSource(nameof(UnaryCases))]
    public void UnaryActivation_BecomesLookupTable(OpType type, OpAttributes attributes)
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, [1, 20]);
        int pre = AddGemm(g, "fc", x, 20, 13, seed: 81, output: false);
        int y = g.Output("act", DataType.Float32, [1, 13]);
        g.Op(type, [pre], [y], attributes, "act");
        var pair = Quantize(g.Graph, Samples(17, 64, 20, -3f, 3f));

        var op = OpNamed(pair.Int8Graph, "act");
        Assert.That(op.Type, Is.EqualTo(OpType.LookupTable));
        var table = pair.Int8Graph.Tensors[op.Inputs[1]];
        Assert.That(table.Shape, Is.EqualTo(new[] { 256 }));
        AssertTableMatchesFloatOp(pair, type, attributes, "fc.out", "act", Samples(18, 4, 20, -3f, 3f));
        AssertInt8Close(pair, Samples(18, 16, 20, -3f, 3f), maxSteps: 2, minSqnrDb: 25, stepTensor: "fc.out");
    }

    /// <summary>
    /// The int8 activation against the float operator applied to the dequantized int8 input: within half an output
    /// step (the table holds the rounded float result), after saturation to the output's range.
    /// </summary>
    private static void AssertTableMatchesFloatOp(Pair pair, OpType type, OpAttributes attributes, string inputName, string outputName,
        IReadOnlyList<float[]> inputs)
    {
        var q = pair.Int8Graph;
        var xt = Tensor(q, inputName);
        var yq = Tensor(q, outputName).Quantization!;
        var single = new TestGraph();
        int sx = single.Input("x", DataType.Float32, xt.Shape);
        int sy = single.Output("y", DataType.Float32, xt.Shape);
        single.Op(type, [sx], [sy], attributes.Clone());
        var floatOp = single.Build();
        using var session = pair.Int8.CreateSession(new EdgeNets.Runtime.SessionOptions { KeepAllActivations = true });
        var dequantizedInput = new float[xt.ElementCount];
        var int8Output = new float[xt.ElementCount];
        foreach (var input in inputs)
        {
            session.SetInput(0, input);
            session.Invoke();
            session.ReadTensorAsFloat(q.FindTensor(inputName), dequantizedInput);
            session.ReadTensorAsFloat(q.FindTensor(outputName), int8Output);
            var expected = Run(floatOp, dequantizedInput);
            for (int i = 0; i < expected.Length; i++)
            {
                float clamped = Math.Clamp(expected[i], yq.Scale * (-128 - yq.ZeroPoint), yq.Scale * (127 - yq.ZeroPoint));
                Assert.That(int8Output[i], Is.EqualTo(clamped).Within(yq.Scale * 0.501), $"element {i} of input {dequantizedInput[i]}");
            }
        }
    }

    [Test]
    public void PRelu_BecomesOneTablePerChannel()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, ImageShape);
        int conv = AddConv(g, "conv", x, ImageShape, 5, 3, seed: 91);
        float[] slopes = TestData.Floats(92, 5, 0.05f, 0.6f);
        int slope = g.Constant("slope", DataType.Float32, [5, 1, 1], slopes);
        int y = g.Output("y", DataType.Float32, [1, 5, 9, 7]);
        g.Op(OpType.PRelu, [conv, slope], [y], name: "prelu");
        var pair = Quantize(g.Graph, Samples(19, 32, ImageSize));
        var q = pair.Int8Graph;
        var op = OpNamed(q, "prelu");
        Assert.That(op.Type, Is.EqualTo(OpType.LookupTable));
        Assert.That(op.Attributes.GetInt(AttributeKey.Axis, -1), Is.EqualTo(1));
        Assert.That(q.Tensors[op.Inputs[1]].Shape, Is.EqualTo(new[] { 5, 256 }));

        // Each channel's table against PRelu of the dequantized int8 input with that channel's slope.
        var yq = Tensor(q, "y").Quantization!;
        using var session = pair.Int8.CreateSession(new EdgeNets.Runtime.SessionOptions { KeepAllActivations = true });
        var before = new float[5 * 9 * 7];
        var after = new float[5 * 9 * 7];
        foreach (var input in Samples(20, 4, ImageSize))
        {
            session.SetInput(0, input);
            session.Invoke();
            session.ReadTensorAsFloat(q.FindTensor("conv.out"), before);
            session.ReadTensorAsFloat(q.FindTensor("y"), after);
            for (int i = 0; i < before.Length; i++)
            {
                float v = before[i], expected = v < 0 ? slopes[i / 63] * v : v;
                expected = Math.Clamp(expected, yq.Scale * (-128 - yq.ZeroPoint), yq.Scale * (127 - yq.ZeroPoint));
                Assert.That(after[i], Is.EqualTo(expected).Within(yq.Scale * 0.501), $"element {i}");
            }
        }
        AssertInt8Close(pair, Samples(20, 16, ImageSize), maxSteps: 4, minSqnrDb: 25, stepTensor: "conv.out");
    }

    [Test]
    public void MatMul_WithConstantOperand_QuantizesBothPerTensor()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, [1, 3, 6]);
        int w = g.Constant("w", DataType.Float32, [6, 5], TestData.Floats(101, 30, -0.8f, 0.8f));
        int y = g.Output("y", DataType.Float32, [1, 3, 5]);
        g.Op(OpType.MatMul, [x, w], [y], name: "matmul");
        var pair = Quantize(g.Graph, Samples(21, 32, 18));
        var wq = Tensor(pair.Int8Graph, "w").Quantization!;
        Assert.That(wq.IsPerChannel, Is.False);
        var op = OpNamed(pair.Int8Graph, "matmul");
        double real = (double)Tensor(pair.Int8Graph, "x").Quantization!.Scale * wq.Scale / Tensor(pair.Int8Graph, "y").Quantization!.Scale;
        Assert.That((op.Attributes.GetInts(AttributeKey.OutputMultiplier)![0], op.Attributes.GetInts(AttributeKey.OutputShift)![0]),
            Is.EqualTo(FixedPoint.QuantizeMultiplier(real)));
        AssertInt8Close(pair, Samples(22, 16, 18), maxSteps: 3, minSqnrDb: 30);
    }

    [Test]
    public void Int8Graph_KeepsNames_AndRecordsPrecisionAndCalibration()
    {
        var floatGraph = ConvReluGemm();
        var stats = Calibrator.Calibrate(floatGraph, Samples(23, 5, ImageSize), new CalibrationOptions { Method = CalibrationMethod.Percentile, Percentile = 99.9 });
        var q = Quantizer.Quantize(floatGraph, stats);
        foreach (var t in floatGraph.Tensors.Where(t => !t.IsConstant))
        {
            var qt = Tensor(q, t.Name);
            Assert.That(qt.Type, Is.EqualTo(DataType.Int8), t.Name);
            Assert.That(qt.Shape, Is.EqualTo(t.Shape), t.Name);
            Assert.That(qt.Quantization, Is.Not.Null, t.Name);
        }
        Assert.That(q.Ops.Select(o => o.Name), Is.EqualTo(floatGraph.Ops.Select(o => o.Name)));
        Assert.That(q.Inputs.Select(i => q.Tensors[i].Name), Is.EqualTo(new[] { "x" }));
        Assert.That(q.Outputs.Select(i => q.Tensors[i].Name), Is.EqualTo(new[] { "fc.out" }));
        Assert.That(q.Metadata["precision"], Is.EqualTo("int8"));
        Assert.That(q.Metadata["calibration"], Does.Contain("percentile").And.Contain("99.9").And.Contain("5 samples"));
    }

    [Test]
    public void ActivationQuantization_ContainsZeroAndFollowsTheSpec()
    {
        foreach (var (min, max) in new[] { (-1.5f, 2.5f), (0.3f, 4f), (-3f, -0.2f), (0f, 0f) })
        {
            var q = QuantParams.Asymmetric(min, max);
            float lo = MathF.Min(min, 0), hi = MathF.Max(max, 0);
            if (hi > lo)
            {
                Assert.That(q.Scale, Is.EqualTo((hi - lo) / 255).Within(1e-6 * (hi - lo)));
                Assert.That(q.ZeroPoint, Is.EqualTo((int)Math.Round(-128 - lo / (double)q.Scale, MidpointRounding.AwayFromZero)));
            }
            Assert.That(q.ZeroPoint, Is.InRange(-128, 127));
            // Both range ends are representable within half a step.
            Assert.That(q.Scale * (-128 - q.ZeroPoint), Is.LessThanOrEqualTo(lo + q.Scale / 2));
            Assert.That(q.Scale * (127 - q.ZeroPoint), Is.GreaterThanOrEqualTo(hi - q.Scale / 2));
        }
    }
}
