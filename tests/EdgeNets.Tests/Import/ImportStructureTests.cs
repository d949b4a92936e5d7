using System.Runtime.InteropServices;
using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Runtime.Graph;
using static EdgeNets.Tests.Import.OnnxModelBuilder;

using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Import;

/// <summary>What the importer makes of small hand-built ONNX graphs: folding, fusion, dropped ops and clear errors.</summary>
[TestFixture]
public class ImportStructureTests
{
    private static OpType[] Ops(ModelGraph g) => g.Ops.Select(o => o.Type).ToArray();

    private static float[] Floats(ModelGraph g, int tensor) => MemoryMarshal.Cast<byte, float>(g.Tensors[tensor].Data.Span).ToArray();

    private static OnnxModelBuilder ConvModel(int opset, int channels, float[] w, float[] b)
    {
        return new OnnxModelBuilder(opset)
            .Input("x", null, 3, 7, 5)
            .Initializer("W", [channels, 3, 3, 3], w)
            .Initializer("B", [channels], b)
            .Node("Conv", "conv", ["x", "W", "B"], ["c"], Ints("pads", 1, 1, 1, 1));
    }

    [TestCase(11)]
    [TestCase(17)]
    public void ConvBatchNormRelu_BecomesOneConvWithFoldedWeightsAndClamp(int opset)
    {
        const int channels = 4;
        var w = TestData.Floats(1, channels * 27);
        var b = TestData.Floats(2, channels);
        var scale = TestData.Floats(3, channels, 0.5f, 2f);
        var bias = TestData.Floats(4, channels);
        var mean = TestData.Floats(5, channels);
        var variance = TestData.Floats(6, channels, 0.1f, 3f);
        const float epsilon = 1e-3f;
        var onnx = ConvModel(opset, channels, w, b)
            .Initializer("scale", [channels], scale).Initializer("bias", [channels], bias)
            .Initializer("mean", [channels], mean).Initializer("var", [channels], variance)
            .Node("BatchNormalization", "bn", ["c", "scale", "bias", "mean", "var"], ["n"], Float("epsilon", epsilon))
            .Node("Relu", "relu", ["n"], ["y"])
            .Output("y").Build();

        var g = OnnxImporter.Import(onnx, "conv_bn_relu.onnx", new ImportOptions { BatchSize = 2 });

        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Conv }));
        var conv = g.Ops[0];
        Assert.That(g.Tensors[conv.Outputs[0]].Name, Is.EqualTo("y"));
        Assert.That(g.Tensors[conv.Outputs[0]].Shape, Is.EqualTo(new[] { 2, channels, 7, 5 }));
        Assert.That(conv.Attributes.GetFloat(AttributeKey.ActivationMin, float.NaN), Is.EqualTo(0f));
        Assert.That(conv.Attributes.Has(AttributeKey.ActivationMax), Is.False);
        Assert.That(conv.Attributes.GetInts(AttributeKey.Pads), Is.EqualTo(new[] { 1, 1, 1, 1 }));

        var foldedW = Floats(g, conv.Inputs[1]);
        var foldedB = Floats(g, conv.Inputs[2]);
        for (int m = 0; m < channels; m++)
        {
            double s = scale[m] / Math.Sqrt(variance[m] + (double)epsilon);
            for (int k = 0; k < 27; k++) Assert.That(foldedW[m * 27 + k], Is.EqualTo(w[m * 27 + k] * s).Within(1e-6 * Math.Max(1, Math.Abs(w[m * 27 + k] * s))));
            Assert.That(foldedB[m], Is.EqualTo((b[m] - mean[m]) * s + bias[m]).Within(1e-5));
        }
    }

    [Test]
    public void BatchNormWithoutConv_IsLoweredToMulAndAddWithPerChannelConstants()
    {
        var scale = new[] { 1f, 2f, 3f };
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 3, 4, 4)
            .Initializer("s", [3], scale).Initializer("b", [3], [0.5f, -1f, 2f])
            .Initializer("m", [3], [0.1f, 0.2f, 0.3f]).Initializer("v", [3], [1f, 4f, 9f])
            .Node("BatchNormalization", "bn", ["x", "s", "b", "m", "v"], ["y"], Float("epsilon", 0f))
            .Output("y").Build();

        var g = OnnxImporter.Import(onnx, "bn.onnx");

        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Mul, OpType.Add }));
        var mulConst = g.Tensors[g.Ops[0].Inputs[1]];
        var addConst = g.Tensors[g.Ops[1].Inputs[1]];
        Assert.That(mulConst.Shape, Is.EqualTo(new[] { 3, 1, 1 }));
        Assert.That(Floats(g, g.Ops[0].Inputs[1]), Is.EqualTo(new[] { 1f, 1f, 1f }).Within(1e-6));
        Assert.That(addConst.Shape, Is.EqualTo(new[] { 3, 1, 1 }));
        Assert.That(Floats(g, g.Ops[1].Inputs[1]), Is.EqualTo(new[] { 0.5f - 0.1f, -1f - 0.2f * 1f, 2f - 0.3f * 1f }).Within(1e-6));
        Assert.That(g.Tensors[g.Ops[1].Outputs[0]].Name, Is.EqualTo("y"));
    }

    [Test]
    public void BatchNormAfterConvWithAnotherConsumer_IsNotFolded()
    {
        var onnx = ConvModel(13, 2, TestData.Floats(1, 54), [0f, 0f])
            .Initializer("s", [2], [1f, 2f]).Initializer("b", [2], [0f, 1f]).Initializer("m", [2], [0f, 0f]).Initializer("v", [2], [1f, 1f])
            .Node("BatchNormalization", "bn", ["c", "s", "b", "m", "v"], ["n"])
            .Node("Add", "add", ["c", "n"], ["y"])
            .Output("y").Build();

        var g = OnnxImporter.Import(onnx, "shared.onnx");

        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Conv, OpType.Mul, OpType.Add, OpType.Add }));
    }

    [TestCase(11)]
    [TestCase(13)]
    [TestCase(17)]
    public void ViewBatchMinusOne_ShapeGlueFoldsIntoOneReshape(int opset)
    {
        // What torch exports for x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
        var b = new OnnxModelBuilder(opset).Input("x", null, 2, 3, 4)
            .Node("Relu", "relu", ["x"], ["r"])
            .Node("Shape", "shape", ["r"], ["s"])
            .Node("Constant", "zero", [], ["i0"], Tensor("value", [0], scalar: true))
            .Node("Gather", "gather", ["s", "i0"], ["n"], Int("axis", 0));
        if (opset >= 13) b.Int64Initializer("axes", [0]).Node("Unsqueeze", "unsq", ["n", "axes"], ["n1"]);
        else b.Node("Unsqueeze", "unsq", ["n"], ["n1"], Ints("axes", 0));
        var onnx = b.Int64Initializer("minus_one", [-1])
            .Node("Concat", "cat", ["n1", "minus_one"], ["shape"], Int("axis", 0))
            .Node("Reshape", "reshape", ["r", "shape"], ["y"])
            .Output("y").Build();

        var g = OnnxImporter.Import(onnx, "view.onnx", new ImportOptions { BatchSize = 3 });

        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Relu, OpType.Reshape }));
        Assert.That(g.Tensors[g.Outputs[0]].Shape, Is.EqualTo(new[] { 3, 24 }));
        Assert.That(g.Tensors.All(t => t.Type == DataType.Float32), Is.True);
        Assert.That(g.Tensors.Where(t => t.IsConstant), Is.Empty, "no shape constant may remain");
    }

    [Test]
    public void ShapeArithmeticOnInt64Constants_FoldsAway()
    {
        // shape = [N * 3 / 3, Where(ones == 1, Expand(-1), ones)] with N from Slice(Shape(x)); Range/Cast feed a float Add.
        var b = new OnnxModelBuilder(13).Input("x", null, 2, 3, 4)
            .Node("Shape", "shape", ["x"], ["s"])
            .Int64Initializer("start", [0]).Int64Initializer("end", [1]).Int64Initializer("three", [3]).Int64Initializer("minus_one", [-1])
            .Int64Initializer("one_dim", [1])
            .Node("Slice", "slice", ["s", "start", "end"], ["n"])
            .Node("Mul", "mul", ["n", "three"], ["n3"])
            .Node("Div", "div", ["n3", "three"], ["n1"])
            .Node("ConstantOfShape", "ones", ["one_dim"], ["ones"], TensorValue(1))
            .Node("Equal", "eq", ["ones", "one_dim"], ["is_one"])
            .Node("Expand", "expand", ["minus_one", "one_dim"], ["m"])
            .Node("Where", "where", ["is_one", "m", "ones"], ["w"])
            .Node("Concat", "cat", ["n1", "w"], ["target"], Int("axis", 0))
            .Node("Reshape", "reshape", ["x", "target"], ["flat"])
            .Int64Initializer("r0", [0]).Int64Initializer("r1", [24]).Int64Initializer("r2", [1])
            .Node("Squeeze", "sq0", ["r0"], ["r0s"]).Node("Squeeze", "sq1", ["r1"], ["r1s"]).Node("Squeeze", "sq2", ["r2"], ["r2s"])
            .Node("Range", "range", ["r0s", "r1s", "r2s"], ["ramp"])
            .Node("Cast", "cast", ["ramp"], ["ramp_f"], Int("to", 1))
            .Node("Add", "add", ["flat", "ramp_f"], ["y"])
            .Output("y");

        var g = OnnxImporter.Import(b.Build(), "glue.onnx", new ImportOptions { BatchSize = 2 });

        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Reshape, OpType.Add }));
        Assert.That(g.Tensors[g.Ops[0].Outputs[0]].Shape, Is.EqualTo(new[] { 2, 24 }));
        var ramp = g.Tensors[g.Ops[1].Inputs[1]];
        Assert.That(ramp.Shape, Is.EqualTo(new[] { 24 }));
        Assert.That(Floats(g, g.Ops[1].Inputs[1]), Is.EqualTo(Enumerable.Range(0, 24).Select(i => (float)i).ToArray()));
    }

    private static Onnx.AttributeProto TensorValue(long value)
    {
        var t = new Onnx.TensorProto { DataType = 7 };
        t.Dims.Add(1);
        t.Int64Data.Add(value);
        return new Onnx.AttributeProto { Name = "value", Type = Onnx.AttributeProto.Types.AttributeType.Tensor, T = t };
    }

    [Test]
    public void IdentityAndDropout_AreDroppedAndOutputKeepsItsName()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 8)
            .Node("Relu", "relu", ["x"], ["a"])
            .Node("Identity", "id1", ["a"], ["b"])
            .Node("Dropout", "drop", ["b"], ["c"])
            .Node("Sigmoid", "sig", ["c"], ["d"])
            .Node("Identity", "id2", ["d"], ["out"])
            .Output("out").Build();

        var g = OnnxImporter.Import(onnx, "identity.onnx");

        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Relu, OpType.Sigmoid }));
        Assert.That(g.Tensors[g.Ops[1].Inputs[0]].Name, Is.EqualTo("a"));
        Assert.That(g.Tensors[g.Outputs[0]].Name, Is.EqualTo("out"));
    }

    [Test]
    public void DropoutMaskInUse_FailsNamingTheNode()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 8)
            .Node("Dropout", "drop", ["x"], ["y", "mask"])
            .Node("Relu", "relu", ["mask"], ["z"])
            .Output("y").Build();
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(onnx, "dropout.onnx"));
        Assert.That(e!.Message, Does.Contain("drop").And.Contain("Dropout").And.Contain("mask"));
    }

    [TestCase(11, true)]
    [TestCase(11, false)]
    [TestCase(13, true)]
    public void ClipAfterGemm_IsFusedAsClamp(int opset, bool withMin)
    {
        var b = new OnnxModelBuilder(opset).Input("x", 1, 4)
            .Initializer("W", [3, 4], TestData.Floats(7, 12)).Initializer("C", [3], [1f, 2f, 3f])
            .Initializer("lo", [], [-0.5f]).Initializer("hi", [], [6f])
            .Node("Gemm", "fc", ["x", "W", "C"], ["h"], Int("transB", 1))
            .Node("Clip", "clip", ["h", withMin ? "lo" : "", "hi"], ["y"])
            .Output("y");

        var g = OnnxImporter.Import(b.Build(), "gemm_clip.onnx");

        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Gemm }));
        var attrs = g.Ops[0].Attributes;
        Assert.That(attrs.GetFloat(AttributeKey.ActivationMax, float.NaN), Is.EqualTo(6f));
        Assert.That(attrs.Has(AttributeKey.ActivationMin), Is.EqualTo(withMin));
        if (withMin) Assert.That(attrs.GetFloat(AttributeKey.ActivationMin, float.NaN), Is.EqualTo(-0.5f));
        Assert.That(g.Tensors[g.Ops[0].Outputs[0]].Name, Is.EqualTo("y"));
    }

    [Test]
    public void ReluWhoseInputIsAGraphOutput_IsNotFused()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 4).Input("z", 1, 4)
            .Node("Add", "add", ["x", "z"], ["s"])
            .Node("Relu", "relu", ["s"], ["y"])
            .Output("s").Output("y").Build();

        var g = OnnxImporter.Import(onnx, "two_outputs.onnx");

        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Add, OpType.Relu }));
        Assert.That(g.Outputs.Select(o => g.Tensors[o].Name), Is.EqualTo(new[] { "s", "y" }));
        Assert.That(g.Inputs.Select(o => g.Tensors[o].Name), Is.EqualTo(new[] { "x", "z" }));
    }

    [Test]
    public void Gemm_AlphaBetaAndTransposeAreFoldedIntoConstants()
    {
        // B is [K,N] = [4,3] (transB = 0): the runtime wants W = alpha * B^T as [N,K], bias = beta * C.
        var bValues = TestData.Floats(8, 12);
        var onnx = new OnnxModelBuilder(13).Input("x", 2, 4)
            .Initializer("B", [4, 3], bValues).Initializer("C", [1, 3], [1f, 2f, 3f])
            .Node("Gemm", "fc", ["x", "B", "C"], ["y"], Float("alpha", 2f), Float("beta", 0.5f))
            .Output("y").Build();

        var g = OnnxImporter.Import(onnx, "gemm.onnx");

        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Gemm }));
        var w = Floats(g, g.Ops[0].Inputs[1]);
        Assert.That(g.Tensors[g.Ops[0].Inputs[1]].Shape, Is.EqualTo(new[] { 3, 4 }));
        for (int n = 0; n < 3; n++)
            for (int k = 0; k < 4; k++) Assert.That(w[n * 4 + k], Is.EqualTo(2f * bValues[k * 3 + n]));
        Assert.That(Floats(g, g.Ops[0].Inputs[2]), Is.EqualTo(new[] { 0.5f, 1f, 1.5f }));
        Assert.That(g.Tensors[g.Outputs[0]].Shape, Is.EqualTo(new[] { 2, 3 }));
    }

    [Test]
    public void SubAndDivByConstants_BecomeAddAndMul()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 3)
            .Initializer("c", [3], [1f, 2f, 4f])
            .Node("Sub", "sub", ["x", "c"], ["a"])
            .Node("Div", "div", ["a", "c"], ["y"])
            .Output("y").Build();

        var g = OnnxImporter.Import(onnx, "subdiv.onnx");

        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Add, OpType.Mul }));
        Assert.That(Floats(g, g.Ops[0].Inputs[1]), Is.EqualTo(new[] { -1f, -2f, -4f }));
        Assert.That(Floats(g, g.Ops[1].Inputs[1]), Is.EqualTo(new[] { 1f, 0.5f, 0.25f }));
    }

    [Test]
    public void Metadata_NamesSourceOpsetProducerAndPrecision()
    {
        var onnx = new OnnxModelBuilder(12).Input("x", 1, 3).Node("Relu", "r", ["x"], ["y"]).Output("y").Build();
        var g = OnnxImporter.Import(onnx, "meta.onnx");
        Assert.That(g.Metadata["source"], Is.EqualTo("meta.onnx"));
        Assert.That(g.Metadata["opset"], Is.EqualTo("12"));
        Assert.That(g.Metadata["producer"], Is.EqualTo("edgenets-tests 1"));
        Assert.That(g.Metadata["precision"], Is.EqualTo("float32"));
    }

    [Test]
    public void UnsupportedOperator_FailsNamingNodeAndOp()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 3)
            .Node("Relu", "first", ["x"], ["a"])
            .Node("Sinh", "the_sinh_node", ["a"], ["y"])
            .Output("y").Build();
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(onnx, "erf.onnx"));
        Assert.That(e!.Message, Does.Contain("erf.onnx").And.Contain("'the_sinh_node'").And.Contain("Sinh").And.Contain("not supported"));
    }

    [Test]
    public void UnsupportedAttributeValue_FailsNamingAttributeAndValue()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 1, 4, 4)
            .Int64Initializer("pads", [0, 0, 1, 1, 0, 0, 1, 1])
            .Node("Pad", "pad", ["x", "pads"], ["y"], String("mode", "reflect"))
            .Output("y").Build();
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(onnx, "pad.onnx"));
        Assert.That(e!.Message, Does.Contain("'pad'").And.Contain("Pad").And.Contain("'mode'").And.Contain("reflect"));
    }

    [Test]
    public void ConvWithRunTimeWeights_FailsNamingTheWeights()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 1, 4, 4).Input("w", 1, 1, 3, 3)
            .Node("Conv", "conv", ["x", "w"], ["y"])
            .Output("y").Build();
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(onnx, "conv.onnx"));
        Assert.That(e!.Message, Does.Contain("'conv'").And.Contain("Conv").And.Contain("'w'").And.Contain("constant"));
    }

    [Test]
    public void UsedMaxPoolIndices_FailNamingTheOutput()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 1, 4, 4)
            .Node("MaxPool", "pool", ["x"], ["y", "idx"], Ints("kernel_shape", 2, 2))
            .Output("y").Output("idx").Build();
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(onnx, "argmax.onnx"));
        Assert.That(e!.Message, Does.Contain("'pool'").And.Contain("MaxPool").And.Contain("'idx'"));
    }

    [Test]
    public void ThreeDimensionalConvolution_FailsNamingTheShape()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 1, 4, 4, 4)
            .Initializer("W", [1, 1, 2, 2, 2], TestData.Floats(1, 8))
            .Node("Conv", "conv3d", ["x", "W"], ["y"])
            .Output("y").Build();
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(onnx, "conv3d.onnx"));
        Assert.That(e!.Message, Does.Contain("'conv3d'").And.Contain("Conv").And.Contain("[1,1,4,4,4]"));
    }

    [Test]
    public void IntegerGraphInput_FailsNamingTheInputAndType()
    {
        var b = new OnnxModelBuilder(13).Input("tokens", 1, 8).Node("Relu", "r", ["tokens"], ["y"]).Output("y");
        b.Graph.Input[0].Type.TensorType.ElemType = 7;
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(b.Build(), "ids.onnx"));
        Assert.That(e!.Message, Does.Contain("'tokens'").And.Contain("int64"));
    }

    [Test]
    public void EmptyFile_IsNotAnOnnxModel()
    {
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import([], "empty.onnx"));
        Assert.That(e!.Message, Does.StartWith("empty.onnx is not an ONNX model ("));
    }

    [Test]
    public void GarbageBytes_AreNotAnOnnxModel()
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes("this is certainly not a protobuf message \xff\xff\xff\xff");
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(bytes, "notes.txt"));
        Assert.That(e!.Message, Does.StartWith("notes.txt is not an ONNX model ("));
    }

    [Test]
    public void FileThatIsNotOnnx_IsNotAnOnnxModel()
    {
        string path = Path.Combine(Path.GetTempPath(), $"edgenets-not-onnx-{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, TestData.Int8(3, 300).Select(v => (byte)v).ToArray());
        try
        {
            var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(path));
            Assert.That(e!.Message, Does.Contain("is not an ONNX model ("));
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void MissingFile_FailsClearly()
    {
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import("/nonexistent/dir/model.onnx"));
        Assert.That(e!.Message, Does.Contain("/nonexistent/dir/model.onnx").And.Contain("not found"));
    }

    [TestCase(10)]
    [TestCase(18)]
    public void OpsetOutOfRange_Fails(int opset)
    {
        var onnx = new OnnxModelBuilder(opset).Input("x", 1, 3).Node("Relu", "r", ["x"], ["y"]).Output("y").Build();
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(onnx, "old.onnx"));
        Assert.That(e!.Message, Does.Contain($"opset {opset}").And.Contain("11 to 17"));
    }

    [Test]
    public void DynamicNonBatchDimension_FailsUnlessAShapeIsGiven()
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, 3).Node("Relu", "r", ["x"], ["y"]).Output("y");
        b.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimParam = "time";
        var onnx = b.Build();

        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(onnx, "dyn.onnx"));
        Assert.That(e!.Message, Does.Contain("'x'").And.Contain("dimension 1").And.Contain("'time'"));

        var options = new ImportOptions();
        options.InputShapes["x"] = [1, 40];
        var g = OnnxImporter.Import(onnx, "dyn.onnx", options);
        Assert.That(g.Tensors[g.Inputs[0]].Shape, Is.EqualTo(new[] { 1, 40 }));
    }

    [Test]
    public void SoftmaxBeforeOpset13OnInnerAxis_IsWrappedInReshapes()
    {
        var onnx = new OnnxModelBuilder(11).Input("x", 2, 3, 4)
            .Node("Softmax", "sm", ["x"], ["y"], Int("axis", 1))
            .Output("y").Build();

        var g = OnnxImporter.Import(onnx, "softmax.onnx");

        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Reshape, OpType.Softmax, OpType.Reshape }));
        Assert.That(g.Tensors[g.Ops[1].Outputs[0]].Shape, Is.EqualTo(new[] { 2, 12 }));
        Assert.That(g.Ops[1].Attributes.GetInt(AttributeKey.Axis, -1), Is.EqualTo(1));
        Assert.That(g.Tensors[g.Outputs[0]].Shape, Is.EqualTo(new[] { 2, 3, 4 }));
    }

    [Test]
    public void ConvAutoPadSameUpper_ResolvesToExplicitPads()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 1, 7, 8)
            .Initializer("W", [2, 1, 4, 3], TestData.Floats(9, 24))
            .Node("Conv", "conv", ["x", "W"], ["y"], String("auto_pad", "SAME_UPPER"), Ints("strides", 2, 2))
            .Output("y").Build();

        var g = OnnxImporter.Import(onnx, "same.onnx");

        // Height 7, stride 2 -> 4 outputs, total pad (4-1)*2+4-7 = 3 (1 before, 2 after); width 8 -> 4, total pad 1 (0, 1).
        Assert.That(g.Ops[0].Attributes.GetInts(AttributeKey.Pads), Is.EqualTo(new[] { 1, 0, 2, 1 }));
        Assert.That(g.Tensors[g.Outputs[0]].Shape, Is.EqualTo(new[] { 1, 2, 4, 4 }));
    }

    // Real PyTorch exports (tests/data/onnx, see its manifest.txt).
    private static ModelGraph ImportExport(string file, int batch = 1) =>
        OnnxImporter.Import(Path.Combine(ImportTestSupport.RepoRoot, "tests", "data", "onnx", file), new ImportOptions { BatchSize = batch });

    [TestCase("conv_bn_relu_op11.onnx")]
    [TestCase("conv_bn_relu_op17.onnx")]
    [TestCase("dropout_eval_op11.onnx")]
    [TestCase("dropout_eval_op17.onnx")]
    public void ExportedConvBatchNormDropoutRelu_IsOneClampedConv(string file)
    {
        var g = ImportExport(file);
        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Conv }));
        Assert.That(g.Ops[0].Attributes.GetFloat(AttributeKey.ActivationMin, float.NaN), Is.EqualTo(0f));
        Assert.That(g.Tensors[g.Ops[0].Outputs[0]].Name, Is.EqualTo("output"));
    }

    [TestCase("linear_bn1d_op11.onnx")]
    [TestCase("linear_bn1d_op17.onnx")]
    public void ExportedLinearBatchNormRelu_IsOneClampedGemm(string file)
    {
        var g = ImportExport(file, batch: 5);
        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Gemm }));
        Assert.That(g.Ops[0].Attributes.GetFloat(AttributeKey.ActivationMin, float.NaN), Is.EqualTo(0f));
        Assert.That(g.Tensors[g.Outputs[0]].Shape, Is.EqualTo(new[] { 5, 12 }));
    }

    [TestCase("view_batch_glue_op11.onnx")]
    [TestCase("view_batch_glue_op17.onnx")]
    public void ExportedViewWithBatchGlue_LeavesOnlyReshape(string file)
    {
        var g = ImportExport(file, batch: 4);
        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Conv, OpType.Reshape, OpType.Gemm }));
        Assert.That(g.Tensors[g.Ops[1].Outputs[0]].Shape[0], Is.EqualTo(4));
        Assert.That(g.Tensors[g.Outputs[0]].Shape, Is.EqualTo(new[] { 4, 10 }));
        Assert.That(g.Tensors.All(t => t.Type == DataType.Float32), Is.True);
    }

    [TestCase("mobilenet_block_op11.onnx")]
    [TestCase("mobilenet_block_op17.onnx")]
    public void ExportedInvertedResidual_FoldsEveryBatchNormAndFusesRelu6(string file)
    {
        var g = ImportExport(file);
        Assert.That(Ops(g), Is.EqualTo(new[] { OpType.Conv, OpType.Conv, OpType.Conv, OpType.Add }));
        for (int i = 0; i < 2; i++)
        {
            Assert.That(g.Ops[i].Attributes.GetFloat(AttributeKey.ActivationMin, float.NaN), Is.EqualTo(0f));
            Assert.That(g.Ops[i].Attributes.GetFloat(AttributeKey.ActivationMax, float.NaN), Is.EqualTo(6f));
        }
        Assert.That(g.Ops[1].Attributes.GetInt(AttributeKey.Group, 0), Is.EqualTo(g.Tensors[g.Ops[1].Inputs[0]].Shape[1]), "depthwise");
    }
}
