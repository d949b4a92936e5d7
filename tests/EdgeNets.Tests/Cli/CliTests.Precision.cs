using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using NUnit.Framework;

namespace EdgeNets.Tests.Cli;

/// <summary>`edgenets convert --float-layers` and `--accuracy-target` on the example gesture model, in process.</summary>
public partial class CliTests
{
    private const string GemmLayer = "/fc2/Gemm";

    [Test]
    public void FloatLayers_AreShownByInspect_AsFloat32()
    {
        string enet = Path.Combine(_dir, "float-layer.enet");
        var convert = Edgenets("convert", Onnx, "-o", enet, "--calibration", Calibration, "--float-layers", GemmLayer);
        Assert.That(convert.Code, Is.Zero, convert.Err);
        var inspect = Edgenets("inspect", enet);
        Assert.That(inspect.Code, Is.Zero, inspect.Err);
        var row = inspect.Out.Split('\n').Single(l => l.TrimEnd().EndsWith(GemmLayer, StringComparison.Ordinal) && char.IsDigit(l.TrimStart()[0]));
        Assert.That(row, Does.Contain("float32").And.Contain("GemmFloat32"));
        Assert.That(inspect.Out, Does.Contain("i8->f32").And.Match(@"float32_layers:\s+/fc2/Gemm"));
    }

    [Test]
    public void FloatLayers_UnknownName_IsOneLineNamingIt()
    {
        var r = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "x.enet"), "--calibration", Calibration, "--float-layers", "/fc2/Gemm,/fc9/Gemm");
        Assert.That(r.Code, Is.EqualTo(1));
        Assert.That(r.Err.Trim().Split('\n').Last(), Does.Contain("'/fc9/Gemm'"));
        Assert.That(r.Err, Does.Not.Contain("calibrating"), "refused before calibration");
    }

    [Test]
    public void AccuracyTarget_RaisesLayersUntilItHolds_SaysWhatAndTheCost_SameFileEachTime()
    {
        string a = Path.Combine(_dir, "doctor-a.enet"), b = Path.Combine(_dir, "doctor-b.enet");
        // int8 gets 99.51 % of the held-out images right where the float model gets 100 %.
        string[] args = ["--calibration", Calibration, "--accuracy-target", "top1-drop<=0", "--accuracy-data", TestInputs, "--accuracy-labels", TestLabels];
        var first = Edgenets(["convert", Onnx, "-o", a, .. args]);
        Assert.That(first.Code, Is.Zero, first.Err);
        Assert.That(first.Out, Does.Contain("accuracy target top1-drop<=0: met").And.Contain("layers raised (").And.Contain("cost: file"));
        Assert.That(first.Err, Does.Contain("measuring layer sensitivity"), "progress");
        var second = Edgenets(["convert", Onnx, "-o", b, .. args]);
        Assert.That(second.Code, Is.Zero, second.Err);
        Assert.That(File.ReadAllBytes(b), Is.EqualTo(File.ReadAllBytes(a)), "same command and data, same file");
        var g = Model.Load(a).Graph;
        Assert.That(g.Ops.Count(o => o.Type is OpType.Conv or OpType.Gemm && g.Tensors[o.Outputs[0]].Type != DataType.Int8), Is.GreaterThan(0));
    }

    [Test]
    public void AccuracyTarget_RaisesToInt16WhereThatMeetsIt_FloatOnlyWhenAskedOrNeeded()
    {
        const string stem = "/features/features.0/features.0.0/Conv";
        // int8 gives 30.9 dB on the calibration samples; the stem Conv in int16 32.3 dB, in float32 41.2 dB.
        string[] Args(string enet, string target, params string[] more) => ["convert", Onnx, "-o", enet, "--calibration", Calibration, "--accuracy-target", target, .. more];
        string a = Path.Combine(_dir, "doctor16-a.enet"), b = Path.Combine(_dir, "doctor16-b.enet"), f = Path.Combine(_dir, "doctor16-f.enet"), n = Path.Combine(_dir, "doctor16-n.enet");
        var first = Edgenets(Args(a, "sqnr>=32"));
        Assert.That(first.Code, Is.Zero, first.Err);
        Assert.That(first.Out, Does.Contain("(1 to int16, 0 to float32").And.Match(@"Conv\s+-> int16\s.*" + stem.Replace(".", "\\.")));
        Assert.That(Edgenets(Args(b, "sqnr>=32")).Code, Is.Zero);
        Assert.That(File.ReadAllBytes(b), Is.EqualTo(File.ReadAllBytes(a)), "same command and data, same file");
        var g = Model.Load(a).Graph;
        Assert.That(g.Tensors[g.Ops.Single(o => o.Name == stem).Outputs[0]].Type, Is.EqualTo(DataType.Int16));

        var floatOnly = Edgenets(Args(f, "sqnr>=32", "--accuracy-precisions", "float32"));
        Assert.That(floatOnly.Code, Is.Zero, floatOnly.Err);
        Assert.That(floatOnly.Out, Does.Contain("(0 to int16, 1 to float32"));
        var needsFloat = Edgenets(Args(n, "sqnr>=36"));
        Assert.That(needsFloat.Code, Is.Zero, needsFloat.Err);
        Assert.That(needsFloat.Out, Does.Contain("met").And.Contain("-> float32"), "int16 is not enough for 36 dB: float32 there");
        Assert.That(Edgenets(Args(n, "sqnr>=36", "--accuracy-precisions", "int8")).Code, Is.EqualTo(2));
    }

    [Test]
    public void FloatLayers_WithQdqExport_IsAUsageError()
    {
        var r = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "x.enet"), "--calibration", Calibration, "--float-layers", GemmLayer,
            "--export-qdq", Path.Combine(_dir, "x.onnx"));
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--export-qdq"));
        Assert.That(File.Exists(Path.Combine(_dir, "x.enet")), Is.False);
    }

    [TestCase("sqnr>30")]
    [TestCase("top1-drop<=x")]
    [TestCase("top1-agreement>=101")]
    public void AccuracyTarget_Malformed_IsAUsageError(string target)
    {
        var r = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "x.enet"), "--calibration", Calibration, "--accuracy-target", target);
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--accuracy-target"));
    }

    [Test]
    public void AccuracyTarget_Top1Drop_NeedsLabels()
    {
        var r = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "x.enet"), "--calibration", Calibration, "--accuracy-target", "top1-drop<=0.5");
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--accuracy-labels"));
    }
}
