using EdgeNets.Converter.Import;
using EdgeNets.Runtime.Graph;
using EdgeNets.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NUnit.Framework;
using static EdgeNets.Tests.Import.OnnxModelBuilder;

namespace EdgeNets.Tests.Import;

/// <summary>
/// Lowerings that rewrite one ONNX node into several runtime operators (Gemm with run-time operands, Sub of two
/// run-time tensors, legacy Softmax, outputs reached through Identity), checked against ONNX Runtime.
/// </summary>
[TestFixture]
public class LoweringNumericTests
{
    private static void AssertMatchesOnnxRuntime(byte[] onnx, string name, params (string Name, int[] Shape, int Seed)[] inputs) =>
        AssertMatchesOnnxRuntime(onnx, name, GraphOptimizationLevel.ORT_ENABLE_ALL, inputs);

    private static void AssertMatchesOnnxRuntime(byte[] onnx, string name, GraphOptimizationLevel level, params (string Name, int[] Shape, int Seed)[] inputs)
    {
        var data = inputs.Select(i => TestData.Floats(i.Seed, ShapeUtil.ElementCount(i.Shape), -2f, 2f)).ToArray();

        using var session = ImportTestSupport.ImportAndLoad(onnx, name).CreateSession();
        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.That(session.Model.Inputs[i].Name, Is.EqualTo(inputs[i].Name));
            session.SetInput(i, data[i]);
        }
        session.Invoke();

        using var options = new SessionOptions { GraphOptimizationLevel = level };
        using var ort = new InferenceSession(onnx, options);
        var feeds = inputs.Select((input, i) => NamedOnnxValue.CreateFromTensor(input.Name, new DenseTensor<float>(data[i], input.Shape))).ToList();
        using var results = ort.Run(feeds);
        var outputs = session.Model.Outputs;
        int index = 0;
        foreach (var result in results)
        {
            Assert.That(outputs[index].Name, Is.EqualTo(result.Name));
            var expected = result.AsTensor<float>();
            Assert.That(outputs[index].Shape, Is.EqualTo(expected.Dimensions.ToArray()));
            var ours = new float[outputs[index].ElementCount];
            session.GetOutput(index, ours);
            ImportTestSupport.AssertClose(expected.ToArray(), ours, 1e-4f, 1e-5f, $"{name} output '{result.Name}'");
            index++;
        }
    }

    [TestCase(false, false, 1f, 1f)]
    [TestCase(true, false, 0.5f, 1f)]
    [TestCase(false, true, 1f, 2f)]
    [TestCase(true, true, -1.5f, 0.25f)]
    public void GemmWithRunTimeB_FallsBackToMatMulAndAdd(bool transA, bool transB, float alpha, float beta)
    {
        const int m = 3, k = 5, n = 4;
        var onnx = new OnnxModelBuilder(13)
            .Input("a", transA ? [k, m] : [m, k])
            .Input("b", transB ? [n, k] : [k, n])
            .Initializer("c", [n], TestData.Floats(3, n))
            .Node("Gemm", "gemm", ["a", "b", "c"], ["y"], Int("transA", transA ? 1 : 0), Int("transB", transB ? 1 : 0), Float("alpha", alpha), Float("beta", beta))
            .Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "gemm_runtime_b.onnx", ("a", transA ? [k, m] : [m, k], 1), ("b", transB ? [n, k] : [k, n], 2));
    }

    [TestCase(1f)]
    [TestCase(0.5f)]
    public void GemmWithRunTimeMatrixBias_AddsTheScaledBias(float beta)
    {
        var onnx = new OnnxModelBuilder(13).Input("a", 3, 5).Input("c", 3, 4)
            .Initializer("w", [4, 5], TestData.Floats(4, 20))
            .Node("Gemm", "gemm", ["a", "w", "c"], ["y"], Int("transB", 1), Float("beta", beta), Float("alpha", 3f))
            .Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "gemm_runtime_c.onnx", ("a", [3, 5], 5), ("c", [3, 4], 6));
    }

    [Test]
    public void SubOfTwoRunTimeTensorsAndSubFromAConstant()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 2, 3, 4).Input("z", 3, 1)
            .Initializer("k", [4], [1f, -2f, 3f, 0.5f])
            .Node("Sub", "sub", ["x", "z"], ["d"])
            .Node("Sub", "rsub", ["k", "d"], ["y"])
            .Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "sub.onnx", ("x", [2, 3, 4], 7), ("z", [3, 1], 8));
    }

    [Test]
    public void Erf_MatchesOnnxRuntime()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 4, 64).Node("Erf", "erf", ["x"], ["y"]).Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "erf.onnx", ("x", [4, 64], 13));
    }

    /// <summary>Softplus and Mish as exporters write it (x·tanh(softplus(x))), over a range where eˣ overflows float.</summary>
    [Test]
    public void SoftplusAndMish_MatchOnnxRuntime()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 4, 64).Initializer("k", [1], [60f])
            .Node("Mul", "widen", ["x", "k"], ["w"])
            .Node("Softplus", "softplus", ["w"], ["s"]).Node("Tanh", "tanh", ["s"], ["t"]).Node("Mul", "mish", ["w", "t"], ["y"])
            .Output("s").Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "mish.onnx", ("x", [4, 64], 17));
    }

    /// <summary>Sqrt and Exp on run-time tensors (Sqrt of a Relu so its input is never negative) against ONNX Runtime.</summary>
    [Test]
    public void SqrtAndExp_MatchOnnxRuntime()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 3, 40).Initializer("k", [1], [4f])
            .Node("Mul", "widen", ["x", "k"], ["w"]).Node("Relu", "relu", ["w"], ["r"])
            .Node("Sqrt", "sqrt", ["r"], ["s"]).Node("Exp", "exp", ["w"], ["e"])
            .Output("s").Output("e").Build();
        AssertMatchesOnnxRuntime(onnx, "sqrt_exp.onnx", ("x", [3, 40], 27));
    }

    /// <summary>
    /// Pow with a constant exponent (an integer one, as exporters write x², and a fractional one on a non-negative base) and
    /// Div by a run-time tensor (the divisor kept away from zero) against ONNX Runtime.
    /// </summary>
    [Test]
    public void PowAndDivByRunTimeTensor_MatchOnnxRuntime()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 3, 40).Input("d", 3, 40).Initializer("one", [1], [1f]).Initializer("three", [1], [3f]).Initializer("half", [1], [0.5f])
            .Int64Initializer("two", [2])
            .Node("Pow", "square", ["x", "two"], ["sq"])
            .Node("Add", "positive", ["sq", "one"], ["p"]).Node("Pow", "root", ["p", "half"], ["r"])
            .Node("Add", "shift", ["d", "three"], ["den"]).Node("Div", "div", ["x", "den"], ["q"])
            .Output("sq").Output("r").Output("q").Build();
        AssertMatchesOnnxRuntime(onnx, "pow_div.onnx", ("x", [3, 40], 28), ("d", [3, 40], 29));
    }

    [TestCase(-1, true)]
    [TestCase(1, true)]
    [TestCase(2, false)]
    public void LayerNormalization_MatchesOnnxRuntime(int axis, bool bias)
    {
        int length = axis == 1 ? 6 * 8 : 8;
        var b = new OnnxModelBuilder(17).Input("x", 3, 6, 8)
            .Initializer("scale", axis == 1 ? [6, 8] : [8], TestData.Floats(21, length, 0.5f, 1.5f));
        if (bias) b.Initializer("bias", axis == 1 ? [6, 8] : [8], TestData.Floats(22, length));
        var onnx = b.Node("LayerNormalization", "ln", bias ? ["x", "scale", "bias"] : ["x", "scale"], ["y"], Int("axis", axis), Float("epsilon", 1e-3f))
            .Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "layernorm.onnx", ("x", [3, 6, 8], 23));
    }

    /// <summary>InstanceNormalization (LayerNorm over the flattened spatial axes, then per-channel scale and bias) against ONNX Runtime.</summary>
    [TestCase(new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 1, 4, 10 })]
    [TestCase(new[] { 1, 2, 3, 2, 4 })]
    public void InstanceNormalization_MatchesOnnxRuntime(int[] shape)
    {
        int channels = shape[1];
        var onnx = new OnnxModelBuilder(13).Input("x", shape.Select(d => (long?)d).ToArray())
            .Initializer("scale", [channels], TestData.Floats(24, channels, 0.5f, 1.5f))
            .Initializer("bias", [channels], TestData.Floats(25, channels))
            .Node("InstanceNormalization", "in", ["x", "scale", "bias"], ["y"], Float("epsilon", 1e-3f))
            .Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "instancenorm.onnx", ("x", shape, 26));
    }

    [TestCase("asymmetric", "floor")]
    [TestCase("half_pixel", "round_prefer_floor")]
    [TestCase("pytorch_half_pixel", "round_prefer_ceil")]
    public void ResizeNearestByWholeFactors_MatchesOnnxRuntime(string coordinates, string rounding)
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 3, 4, 5)
            .Initializer("scales", [4], [1f, 1f, 2f, 3f])
            .Node("Resize", "up", ["x", "", "scales"], ["y"], String("mode", "nearest"), String("coordinate_transformation_mode", coordinates),
                String("nearest_mode", rounding))
            .Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "resize.onnx", ("x", [1, 3, 4, 5], 41));
    }

    /// <summary>ConvTranspose (the weights reordered to Conv's layout, pads from auto_pad or output_shape) against ONNX Runtime.</summary>
    [TestCase(new[] { 1, 4, 5, 6 }, 3, 1, new long[] { 3, 3 }, "strides=2,2 pads=1,1,1,1 output_padding=1,1")]
    [TestCase(new[] { 2, 4, 4, 5 }, 6, 2, new long[] { 2, 3 }, "strides=2,1 dilations=1,2 pads=0,1,1,0")]
    [TestCase(new[] { 1, 6, 3, 3 }, 6, 6, new long[] { 3, 3 }, "strides=3,2 output_shape=9,7")]
    [TestCase(new[] { 1, 3, 4, 4 }, 2, 1, new long[] { 3, 3 }, "strides=2,2 auto_pad=SAME_UPPER")]
    [TestCase(new[] { 1, 3, 5, 3 }, 2, 1, new long[] { 3, 2 }, "strides=2,3 auto_pad=SAME_LOWER")]
    [TestCase(new[] { 1, 3, 4, 4 }, 2, 1, new long[] { 3, 3 }, "strides=2,2 auto_pad=SAME_LOWER")]
    [TestCase(new[] { 1, 4, 10 }, 4, 2, new long[] { 5 }, "strides=3 pads=2,1 output_padding=2")]
    [TestCase(new[] { 1, 2, 7 }, 3, 1, new long[] { 2 }, "")]
    public void ConvTranspose_MatchesOnnxRuntime(int[] shape, int outChannels, int group, long[] kernel, string attributes)
    {
        var onnxAttributes = attributes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a.Split('=')).Select(a =>
            a[0] == "auto_pad" ? String(a[0], a[1]) : Ints(a[0], a[1].Split(',').Select(long.Parse).ToArray())).Append(Int("group", group)).ToArray();
        int[] w = [shape[1], outChannels / group, .. kernel.Select(k => (int)k)];
        var onnx = new OnnxModelBuilder(13).Input("x", shape.Select(d => (long?)d).ToArray())
            .Initializer("w", w, TestData.Floats(7, ShapeUtil.ElementCount(w)))
            .Initializer("b", [outChannels], TestData.Floats(8, outChannels))
            .Node("ConvTranspose", "deconv", ["x", "w", "b"], ["y"], onnxAttributes).Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "convtranspose.onnx", ("x", shape, 9));
    }

    /// <summary>
    /// Bilinear Resize in every supported coordinate mode, up and down, by scales (their own value enters the
    /// coordinates) and by sizes. align_corners by scales keeps input · scale whole: there ONNX's reference (which the
    /// conformance data follows, and so do we) and ONNX Runtime (which uses the rounded output size) differ.
    /// </summary>
    [TestCase("half_pixel", new[] { 1, 3, 4, 5 }, new[] { 2f, 1.5f }, null)]
    [TestCase("pytorch_half_pixel", new[] { 2, 2, 6, 4 }, new[] { 0.5f, 0.75f }, null)]
    [TestCase("align_corners", new[] { 1, 3, 4, 5 }, new[] { 2.5f, 1.6f }, null)]
    [TestCase("asymmetric", new[] { 1, 2, 5, 4 }, new[] { 3f, 0.6f }, null)]
    [TestCase("half_pixel", new[] { 1, 3, 4, 5 }, null, new[] { 7, 3 })]
    [TestCase("pytorch_half_pixel", new[] { 1, 2, 7, 4 }, null, new[] { 1, 9 })]
    [TestCase("align_corners", new[] { 1, 2, 3, 3 }, null, new[] { 8, 1 })]
    public void ResizeLinear_MatchesOnnxRuntime(string coordinates, int[] shape, float[]? scales, int[]? sizes)
    {
        var b = new OnnxModelBuilder(13).Input("x", shape.Select(d => (long?)d).ToArray());
        string[] inputs;
        if (scales != null)
        {
            b.Initializer("scales", [4], [1f, 1f, scales[0], scales[1]]);
            inputs = ["x", "", "scales"];
        }
        else
        {
            b.Int64Initializer("sizes", [shape[0], shape[1], sizes![0], sizes[1]]);
            inputs = ["x", "", "", "sizes"];
        }
        var onnx = b.Node("Resize", "bilinear", inputs, ["y"], String("mode", "linear"), String("coordinate_transformation_mode", coordinates))
            .Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "resize_linear.onnx", ("x", shape, 43));
    }

    [TestCase("cubic", "half_pixel", new[] { 1, 3, 4, 4 }, new[] { 1f, 1f, 2f, 2f }, "mode 'cubic'")]
    [TestCase("linear", "tf_crop_and_resize", new[] { 1, 3, 4, 4 }, new[] { 1f, 1f, 2f, 2f }, "'tf_crop_and_resize'")]
    [TestCase("linear", "half_pixel", new[] { 1, 3, 4, 4 }, new[] { 1f, 2f, 2f, 2f }, "last two axes")]
    [TestCase("linear", "half_pixel", new[] { 1, 4, 4 }, new[] { 1f, 2f, 2f }, "rank-4")]
    [TestCase("nearest", "half_pixel", new[] { 1, 3, 4, 4 }, new[] { 1f, 1f, 1.5f, 2f }, "whole factors")]
    public void ResizeBeyondNearestAndBilinearIsRejectedByName(string mode, string coordinates, int[] shape, float[] scales, string reason)
    {
        var onnx = new OnnxModelBuilder(13).Input("x", shape.Select(d => (long?)d).ToArray()).Initializer("scales", [scales.Length], scales)
            .Node("Resize", "resize_node", ["x", "", "scales"], ["y"], String("mode", mode), String("coordinate_transformation_mode", coordinates))
            .Output("y").Build();
        var e = Assert.Throws<EdgeNets.Converter.ConversionException>(() => OnnxImporter.Import(onnx, "resize.onnx"));
        Assert.That(e!.Message, Does.Contain("'resize_node'").And.Contain(reason));
    }

    /// <summary>GELU as PyTorch exports it: fused into one Gelu operator, and still ONNX Runtime's numbers.</summary>
    [Test]
    public void GeluChain_IsFusedAndMatchesOnnxRuntime()
    {
        var onnx = GeluModel();
        var graph = OnnxImporter.Import(onnx, "gelu.onnx");
        Assert.That(graph.Ops.Select(o => o.Type), Is.EqualTo(new[] { OpType.Gelu }));
        AssertMatchesOnnxRuntime(onnx, "gelu.onnx", ("x", [2, 48], 51));
    }

    [Test]
    public void GeluChainWhoseIntermediateIsUsedElsewhere_IsNotFused()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 2, 48)
            .Initializer("sqrt2", [], [1.4142135f]).Initializer("one", [], [1f]).Initializer("half", [], [0.5f])
            .Node("Div", "div", ["x", "sqrt2"], ["d"]).Node("Erf", "erf", ["d"], ["e"]).Node("Add", "add", ["e", "one"], ["a"])
            .Node("Mul", "mul", ["x", "a"], ["m"]).Node("Mul", "mul_half", ["m", "half"], ["y"])
            .Output("y").Output("e").Build();
        Assert.That(OnnxImporter.Import(onnx, "gelu2.onnx").Ops.Any(o => o.Type == OpType.Gelu), Is.False);
        AssertMatchesOnnxRuntime(onnx, "gelu2.onnx", ("x", [2, 48], 52));
    }

    /// <summary>x times an activation chain of x (SiLU, Hardswish before opset 14, Mish): one SelfGate, still ONNX Runtime's numbers.</summary>
    [TestCase("silu")]
    [TestCase("silu_swapped")]
    [TestCase("hardswish")]
    [TestCase("mish")]
    public void ActivationTimesItsInput_IsOneSelfGateAndMatchesOnnxRuntime(string pattern)
    {
        var onnx = SelfGateModel(pattern);
        var graph = OnnxImporter.Import(onnx, pattern + ".onnx");
        Assert.That(graph.Ops.Select(o => o.Type), Is.EqualTo(new[] { OpType.SelfGate }));
        AssertMatchesOnnxRuntime(onnx, pattern + ".onnx", ("x", [2, 48], 53));
    }

    [Test]
    public void GateThatIsAlsoAnOutput_IsNotFused()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 2, 48).Node("Sigmoid", "sig", ["x"], ["s"]).Node("Mul", "mul", ["x", "s"], ["y"])
            .Output("y").Output("s").Build();
        Assert.That(OnnxImporter.Import(onnx, "silu2.onnx").Ops.Select(o => o.Type), Is.EqualTo(new[] { OpType.Sigmoid, OpType.Mul }));
        AssertMatchesOnnxRuntime(onnx, "silu2.onnx", ("x", [2, 48], 54));
    }

    /// <summary>Squeeze-excite's gate is a function of another tensor: a Mul, not a SelfGate.</summary>
    [Test]
    public void GateOfAnotherTensor_IsNotFused()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 2, 48).Input("z", 2, 48).Node("Sigmoid", "sig", ["z"], ["s"])
            .Node("Mul", "mul", ["x", "s"], ["y"]).Output("y").Build();
        Assert.That(OnnxImporter.Import(onnx, "gate.onnx").Ops.Select(o => o.Type), Is.EqualTo(new[] { OpType.Sigmoid, OpType.Mul }));
        AssertMatchesOnnxRuntime(onnx, "gate.onnx", ("x", [2, 48], 55), ("z", [2, 48], 56));
    }

    internal static byte[] SelfGateModel(string pattern)
    {
        var b = new OnnxModelBuilder(13).Input("x", 2, 48);
        b = pattern switch
        {
            "silu" => b.Node("Sigmoid", "sig", ["x"], ["s"]).Node("Mul", "mul", ["x", "s"], ["y"]),
            "silu_swapped" => b.Node("Sigmoid", "sig", ["x"], ["s"]).Node("Mul", "mul", ["s", "x"], ["y"]),
            "hardswish" => b.Node("HardSigmoid", "hsig", ["x"], ["s"], Float("alpha", 1f / 6)).Node("Mul", "mul", ["x", "s"], ["y"]),
            "mish" => b.Node("Softplus", "softplus", ["x"], ["s"]).Node("Tanh", "tanh", ["s"], ["t"]).Node("Mul", "mul", ["x", "t"], ["y"]),
            _ => throw new ArgumentException(pattern),
        };
        return b.Output("y").Build();
    }

    internal static byte[] GeluModel() => new OnnxModelBuilder(13).Input("x", 2, 48)
        .Initializer("sqrt2", [], [1.4142135f]).Initializer("one", [], [1f]).Initializer("half", [], [0.5f])
        .Node("Div", "div", ["x", "sqrt2"], ["d"]).Node("Erf", "erf", ["d"], ["e"]).Node("Add", "add", ["e", "one"], ["a"])
        .Node("Mul", "mul", ["x", "a"], ["m"]).Node("Mul", "mul_half", ["m", "half"], ["y"])
        .Output("y").Build();

    /// <summary>A zero Pad on the spatial axes before a Conv (TF-style "same", ZeroPad2d) is folded into the Conv's pads.</summary>
    [TestCase(0f, 1, true)]
    [TestCase(0.5f, 1, false)]
    [TestCase(0f, 2, false)]
    public void ZeroPadBeforeConv_IsFoldedAndMatchesOnnxRuntime(float value, int consumers, bool folded)
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, 2, 7, 6)
            .Int64Initializer("pads", [0, 0, 1, 2, 0, 0, 2, 1])
            .Initializer("value", [], [value])
            .Initializer("w", [3, 2, 3, 3], TestData.Floats(61, 54))
            .Node("Pad", "pad", ["x", "pads", "value"], ["p"])
            .Node("Conv", "conv", ["p", "w"], ["y"], Ints("pads", 1, 0, 0, 1));
        if (consumers == 2) b.Node("Relu", "relu", ["p"], ["z"]).Output("z");
        var onnx = b.Output("y").Build();
        var graph = OnnxImporter.Import(onnx, "padconv.onnx");
        Assert.That(graph.Ops.Any(o => o.Type == OpType.Pad), Is.EqualTo(!folded));
        if (folded) Assert.That(graph.Ops.Single(o => o.Type == OpType.Conv).Attributes.GetInts(AttributeKey.Pads), Is.EqualTo(new[] { 2, 2, 2, 2 }));
        AssertMatchesOnnxRuntime(onnx, "padconv.onnx", ("x", [1, 2, 7, 6], 62));
    }

    /// <summary>
    /// A constant Pad before a pool is folded into the pool only where the result cannot change: AveragePool with a
    /// zero pad value counting the padding, MaxPool with a value no input can be below (-inf, or at most the producing
    /// Relu's 0); never under ceil_mode, nor where a window would hold only padding. Every case, folded or not, against
    /// ONNX Runtime without its graph optimizations (its own Pad fusion folds a zero Pad into MaxPool, which changes
    /// windows of negative values).
    /// </summary>
    [TestCase("AveragePool", 0f, false, 0, 0, false, true)]
    [TestCase("AveragePool", 0f, false, 1, 1, false, false)]
    [TestCase("AveragePool", 0f, false, 1, 0, false, false)]
    [TestCase("AveragePool", 0.5f, false, 0, 0, false, false)]
    [TestCase("AveragePool", 0f, false, 0, 0, true, false)]
    [TestCase("MaxPool", 0f, true, 0, 0, false, true)]
    [TestCase("MaxPool", -1f, true, 0, 0, false, true)]
    [TestCase("MaxPool", -1f, true, 1, 0, false, false)]
    [TestCase("MaxPool", float.NegativeInfinity, false, 0, 0, false, true)]
    [TestCase("MaxPool", 0f, false, 0, 0, false, false)]
    [TestCase("MaxPool", 0.25f, true, 0, 0, false, false)]
    [TestCase("MaxPool", 0f, true, 0, 0, true, false)]
    public void PadBeforePool_IsFoldedOnlyWhereExactAndMatchesOnnxRuntime(string pool, float value, bool afterRelu, int ownPad, int includePad, bool ceil, bool folded)
    {
        var attributes = new List<Onnx.AttributeProto> { Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", ownPad, ownPad, ownPad, ownPad) };
        if (pool == "AveragePool") attributes.Add(Int("count_include_pad", includePad));
        if (ceil) attributes.Add(Int("ceil_mode", 1));
        var b = new OnnxModelBuilder(13).Input("x", 1, 3, 10, 9)
            .Int64Initializer("pads", [0, 0, 1, 0, 0, 0, 2, 1])
            .Initializer("value", [], [value]);
        if (afterRelu) b.Node("Relu", "relu", ["x"], ["r"]);
        var onnx = b.Node("Pad", "pad", [afterRelu ? "r" : "x", "pads", "value"], ["p"])
            .Node(pool, "pool", ["p"], ["y"], attributes.ToArray())
            .Output("y").Build();
        var graph = OnnxImporter.Import(onnx, "padpool.onnx");
        Assert.That(graph.Ops.Any(o => o.Type == OpType.Pad), Is.EqualTo(!folded));
        if (folded)
            Assert.That(graph.Ops.Single(o => o.Type.ToString() == pool).Attributes.GetInts(AttributeKey.Pads),
                Is.EqualTo(new[] { 1 + ownPad, ownPad, 2 + ownPad, 1 + ownPad }));
        AssertMatchesOnnxRuntime(onnx, "padpool.onnx", GraphOptimizationLevel.ORT_DISABLE_ALL, ("x", [1, 3, 10, 9], 63));
    }

    /// <summary>
    /// A Linear on a rank-3 tensor (MatMul + Add of a per-column constant, as PyTorch exports it) becomes one Gemm with
    /// that bias; not when the product has another reader, or when the Add broadcasts it to a larger shape.
    /// </summary>
    [TestCase(new[] { 5 }, false, false, true)]
    [TestCase(new[] { 1, 1, 5 }, true, false, true)]
    [TestCase(new[] { 1 }, false, false, true)]
    [TestCase(new[] { 5 }, false, true, false)]
    [TestCase(new[] { 2, 4, 5 }, false, false, false)]
    [TestCase(new[] { 3, 1, 1, 5 }, false, false, false)]
    public void AddOfPerColumnConstantAfterMatMul_IsTheGemmBias(int[] biasShape, bool constantFirst, bool secondReader, bool folded)
    {
        var b = new OnnxModelBuilder(17).Input("x", 2, 4, 3)
            .Initializer("w", [3, 5], TestData.Floats(71, 15))
            .Initializer("c", biasShape, TestData.Floats(72, ShapeUtil.ElementCount(biasShape)))
            .Node("MatMul", "matmul", ["x", "w"], ["p"])
            .Node("Add", "add", constantFirst ? ["c", "p"] : ["p", "c"], ["y"]);
        if (secondReader) b.Node("Relu", "relu", ["p"], ["z"]).Output("z");
        var onnx = b.Output("y").Build();
        var graph = OnnxImporter.Import(onnx, "linear.onnx");
        Assert.That(graph.Ops.Any(o => o.Type == OpType.Add), Is.EqualTo(!folded));
        Assert.That(graph.Ops.Single(o => o.Type == OpType.Gemm).Inputs.Length, Is.EqualTo(folded ? 3 : 2));
        AssertMatchesOnnxRuntime(onnx, "linear.onnx", ("x", [2, 4, 3], 73));
    }

    /// <summary>ReduceMean/ReduceMax over any axes (kept or dropped), lowered to a global pool: against ONNX Runtime.</summary>
    [TestCase("ReduceMean", new long[] { 2, 3 }, 1)]
    [TestCase("ReduceMean", new long[] { 2, 3 }, 0)]
    [TestCase("ReduceMean", new long[] { 1 }, 0)]
    [TestCase("ReduceMean", new long[] { -3, 3 }, 1)]
    [TestCase("ReduceMean", null, 0)]
    [TestCase("ReduceMax", new long[] { 1 }, 1)]
    [TestCase("ReduceMax", new long[] { 0, 2 }, 0)]
    public void ReduceOverAnyAxes_MatchesOnnxRuntime(string op, long[]? axes, int keepDims)
    {
        var attributes = new List<Onnx.AttributeProto> { Int("keepdims", keepDims) };
        if (axes != null) attributes.Add(Ints("axes", axes));
        var onnx = new OnnxModelBuilder(13).Input("x", 2, 3, 4, 5)
            .Node(op, "reduce", ["x"], ["y"], attributes.ToArray())
            .Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, $"{op}.onnx", ("x", [2, 3, 4, 5], 11));
    }

    [Test]
    public void ReduceMeanOverTime_MatchesOnnxRuntime()
    {
        // [N, T, H] mean over T: the pooling a GRU classifier ends with.
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 6, 8)
            .Node("ReduceMean", "mean_over_time", ["x"], ["y"], Ints("axes", 1), Int("keepdims", 0))
            .Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "mean_time.onnx", ("x", [1, 6, 8], 12));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    public void SoftmaxBeforeOpset13_CoercesTo2D(int axis)
    {
        var onnx = new OnnxModelBuilder(11).Input("x", 2, 3, 4)
            .Node("Softmax", "sm", ["x"], ["y"], Int("axis", axis))
            .Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "softmax11.onnx", ("x", [2, 3, 4], 9));
    }

    [Test]
    public void OutputsReachedThroughIdentity_AreWrittenUnderTheirNames()
    {
        // "same" is the graph input itself, "copy" repeats another output: both need a copy under their own name.
        var onnx = new OnnxModelBuilder(13).Input("x", 2, 5)
            .Node("Identity", "id0", ["x"], ["same"])
            .Node("Sigmoid", "sig", ["x"], ["s"])
            .Node("Identity", "id1", ["s"], ["out"])
            .Node("Identity", "id2", ["s"], ["copy"])
            .Output("same").Output("out").Output("copy").Build();
        AssertMatchesOnnxRuntime(onnx, "identity_outputs.onnx", ("x", [2, 5], 10));
    }

    [Test]
    public void MatMulOfRunTimeTensorsWithBroadcastBatch()
    {
        var onnx = new OnnxModelBuilder(13).Input("a", 2, 1, 3, 4).Input("b", 3, 4, 5)
            .Node("MatMul", "mm", ["a", "b"], ["y"])
            .Output("y").Build();
        var g = OnnxImporter.Import(onnx, "matmul.onnx");
        Assert.That(g.Tensors[g.Outputs[0]].Shape, Is.EqualTo(new[] { 2, 3, 3, 5 }));
        AssertMatchesOnnxRuntime(onnx, "matmul.onnx", ("a", [2, 1, 3, 4], 11), ("b", [3, 4, 5], 12));
    }

    [Test]
    public void ConcatWithAConstantOperand()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 2, 3)
            .Initializer("k", [1, 4, 3], TestData.Floats(13, 12))
            .Node("Concat", "cat", ["k", "x"], ["y"], Int("axis", 1))
            .Output("y").Build();
        AssertMatchesOnnxRuntime(onnx, "concat_const.onnx", ("x", [1, 2, 3], 14));
    }

    [Test]
    public void OperatorsOnConstantsOnly_AreEvaluatedAtImport()
    {
        // Sigmoid(c) and Transpose(w) read only constants: they become constants, and only the Add is left.
        var c = TestData.Floats(15, 6, -3f, 3f);
        var onnx = new OnnxModelBuilder(13).Input("x", 2, 3)
            .Initializer("c", [3, 2], c)
            .Node("Sigmoid", "sig", ["c"], ["s"])
            .Node("Transpose", "tr", ["s"], ["t"])
            .Node("Add", "add", ["x", "t"], ["y"])
            .Output("y").Build();

        var g = OnnxImporter.Import(onnx, "const_eval.onnx");

        Assert.That(g.Ops.Select(o => o.Type), Is.EqualTo(new[] { OpType.Add }));
        var folded = g.Tensors[g.Ops[0].Inputs[1]];
        Assert.That(folded.IsConstant && folded.Shape.SequenceEqual(new[] { 2, 3 }), Is.True);
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(folded.Data.Span).ToArray();
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                Assert.That(values[i * 3 + j], Is.EqualTo(1 / (1 + Math.Exp(-c[j * 2 + i]))).Within(1e-6));
        AssertMatchesOnnxRuntime(onnx, "const_eval.onnx", ("x", [2, 3], 16));
    }
}
