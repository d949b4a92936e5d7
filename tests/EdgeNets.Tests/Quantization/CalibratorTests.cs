using EdgeNets.Converter;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;
using static EdgeNets.Tests.Quantization.QuantTestKit;

namespace EdgeNets.Tests.Quantization;

[TestFixture]
public class CalibratorTests
{
    /// <summary>x [1,40] -> Relu -> y.</summary>
    private static ModelGraph ReluGraph()
    {
        var g = new TestGraph();
        int x = g.Input("x", DataType.Float32, [1, 40]);
        int y = g.Output("y", DataType.Float32, [1, 40]);
        g.Op(OpType.Relu, [x], [y], name: "relu");
        return g.Graph;
    }

    [Test]
    public void MinMax_RecordsTheExactExtremesOfEveryActivation()
    {
        var samples = Samples(1, 7, 40, -2f, 3f);
        var stats = Calibrator.Calibrate(ReluGraph(), samples);
        float min = samples.Min(s => s.Min()), max = samples.Max(s => s.Max());
        Assert.That(stats.Tensors["x"].Min, Is.EqualTo(min));
        Assert.That(stats.Tensors["x"].Max, Is.EqualTo(max));
        Assert.That(stats.Tensors["y"].Min, Is.EqualTo(0f));
        Assert.That(stats.Tensors["y"].Max, Is.EqualTo(max));
        Assert.That(stats.Tensors["x"].Count, Is.EqualTo(7 * 40));
        Assert.That(stats.Range("x"), Is.EqualTo((min, max)));
        Assert.That(stats.SampleCount, Is.EqualTo(7));
    }

    [Test]
    public void Percentile_ClipsAnOutlier_MinMaxKeepsIt()
    {
        var samples = Samples(2, 50, 40);
        samples[17][5] = 100f;
        var minmax = Calibrator.Calibrate(ReluGraph(), samples, new CalibrationOptions { Method = CalibrationMethod.MinMax });
        var percentile = Calibrator.Calibrate(ReluGraph(), samples, new CalibrationOptions { Method = CalibrationMethod.Percentile, Percentile = 99.9 });
        Assert.That(minmax.Range("y").Max, Is.EqualTo(100f));
        var (lo, hi) = percentile.Range("y");
        Assert.That(hi, Is.LessThan(1.1f), "the outlier is clipped");
        Assert.That(hi, Is.GreaterThan(0.95f), "the bulk of the values is kept");
        Assert.That(lo, Is.EqualTo(0f));
        Assert.That(percentile.Range("x").Min, Is.LessThan(-0.95f).And.GreaterThanOrEqualTo(minmax.Range("x").Min));
    }

    /// <summary>The percentile range against exact order statistics of the values, fed in batches of growing magnitude.</summary>
    [TestCase(99.0)]
    [TestCase(99.9)]
    [TestCase(99.99)]
    public void Percentile_MatchesSortedValuesWithinOneHistogramBin(double percent)
    {
        var stats = new TensorStats("t");
        var all = new List<float>();
        var rng = new Random(3);
        for (int batch = 0; batch < 40; batch++)
        {
            float magnitude = 0.01f * MathF.Pow(1.3f, batch);   // forces the histogram range to double many times
            var values = new float[997];
            for (int i = 0; i < values.Length; i++) values[i] = (float)((rng.NextDouble() * 2 - 0.7) * magnitude);
            stats.Add(values);
            all.AddRange(values);
        }
        all.Sort();
        int tail = (int)Math.Floor((100 - percent) / 100 * all.Count);
        float expectedLo = all[tail], expectedHi = all[all.Count - 1 - tail];
        var (lo, hi) = stats.Range(new CalibrationOptions { Method = CalibrationMethod.Percentile, Percentile = percent });
        double bin = 2 * stats.HistogramLimit / TensorStats.BinCount;
        Assert.That(stats.HistogramLimit, Is.GreaterThanOrEqualTo(all.Max(v => Math.Abs(v))));
        Assert.That(stats.HistogramLimit, Is.LessThan(2 * all.Max(v => Math.Abs(v))));
        Assert.That(lo, Is.EqualTo(expectedLo).Within(bin));
        Assert.That(hi, Is.EqualTo(expectedHi).Within(bin));
        long total = 0;
        foreach (long c in stats.Histogram) total += c;
        Assert.That(total, Is.EqualTo(all.Count));
    }

    [Test]
    public void Progress_IsReportedAfterEverySample()
    {
        var progress = new RecordingProgress();
        Calibrator.Calibrate(ReluGraph(), Samples(4, 9, 40), progress: progress);
        Assert.That(progress.Reports, Is.EqualTo(Enumerable.Range(1, 9)));
    }

    [Test]
    public void Auto_ChoosesForEachTensorTheRangeThatReconstructsItsValuesBest()
    {
        // x: uniform values with a few far outliers; y = Relu(x).
        var samples = Samples(10, 40, 40);
        for (int s = 0; s < 6; s++) samples[s * 7][s] = 30f + s;
        var options = new CalibrationOptions { Method = CalibrationMethod.Auto };
        var progress = new RecordingProgress();
        var stats = Calibrator.Calibrate(ReluGraph(), samples, options, progress);
        Assert.That(progress.Reports, Is.EqualTo(Enumerable.Range(1, 80)), "two passes over the 40 samples");

        var methods = new[] { CalibrationMethod.MinMax, CalibrationMethod.Percentile, CalibrationMethod.Entropy, CalibrationMethod.Mse };
        foreach (var (name, values) in new[] { ("x", samples.SelectMany(v => v).ToArray()), ("y", samples.SelectMany(v => v).Select(v => Math.Max(v, 0f)).ToArray()) })
        {
            var t = stats.Tensors[name];
            // The reconstruction error of each method's range, computed here from the values themselves.
            var errors = methods.Select(m =>
            {
                var (lo, hi) = t.Range(new CalibrationOptions { Method = m });
                var q = QuantParams.Asymmetric(lo, hi);
                return values.Sum(v => Math.Pow(v - (double)q.Scale * (FixedPoint.QuantizeValue(v, 1f / q.Scale, q.ZeroPoint) - q.ZeroPoint), 2));
            }).ToArray();
            int best = Array.IndexOf(errors, errors.Min());
            Assert.That(t.Chosen!.Value.Method, Is.EqualTo(methods[best]), $"{name}: errors {string.Join(", ", errors)}");
            Assert.That(stats.Range(name), Is.EqualTo(t.Range(new CalibrationOptions { Method = methods[best] })));
        }
        Assert.That(stats.Describe(), Does.StartWith("auto (").And.EndWith("), 40 samples"));
    }

    [Test]
    public void WrongSampleSize_IsAClearError()
    {
        var e = Assert.Throws<ConversionException>(() => Calibrator.Calibrate(ReluGraph(), [new float[39]]));
        Assert.That(e!.Message, Does.Contain("'x'").And.Contain("40").And.Contain("39"));
    }

    [Test]
    public void Int8WithoutCalibrationData_IsAClearError()
    {
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(ReluGraph(), new ConvertOptions { Precision = Precision.Int8 }));
        Assert.That(e!.Message, Does.Contain("calibration"));
        e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(ReluGraph(), new ConvertOptions { Precision = Precision.Int8, CalibrationSamples = [] }));
        Assert.That(e!.Message, Does.Contain("calibration"));
    }

    [Test]
    public void Float32Conversion_NeedsNoCalibration_AndMatchesTheFloatGraph()
    {
        var bytes = ModelConverter.Convert(ReluGraph(), new ConvertOptions { Precision = Precision.Float32 });
        var model = Model.Load(bytes);
        Assert.That(model.Graph.Metadata["precision"], Is.EqualTo("float32"));
        var x = Samples(5, 1, 40)[0];
        Assert.That(Run(model, x), Is.EqualTo(x.Select(v => Math.Max(v, 0f)).ToArray()));
    }

    [Test]
    public void Int8Conversion_ReportsProgress_AndProducesAnInt8Model()
    {
        var progress = new RecordingProgress();
        var bytes = ModelConverter.Convert(ReluGraph(), new ConvertOptions
        {
            Precision = Precision.Int8,
            CalibrationMethod = CalibrationMethod.Percentile,
            CalibrationSamples = Samples(6, 12, 40),
            Progress = progress,
        });
        var model = Model.Load(bytes);
        Assert.That(progress.Reports, Is.EqualTo(Enumerable.Range(1, 12)));
        Assert.That(model.Inputs[0].Type, Is.EqualTo(DataType.Int8));
        Assert.That(model.Graph.Metadata["precision"], Is.EqualTo("int8"));
        Assert.That(model.ArenaBytes, Is.GreaterThan(0));
        // The int8 Relu against the float Relu of the dequantized int8 input: within half an output step.
        var x = Samples(7, 1, 40)[0];
        var y = Run(model, x);
        var xq = model.Inputs[0].Quantization!;
        float step = model.Outputs[0].Quantization!.Scale;
        for (int i = 0; i < 40; i++)
        {
            float dequantized = xq.Scale * (FixedPoint.QuantizeValue(x[i], 1f / xq.Scale, xq.ZeroPoint) - xq.ZeroPoint);
            Assert.That(y[i], Is.EqualTo(Math.Max(dequantized, 0f)).Within(0.501 * step), $"element {i}");
        }
    }

    [Test]
    public void PerLayerError_IsTheSqnrOfEachTensor()
    {
        var samples = Samples(8, 16, 40);
        var pair = Quantize(ReluGraph(), samples);
        var inputs = Samples(9, 4, 40);
        var layers = PerLayerError.Compute(pair.Float, pair.Int8, inputs);
        Assert.That(layers.Select(l => l.TensorName), Is.EqualTo(new[] { "x", "y" }));

        // Independent computation from the graph outputs.
        double signal = 0, noise = 0, worst = 0;
        foreach (var x in inputs)
        {
            var f = Run(pair.Float, x);
            var q = Run(pair.Int8, x);
            for (int i = 0; i < f.Length; i++)
            {
                signal += (double)f[i] * f[i];
                noise += ((double)f[i] - q[i]) * ((double)f[i] - q[i]);
                worst = Math.Max(worst, Math.Abs((double)f[i] - q[i]));
            }
        }
        Assert.That(layers[1].SqnrDb, Is.EqualTo(10 * Math.Log10(signal / noise)).Within(1e-9));
        Assert.That(layers[1].MaxAbsError, Is.EqualTo(worst));
        Assert.That(layers[1].OpName, Is.EqualTo("relu"));
        Assert.That(layers[1].FloatOpType, Is.EqualTo(OpType.Relu));
        Assert.That(layers[0].FloatOpType, Is.Null);
    }
}
