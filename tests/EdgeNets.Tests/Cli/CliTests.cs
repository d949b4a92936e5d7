using System.Globalization;
using System.Text.RegularExpressions;
using EdgeNets.Cli;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Cli;

/// <summary>The `edgenets` verbs as a user calls them, in process, on the example gesture model.</summary>
public partial class CliTests
{
    private static readonly string Onnx = Path.Combine(RepoPaths.GestureModel, "model.onnx");
    private static readonly string Calibration = Path.Combine(RepoPaths.GestureModel, "calibration.npy");
    private static readonly string TestInputs = Path.Combine(RepoPaths.GestureModel, "test_inputs.npy");
    private static readonly string TestLabels = Path.Combine(RepoPaths.GestureModel, "test_labels.npy");
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

    private string ConvertInt8()
    {
        string enet = Path.Combine(_dir, "model.enet");
        var (code, _, err) = Edgenets("convert", Onnx, "-o", enet, "--calibration", Calibration);
        Assert.That(code, Is.Zero, err);
        return enet;
    }

    /// <summary>
    /// The committed example models are what `edgenets convert` makes of their ONNX files and calibration sets today,
    /// byte for byte (the model cards' figures, the host tests and the ARM counts rely on them).
    /// </summary>
    [TestCase("gesture-digits")]
    [TestCase("activity-hapt")]
    [TestCase("airquality-forecast")]
    public void CommittedExampleModelIsAFreshConversion(string name)
    {
        string dir = Path.Combine(RepoPaths.Models, name);
        string enet = Path.Combine(_dir, name + ".enet");
        var (code, _, err) = Edgenets("convert", Path.Combine(dir, "model.onnx"), "-o", enet, "--calibration", Path.Combine(dir, "calibration.npy"));
        Assert.That(code, Is.Zero, err);
        Assert.That(File.ReadAllBytes(enet), Is.EqualTo(File.ReadAllBytes(Path.Combine(dir, "model.enet"))),
            $"models/{name}/model.enet differs from a fresh conversion: convert it again and commit it with the change that altered it");
    }

    [Test]
    public void ConvertRunInspectEvalOnTheGestureModel()
    {
        string enet = ConvertInt8();
        Assert.That(new FileInfo(enet).Length, Is.LessThan(new FileInfo(Onnx).Length / 3), "int8 file should be about a quarter of the float ONNX");

        string outputs = Path.Combine(_dir, "y.npy");
        var run = Edgenets("run", enet, "--input", TestInputs, "--output", outputs);
        Assert.That(run.Code, Is.Zero, run.Err);
        var y = NpyFile.Read(outputs);
        var x = NpyFile.Read(TestInputs);
        Assert.That(y.Shape, Is.EqualTo(new[] { x.Shape[0], 10 }));

        // The run output must agree with eval's view of accuracy: recompute it from Y.npy and the labels.
        var labels = NpyFile.Read(TestLabels).ToInt32();
        var scores = y.ToFloat32();
        int correct = 0;
        for (int s = 0; s < labels.Length; s++)
        {
            int best = 0;
            for (int c = 1; c < 10; c++) if (scores[s * 10 + c] > scores[s * 10 + best]) best = c;
            if (best == labels[s]) correct++;
        }

        var inspect = Edgenets("inspect", enet);
        Assert.That(inspect.Code, Is.Zero, inspect.Err);
        Assert.That(inspect.Out, Does.Contain("arena bytes").And.Contain("Conv").And.Contain("_Reference"));

        var eval = Edgenets("eval", Onnx, enet, "--input", TestInputs, "--labels", TestLabels, "--json");
        Assert.That(eval.Code, Is.Zero, eval.Err);
        double floatAccuracy = JsonNumber(eval.Out, "float_accuracy");
        double quantizedAccuracy = JsonNumber(eval.Out, "quantized_accuracy");
        Assert.That(quantizedAccuracy, Is.EqualTo((double)correct / labels.Length).Within(1e-9), "eval and run disagree");
        Assert.That(quantizedAccuracy, Is.GreaterThanOrEqualTo(floatAccuracy - 0.01), "int8 top-1 must be within 1 point of float");
        Assert.That(JsonNumber(eval.Out, "top1_agreement"), Is.GreaterThan(0.97));

        var table = Edgenets("eval", Onnx, enet, "--input", TestInputs, "--limit", "8");
        Assert.That(table.Code, Is.Zero, table.Err);
        Assert.That(table.Out, Does.Contain("per-layer SQNR").And.Match(@"Conv\s+\S+\s+\d+(\.\d)?"));
    }

    [Test]
    public void EvalWithRegressionTargetsReportsMeanAbsoluteErrors()
    {
        string enet = ConvertInt8();
        string inputs = Path.Combine(_dir, "x.npy");
        var all = NpyFile.Read(TestInputs);
        NpyFile.WriteFloat32(inputs, [16, 3, 32, 32], all.ToFloat32().AsSpan(0, 16 * 3 * 32 * 32));
        string ours = Path.Combine(_dir, "ours.npy");
        Assert.That(Edgenets("run", enet, "--input", inputs, "--output", ours).Code, Is.Zero);

        // Targets equal to our own outputs: the int8 MAE must be exactly 0 and the float model's must not.
        var eval = Edgenets("eval", Onnx, enet, "--input", inputs, "--targets", ours, "--json");
        Assert.That(eval.Code, Is.Zero, eval.Err);
        Assert.That(JsonNumber(eval.Out, "quantized_mae"), Is.Zero);
        Assert.That(JsonNumber(eval.Out, "float_mae"), Is.EqualTo(JsonNumber(eval.Out, "mean_abs_error")).Within(1e-6));

        var both = Edgenets("eval", Onnx, enet, "--input", inputs, "--targets", ours, "--labels", TestLabels);
        Assert.That(both.Code, Is.EqualTo(2));
    }

    [Test]
    public void InputShapeFixesADynamicDimension()
    {
        string onnx = Path.Combine(_dir, "dynamic.onnx");
        File.WriteAllBytes(onnx, new EdgeNets.Tests.Import.OnnxModelBuilder(13).Input("x", 1, null).Node("Relu", "relu", ["x"], ["y"]).Output("y").Build());
        string enet = Path.Combine(_dir, "dynamic.enet");
        var without = Edgenets("convert", onnx, "-o", enet, "--precision", "float32");
        Assert.That(without.Code, Is.Not.Zero);
        Assert.That(without.Err, Does.Contain("'x'"));
        var with = Edgenets("convert", onnx, "-o", enet, "--precision", "float32", "--input-shape", "x=1x16");
        Assert.That(with.Code, Is.Zero, with.Err);
        Assert.That(Edgenets("inspect", enet).Out, Does.Contain("[1x16]"));
        var wrong = Edgenets("convert", onnx, "-o", enet, "--precision", "float32", "--input-shape", "x=2x16");
        Assert.That(wrong.Code, Is.Not.Zero);
        Assert.That(wrong.Err, Does.Contain("'x'").And.Contain("dimension 0"));
        var malformed = Edgenets("convert", onnx, "-o", enet, "--precision", "float32", "--input-shape", "x=1xsixteen");
        Assert.That(malformed.Code, Is.EqualTo(2));
        Assert.That(malformed.Err, Does.Contain("sixteen"));
    }

    /// <summary>A model with two outputs (a detector's scores and boxes): eval compares each by name, top-1 only for score vectors.</summary>
    [Test]
    public void EvalComparesEveryOutputByName()
    {
        string onnx = Path.Combine(_dir, "two.onnx");
        File.WriteAllBytes(onnx, new EdgeNets.Tests.Import.OnnxModelBuilder(13).Input("x", 1, 4, 8)
            .Node("Relu", "relu", ["x"], ["boxes"]).Node("Flatten", "flat", ["x"], ["f"]).Node("Sigmoid", "sig", ["f"], ["scores"])
            .Output("boxes").Output("scores").Build());
        string enet = Path.Combine(_dir, "two.enet"), x = Path.Combine(_dir, "x.npy");
        NpyFile.WriteFloat32(x, [3, 1, 4, 8], Enumerable.Range(0, 96).Select(i => (float)Math.Sin(i)).ToArray());
        var convert = Edgenets("convert", onnx, "-o", enet, "--calibration", x);
        Assert.That(convert.Code, Is.Zero, convert.Err);
        var eval = Edgenets("eval", onnx, enet, "--input", x, "--json");
        Assert.That(eval.Code, Is.Zero, eval.Err);
        using var doc = System.Text.Json.JsonDocument.Parse(eval.Out);
        var outputs = doc.RootElement.GetProperty("outputs").EnumerateArray().ToList();
        Assert.That(outputs.Select(o => o.GetProperty("name").GetString()), Is.EqualTo(new[] { "boxes", "scores" }));
        Assert.That(outputs[0].TryGetProperty("top1_agreement", out _), Is.False, "a [1, 4, 8] output is not a score vector");
        Assert.That(outputs[1].GetProperty("top1_agreement").GetDouble(), Is.InRange(0.0, 1.0));
        Assert.That(outputs.All(o => o.GetProperty("max_abs_error").GetDouble() < 0.1), eval.Out);
        Assert.That(doc.RootElement.GetProperty("top1_agreement").ValueKind, Is.EqualTo(System.Text.Json.JsonValueKind.Null));
    }

    [Test]
    public void ListOperatorsPrintsTheSupportTable()
    {
        var r = Edgenets("convert", "--list-operators");
        Assert.That(r.Code, Is.Zero, r.Err);
        Assert.That(r.Out, Does.Contain("| Conv | yes |").And.Contain("| LSTM | yes |"));
    }

    [Test]
    public void Float32ConversionMatchesOnnxRuntimeClosely()
    {
        string enet = Path.Combine(_dir, "float.enet");
        var convert = Edgenets("convert", Onnx, "-o", enet, "--precision", "float32");
        Assert.That(convert.Code, Is.Zero, convert.Err);
        var eval = Edgenets("eval", Onnx, enet, "--input", TestInputs, "--limit", "32", "--json");
        Assert.That(eval.Code, Is.Zero, eval.Err);
        Assert.That(JsonNumber(eval.Out, "top1_agreement"), Is.EqualTo(1.0));
        Assert.That(JsonNumber(eval.Out, "max_abs_error"), Is.LessThan(1e-3));
    }

    [Test]
    public void BenchReportsZeroAllocationsAndTheOnnxRuntimeRatio()
    {
        string enet = ConvertInt8();
        var bench = Edgenets("bench", enet, "--onnx", Onnx, "--runs", "20", "--warmup", "3", "--json");
        Assert.That(bench.Code, Is.Zero, bench.Err);
        Assert.That(JsonNumber(bench.Out, "allocated_bytes_per_run"), Is.Zero);
        Assert.That(JsonNumber(bench.Out, "median_us"), Is.GreaterThan(0));
        Assert.That(JsonNumber(bench.Out, "onnxruntime_median_us"), Is.GreaterThan(0));
        // ONNX Runtime's int8 model is made from MODEL.onnx and the .enet's scales and timed as well.
        Assert.That(JsonNumber(bench.Out, "onnxruntime_int8_median_us"), Is.GreaterThan(0));
        Assert.That(JsonNumber(bench.Out, "ratio_to_onnxruntime_int8"), Is.GreaterThan(0));
        // The memory target: the planned arena is below what ONNX Runtime's session adds to the process.
        Assert.That(JsonNumber(bench.Out, "arena_bytes"), Is.LessThan(JsonNumber(bench.Out, "onnxruntime_int8_working_set_growth_bytes")));
        Assert.That(JsonNumber(bench.Out, "arena_bytes"), Is.LessThan(JsonNumber(bench.Out, "onnxruntime_working_set_growth_bytes")));
        Assert.That(bench.Out, Does.Contain("\"working_set_growth_bytes\""));

        bench = Edgenets("bench", enet, "--onnx", Onnx, "--runs", "10", "--warmup", "1", "--json", "--no-onnx-int8");
        Assert.That(bench.Code, Is.Zero, bench.Err);
        Assert.That(bench.Out, Does.Not.Contain("onnxruntime_int8"));
    }

    [Test]
    public void ConvertExportsOnnxRuntimesInt8ModelAndBenchTimesIt()
    {
        string enet = Path.Combine(_dir, "model.enet");
        string qdq = Path.Combine(_dir, "model.qdq.onnx");
        var convert = Edgenets("convert", Onnx, "-o", enet, "--calibration", Calibration, "--export-qdq", qdq);
        Assert.That(convert.Code, Is.Zero, convert.Err);
        Assert.That(convert.Out, Does.Contain("model.qdq.onnx").And.Contain("5 int8 weight tensors"));

        // The exported model gives the same predictions in ONNX Runtime as the .enet does in edgenets.
        var x = NpyFile.Read(TestInputs);
        var all = x.ToFloat32();
        var model = EdgeNets.Runtime.Model.Load(enet);
        using var session = model.CreateSession();
        using var ort = new Microsoft.ML.OnnxRuntime.InferenceSession(qdq);
        var ours = new float[10];
        long[] shape = [1, .. x.Shape[1..].Select(d => (long)d)];
        for (int s = 0; s < 16; s++)
        {
            var sample = all.AsSpan(s * x.SampleSize, x.SampleSize).ToArray();
            session.Run(sample, ours);
            using var value = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(sample, shape);
            using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
            using var results = ort.Run(runOptions, [ort.InputNames[0]], [value], [ort.OutputNames[0]]);
            var theirs = results[0].GetTensorDataAsSpan<float>();
            Assert.That(theirs.IndexOf(MaxOf(theirs)), Is.EqualTo(Array.IndexOf(ours, ours.Max())), $"sample {s}");
        }

        var bench = Edgenets("bench", enet, "--onnx", Onnx, "--onnx-int8", qdq, "--runs", "10", "--warmup", "1");
        Assert.That(bench.Code, Is.Zero, bench.Err);
        Assert.That(bench.Out, Does.Contain("onnxruntime int8:").And.Contain("ratio edgenets/onnxruntime int8"));

        var r = Edgenets("convert", Onnx, "-o", enet, "--precision", "float32", "--export-qdq", qdq);
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--export-qdq"));
    }

    [Test]
    public void ConvertTakesAPreQuantizedModelWithoutCalibration()
    {
        string enet = Path.Combine(_dir, "model.enet"), qdq = Path.Combine(_dir, "model.qdq.onnx"), again = Path.Combine(_dir, "again.enet");
        var r = Edgenets("convert", Onnx, "-o", enet, "--calibration", Calibration, "--export-qdq", qdq);
        Assert.That(r.Code, Is.Zero, r.Err);
        r = Edgenets("convert", qdq, "-o", again);
        Assert.That(r.Code, Is.Zero, r.Err);
        Assert.That(r.Err, Does.Contain("pre-quantized").And.Contain("no calibration"));
        var original = EdgeNets.Runtime.Model.Load(enet).Graph;
        var imported = EdgeNets.Runtime.Model.Load(again).Graph;
        Assert.That(imported.Tensors.Select(t => (t.Name, t.Offset, Convert.ToHexString(t.Data.Span), t.Quantization?.Scales.Sum(), t.Quantization?.ZeroPoint)),
            Is.EqualTo(original.Tensors.Select(t => (t.Name, t.Offset, Convert.ToHexString(t.Data.Span), t.Quantization?.Scales.Sum(), t.Quantization?.ZeroPoint))));

        r = Edgenets("convert", qdq, "-o", again, "--calibration", Calibration);
        Assert.That(r.Code, Is.Zero, r.Err);
        Assert.That(r.Err, Does.Contain("win over the calibration"));
        r = Edgenets("convert", Onnx, "-o", again);
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--calibration"));
    }

    private static float MaxOf(ReadOnlySpan<float> v)
    {
        float best = float.NegativeInfinity;
        foreach (float f in v) best = Math.Max(best, f);
        return best;
    }

    [Test]
    public void InputNormalizationIsKeptInTheModel()
    {
        string enet = Path.Combine(_dir, "norm.enet");
        var r = Edgenets("convert", Onnx, "-o", enet, "--precision", "float32", "--input-mean", "0.5, 0.25,0.125", "--input-std", "2,2,4");
        Assert.That(r.Code, Is.Zero, r.Err);
        var model = EdgeNets.Runtime.Model.Load(enet);
        Assert.That(model.Graph.Metadata["input_mean"], Is.EqualTo("0.5,0.25,0.125"));
        Assert.That(model.Graph.Metadata["input_std"], Is.EqualTo("2,2,4"));
        r = Edgenets("convert", Onnx, "-o", enet, "--precision", "float32", "--input-std", "1,0,1");
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--input-std").And.Contain("'0'"));
    }

    [Test]
    public void MissingFilesAreNamed()
    {
        var r = Edgenets("convert", Path.Combine(_dir, "nope.onnx"), "-o", Path.Combine(_dir, "m.enet"), "--calibration", Calibration);
        Assert.That(r.Code, Is.Not.Zero);
        Assert.That(r.Err, Does.Contain("nope.onnx"));
        r = Edgenets("run", Path.Combine(_dir, "absent.enet"), "--input", TestInputs, "--output", Path.Combine(_dir, "y.npy"));
        Assert.That(r.Code, Is.Not.Zero);
        Assert.That(r.Err, Does.Contain("absent.enet"));
    }

    [Test]
    public void NonOnnxInputIsRejected()
    {
        string bogus = Path.Combine(_dir, "bogus.onnx");
        File.WriteAllText(bogus, "this is not a protobuf model at all, just text");
        var r = Edgenets("convert", bogus, "-o", Path.Combine(_dir, "m.enet"), "--precision", "float32");
        Assert.That(r.Code, Is.Not.Zero);
        Assert.That(r.Err, Does.Contain("bogus.onnx"));
        Assert.That(File.Exists(Path.Combine(_dir, "m.enet")), Is.False, "no output file on failure");
    }

    [Test]
    public void CalibrationWithTheWrongShapeOrTypeIsRejected()
    {
        string wrongShape = Path.Combine(_dir, "wrong_shape.npy");
        NpyFile.WriteFloat32(wrongShape, [4, 3, 16, 16], new float[4 * 3 * 16 * 16]);
        var r = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "m.enet"), "--calibration", wrongShape);
        Assert.That(r.Code, Is.Not.Zero);
        Assert.That(r.Err, Does.Contain("wrong_shape.npy").And.Contain("(4, 3, 16, 16)"));

        string wrongType = Path.Combine(_dir, "labels_as_calibration.npy");
        File.Copy(TestLabels, wrongType);
        r = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "m.enet"), "--calibration", wrongType);
        Assert.That(r.Code, Is.Not.Zero);
        Assert.That(r.Err, Does.Contain("labels_as_calibration.npy"));

        string truncated = Path.Combine(_dir, "truncated.npy");
        var bytes = File.ReadAllBytes(Calibration);
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        r = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "m.enet"), "--calibration", truncated);
        Assert.That(r.Code, Is.Not.Zero);
        Assert.That(r.Err, Does.Contain("truncated.npy").And.Contain("truncated"));
    }

    [Test]
    public void Int8WithoutCalibrationAndUnknownOptionsAreUsageErrors()
    {
        var r = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "m.enet"));
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--calibration"));
        r = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "m.enet"), "--precision", "int4");
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("int4"));
        r = Edgenets("inspect", "x.enet", "--fast");
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--fast"));
    }

    private static readonly string[] Commands = ["convert", "run", "inspect", "eval", "bench", "selftest"];

    [Test]
    public void EveryCommandHasHelpOnStdoutWithUsageOptionsAndExamples()
    {
        foreach (string command in Commands)
            foreach (string flag in new[] { "--help", "-h" })
            {
                var r = Edgenets(command, flag);
                Assert.That(r.Code, Is.Zero, $"{command} {flag}: {r.Err}");
                Assert.That(r.Err, Is.Empty, $"{command} {flag}");
                Assert.That(r.Out, Does.StartWith($"usage: edgenets {command}").And.Contain("examples:"), $"{command} {flag}");
            }
        // Help wins over everything else on the line, file names included.
        var run = Edgenets("run", "model.enet", "-h");
        Assert.That(run.Code, Is.Zero, run.Err);
        Assert.That(run.Out, Does.Contain("--output"));

        var top = Edgenets("--help");
        Assert.That(top.Code, Is.Zero);
        foreach (string command in Commands) Assert.That(top.Out, Does.Match($@"(?m)^  {command} +\S"), command);
        Assert.That(Edgenets("help", "eval").Out, Does.StartWith("usage: edgenets eval"));
    }

    [Test]
    public void VersionIsTheAssemblysInformationalVersion()
    {
        var r = Edgenets("--version");
        Assert.That(r.Code, Is.Zero, r.Err);
        string expected = typeof(Program).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;
        Assert.That(r.Out.Trim(), Is.EqualTo($"edgenets {expected}"));
    }

    [Test]
    public void UsageErrorsAreOneLineNamingTheCommandOnceWithExitCode2()
    {
        foreach (var args in new[] { new[] { "convert", Onnx, "--bogus" }, ["run", "m.enet", "-x"], ["inspect"], ["eval", Onnx], ["frobnicate"] })
        {
            var r = Edgenets(args);
            Assert.That(r.Code, Is.EqualTo(2), string.Join(' ', args));
            Assert.That(r.Out, Is.Empty);
            string line = r.Err.TrimEnd();
            Assert.That(line, Does.Not.Contain('\n').And.StartWith($"edgenets {args[0]}: "), string.Join(' ', args));
            Assert.That(Regex.Matches(line, $@"\b{args[0]}:").Count, Is.EqualTo(1), line);
        }
        Assert.That(Edgenets().Code, Is.EqualTo(2));
    }

    /// <summary>Two single-Relu models of different widths, and a third of the same width as the second but another operator.</summary>
    private (string Wide, string Narrow, string NarrowEnet, string OtherNarrow, string X) UnrelatedModels()
    {
        string Write(string name, int width, string op)
        {
            string path = Path.Combine(_dir, name);
            File.WriteAllBytes(path, new EdgeNets.Tests.Import.OnnxModelBuilder(13).Input("x", 1, width).Node(op, "n", ["x"], ["y"]).Output("y").Build());
            return path;
        }
        string wide = Write("wide.onnx", 8, "Relu"), narrow = Write("narrow.onnx", 4, "Relu"), other = Write("other.onnx", 4, "Sigmoid");
        string x = Path.Combine(_dir, "x.npy");
        NpyFile.WriteFloat32(x, [2, 4], [-1, 0.5f, 2, -3, 1, 1, -1, 0]);
        string enet = Path.Combine(_dir, "narrow.enet");
        var convert = Edgenets("convert", narrow, "-o", enet, "--calibration", x);
        Assert.That(convert.Code, Is.Zero, convert.Err);
        return (wide, narrow, enet, other, x);
    }

    [Test]
    public void EvalAndBenchRefuseAnOnnxModelWithOtherInputsOrOutputs()
    {
        var (wide, _, enet, _, x) = UnrelatedModels();
        var eval = Edgenets("eval", wide, enet, "--input", x);
        Assert.That(eval.Code, Is.EqualTo(1), eval.Err);
        Assert.That(eval.Err.TrimEnd(), Does.Not.Contain('\n').And.Contain("wide.onnx").And.Contain("narrow.enet").And.Contain("[1x8]").And.Contain("[1x4]"));
        var bench = Edgenets("bench", enet, "--onnx", wide, "--runs", "10", "--warmup", "0");
        Assert.That(bench.Code, Is.EqualTo(1), bench.Err);
        Assert.That(bench.Err.TrimEnd(), Does.Not.Contain('\n').And.Contain("wide.onnx").And.Contain("[1x8]"));
    }

    [Test]
    public void EvalAndBenchWarnWhenTheEnetWasConvertedFromAnotherOnnxFile()
    {
        var (_, narrow, enet, other, x) = UnrelatedModels();
        var same = Edgenets("eval", narrow, enet, "--input", x);
        Assert.That(same.Code, Is.Zero, same.Err);
        Assert.That(same.Err, Does.Not.Contain("warning"));

        // Same shapes, another model: compared, but not silently.
        var eval = Edgenets("eval", other, enet, "--input", x);
        Assert.That(eval.Code, Is.Zero, eval.Err);
        Assert.That(eval.Err, Does.Contain("warning").And.Contain("narrow.onnx").And.Contain("other.onnx"));
        var bench = Edgenets("bench", enet, "--onnx", other, "--runs", "10", "--warmup", "0", "--no-onnx-int8");
        Assert.That(bench.Code, Is.Zero, bench.Err);
        Assert.That(bench.Err, Does.Contain("warning").And.Contain("other.onnx"));
    }

    /// <summary>
    /// ONNX Runtime writes its warnings (here: an initializer no node reads) to the process's own stderr, which only
    /// a separate process shows: the built CLI runs as one.
    /// </summary>
    [Test]
    public void OnnxRuntimeWarningsStayOutOfBenchOutput()
    {
        string onnx = Path.Combine(_dir, "unused.onnx");
        File.WriteAllBytes(onnx, new EdgeNets.Tests.Import.OnnxModelBuilder(13).Input("x", 1, 4)
            .Initializer("unused_weight", [4], [1, 2, 3, 4]).Node("Relu", "relu", ["x"], ["y"]).Output("y").Build());
        string enet = Path.Combine(_dir, "unused.enet");
        Assert.That(Edgenets("convert", onnx, "-o", enet, "--precision", "float32").Code, Is.Zero);

        string cli = Path.Combine(TestContext.CurrentContext.TestDirectory, "edgenets.dll");
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { cli, "bench", enet, "--onnx", onnx, "--runs", "10", "--warmup", "0" }) psi.ArgumentList.Add(arg);
        using var process = System.Diagnostics.Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, stderr.Result);
        Assert.That(stdout, Does.Contain("onnxruntime:"));
        Assert.That(stdout + stderr.Result, Does.Not.Contain("onnxruntime:,").And.Not.Contain("unused_weight"));
    }

    [Test]
    public void InspectIsConciseByDefaultWithAlignedColumns()
    {
        string enet = ConvertInt8();
        var concise = Edgenets("inspect", enet);
        Assert.That(concise.Code, Is.Zero, concise.Err);
        Assert.That(concise.Out, Does.Not.Contain("OutputMultiplier").And.Not.Contain("kernel chosen"));
        var verbose = Edgenets("inspect", enet, "--verbose");
        Assert.That(verbose.Out, Does.Contain("OutputMultiplier").And.Contain("kernel chosen"));

        // Every operator row starts its weights and name columns where the header does.
        var lines = concise.Out.Split('\n');
        string header = lines.Single(l => l.TrimStart().StartsWith("# ", StringComparison.Ordinal));
        var model = EdgeNets.Runtime.Model.Load(enet);
        var rows = lines.Where(l => model.Graph.Ops.Any(op => l.EndsWith("  " + op.Name, StringComparison.Ordinal))).ToList();
        Assert.That(rows, Has.Count.EqualTo(model.Graph.Ops.Count));
        int name = header.IndexOf(" name", StringComparison.Ordinal) + 1;
        int weightsEnd = header.IndexOf("weights", StringComparison.Ordinal) + "weights".Length;
        foreach (var row in rows)
        {
            Assert.That(row.Length, Is.GreaterThan(name), row);
            Assert.That(row[name - 1], Is.EqualTo(' '), row);
            Assert.That(row[(name - 2)..name], Is.EqualTo("  "), row);
            Assert.That(row[..weightsEnd], Does.EndWith(" B"), row);
        }
    }

    [Test]
    public void BenchSaysTheWorkingSetGrowthIsNotPerRunAllocation()
    {
        string enet = ConvertInt8();
        var bench = Edgenets("bench", enet, "--runs", "10", "--warmup", "0");
        Assert.That(bench.Code, Is.Zero, bench.Err);
        string memory = bench.Out.Split('\n').Single(l => l.StartsWith("memory:", StringComparison.Ordinal));
        Assert.That(memory, Does.Contain("not per run").And.Contain("0 B allocated per run"));
    }

    [Test]
    public void CalibrationWithFloat32IsAUsageError()
    {
        string enet = Path.Combine(_dir, "m.enet");
        var r = Edgenets("convert", Onnx, "-o", enet, "--precision", "float32", "--calibration", Calibration);
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--calibration").And.Contain("float32"));
        Assert.That(File.Exists(enet), Is.False);
    }

    [Test]
    public void RunCreatesTheOutputFolderAsConvertDoes()
    {
        string enet = Path.Combine(_dir, "new", "model.enet");
        Assert.That(Edgenets("convert", Onnx, "-o", enet, "--precision", "float32").Code, Is.Zero);
        string y = Path.Combine(_dir, "outputs", "scores", "y.npy");
        var r = Edgenets("run", enet, "--input", TestInputs, "--output", y);
        Assert.That(r.Code, Is.Zero, r.Err);
        Assert.That(NpyFile.Read(y).Shape, Is.EqualTo(new[] { NpyFile.Read(TestInputs).Shape[0], 10 }));
    }

    [Test]
    public void InputsOutsideTheCalibratedRangeAreReported()
    {
        string enet = ConvertInt8();
        string scaled = Path.Combine(_dir, "pixels.npy");
        var x = NpyFile.Read(TestInputs);
        // The same images as 0..255 pixels: the model was calibrated on 0..1.
        var pixels = x.ToFloat32().Take(32 * x.SampleSize).Select(v => v * 255).ToArray();
        NpyFile.WriteFloat32(scaled, [32, .. x.Shape[1..]], pixels);
        // Calibrated on [0, 1]: every pixel value of 2 or more is outside, 0 and 1 are not.
        Assert.That(NpyFile.Read(Calibration).ToFloat32().Max(), Is.InRange(0.99f, 1f));
        double aboveOne = (double)pixels.Count(v => v > 1.5f) / pixels.Length;

        foreach (var args in new[] { new[] { "run", enet, "--input", scaled, "--output", Path.Combine(_dir, "y.npy") }, ["eval", Onnx, enet, "--input", scaled] })
        {
            var r = Edgenets(args);
            Assert.That(r.Code, Is.Zero, r.Err);
            var m = Regex.Match(r.Err, @"warning: .*\(([0-9.]+)%\) of input '[^']+' lie outside its calibrated range");
            Assert.That(m.Success, Is.True, args[0] + ": " + r.Err);
            Assert.That(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / 100, Is.EqualTo(aboveOne).Within(1e-5), args[0]);
        }
        var inRange = Edgenets("run", enet, "--input", TestInputs, "--output", Path.Combine(_dir, "y.npy"));
        Assert.That(inRange.Code, Is.Zero, inRange.Err);
        Assert.That(inRange.Err, Does.Not.Contain("calibrated range"));
    }

    [Test]
    public void InputMeanWithTheWrongChannelCountIsAUsageError()
    {
        var r = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "m.enet"), "--precision", "float32", "--input-mean", "0.5,0.5");
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--input-mean").And.Contain("2 values").And.Contain("3"));
        r = Edgenets("convert", Onnx, "-o", Path.Combine(_dir, "m.enet"), "--precision", "float32", "--input-mean", "0.5", "--input-std", "1,2,3,4");
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--input-std").And.Contain("4 values"));
    }

    private static double JsonNumber(string json, string key)
    {
        var m = Regex.Match(json, $"\"{key}\": (-?[0-9.eE+-]+)");
        Assert.That(m.Success, Is.True, $"no \"{key}\" in {json}");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>NaN outputs are flagged and counted, exit 1: never "top-1 agreement 100 %" beside "max abs NaN".</summary>
    [Test]
    public void NaNOutputsAreFlaggedAndLeftOutOfTheAgreement()
    {
        string onnx = Path.Combine(_dir, "scores.onnx"), enet = Path.Combine(_dir, "scores.enet");
        string x = Path.Combine(_dir, "x.npy");
        File.WriteAllBytes(onnx, new EdgeNets.Tests.Import.OnnxModelBuilder(13).Input("x", 1, 4).Node("Sigmoid", "sig", ["x"], ["scores"]).Output("scores").Build());
        // The second sample is NaN: ONNX Runtime and the float32 model both give NaN scores for it.
        NpyFile.WriteFloat32(x, [2, 1, 4], [0.1f, 0.9f, 0.3f, 0.4f, float.NaN, float.NaN, float.NaN, float.NaN]);
        var convert = Edgenets("convert", onnx, "-o", enet, "--precision", "float32");
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
