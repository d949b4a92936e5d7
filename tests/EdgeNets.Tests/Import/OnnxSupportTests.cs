using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Tests.Support;
using NUnit.Framework;
using Onnx;

namespace EdgeNets.Tests.Import;

/// <summary>The importer's operator lists against its own lowering and folding, the all-at-once report, and the generated doc.</summary>
[TestFixture]
public class OnnxSupportTests
{
    [Test]
    public void EveryUnsupportedOperatorIsReportedAtOnceWithItsNodesAndPattern()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 8)
            .Node("Erfc", "gelu/erfc", ["x"], ["a"])
            .Node("Sinh", "up_a", ["a"], ["b"])
            .Node("Sinh", "up_b", ["b"], ["c"])
            .Node("Relu", "relu", ["c"], ["d"])
            .Node("Cosh", "cosh", ["d"], ["y"])
            .Output("y").Build();
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(onnx, "zoo.onnx"));
        Assert.That(e!.Message, Does.StartWith("zoo.onnx: 3 operators are not supported"));
        Assert.That(e.Message, Does.Contain("Erfc (1 node: 'gelu/erfc')"));
        Assert.That(e.Message, Does.Contain("Sinh (2 nodes: 'up_a', 'up_b')"));
        Assert.That(e.Message, Does.Contain("Cosh (1 node: 'cosh'"));
        Assert.That(e.Message, Does.Not.Contain("Relu"));
    }

    [Test]
    public void OperatorsOfOtherDomainsAreReportedWithTheirDomain()
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 8).Node("Gelu", "g", ["x"], ["y"]).Output("y").Build();
        onnx = SetDomain(onnx, "com.microsoft");
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import(onnx, "ms.onnx"));
        Assert.That(e!.Message, Does.Contain("com.microsoft.Gelu (1 node: 'g')"));
    }

    /// <summary>Each operator listed as lowered reaches a lowering (it may reject this attribute-less node, but not as unknown).</summary>
    [TestCaseSource(typeof(OnnxSupport), nameof(OnnxSupport.Lowered))]
    public void ListedLoweredOperatorIsLowered(string op)
    {
        var onnx = new OnnxModelBuilder(13).Input("x", 1, 2, 4, 4).Node(op, "node", ["x"], ["y"]).Output("y").Build();
        try
        {
            OnnxImporter.Import(onnx, "one.onnx");
        }
        catch (ConversionException e)
        {
            Assert.That(e.Message, Does.Not.Contain("operator is not supported").And.Not.Contain("are not supported:").And.Not.Contain("is not supported:"), e.Message);
        }
    }

    /// <summary>Each operator listed as folded on constants is evaluated by the folder (here it fails for want of inputs), others are not.</summary>
    [TestCaseSource(typeof(OnnxSupport), nameof(OnnxSupport.ConstantsOnly))]
    public void ListedFoldedOperatorIsFolded(string op)
    {
        var node = new NodeProto { OpType = op, Name = "n" };
        node.Output.Add("y");
        ConstTensor[]? result = null;
        bool threw = false;
        try { result = ConstantFolder.TryEvaluate(node, [], 13, m => new ConversionException(m)); }
        catch (ConversionException) { threw = true; }
        Assert.That(threw || result != null, $"{op} is listed as folded but the folder does not take it");
    }

    [TestCase("Sinh")]
    [TestCase("ReduceMean")]
    [TestCase("Conv")]
    [TestCase("Relu")]
    public void UnlistedOperatorsAreNotFolded(string op)
    {
        var node = new NodeProto { OpType = op, Name = "n" };
        node.Output.Add("y");
        Assert.That(ConstantFolder.TryEvaluate(node, [], 13, m => new ConversionException(m)), Is.Null);
    }

    [Test]
    public void SupportDocumentIsCurrent()
    {
        string path = Path.Combine(RepoPaths.Root, "docs", "onnx-support.md");
        Assert.That(File.ReadAllText(path).ReplaceLineEndings("\n"), Is.EqualTo(OnnxSupport.Markdown().ReplaceLineEndings("\n")),
            "regenerate it: edgenets convert --list-operators > docs/onnx-support.md");
    }

    private static byte[] SetDomain(byte[] onnx, string domain)
    {
        var model = ModelProto.Parser.ParseFrom(onnx);
        foreach (var n in model.Graph.Node) n.Domain = domain;
        return Google.Protobuf.MessageExtensions.ToByteArray(model);
    }
}
