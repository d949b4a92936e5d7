using System.Runtime.InteropServices;
using EdgeNets.Host.Preprocessing;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

public class PreprocessingTests
{
    // Fixtures written by tools/host/make_pil_resize_fixtures.py with Pillow: source RGB bytes then Pillow's resize.
    [TestCase(100, 100, 32, 32)]
    [TestCase(37, 23, 11, 7)]
    [TestCase(5, 4, 9, 7)]
    [TestCase(160, 120, 32, 32)]
    [TestCase(13, 9, 13, 4)]
    public void BilinearResizeMatchesPillowExactly(int sw, int sh, int dw, int dh)
    {
        var bytes = File.ReadAllBytes(Path.Combine(RepoPaths.TestData, "host", $"pil_bilinear_{sw}x{sh}_to_{dw}x{dh}.rgb"));
        var source = bytes.AsSpan(0, sw * sh * 3);
        var expected = bytes.AsSpan(sw * sh * 3).ToArray();
        Assert.That(expected, Has.Length.EqualTo(dw * dh * 3));
        var actual = new byte[dw * dh * 3];
        new PilBilinearResampler(sw, sh, dw, dh, 3).Resample(source, actual);
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void DownscaleIsAnAreaFilterWithinOneLevelOfTheContinuousDefinition()
    {
        // Independent oracle: the separable triangle filter stretched over the source footprint, in double precision.
        const int sw = 29, sh = 17, dw = 8, dh = 5;
        var src = TestData.Int32(7, sw * sh, 0, 255).Select(v => (byte)v).ToArray();
        var actual = new byte[dw * dh];
        new PilBilinearResampler(sw, sh, dw, dh, 1).Resample(src, actual);
        static double[] Weights(int inSize, int outSize, int o, out int first)
        {
            double scale = (double)inSize / outSize, support = Math.Max(scale, 1), center = (o + 0.5) * scale;
            first = Math.Max(0, (int)(center - support + 0.5));
            int last = Math.Min(inSize, (int)(center + support + 0.5));
            var w = new double[last - first];
            for (int i = 0; i < w.Length; i++) w[i] = Math.Max(0, 1 - Math.Abs((first + i + 0.5 - center) / support));
            double sum = w.Sum();
            return w.Select(v => v / sum).ToArray();
        }
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++)
            {
                var wy = Weights(sh, dh, y, out int y0);
                var wx = Weights(sw, dw, x, out int x0);
                double v = 0;
                for (int j = 0; j < wy.Length; j++)
                    for (int i = 0; i < wx.Length; i++) v += wy[j] * wx[i] * src[(y0 + j) * sw + x0 + i];
                Assert.That((double)actual[y * dw + x], Is.EqualTo(v).Within(1.0), $"pixel {x},{y}");
            }
    }

    [Test]
    public void YuyvToRgbFollowsBt601StudioRange()
    {
        // A synthetic 6x3 YUYV frame covering black, white, saturated chroma and clipping cases.
        const int w = 6, h = 3;
        var yuyv = new byte[w * h * 2];
        var rng = new Random(11);
        rng.NextBytes(yuyv);
        byte[] corners = [16, 128, 16, 128, 235, 128, 235, 128, 0, 0, 255, 255];
        corners.CopyTo(yuyv, 0);
        var rgb = new byte[w * h * 3];
        ColorConversion.Convert(FrameFormat.Yuyv, yuyv, w, h, 0, 0, w, h, 3, rgb);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int pair = y * w * 2 + x / 2 * 4;
                double Y = yuyv[y * w * 2 + x * 2], U = yuyv[pair + 1], V = yuyv[pair + 3];
                double r = 1.164 * (Y - 16) + 1.596 * (V - 128);
                double g = 1.164 * (Y - 16) - 0.813 * (V - 128) - 0.391 * (U - 128);
                double b = 1.164 * (Y - 16) + 2.018 * (U - 128);
                int o = (y * w + x) * 3;
                Assert.That((double)rgb[o], Is.EqualTo(Math.Clamp(r, 0, 255)).Within(1.0), $"R at {x},{y}");
                Assert.That((double)rgb[o + 1], Is.EqualTo(Math.Clamp(g, 0, 255)).Within(1.0), $"G at {x},{y}");
                Assert.That((double)rgb[o + 2], Is.EqualTo(Math.Clamp(b, 0, 255)).Within(1.0), $"B at {x},{y}");
            }
        Assert.That(rgb.AsSpan(0, 6).ToArray(), Is.EqualTo(new byte[] { 0, 0, 0, 0, 0, 0 }), "Y=16 is black");
        Assert.That(rgb.AsSpan(6, 6).ToArray(), Is.EqualTo(new byte[] { 255, 255, 255, 255, 255, 255 }), "Y=235 is white");
    }

    [Test]
    public void CropAndI420AndGrayConversionsPickTheRightPixels()
    {
        const int w = 8, h = 6;
        var rng = new Random(5);
        var i420 = new byte[w * h + 2 * (w / 2) * (h / 2)];
        rng.NextBytes(i420);
        var rgb = new byte[3 * 4 * 3];
        ColorConversion.Convert(FrameFormat.I420, i420, w, h, 3, 2, 3, 4, 3, rgb);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 3; x++)
            {
                int sx = x + 3, sy = y + 2, ci = sy / 2 * (w / 2) + sx / 2;
                ColorConversion.YuvToRgb(i420[sy * w + sx], i420[w * h + ci], i420[w * h + w * h / 4 + ci], out byte r, out byte g, out byte b);
                Assert.That(rgb.AsSpan((y * 3 + x) * 3, 3).ToArray(), Is.EqualTo(new[] { r, g, b }));
            }
        var image = new byte[w * h * 3];
        rng.NextBytes(image);
        var gray = new byte[w * h];
        ColorConversion.Convert(FrameFormat.Rgb24, image, w, h, 0, 0, w, h, 1, gray);
        for (int p = 0; p < w * h; p++)
        {
            double l = image[p * 3] * 0.299 + image[p * 3 + 1] * 0.587 + image[p * 3 + 2] * 0.114;
            Assert.That((double)gray[p], Is.EqualTo(l).Within(0.51), "ITU-R 601-2 luma");
        }
    }

    [TestCase(DataType.Float32, true)]
    [TestCase(DataType.Int8, true)]
    [TestCase(DataType.Float32, false)]
    [TestCase(DataType.Int8, false)]
    public void ImageGoesIntoTheModelInputScaledAndLaidOut(DataType type, bool channelsFirst)
    {
        // An 11x9 RGB frame cropped to 10x8 and resized to 5x4, normalized per channel, into NCHW or NHWC.
        const int fw = 11, fh = 9, ow = 5, oh = 4;
        var quant = type == DataType.Int8 ? QuantizationInfo.PerTensor(0.02f, -3) : null;
        int[] shape = channelsFirst ? [1, 3, oh, ow] : [1, oh, ow, 3];
        var model = HostTestModels.Flatten(type, shape, quant);
        using var session = model.CreateSession();
        float[] mean = [0.5f, 0.4f, 0.3f], std = [0.25f, 0.5f, 1f];
        var pre = new FramePreprocessor(new ModelInput(session), new PreprocessOptions { Crop = (1, 1, 10, 8), Mean = mean, Std = std });
        var pixels = TestData.Int32(3, fw * fh * 3, 0, 255).Select(v => (byte)v).ToArray();
        Assert.That(pre.Process(new Frame(FrameFormat.Rgb24, fw, fh, pixels)), Is.True);

        var cropped = new byte[10 * 8 * 3];
        for (int y = 0; y < 8; y++) Array.Copy(pixels, ((y + 1) * fw + 1) * 3, cropped, y * 30, 30);
        var resized = new byte[ow * oh * 3];
        new PilBilinearResampler(10, 8, ow, oh, 3).Resample(cropped, resized);
        var bytes = session.GetInputBytes(0);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                {
                    float expected = (resized[(y * ow + x) * 3 + c] / 255f - mean[c]) / std[c];
                    int index = channelsFirst ? (c * oh + y) * ow + x : (y * ow + x) * 3 + c;
                    if (type == DataType.Float32)
                        Assert.That(MemoryMarshal.Cast<byte, float>(bytes)[index], Is.EqualTo(expected).Within(1e-6));
                    else
                        Assert.That((sbyte)bytes[index], Is.EqualTo(FixedPoint.QuantizeValue(expected, 1f / 0.02f, -3)));
                }
    }

    [TestCase(true, 4)]
    [TestCase(false, 3)]
    [TestCase(true, 7)]
    public void SensorSamplesFormSlidingWindowsWithHop(bool timeFirst, int hop)
    {
        const int channels = 3, window = 7, samples = 40;
        var model = HostTestModels.Flatten(DataType.Float32, timeFirst ? [1, window, channels] : [1, channels, window]);
        using var session = model.CreateSession();
        float[] mean = [1f, -2f, 0.5f], std = [2f, 4f, 0.5f];
        var pre = new FramePreprocessor(new ModelInput(session), new PreprocessOptions { Hop = hop, Mean = mean, Std = std });
        var series = TestData.Floats(9, samples * channels, -10, 10);
        var emittedAt = new List<int>();
        for (int s = 0; s < samples; s++)
        {
            if (!pre.Process(new Frame(FrameFormat.Samples, series.AsSpan(s * channels, channels)))) continue;
            emittedAt.Add(s);
            var input = MemoryMarshal.Cast<byte, float>(session.GetInputBytes(0));
            for (int t = 0; t < window; t++)
                for (int c = 0; c < channels; c++)
                {
                    float expected = (series[(s - window + 1 + t) * channels + c] - mean[c]) / std[c];
                    Assert.That(input[timeFirst ? t * channels + c : c * window + t], Is.EqualTo(expected).Within(1e-6), $"window ending at {s}, t={t}, c={c}");
                }
        }
        var expectedEnds = Enumerable.Range(0, samples).Where(s => s >= window - 1 && (s - (window - 1)) % hop == 0).ToArray();
        Assert.That(emittedAt, Is.EqualTo(expectedEnds));
    }

    [Test]
    public void Int8TensorInputIsQuantizedWithTheInputParameters()
    {
        var quant = QuantizationInfo.PerTensor(0.05f, 7);
        var model = HostTestModels.Flatten(DataType.Int8, [1, 13], quant);
        using var session = model.CreateSession();
        var pre = new FramePreprocessor(new ModelInput(session));
        var values = TestData.Floats(4, 13, -8, 8);
        pre.Process(new Frame(FrameFormat.Tensor, values));
        var q = MemoryMarshal.Cast<byte, sbyte>(session.GetInputBytes(0));
        for (int i = 0; i < 13; i++)
        {
            int expected = (int)Math.Clamp(Math.Round(values[i] / 0.05, MidpointRounding.AwayFromZero) + 7, -128, 127);
            Assert.That((int)q[i], Is.EqualTo(expected).Within(1), "round(v / scale) + zp, clamped");
            Assert.That(q[i], Is.EqualTo(FixedPoint.QuantizeValue(values[i], 1f / 0.05f, 7)), "bit-exact with the runtime's quantizer");
        }
        Assert.That(() => pre.Process(new Frame(FrameFormat.Tensor, new float[12])), Throws.TypeOf<InvalidDataException>().With.Message.Contains("needs 13 values"));
        Assert.That(() => pre.Process(new Frame(FrameFormat.Rgb24, 2, 2, new byte[12])), Throws.TypeOf<InvalidDataException>().With.Message.Contains("not [1,C,H,W]"));
    }
}
