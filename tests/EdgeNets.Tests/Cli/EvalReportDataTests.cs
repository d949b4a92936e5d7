using EdgeNets.Cli;
using EdgeNets.Cli.Report;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Cli;

/// <summary>The figures `eval --report` draws, each against a count or formula computed here another way.</summary>
public class EvalReportDataTests
{
    [Test]
    public void HistogramCountsEveryValueOnceAndSaturationIsTheShareOutsideTheRange()
    {
        var rng = new Random(7);
        const double low = -1.5, high = 2.25;
        var values = new float[20_000];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 8 - 3.5);   // well past both ends
        values[0] = (float)low;
        values[1] = (float)high;
        values[2] = float.NaN;
        values[3] = float.PositiveInfinity;
        values[4] = 1e30f;

        var h = ValueHistogram.ForQuantizationRange(low, high);
        h.Add(values.AsSpan(0, 7_000));
        h.Add(values.AsSpan(7_000));

        Assert.That(h.Counts.Sum() + h.Below + h.Above + h.NonFinite, Is.EqualTo(values.Length));
        Assert.That(h.Total, Is.EqualTo(values.Length));
        Assert.That(h.NonFinite, Is.EqualTo(2));
        var finite = values.Where(float.IsFinite).ToArray();
        long outside = finite.Count(v => v < low || v > high);
        Assert.That(h.SaturationShare, Is.EqualTo((double)outside / finite.Length).Within(1e-15));
        // The range's bins hold exactly the values inside the range, its ends included.
        long inRangeBins = h.Counts.Skip(ValueHistogram.MarginBins).Take(ValueHistogram.RangeBins).Sum();
        Assert.That(inRangeBins, Is.EqualTo(finite.Count(v => v >= low && v <= high)));
        double axisLow = low - ValueHistogram.MarginBins * h.BinWidth, axisHigh = high + ValueHistogram.MarginBins * h.BinWidth;
        Assert.That(h.Below, Is.EqualTo(finite.Count(v => v < axisLow)));
        Assert.That(h.Above, Is.EqualTo(finite.Count(v => v >= axisHigh)));
        Assert.That(h.Min, Is.EqualTo(finite.Min()));
        Assert.That(h.Max, Is.EqualTo(1e30f));
    }

    [Test]
    public void ValuesOnTheRangeEndsDoNotSaturateAndTheNextOnesDo()
    {
        // A ReLU output's range starts at exactly 0, where most of its values are.
        var h = ValueHistogram.ForQuantizationRange(0, 6.0f);
        h.Add([0f, 0f, 6f]);
        Assert.That(h.Saturated, Is.Zero);
        Assert.That(h.Counts[ValueHistogram.MarginBins], Is.EqualTo(2));
        Assert.That(h.Counts[ValueHistogram.MarginBins + ValueHistogram.RangeBins - 1], Is.EqualTo(1));
        h.Add([-float.Epsilon, MathF.BitIncrement(6f)]);
        Assert.That(h.Saturated, Is.EqualTo(2));
        Assert.That(h.Counts[ValueHistogram.MarginBins - 1] + h.Counts[ValueHistogram.MarginBins + ValueHistogram.RangeBins], Is.EqualTo(2));
    }

    [Test]
    public void AFloatTensorHasNoSaturationAndItsAxisComesFromItsFirstValues()
    {
        var h = ValueHistogram.ForValues([-2f, 3f, float.NaN]);
        Assert.That((h.Low, h.High), Is.EqualTo((-2.0, 3.0)));
        h.Add([-2f, 3f, 100f]);
        Assert.That(h.SaturationShare, Is.Null);
        Assert.That(h.Above, Is.EqualTo(1));
    }

    [Test]
    public void SqnrAndCosineFollowTheirDefinitions()
    {
        var rng = new Random(3);
        var f = Enumerable.Range(0, 1000).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var q = f.Select(v => v + (float)(rng.NextDouble() - 0.5) * 0.05f).ToArray();
        var c = new LayerComparison();
        c.Add(f.AsSpan(0, 400), q.AsSpan(0, 400));
        c.Add(f.AsSpan(400), q.AsSpan(400));
        double signal = f.Sum(v => (double)v * v), noise = f.Zip(q, (a, b) => ((double)a - b) * ((double)a - b)).Sum();
        double dot = f.Zip(q, (a, b) => (double)a * b).Sum(), qq = q.Sum(v => (double)v * v);
        Assert.That(c.SqnrDb, Is.EqualTo(10 * Math.Log10(signal / noise)).Within(1e-9));
        Assert.That(c.Cosine, Is.EqualTo(dot / Math.Sqrt(signal * qq)).Within(1e-12));

        var opposite = new LayerComparison();
        opposite.Add(f, f.Select(v => -v).ToArray());
        Assert.That(opposite.Cosine, Is.EqualTo(-1).Within(1e-12));
        var zeros = new LayerComparison();
        zeros.Add(new float[4], new float[4]);
        Assert.That((zeros.Cosine, zeros.SqnrDb), Is.EqualTo((1.0, double.PositiveInfinity)));
    }

    /// <summary>The gesture model's first convolution: per-channel ranges against its int8 bytes times each channel's scale.</summary>
    [Test]
    public void WeightRangesPerChannelAreTheDequantizedInt8Extremes()
    {
        var model = Model.Load(Path.Combine(RepoPaths.GestureModel, "model.enet"));
        using var session = model.CreateSession();
        var conv = model.Graph.Ops.First(o => o.Type == OpType.Conv);
        var ranges = ChannelRanges.Of(session, conv).Single();
        var w = model.Graph.Tensors[conv.Inputs[1]];
        Assert.That(ranges.TensorName, Is.EqualTo(w.Name));
        Assert.That(ranges.Precision, Is.EqualTo("int8"));
        var bytes = w.Data.ToArray();
        int channels = w.Shape[0], perChannel = w.ElementCount / channels;
        Assert.That(ranges.Min, Has.Length.EqualTo(channels));
        for (int ch = 0; ch < channels; ch++)
        {
            var q = Enumerable.Range(0, perChannel).Select(i => (sbyte)bytes[ch * perChannel + i]).ToArray();
            float scale = w.Quantization!.Scales[ch];
            Assert.That(ranges.Min[ch], Is.EqualTo(scale * q.Min()), $"channel {ch}");
            Assert.That(ranges.Max[ch], Is.EqualTo(scale * q.Max()), $"channel {ch}");
        }
    }

    [Test]
    public void ChannelRangesFollowAnyAxis()
    {
        // [2, 3, 2]: along axis 1, channel c holds the values 2c, 2c+1 (outer 0) and 6+2c, 6+2c+1 (outer 1).
        var values = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        var (min, max) = ChannelRanges.Compute(values, [2, 3, 2], axis: 1);
        Assert.That(min, Is.EqualTo(new[] { 0f, 2f, 4f }));
        Assert.That(max, Is.EqualTo(new[] { 7f, 9f, 11f }));
    }

    /// <summary>An int8 activation's range is what its extreme integers dequantize to in the runtime.</summary>
    [Test]
    public void QuantizationRangeIsWhatTheRuntimeDequantizesTheExtremesTo()
    {
        var model = Model.Load(Path.Combine(RepoPaths.GestureModel, "model.enet"));
        var g = model.Graph;
        using var session = model.CreateSession();
        int input = g.Inputs[0];
        var tensor = g.Tensors[input];
        var (low, high) = EvalReportCollector.QuantizationRange(tensor)!.Value;
        var raw = session.GetInputBytes(0);
        raw.Fill(unchecked((byte)sbyte.MinValue));
        raw[1] = (byte)sbyte.MaxValue;
        var dequantized = new float[tensor.ElementCount];
        session.ReadTensorAsFloat(input, dequantized);
        Assert.That(low, Is.EqualTo(dequantized[0]).Within(1e-6));
        Assert.That(high, Is.EqualTo(dequantized[1]).Within(1e-6));
    }

    [Test]
    public void ConfusionMatrixCountsSamplesPerTrueAndPredictedClass()
    {
        var m = new ConfusionMatrix(3);
        foreach (var (t, p) in new[] { (0, 0), (0, 2), (2, 2), (2, 2), (1, 0), (5, 1), (-1, 0) }) m.Add(t, p);
        Assert.That(m[0, 0] + m[0, 2] + m[2, 2] + m[1, 0], Is.EqualTo(5));
        Assert.That((m[2, 2], m.RowTotal(0), m.OutOfRangeLabels), Is.EqualTo((2L, 2L, 2L)));
    }

    /// <summary>
    /// The gesture model is a chain (each compared layer reads the one before), so what each operator loses is the
    /// difference of two consecutive SQNRs in eval's JSON; the summary names the three largest.
    /// </summary>
    [Test]
    public void WhereTheErrorEntersIsTheLargestLossOfSqnrAlongTheChain()
    {
        string dir = RepoPaths.TempDirectory();
        try
        {
            string report = Path.Combine(dir, "r.html"), m = RepoPaths.GestureModel;
            var stdout = new StringWriter();
            Assert.That(Program.Run(["eval", Path.Combine(m, "model.onnx"), Path.Combine(m, "model.enet"), "--input", Path.Combine(m, "test_inputs.npy"),
                "--limit", "32", "--json", "--report", report], stdout, TextWriter.Null), Is.Zero);
            using var json = System.Text.Json.JsonDocument.Parse(stdout.ToString());
            var sqnr = json.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("sqnr_db").GetDouble()).ToArray();
            var expected = Enumerable.Range(1, sqnr.Length - 1).Select(i => sqnr[i - 1] - sqnr[i]).Where(d => d > 0).OrderDescending().Take(3).ToArray();
            string html = File.ReadAllText(report);
            string section = html[html.IndexOf("Where the error enters", StringComparison.Ordinal)..html.IndexOf("</section>", html.IndexOf("Where the error enters", StringComparison.Ordinal), StringComparison.Ordinal)];
            var shown = System.Text.RegularExpressions.Regex.Matches(section, @"loses ([0-9.]+) dB")
                .Select(x => double.Parse(x.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.That(shown, Has.Length.EqualTo(expected.Length));
            for (int i = 0; i < shown.Length; i++) Assert.That(shown[i], Is.EqualTo(expected[i]).Within(0.051));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void EvalHelpNamesTheReport()
    {
        var stdout = new StringWriter();
        Assert.That(Program.Run(["eval", "--help"], stdout, TextWriter.Null), Is.Zero);
        Assert.That(stdout.ToString(), Does.Contain("--report FILE.html"));
    }

    /// <summary>Tensor names come from the ONNX file: the page shows them as text, never as markup.</summary>
    [Test]
    public void NamesFromTheModelAreEscaped()
    {
        string dir = RepoPaths.TempDirectory();
        try
        {
            const string hostile = "<img src=x onerror=alert(1)>&\"'";
            string onnx = Path.Combine(dir, "m.onnx"), enet = Path.Combine(dir, "m.enet"), x = Path.Combine(dir, "x.npy"), report = Path.Combine(dir, "out", "r.html");
            File.WriteAllBytes(onnx, new EdgeNets.Tests.Import.OnnxModelBuilder(13).Input("x", 1, 16)
                .Node("Relu", "relu", ["x"], [hostile]).Node("Sigmoid", "sig", [hostile], ["y"]).Output("y").Build());
            NpyFile.WriteFloat32(x, [4, 1, 16], Enumerable.Range(0, 64).Select(i => (float)Math.Sin(i)).ToArray());
            Assert.That(Program.Run(["convert", onnx, "-o", enet, "--calibration", x], TextWriter.Null, TextWriter.Null), Is.Zero);
            var stderr = new StringWriter();
            Assert.That(Program.Run(["eval", onnx, enet, "--input", x, "--report", report], TextWriter.Null, stderr), Is.Zero, stderr.ToString());
            string html = File.ReadAllText(report);
            Assert.That(html, Does.Not.Contain("<img"));
            Assert.That(html, Does.Contain("&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;"));
            Assert.That(html, Does.Not.Contain("<script").And.Not.Contain("http://").And.Not.Contain("https://"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
