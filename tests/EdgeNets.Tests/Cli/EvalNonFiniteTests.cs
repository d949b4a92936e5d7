using EdgeNets.Cli;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Cli;

/// <summary>`edgenets eval` when outputs are NaN: flagged and counted, exit 1, never "top-1 agreement 100 %" beside "max abs NaN".</summary>
public class EvalNonFiniteTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = RepoPaths.TempDirectory();

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Edgenets(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public void NaNOutputsAreFlaggedAndLeftOutOfTheAgreement()
    {
        string onnx = Path.Combine(_dir, "scores.onnx"), enet = Path.Combine(_dir, "scores.enet");
        string calibration = Path.Combine(_dir, "calibration.npy"), x = Path.Combine(_dir, "x.npy");
        File.WriteAllBytes(onnx, new EdgeNets.Tests.Import.OnnxModelBuilder(13).Input("x", 1, 4).Node("Sigmoid", "sig", ["x"], ["scores"]).Output("scores").Build());
        NpyFile.WriteFloat32(calibration, [2, 1, 4], [0.1f, 0.2f, 0.3f, 0.4f, -1f, 0f, 1f, 2f]);
        // The second sample is NaN: ONNX Runtime and the float32 model both give NaN scores for it.
        NpyFile.WriteFloat32(x, [2, 1, 4], [0.1f, 0.9f, 0.3f, 0.4f, float.NaN, float.NaN, float.NaN, float.NaN]);
        var convert = Edgenets("convert", onnx, "-o", enet, "--calibration", calibration, "--precision", "float32");
        Assert.That(convert.Code, Is.Zero, convert.Err);

        var text = Edgenets("eval", onnx, enet, "--input", x);
        Assert.That(text.Code, Is.EqualTo(1), text.Out + text.Err);
        Assert.That(text.Out, Does.Contain("NOT FINITE: output 'scores' has 4 NaN or infinite values of 8"));
        Assert.That(text.Out, Does.Contain("top-1 agreement: 50.00%"), "the NaN sample does not count as agreeing");
        Assert.That(text.Out, Does.Not.Contain("NaN,").And.Not.Contain("error NaN"));

        var json = Edgenets("eval", onnx, enet, "--input", x, "--json");
        Assert.That(json.Code, Is.EqualTo(1));
        using var doc = System.Text.Json.JsonDocument.Parse(json.Out);
        Assert.That(doc.RootElement.GetProperty("non_finite_values").GetInt64(), Is.EqualTo(4));
        Assert.That(doc.RootElement.GetProperty("top1_agreement").GetDouble(), Is.EqualTo(0.5));
    }
}
