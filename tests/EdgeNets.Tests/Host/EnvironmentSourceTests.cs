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
        Assert.That(frame.Values.Length, Is.EqualTo(3), "temperature, humidity, pressure");
        var e = Assert.Throws<SourceUriException>(() => SourceFactory.Create(SourceUri.Parse("env:bme999"), TextWriter.Null))!;
        Assert.That(e.Message, Does.Contain("bme999").And.Contain("bme280"));
    }

    [Test]
    public void Bme680ReadingsMatchTheDatasheetCompensation() => ReadsTheDatasheetCompensation(Bme680Calibration.Typical);

    [Test]
    public void Bme680WithNegativeCalibrationValuesReadsTheDatasheetCompensation()
    {
        var chip = new SimulatedBme680(Bme680Calibration.Negative);
        using (var sensor = new Bme680Sensor(chip)) Assert.That(sensor.Calibration, Is.EqualTo(Bme680Calibration.Negative), "decoded with the data sheet's signs");
        var sample = ReadsTheDatasheetCompensation(Bme680Calibration.Negative);

        // Iot.Device.Bindings' driver, reading the same chip, takes the negative values as large positive ones.
        var other = new SimulatedBme680(Bme680Calibration.Negative);
        other.SetRaw(temperature: 512345, pressure: 361000, humidity: 21500, gas: 700, gasRange: 5);
        using var package = new Iot.Device.Bmxx80.Bme680(other);
        package.SetPowerMode(Iot.Device.Bmxx80.PowerMode.Bme680PowerMode.Forced);
        Assert.That(package.TryReadTemperature(out var temperature), Is.True);
        Assert.That(package.TryReadPressure(out var pressure), Is.True);
        Assert.That(Math.Abs(temperature.DegreesCelsius - sample[0]) + Math.Abs(pressure.Hectopascals - sample[2]), Is.GreaterThan(1),
            "the package's reading differs (the reason for the host's own driver)");
    }

    private static float[] ReadsTheDatasheetCompensation(Bme680Calibration calibration)
    {
        var chip = new SimulatedBme680(calibration);
        chip.SetRaw(temperature: 512345, pressure: 361000, humidity: 21500, gas: 700, gasRange: 5);
        using var sensor = new Bme680Sensor(chip);
        using var source = new EnvironmentSource("env:test", sensor, 0);
        int before = chip.Measurements;
        Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
        Assert.That(frame.Values.Length, Is.EqualTo(4), "temperature, humidity, pressure, gas resistance");
        float[] sample = frame.Values.ToArray();
        var c = chip.Calibration;
        var (tFine, celsius) = DatasheetTemperature680(512345, c);
        Assert.Multiple(() =>
        {
            Assert.That(chip.Measurements, Is.EqualTo(before + 1), "one forced measurement per sample");
            Assert.That(chip.Register((int)Bme680Register.CTRL_GAS_1) & 0x10, Is.Not.Zero, "run_gas: the gas sensor is measured");
            Assert.That(chip.Register((int)Bme680Register.CTRL_GAS_0) & 0x08, Is.Zero, "the heater is on");
            Assert.That(sensor.MeasurementMs, Is.GreaterThan(150), "the wait covers the 150 ms heater phase");
            Assert.That(sample[0], Is.EqualTo(celsius).Within(1e-4), "°C");
            Assert.That(sample[1], Is.EqualTo(DatasheetHumidity680(21500, celsius, c)).Within(1e-3), "%RH");
            Assert.That(sample[2], Is.EqualTo(DatasheetPressure680(361000, tFine, c) / 100).Within(1e-3), "hPa");
            Assert.That(sample[3], Is.EqualTo(DatasheetGasResistance(700, 5, c.RangeSwitchingError)).Within(1e-5).Percent, "Ω");
            Assert.That(celsius, Is.InRange(15, 40), "a plausible simulated room");
            Assert.That(chip.Register((int)Bme680Register.GAS_WAIT_0), Is.EqualTo(0x65), "150 ms: 37 steps of 4 ms (148 ms)");
        });
        return sample;
    }

    [Test]
    public void Bme680GasReadingWithoutAStableHeaterIsMissing()
    {
        var chip = new SimulatedBme680();
        using var source = new EnvironmentSource("env:test", new Bme680Sensor(chip), 0);
        chip.Write([(byte)Bme680Register.CTRL_GAS_1, 0]); // run_gas off: no gas conversion, gas_valid stays clear
        Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
        Assert.That(float.IsNaN(frame.Values[3]), Is.True);
        Assert.That(float.IsFinite(frame.Values[0]), Is.True);
    }

    [Test]
    public void Bme680RefusesABme280()
    {
        var e = Assert.Throws<IOException>(() => new Bme680Sensor(new SimulatedBme280()))!;
        Assert.That(e.Message, Does.Contain("chip id is 0x60, expected 0x61"));
    }

    /// <summary>BME680 data sheet section 3.3.1, floating point: t_fine and the temperature in °C.</summary>
    private static (double TFine, double Celsius) DatasheetTemperature680(int adc, Bme680Calibration c)
    {
        double var1 = (adc / 16384.0 - c.T1 / 1024.0) * c.T2;
        double var2 = (adc / 131072.0 - c.T1 / 8192.0) * (adc / 131072.0 - c.T1 / 8192.0) * (c.T3 * 16.0);
        return (var1 + var2, (var1 + var2) / 5120.0);
    }

    /// <summary>Section 3.3.2, floating point: pressure in Pa.</summary>
    private static double DatasheetPressure680(int adc, double tFine, Bme680Calibration c)
    {
        double var1 = tFine / 2.0 - 64000.0;
        double var2 = var1 * var1 * (c.P6 / 131072.0);
        var2 += var1 * c.P5 * 2.0;
        var2 = var2 / 4.0 + c.P4 * 65536.0;
        var1 = (c.P3 * var1 * var1 / 16384.0 + c.P2 * var1) / 524288.0;
        var1 = (1.0 + var1 / 32768.0) * c.P1;
        double p = 1048576.0 - adc;
        p = (p - var2 / 4096.0) * 6250.0 / var1;
        var1 = c.P9 * p * p / 2147483648.0;
        var2 = p * (c.P8 / 32768.0);
        double var3 = p / 256.0 * (p / 256.0) * (p / 256.0) * (c.P10 / 131072.0);
        return p + (var1 + var2 + var3 + c.P7 * 128.0) / 16.0;
    }

    /// <summary>Section 3.3.3, floating point: relative humidity in %.</summary>
    private static double DatasheetHumidity680(int adc, double celsius, Bme680Calibration c)
    {
        double var1 = adc - (c.H1 * 16.0 + c.H3 / 2.0 * celsius);
        double var2 = var1 * (c.H2 / 262144.0 * (1.0 + c.H4 / 16384.0 * celsius + c.H5 / 1048576.0 * celsius * celsius));
        double var3 = c.H6 / 16384.0, var4 = c.H7 / 2097152.0;
        return Math.Clamp(var2 + (var3 + var4 * celsius) * var2 * var2, 0, 100);
    }

    /// <summary>Section 3.4.1, floating point, with the data sheet's constant tables: gas resistance in Ω.</summary>
    private static double DatasheetGasResistance(int adc, int range, int rangeSwitchingError)
    {
        double[] constArray1 = [1, 1, 1, 1, 1, 0.99, 1, 0.992, 1, 1, 0.998, 0.995, 1, 0.99, 1, 1];
        double[] constArray2 = [8000000, 4000000, 2000000, 1000000, 499500.4995, 248262.1648, 125000, 63004.03226,
            31281.28128, 15625, 7812.5, 3906.25, 1953.125, 976.5625, 488.28125, 244.140625];
        double var1 = (1340.0 + 5.0 * rangeSwitchingError) * constArray1[range];
        return var1 * constArray2[range] / (adc - 512.0 + var1);
    }
}
