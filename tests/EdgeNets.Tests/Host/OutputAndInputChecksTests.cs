using EdgeNets.Host;
using EdgeNets.Host.Output;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>What the host does with a model output it must not act on (NaN, infinity) and inputs outside the calibrated range.</summary>
public class OutputAndInputChecksTests
{
    [Test]
    public void NonFiniteOutputsAreReportedAsErrorsWithoutEventOrGpioChange()
    {
        // The Flatten model passes its input through, so each row is the model's output.
        float nan = float.NaN, inf = float.PositiveInfinity;
        float[][] rows =
        [
            [0.1f, 0.2f, 3f, 0.4f],
            [0.1f, 0.2f, 3f, 0.4f],
            [nan, nan, nan, nan],   // would read as class 0 (ArgMax of NaNs) and switch pin 17 on
            [0.1f, 0.2f, 3f, 0.4f],
            [5f, nan, 0f, 0f],
            [0f, inf, 0f, 0f],      // class 1 with a NaN score
            [0f, 0f, 0f, 4f],
        ];
        string data = Path.Combine(RepoPaths.TempDirectory(), "rows.npy");
        NpyFile.WriteFloat32(data, [rows.Length, 4], rows.SelectMany(r => r).ToArray());
        var pins = new RecordingPins();
        int[] pinOf = [17, 27, 22, 23];
        var clock = new FakeTimeProvider();
        var output = new CaptureStream(1 << 16);
        var highSeen = new List<int>();
        using (var source = new ClockedSource(new NpySource(SourceUri.Parse($"npy:{data}")), clock, TimeSpan.FromSeconds(1)))
        using (var pipeline = new HostPipeline(HostTestModels.Flatten(DataType.Float32, [1, 4]), source, output,
                   new HostOptions { MetricsIntervalSeconds = 1 }, new ClassPins(pins, pinOf), clock))
        {
            while (pipeline.Step()) highSeen.AddRange(pinOf.Where(p => pins.Level.GetValueOrDefault(p)));
            pipeline.WriteSummary();
            Assert.That(pipeline.NonFiniteOutputs, Is.EqualTo(3));
            Assert.That(pipeline.Predictions, Is.EqualTo(4));
        }
        Assert.That(highSeen.Distinct(), Is.EquivalentTo(new[] { 22, 23 }), "only the pins of classes 2 and 3 ever went high");

        var lines = HostTestModels.ParseLines(output);
        var errors = lines.Where(l => l.GetProperty("type").GetString() == "error").ToArray();
        Assert.That(errors.Select(e => e.GetProperty("frame").GetInt64()), Is.EqualTo(new long[] { 2, 4, 5 }));
        Assert.That(errors.Select(e => (e.GetProperty("nan").GetInt32(), e.GetProperty("infinite").GetInt32())), Is.EqualTo(new[] { (4, 0), (1, 0), (0, 1) }));
        Assert.That(errors.All(e => e.GetProperty("error").GetString()!.Contains("not finite")), Is.True);
        var predictions = lines.Where(l => l.GetProperty("type").GetString() == "prediction").ToArray();
        Assert.That(predictions.Select(p => p.GetProperty("class").GetInt32()), Is.EqualTo(new[] { 2, 2, 2, 3 }));
        Assert.That(predictions.All(p => p.GetProperty("score").ValueKind == System.Text.Json.JsonValueKind.Number), Is.True, "no null scores");
        var events = lines.Where(l => l.GetProperty("type").GetString() == "event").ToArray();
        Assert.That(events.Select(e => e.GetProperty("class").GetInt32()), Is.EqualTo(new[] { 2, 3 }));
        var metrics = lines.Where(l => l.GetProperty("type").GetString() == "metrics").ToArray();
        Assert.That(metrics.Select(m => m.GetProperty("non_finite_outputs").GetInt64()), Is.EqualTo(new long[] { 0, 0, 1, 1, 2, 3, 3 }));
        Assert.That(lines.Last().GetProperty("non_finite_outputs").GetInt64(), Is.EqualTo(3));
    }

    /// <summary>Independent count: the value rounded to a step of the int8 grid (half away from zero) lands outside -128..127.</summary>
    private static int Saturated(IEnumerable<float> values, double scale, int zeroPoint) =>
        values.Count(v => Math.Round(v / scale, MidpointRounding.AwayFromZero) + zeroPoint is < -128 or > 127);

    [Test]
    public void InputsOutsideTheCalibratedRangeAreCountedPerModelInput()
    {
        const int rows = 40, width = 6;
        const float scale = 0.02f;
        const int zeroPoint = 10; // represents -2.76 .. 2.34
        var values = TestData.Floats(77, rows * width, -3.2f, 3.2f);
        for (int i = 0; i < width; i++) values[5 * width + i] = 0.5f; // a row wholly inside the range
        string data = Path.Combine(RepoPaths.TempDirectory(), "rows.npy");
        NpyFile.WriteFloat32(data, [rows, width], values);
        var model = HostTestModels.Flatten(DataType.Int8, [1, width], QuantizationInfo.PerTensor(scale, zeroPoint));
        var output = new CaptureStream(1 << 20);
        var clock = new FakeTimeProvider();
        using (var source = new ClockedSource(new NpySource(SourceUri.Parse($"npy:{data}")), clock, TimeSpan.FromSeconds(1)))
        using (var pipeline = new HostPipeline(model, source, output, new HostOptions { MetricsIntervalSeconds = 10, Output = OutputKind.Value }, time: clock))
            pipeline.Run();
        var lines = HostTestModels.ParseLines(output);
        var predictions = lines.Where(l => l.GetProperty("type").GetString() == "prediction").ToArray();
        Assert.That(predictions, Has.Length.EqualTo(rows));
        int total = 0, inputs = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * width, width).ToArray();
            int expected = Saturated(row, scale, zeroPoint);
            int printed = predictions[r].TryGetProperty("saturated", out var s) ? s.GetInt32() : 0;
            Assert.That(printed, Is.EqualTo(expected), $"row {r}");
            // The model saw the clamped values: each saturated one comes out at an end of the int8 range.
            var seen = predictions[r].GetProperty("values").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            int atEnds = seen.Count(v => Math.Abs(v - (127 - zeroPoint) * scale) < 1e-5 || Math.Abs(v - (-128 - zeroPoint) * scale) < 1e-5);
            Assert.That(atEnds, Is.GreaterThanOrEqualTo(expected), $"row {r}");
            total += expected;
            if (expected > 0) inputs++;
        }
        Assert.That(total, Is.InRange(rows, rows * width - 1), "the data covers both saturated and unsaturated values");
        Assert.That(inputs, Is.LessThan(rows));
        var metrics = lines.Where(l => l.GetProperty("type").GetString() == "metrics").ToArray();
        Assert.That(metrics, Has.Length.EqualTo(4), "one line per 10 s of fake time");
        int firstTen = Enumerable.Range(0, 10).Sum(r => Saturated(values.AsSpan(r * width, width).ToArray(), scale, zeroPoint));
        Assert.That(metrics[0].GetProperty("saturated_values").GetInt64(), Is.EqualTo(firstTen));
        Assert.That(metrics[^1].GetProperty("saturated_values").GetInt64(), Is.EqualTo(total));
        Assert.That(metrics[^1].GetProperty("saturated_inputs").GetInt64(), Is.EqualTo(inputs));
        var summary = lines.Last();
        Assert.That(summary.GetProperty("saturated_values").GetInt64(), Is.EqualTo(total));
        Assert.That(summary.GetProperty("saturated_inputs").GetInt64(), Is.EqualTo(inputs));
    }

    [Test]
    public void ImagePixelsOutsideTheCalibratedRangeAreCounted()
    {
        // An int8 image input calibrated on 0..0.5 (dark images): every brighter pixel saturates.
        string path = Path.Combine(RepoPaths.TempDirectory(), "clip.y4m");
        Y4mTestFiles.Write(path, 8, 6, 3, seed: 5);
        var model = HostTestModels.Flatten(DataType.Int8, [1, 6, 8, 1], QuantizationInfo.PerTensor(0.5f / 255f, -128));
        using var source = new Y4mSource(SourceUri.Parse($"video:{path}"));
        using var pipeline = new HostPipeline(model, source, new CaptureStream(1 << 16), new HostOptions { Output = OutputKind.Value });
        long total = 0;
        while (pipeline.Step())
        {
            int expected = Saturated(pipeline.Preprocessor.LastResized.ToArray().Select(p => p / 255f), 0.5 / 255, -128);
            Assert.That(pipeline.Preprocessor.LastSaturated, Is.EqualTo(expected));
            Assert.That(expected, Is.InRange(1, 47), "some pixels inside, some beyond the range");
            total += expected;
        }
        Assert.That(pipeline.SaturatedValues, Is.EqualTo(total));
        Assert.That(pipeline.SaturatedInputs, Is.EqualTo(3));
    }
}
