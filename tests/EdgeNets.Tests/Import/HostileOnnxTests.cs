using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using Google.Protobuf;
using NUnit.Framework;
using Onnx;
using static EdgeNets.Tests.Import.OnnxModelBuilder;

namespace EdgeNets.Tests.Import;

/// <summary>
/// One hostile ONNX model per defect class the importer fuzzer found (tests/EdgeNets.Tests/Fuzzing): each is refused
/// with one <see cref="ConversionException"/> line naming the file, the node or tensor and what is wrong, before
/// anything of a refused size is allocated.
/// </summary>
public class HostileOnnxTests
{
    private static ConversionException Refused(byte[] onnx, string name = "hostile.onnx")
    {
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(onnx, name))!;
        Assert.That(e.Message, Does.StartWith(name + ":").And.Not.Contain("\n"));
        return e;
    }

    private static OnnxModelBuilder BatchNorm(float epsilon, float scale, float mean)
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, 2, 4, 4)
            .Initializer("scale", [2], [scale, 1]).Initializer("bias", [2], [0, 0])
            .Initializer("mean", [2], [mean, 0]).Initializer("var", [2], [1, 1]);
        return b.Node("BatchNormalization", "bn", ["x", "scale", "bias", "mean", "var"], ["y"], Float("epsilon", epsilon)).Output("y");
    }

    [Test]
    public void BatchNormWithNegativeVariancePlusEpsilon_IsRefusedNamingTheNode()
    {
        var e = Refused(BatchNorm(-1f, 1f, 0f).Build());
        Assert.That(e.Message, Does.Contain("'bn' (BatchNormalization)").And.Contain("variance + epsilon of channel 0"));
    }

    [Test]
    public void NaNEpsilon_IsRefusedNamingTheAttribute()
    {
        var e = Refused(BatchNorm(float.NaN, 1f, 0f).Build());
        Assert.That(e.Message, Does.Contain("node 'bn' (BatchNormalization)").And.Contain("attribute 'epsilon' = NaN is not finite"));
    }

    [Test]
    public void BatchNormStatisticsThatFoldToInfinity_AreRefused()
    {
        var e = Refused(BatchNorm(1e-5f, 10f, 1e38f).Build());
        Assert.That(e.Message, Does.Contain("'bn' (BatchNormalization): folding gives shift value -Infinity at index 0"));
    }

    [Test]
    public void NaNLeakyReluAlpha_IsRefusedNamingTheAttribute()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 4).Node("LeakyRelu", "leaky", ["x"], ["y"], Float("alpha", float.NaN)).Output("y").Build();
        Assert.That(Refused(onnx).Message, Does.Contain("node 'leaky' (LeakyRelu): attribute 'alpha' = NaN is not finite"));
    }

    [Test]
    public void NaNWeight_IsRefusedNamingTheTensor()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 3)
            .Initializer("w", [3, 2], [1, 2, 3, float.NaN, 5, 6])
            .Node("MatMul", "mm", ["x", "w"], ["y"]).Output("y").Build();
        Assert.That(Refused(onnx).Message, Does.Contain("has value NaN at index").And.Contain("weights must be finite"));
    }

    [Test]
    public void AttributeOfTheWrongType_IsRefusedNamingNodeAndAttribute()
    {
        var axis = new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Float, F = 1f };
        var onnx = new OnnxModelBuilder(13).Input("a", 1, 2).Input("b", 1, 2).Node("Concat", "cat", ["a", "b"], ["y"], axis).Output("y").Build();
        Assert.That(Refused(onnx).Message, Does.Contain("node 'cat' (Concat): attribute 'axis' has type FLOAT, expected INT"));
    }

    [Test]
    public void ScalarWhereConcatExpectsAList_IsRefused()
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, 4).Int64Initializer("list", [1, 4]);
        var scalar = new TensorProto { Name = "scalar", DataType = 7 };
        scalar.Int64Data.Add(4);
        b.Graph.Initializer.Add(scalar);
        var onnx = b.Node("Concat", "cat", ["list", "scalar"], ["shape"], Int("axis", 0))
            .Node("Reshape", "reshape", ["x", "shape"], ["y"]).Output("y").Build();
        Assert.That(Refused(onnx).Message, Does.Contain("node 'cat' (Concat): inputs differ in rank or type"));
    }

    [Test]
    public void GraphInputOverTheSizeLimit_IsRefusedNamingTheInput()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 8, 1L << 30, 6).Node("Relu", "relu", ["x"], ["y"]).Output("y").Build();
        Assert.That(Refused(onnx).Message, Does.Contain("graph input 'x'").And.Contain("over the limit of 67108864 elements (256 MB of float32)"));
    }

    [Test]
    public void InitializerWhoseElementCountOverflows_IsRefusedNamingTheTensor()
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, 4);
        var huge = new TensorProto { Name = "huge", DataType = 1 };
        huge.Dims.AddRange([int.MaxValue, int.MaxValue, 4]);
        huge.RawData = ByteString.CopyFrom(new byte[16]);
        b.Graph.Initializer.Add(huge);
        var onnx = b.Node("Relu", "relu", ["x"], ["y"]).Output("y").Build();
        Assert.That(Refused(onnx).Message, Does.Contain("tensor 'huge'").And.Contain("over the limit"));
    }

    /// <summary>The expected raw byte count (elements x 8) must not wrap around to a negative number.</summary>
    [Test]
    public void RawDataOfAShapeWhoseByteCountOverflows_IsRefusedBySize()
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, 4);
        var w = new TensorProto { Name = "w", DataType = 7 };
        w.Dims.Add(1L << 28);
        w.RawData = ByteString.CopyFrom(new byte[16]);
        b.Graph.Initializer.Add(w);
        var onnx = b.Node("Relu", "relu", ["x"], ["y"]).Output("y").Build();
        Assert.That(Refused(onnx).Message, Does.Contain("tensor 'w'").And.Contain("over the limit").And.Not.Contain("-2147483648"));
    }

    /// <summary>The 130-byte models that took gigabytes and a minute: each folding result is counted before it is allocated.</summary>
    [TestCase("ConstantOfShape")]
    [TestCase("Range")]
    [TestCase("Expand")]
    public void FoldingOverTheSizeLimit_IsRefusedBeforeAllocating(string op)
    {
        var b = new OnnxModelBuilder(13).Input("x", 1, 4);
        switch (op)
        {
            case "ConstantOfShape": b.Int64Initializer("shape", [1L << 30]).Node(op, "big", ["shape"], ["c"]); break;
            case "Range": b.Int64Initializer("start", [0]).Int64Initializer("limit", [1_000_000_000]).Int64Initializer("delta", [1]).Node(op, "big", ["start", "limit", "delta"], ["c"]); break;
            default: b.Initializer("one", [1], [1f]).Int64Initializer("shape", [32768, 32768]).Node(op, "big", ["one", "shape"], ["c"]); break;
        }
        var onnx = b.Node("Add", "add", ["x", "c"], ["y"]).Output("y").Build();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Refused(onnx);
        Assert.That(e.Message, Does.Contain($"node 'big' ({op})").And.Contain("over the limit"));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(16L << 20), "bytes allocated before the refusal");
    }

    [Test]
    public void NodeWritingAnOutputAlreadyWritten_IsRefusedNamingTheOutput()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 4)
            .Node("Relu", "first", ["x"], ["y"]).Node("Sigmoid", "second", ["x"], ["y"]).Output("y").Build();
        Assert.That(Refused(onnx).Message, Does.Contain("node 'second' (Sigmoid): output 'y' is already produced"));
    }

    /// <summary>Two live activations of 256 MB each: a 2-node model whose arena would be 512 MB is refused when planned, not allocated.</summary>
    [Test]
    public void ArenaOverTheLimit_IsRefused()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 64, 1024, 1024)
            .Node("Relu", "a", ["x"], ["r"]).Node("Add", "sum", ["x", "r"], ["y"]).Output("y").Build();
        var graph = OnnxImporter.Import(onnx, "arena.onnx");
        var e = Assert.Throws<ConversionException>(() => ModelConverter.ConvertToGraph(graph, new ConvertOptions { Precision = Precision.Float32 }))!;
        Assert.That(e.Message, Does.StartWith("arena.onnx: the planned arena of").And.Contain("over the limit of 256 MB"));
    }

    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    public void NonFiniteCalibrationData_IsRefusedNamingSampleAndInput(float bad)
    {
        var graph = OnnxImporter.Import(new OnnxModelBuilder(13).Input("x", 1, 4).Node("Relu", "relu", ["x"], ["y"]).Output("y").Build(), "calib.onnx");
        float[][] samples = [[0.5f, -1f, 2f, 0f], [1f, bad, 0f, 0f]];
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(graph, new ConvertOptions { CalibrationSamples = samples }))!;
        Assert.That(e.Message, Is.EqualTo($"calib.onnx: calibration sample 1: input 'x' has value {bad} at index 1; the calibration data must be finite"));
    }
}
