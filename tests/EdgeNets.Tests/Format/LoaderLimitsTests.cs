using System.Buffers.Binary;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Format;

/// <summary>
/// What the loader must not take on trust: the header's arena size (recomputed from the plan), every quantization
/// parameter (zero points by element type, scales, fixed-point attributes), the kind and size of the file it reads, and
/// the caller's array after loading.
/// </summary>
public class LoaderLimitsTests
{
    private static readonly string[] ExampleModels = ["gesture-digits", "activity-hapt", "airquality-forecast"];

    private static string ModelPath(string name) => Path.Combine(RepoPaths.Models, name, "model.enet");

    /// <summary>The model's graph, re-read from its file, for editing and rewriting.</summary>
    private static ModelGraph ReadGraph(string name) => EnetReader.Read(File.ReadAllBytes(ModelPath(name)));

    private static byte[] WithArenaBytes(byte[] file, long arenaBytes)
    {
        var copy = (byte[])file.Clone();
        BinaryPrimitives.WriteInt64LittleEndian(copy.AsSpan(EnetFormat.ArenaBytesOffset), arenaBytes);
        Fuzzing.EnetMutator.Reseal(copy);
        return copy;
    }

    [TestCase(64L)]
    [TestCase(1L << 20)]
    [TestCase((1L << 30) - 64)]
    public void AnArenaLargerThanThePlanIsRejected(long extra)
    {
        var file = File.ReadAllBytes(ModelPath("gesture-digits"));
        long planned = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(EnetFormat.ArenaBytesOffset));
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(WithArenaBytes(file, Math.Min(planned + extra, EnetFormat.MaxArenaBytes))));
        Assert.That(e!.Message, Does.Contain($"need {planned}"));
    }

    [TestCase((1L << 31) - 1)]
    [TestCase(1L << 31)]
    [TestCase(long.MaxValue)]
    [TestCase(-64L)]
    public void AnArenaNearOrPastTwoGigabytesIsRejectedBeforeAllocating(long arenaBytes)
    {
        var file = File.ReadAllBytes(ModelPath("gesture-digits"));
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(WithArenaBytes(file, arenaBytes)));
        Assert.That(e!.Message, Does.Contain($"arena size {arenaBytes}"));
    }

    /// <summary>
    /// Every int8 tensor of every example model given a zero point just outside int8: rejected naming the tensor. The
    /// recurrent layers used to accept such files and then the SIMD and scalar kernels disagreed.
    /// </summary>
    [TestCase(128)]
    [TestCase(-129)]
    [TestCase(100_000)]
    public void ZeroPointsOutsideInt8AreRejectedForEveryInt8Tensor(int zeroPoint)
    {
        int checkedTensors = 0;
        foreach (string name in ExampleModels)
        {
            var graph = ReadGraph(name);
            for (int t = 0; t < graph.Tensors.Count; t++)
            {
                var tensor = graph.Tensors[t];
                if (tensor.Type != DataType.Int8 || tensor.Quantization is not { } q) continue;
                tensor.Quantization = new QuantizationInfo(q.Scales, zeroPoint, q.Axis);
                var e = Assert.Throws<ModelFormatException>(() => Model.Load(EnetWriter.Write(graph)), $"{name}: {tensor.Name}");
                Assert.That(e!.Message, Does.Contain($"'{tensor.Name}'").And.Contain($"zero point {zeroPoint}"));
                tensor.Quantization = q;
                checkedTensors++;
            }
        }
        Assert.That(checkedTensors, Is.GreaterThan(20));
    }

    [TestCase(1e-40f)]   // subnormal: its reciprocal is infinite
    [TestCase(3e38f)]    // its reciprocal is subnormal
    [TestCase(float.Epsilon)]
    public void ScalesWhoseReciprocalIsNotANormalNumberAreRejected(float scale)
    {
        var graph = ReadGraph("airquality-forecast");
        var tensor = graph.Tensors.First(t => t.Type == DataType.Int8 && t.Quantization != null && !t.IsConstant);
        tensor.Quantization = new QuantizationInfo([scale], tensor.Quantization!.ZeroPoint);
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(EnetWriter.Write(graph)));
        Assert.That(e!.Message, Does.Contain($"'{tensor.Name}'").And.Contain("scale"));
    }

    /// <summary>Every fixed-point attribute of every operator of the example models, set to a value the kernels do not assume.</summary>
    [TestCase(AttributeKey.OutputMultiplier, -5)]
    [TestCase(AttributeKey.OutputMultiplier, int.MinValue)]
    [TestCase(AttributeKey.OutputShift, 31)]
    [TestCase(AttributeKey.OutputShift, -32)]
    [TestCase(AttributeKey.QuantizedMin, -32769)]
    [TestCase(AttributeKey.QuantizedMax, 32768)]
    public void FixedPointAttributesOutsideTheirRangeAreRejected(AttributeKey key, int value)
    {
        int edited = 0;
        foreach (string name in ExampleModels)
        {
            var graph = ReadGraph(name);
            foreach (var op in graph.Ops)
            {
                if (op.Attributes.GetInts(key) is not { } values) continue;
                var saved = (int[])values.Clone();
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = value;
                    var e = Assert.Throws<ModelFormatException>(() => Model.Load(EnetWriter.Write(graph)), $"{name}: {op} {key}[{i}]");
                    Assert.That(e!.Message, Does.Contain(op.Name).And.Contain($"{key}[{i}]").And.Contain(value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    values[i] = saved[i];
                    edited++;
                }
            }
        }
        Assert.That(edited, Is.GreaterThan(0));
    }

    [Test]
    public void AnInt8AddWithAnOutOfRangeInputMultiplierIsRejected()
    {
        var q = QuantizationInfo.PerTensor(0.05f, 3);
        var g = new TestGraph();
        int a = g.Input("a", DataType.Int8, [1, 8], q);
        int b = g.Input("b", DataType.Int8, [1, 8], q);
        int y = g.Output("y", DataType.Int8, [1, 8], q);
        var attributes = new OpAttributes()
            .Set(AttributeKey.LeftShift, 20)
            .Set(AttributeKey.InputMultiplier, 1 << 30, -7).Set(AttributeKey.InputShift, 0, 0)
            .Set(AttributeKey.OutputMultiplier, 1 << 30).Set(AttributeKey.OutputShift, -19);
        g.Op(OpType.Add, [a, b], [y], attributes, name: "sum");
        var e = Assert.Throws<ModelFormatException>(() => g.Build());
        Assert.That(e!.Message, Does.Contain("'sum'").And.Contain("InputMultiplier[1]"));
    }

    [Test]
    public void NaNInAFloatAttributeIsRejected()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, [1, 8]);
        int y = g.Output("y", DataType.Float32, [1, 8]);
        g.Op(OpType.LeakyRelu, [x], [y], new OpAttributes().Set(AttributeKey.Alpha, float.NaN), name: "leaky");
        var e = Assert.Throws<ModelFormatException>(() => g.Build());
        Assert.That(e!.Message, Does.Contain("'leaky'").And.Contain("Alpha[0]").And.Contain("NaN"));
    }

    /// <summary>A NaN or infinite value in a float constant (the recurrent layers' biases here) is rejected naming the constant.</summary>
    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    [TestCase(float.NegativeInfinity)]
    public void NonFiniteFloatConstantsAreRejected(float value)
    {
        int edited = 0;
        foreach (string name in ExampleModels)
        {
            var graph = ReadGraph(name);
            foreach (var tensor in graph.Tensors.Where(t => t.IsConstant && t.Type == DataType.Float32 && t.ElementCount > 0))
            {
                var saved = tensor.Data;
                var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(saved.Span).ToArray();
                values[values.Length / 2] = value;
                tensor.Data = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
                var e = Assert.Throws<ModelFormatException>(() => Model.Load(EnetWriter.Write(graph)), $"{name}: {tensor.Name}");
                Assert.That(e!.Message, Does.Contain($"'{tensor.Name}'").And.Contain($"element {values.Length / 2}"));
                tensor.Data = saved;
                edited++;
            }
        }
        Assert.That(edited, Is.GreaterThan(0));
    }

    [Test]
    public void ADirectoryIsNotAModelFile()
    {
        string dir = RepoPaths.TempDirectory();
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(dir));
        Assert.That(e!.Message, Does.StartWith(dir + ":").And.Contain("is a directory"));
    }

    [Test]
    public void ADeviceIsRefusedWithoutReadingIt()
    {
        Assume.That(File.Exists("/dev/zero"), "needs /dev/zero");
        var e = Assert.Throws<ModelFormatException>(() => Model.Load("/dev/zero"));
        Assert.That(e!.Message, Does.StartWith("/dev/zero:").And.Contain("not a regular file"));
    }

    /// <summary>A named pipe nobody writes to: refused without opening it (opening would wait for a writer).</summary>
    [Test]
    public void ANamedPipeIsRefusedWithoutWaitingForAWriter()
    {
        string path = Path.Combine(RepoPaths.TempDirectory(), "model.enet");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", path)) mkfifo.WaitForExit();
        Assume.That(File.Exists(path), "needs mkfifo");
        var load = Task.Run(() => Model.Load(path));
        Assert.That(((IAsyncResult)load).AsyncWaitHandle.WaitOne(TimeSpan.FromMinutes(1)), Is.True, "Model.Load waited on the pipe");
        Assert.That(load.Exception?.InnerException, Is.InstanceOf<ModelFormatException>());
        Assert.That(load.Exception!.InnerException!.Message, Does.StartWith(path + ":").And.Contain("not a regular file"));
    }

    [Test]
    public void AnEmptyFileIsNamed()
    {
        string path = Path.Combine(RepoPaths.TempDirectory(), "empty.enet");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(path));
        Assert.That(e!.Message, Does.StartWith(path + ":").And.Contain("empty"));
    }

    [Test]
    public void AFileLargerThanTheLimitIsRefusedBeforeReading()
    {
        string path = Path.Combine(RepoPaths.TempDirectory(), "huge.enet");
        using (var stream = File.Create(path)) stream.SetLength(EnetFormat.MaxFileBytes + 1); // sparse: no disk used
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(path));
        Assert.That(e!.Message, Does.StartWith(path + ":").And.Contain($"more than the {EnetFormat.MaxFileBytes}-byte limit"));
        File.Delete(path);
    }

    /// <summary>Writing into the array a model was loaded from (here: zeroing every weight) changes nothing.</summary>
    [Test]
    public void WritingIntoTheLoadedArrayDoesNotChangeTheModel()
    {
        var file = File.ReadAllBytes(ModelPath("gesture-digits"));
        var model = Model.Load(file);
        var input = TestData.Floats(5, model.Inputs[0].ElementCount, 0f, 1f);
        var before = new float[model.Outputs[0].ElementCount];
        var after = new float[before.Length];
        using (var session = model.CreateSession()) session.Run(input, before);

        long dataOffset = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(EnetFormat.DataOffsetOffset));
        Array.Clear(file, (int)dataOffset, file.Length - (int)dataOffset);
        using (var session = model.CreateSession()) session.Run(input, after);

        Assert.That(after, Is.EqualTo(before));
        Assert.That(before.Distinct().Count(), Is.GreaterThan(1));
    }
}
