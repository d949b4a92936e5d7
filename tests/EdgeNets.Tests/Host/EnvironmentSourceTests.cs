using EdgeNets.Host;
using EdgeNets.Host.Devices;
using EdgeNets.Host.Sources;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

public class EnvironmentSourceTests
{
    [Test]
    public void Bme280ReadingsMatchTheDatasheetWorkedExample()
    {
        // BMP280 datasheet section 3.12 (the BME280 shares its temperature and pressure compensation): with its trimming
        // values, adc_T = 519888 is 25.08 °C (t_fine = 128422) and adc_P = 415148 is 100653.27 Pa.
        var chip = new SimulatedBme280();
        using var source = new EnvironmentSource("env:test", chip, 0);
        Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
        Assert.That(frame.Format, Is.EqualTo(FrameFormat.Samples));
        Assert.That(frame.Values[0], Is.EqualTo(25.08f).Within(0.005), "°C");
        Assert.That(frame.Values[2], Is.EqualTo(1006.5327f).Within(0.0005), "hPa");
        Assert.That(frame.Values[1], Is.EqualTo(DatasheetHumidity(128422, 30000, 75, 362, 0, 313, 50, 30)).Within(1e-3), "%RH");
        Assert.That(chip.Register(0xF4) & 3, Is.EqualTo(3), "normal mode: the chip measures continuously");
        Assert.That(chip.Register(0xF2) & 7, Is.Not.Zero, "humidity is measured");
    }

    /// <summary>BME280 datasheet section 8.1, the double-precision humidity compensation.</summary>
    private static double DatasheetHumidity(int tFine, int adcH, int h1, int h2, int h3, int h4, int h5, int h6)
    {
        double v = tFine - 76800.0;
        v = (adcH - (h4 * 64.0 + h5 / 16384.0 * v)) * (h2 / 65536.0 * (1.0 + h6 / 67108864.0 * v * (1.0 + h3 / 67108864.0 * v)));
        v *= 1.0 - h1 * v / 524288.0;
        return Math.Clamp(v, 0, 100);
    }

    [Test]
    public void ReadingsFollowTheRawValuesAndWrongChipsAreRefused()
    {
        var chip = new SimulatedBme280();
        using var source = new EnvironmentSource("env:test", chip, 0);
        source.Read(out var first);
        float t0 = first.Values[0], p0 = first.Values[2];
        chip.SetRaw(temperature: 530000, pressure: 400000, humidity: 30000);
        source.Read(out var second);
        Assert.That(second.Values[0], Is.GreaterThan(t0), "a higher raw temperature reads warmer");
        Assert.That(second.Values[2], Is.GreaterThan(p0), "pressure falls as its raw value rises (p = 1048576 - adc_P ...)");

        var e = Assert.Throws<IOException>(() => new EnvironmentSource("env:test", new SimulatedMpu6050(address: 0x76), 0))!;
        Assert.That(e.Message, Does.Contain("96"), "chip id 0x60 expected");
    }

    [Test]
    public void SimulatedSensorRunsTheWholeUriPath()
    {
        using var source = SourceFactory.Create(SourceUri.Parse("env:simulated?rate=0"), TextWriter.Null);
        Assert.That(source, Is.TypeOf<ResilientSource>());
        Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
        Assert.That(frame.Values.Length, Is.EqualTo(EnvironmentSource.Channels));
        var e = Assert.Throws<SourceUriException>(() => SourceFactory.Create(SourceUri.Parse("env:bme999"), TextWriter.Null))!;
        Assert.That(e.Message, Does.Contain("bme999").And.Contain("bme280"));
    }
}
