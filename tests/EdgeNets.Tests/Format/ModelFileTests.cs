using System.Buffers.Binary;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Format;

/// <summary>The .enet container: round trip, and rejection of truncated, corrupted and hostile files.</summary>
public class ModelFileTests
{
    /// <summary>A two-op model (reshape, reshape) with a constant and quantization info, enough to exercise every record kind.</summary>
    private static ModelGraph SmallGraph()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, [1, 2, 3, 4]);
        int shape = g.Constant("shape", DataType.Int32, [2], new[] { 6, 4 }, QuantizationInfo.PerTensor(0.5f, 3));
        int mid = g.Activation("mid", DataType.Float32, [6, 4]);
        int y = g.Output("y", DataType.Float32, [24]);
        g.Op(OpType.Reshape, [x, shape], [mid], new OpAttributes().Set(AttributeKey.Axis, 1).Set(AttributeKey.Alpha, 0.25f));
        g.Op(OpType.Reshape, [mid], [y]);
        g.Build();
        g.Graph.Metadata["producer"] = "tests";
        return g.Graph;
    }

    private static void Reseal(byte[] file) =>
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(EnetFormat.ChecksumOffset), EnetFormat.ComputeChecksum(file));

    [Test]
    public void RoundTripKeepsEverything()
    {
        var graph = SmallGraph();
        var bytes = EnetWriter.Write(graph);
        var model = Model.Load(bytes);
        var g = model.Graph;
        Assert.That(g.Tensors.Select(t => t.Name), Is.EqualTo(graph.Tensors.Select(t => t.Name)));
        Assert.That(g.Tensors.Select(t => t.Shape), Is.EqualTo(graph.Tensors.Select(t => t.Shape)));
        Assert.That(g.Tensors[1].Quantization!.Scale, Is.EqualTo(0.5f));
        Assert.That(g.Tensors[1].Quantization!.ZeroPoint, Is.EqualTo(3));
        Assert.That(g.Tensors[1].Data.ToArray(), Is.EqualTo(graph.Tensors[1].Data.ToArray()));
        Assert.That(g.Ops[0].Attributes.GetInt(AttributeKey.Axis, -1), Is.EqualTo(1));
        Assert.That(g.Ops[0].Attributes.GetFloat(AttributeKey.Alpha, 0), Is.EqualTo(0.25f));
        Assert.That(g.Metadata["producer"], Is.EqualTo("tests"));
        Assert.That(g.ArenaBytes, Is.EqualTo(graph.ArenaBytes));
        Assert.That(bytes.Length % EnetFormat.Alignment, Is.Zero);
    }

    [Test]
    public void ConstantsAreAlignedInTheFile()
    {
        var bytes = EnetWriter.Write(SmallGraph());
        var model = Model.Load(bytes);
        long dataOffset = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(EnetFormat.DataOffsetOffset));
        foreach (var t in model.Graph.Tensors.Where(t => t.IsConstant))
            Assert.That((dataOffset + t.Offset) % EnetFormat.Alignment, Is.Zero, t.Name);
    }

    [Test]
    public void EveryTruncationIsRejected()
    {
        var bytes = EnetWriter.Write(SmallGraph());
        for (int length = 0; length < bytes.Length; length++)
        {
            var cut = bytes.AsSpan(0, length).ToArray();
            Assert.Throws<ModelFormatException>(() => Model.Load(cut), $"length {length}");
        }
    }

    [Test]
    public void FlippedByteFailsTheChecksum()
    {
        var bytes = EnetWriter.Write(SmallGraph());
        bytes[EnetFormat.HeaderSize + 5] ^= 0x40;
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(bytes));
        Assert.That(e!.Message, Does.Contain("checksum"));
    }

    [Test]
    public void WrongMagicAndVersionAreNamed()
    {
        var bytes = EnetWriter.Write(SmallGraph());
        var badMagic = (byte[])bytes.Clone();
        badMagic[0] = (byte)'X';
        Assert.That(Assert.Throws<ModelFormatException>(() => Model.Load(badMagic))!.Message, Does.Contain("magic"));
        var badVersion = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(badVersion.AsSpan(EnetFormat.VersionMajorOffset), 99);
        Reseal(badVersion);
        Assert.That(Assert.Throws<ModelFormatException>(() => Model.Load(badVersion))!.Message, Does.Contain("version 99"));
    }

    /// <summary>Random corruption with a valid checksum reaches the structural validation: it must reject or load, never crash.</summary>
    [Test]
    public void CorruptedButResealedFilesNeverCrash()
    {
        var original = EnetWriter.Write(SmallGraph());
        var rng = new Random(20261123);
        int rejected = 0;
        for (int iteration = 0; iteration < 3000; iteration++)
        {
            var bytes = (byte[])original.Clone();
            int flips = 1 + rng.Next(4);
            for (int f = 0; f < flips; f++)
            {
                int pos = EnetFormat.HeaderSize + rng.Next(bytes.Length - EnetFormat.HeaderSize);
                bytes[pos] = (byte)rng.Next(256);
            }
            Reseal(bytes);
            try
            {
                var model = Model.Load(bytes);
                using var session = model.CreateSession();
                var input = new float[model.Graph.Tensors[model.Graph.Inputs[0]].ElementCount];
                session.SetInput(0, input);
                session.Invoke();
            }
            catch (ModelFormatException) { rejected++; }
            catch (ArgumentException) { rejected++; } // a valid model whose input changed shape: reported by SetInput
        }
        Assert.That(rejected, Is.GreaterThan(0));
    }

    [Test]
    public void ActivationOutsideTheArenaIsRejected()
    {
        var graph = SmallGraph();
        graph.Tensors[2].Offset = graph.ArenaBytes; // "mid" placed past the end
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(EnetWriter.Write(graph)));
        Assert.That(e!.Message, Does.Contain("'mid'").And.Contain("outside"));
    }

    [Test]
    public void LiveActivationsSharingBytesAreRejected()
    {
        var graph = SmallGraph();
        graph.Tensors[2].Offset = graph.Tensors[0].Offset; // "mid" overlaps the input it is computed from
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(EnetWriter.Write(graph)));
        Assert.That(e!.Message, Does.Contain("overlap"));
    }

    [Test]
    public void ReadingATensorBeforeItIsWrittenIsRejected()
    {
        var graph = SmallGraph();
        (graph.Ops[0], graph.Ops[1]) = (graph.Ops[1], graph.Ops[0]);
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(EnetWriter.Write(graph)));
        Assert.That(e!.Message, Does.Contain("before any operator writes it"));
    }

    [Test]
    public void ShapeMismatchIsRejectedNamingTheOp()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, [2, 3]);
        int y = g.Output("y", DataType.Float32, [7]);
        g.Op(OpType.Reshape, [x], [y], name: "bad_reshape");
        var e = Assert.Throws<ModelFormatException>(() => g.Build());
        Assert.That(e!.Message, Does.Contain("bad_reshape"));
    }

    [Test]
    public void MissingFileIsAClearError()
    {
        var e = Assert.Throws<ModelFormatException>(() => Model.Load("/nonexistent/model.enet"));
        Assert.That(e!.Message, Does.Contain("/nonexistent/model.enet"));
    }
}
