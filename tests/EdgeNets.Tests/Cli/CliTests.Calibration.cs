using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Cli;

/// <summary>`edgenets convert --calibration-method ...` on the example gesture model, in process.</summary>
public partial class CliTests
{
    private string ConvertWith(string method, string name, string calibration = "")
    {
        string enet = Path.Combine(_dir, name);
        var (code, _, err) = Edgenets("convert", Onnx, "-o", enet, "--calibration", calibration == "" ? Calibration : calibration, "--calibration-method", method);
        Assert.That(code, Is.Zero, err);
        return enet;
    }

    [TestCase("entropy")]
    [TestCase("mse")]
    [TestCase("auto")]
    public void CalibrationMethod_IsDeterministic_AndRecordedInTheModel(string method)
    {
        byte[] first = File.ReadAllBytes(ConvertWith(method, "a.enet"));
        byte[] second = File.ReadAllBytes(ConvertWith(method, "b.enet"));
        Assert.That(second, Is.EqualTo(first), "the same data must give the same file");
        var model = Model.Load(first);
        Assert.That(model.Graph.Metadata["calibration"], Does.StartWith(method).And.EndWith(", 256 samples"));
        Assert.That(first, Is.Not.EqualTo(File.ReadAllBytes(Path.Combine(RepoPaths.GestureModel, "model.enet"))), "differs from minmax");
    }

    [Test]
    public void AutoCalibration_SaysWhatItChose_InTheSummaryAndInInspectVerbose()
    {
        string enet = Path.Combine(_dir, "auto.enet");
        var convert = Edgenets("convert", Onnx, "-o", enet, "--calibration", Calibration, "--calibration-method", "auto");
        Assert.That(convert.Code, Is.Zero, convert.Err);
        Assert.That(convert.Out, Does.Match(@"calibration: auto \((\w+ \d+(, )?)+\), 256 samples"));
        Assert.That(convert.Err, Does.Contain("calibrating: 512/512"), "progress counts both passes");

        var model = Model.Load(enet);
        var inspect = Edgenets("inspect", enet, "--verbose");
        Assert.That(inspect.Code, Is.Zero, inspect.Err);
        // Every quantized operator output that calibration chose for is named with its method.
        var letters = model.Graph.Metadata["calibration_choices"];
        var activations = Enumerable.Range(0, model.Graph.Tensors.Count).Where(t => !model.Graph.Tensors[t].IsConstant).ToArray();
        Assert.That(letters, Has.Length.EqualTo(activations.Length).And.Match("^[mpes-]+$"));
        var choices = activations.Where((t, k) => letters[k] != '-').ToHashSet();
        int listed = inspect.Out.Split('\n').Count(l => l.TrimStart().StartsWith("calibration: ", StringComparison.Ordinal) && !l.Contains("samples"));
        int expected = model.Graph.Ops.Count(op => choices.Contains(op.Outputs[0]));
        Assert.That(expected, Is.GreaterThan(0));
        Assert.That(listed, Is.EqualTo(expected));
        Assert.That(inspect.Out, Does.Contain($"calibration_choices: {choices.Count} tensors"));
    }

    [Test]
    public void UnknownCalibrationMethod_IsAUsageError()
    {
        var (code, _, err) = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "x.enet"), "--calibration", Calibration, "--calibration-method", "kl");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(err, Does.Contain("'kl'").And.Contain("minmax, percentile, entropy, mse or auto"));
    }

    /// <summary>
    /// The calibration set streams from the file: converting with five times the samples allocates almost nothing more
    /// (reading the set whole, as float32 and split into samples, allocated three times its size).
    /// </summary>
    [Test]
    public void CalibrationData_IsStreamed_NotLoaded()
    {
        var set = NpyFile.Read(Calibration);
        var one = set.ToFloat32();
        const int Repeat = 5;
        var big = new float[one.Length * Repeat];
        for (int r = 0; r < Repeat; r++) one.CopyTo(big, r * one.Length);
        string path = Path.Combine(_dir, "big.npy");
        NpyFile.WriteFloat32(path, [set.Shape[0] * Repeat, .. set.Shape[1..]], big);
        long extraBytes = new FileInfo(path).Length - new FileInfo(Calibration).Length;

        long small = Allocated(() => ConvertWith("minmax", "small.enet"));
        long large = Allocated(() => ConvertWith("minmax", "big.enet", path));
        Assert.That(extraBytes, Is.GreaterThan(12_000_000));
        Assert.That(large - small, Is.LessThan(extraBytes / 10),
            $"allocated {small} bytes with {new FileInfo(Calibration).Length} bytes of samples, {large} with {extraBytes} bytes more");
    }

    private static long Allocated(Action action)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        action();
        return GC.GetTotalAllocatedBytes(precise: true) - before;
    }
}
