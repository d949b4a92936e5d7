using EdgeNets.Host.Devices;
using EdgeNets.Host.Sources;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

public class Mpu6050Tests
{
    [Test]
    public void BindingWakesTheChipAndProgramsRateAndRanges()
    {
        var chip = new SimulatedMpu6050();
        Assert.That(chip.IsAsleep, Is.True, "PWR_MGMT_1 resets to 0x40 (SLEEP)");
        using var imu = new Mpu6050(chip, sampleRateHz: 50, ownsDevice: false);
        Assert.Multiple(() =>
        {
            Assert.That(chip.IsAsleep, Is.False);
            Assert.That(chip.Register(Mpu6050Register.PWR_MGMT_1) & 0x07, Is.EqualTo(1), "CLKSEL = PLL with X gyro reference");
            Assert.That(chip.Register(Mpu6050Register.CONFIG) & 0x07, Is.Not.EqualTo(0).And.Not.EqualTo(7), "DLPF on: gyro output rate 1 kHz");
            // Sample Rate = Gyroscope Output Rate / (1 + SMPLRT_DIV) = 1 kHz / (1 + 19) = 50 Hz.
            Assert.That(1000.0 / (1 + chip.Register(Mpu6050Register.SMPLRT_DIV)), Is.EqualTo(50.0));
            Assert.That(chip.Register(Mpu6050Register.ACCEL_CONFIG) >> 3 & 3, Is.Zero, "AFS_SEL=0: ±2 g");
            Assert.That(chip.Register(Mpu6050Register.GYRO_CONFIG) >> 3 & 3, Is.Zero, "FS_SEL=0: ±250 °/s");
        });
    }

    [Test]
    public void RegisterValuesFollowTheDatasheetScaling()
    {
        // Datasheet section 6.2: AFS_SEL=0 is 16384 LSB/g, so +1 g reads 0x4000 and -0.5 g reads 0xE000.
        // Section 6.1: FS_SEL=0 is 131 LSB/(°/s), so 250 °/s reads 32750 (0x7FEE) and -1 °/s reads -131 (0xFF7D).
        // Register map 4.18: Temperature = TEMP_OUT / 340 + 36.53, so 36.53 °C reads 0.
        var chip = new SimulatedMpu6050 { Acceleration = (-0.5, 0, 1), AngularRate = (250, -1, 0), Temperature = 36.53 };
        using var imu = new Mpu6050(chip, ownsDevice: false);
        var sample = new float[6];
        double temperature = imu.Read(sample);
        Assert.Multiple(() =>
        {
            Assert.That(Word(chip, Mpu6050Register.ACCEL_XOUT_H), Is.EqualTo(0xE000));
            Assert.That(Word(chip, Mpu6050Register.ACCEL_ZOUT_H), Is.EqualTo(0x4000));
            Assert.That(Word(chip, Mpu6050Register.GYRO_XOUT_H), Is.EqualTo(0x7FEE));
            Assert.That(Word(chip, Mpu6050Register.GYRO_YOUT_H), Is.EqualTo(0xFF7D));
            Assert.That(Word(chip, Mpu6050Register.TEMP_OUT_H), Is.EqualTo(0));
            Assert.That(sample, Is.EqualTo(new float[] { -0.5f, 0, 1, 250, -1, 0 }).Within(1e-6));
            Assert.That(temperature, Is.EqualTo(36.53).Within(1e-9));
        });
    }

    private static int Word(SimulatedMpu6050 chip, Mpu6050Register high) => chip.Register(high) << 8 | chip.Register(high + 1);

    [TestCase(AccelRange.G2, 16384)]
    [TestCase(AccelRange.G4, 8192)]
    [TestCase(AccelRange.G8, 4096)]
    [TestCase(AccelRange.G16, 2048)]
    public void AccelRangesUseTheDatasheetSensitivity(AccelRange range, int lsbPerG)
    {
        var chip = new SimulatedMpu6050 { Acceleration = (1.5, -0.25, 0.75) };
        using var imu = new Mpu6050(chip, accel: range, ownsDevice: false);
        var sample = new float[6];
        imu.Read(sample);
        Assert.That(Word(chip, Mpu6050Register.ACCEL_XOUT_H), Is.EqualTo((int)(1.5 * lsbPerG)));
        Assert.That(sample[0], Is.EqualTo(1.5f).Within(1.0 / lsbPerG));
        Assert.That(sample[1], Is.EqualTo(-0.25f).Within(1.0 / lsbPerG));
    }

    [TestCase(GyroRange.Dps250, 131.0)]
    [TestCase(GyroRange.Dps500, 65.5)]
    [TestCase(GyroRange.Dps1000, 32.8)]
    [TestCase(GyroRange.Dps2000, 16.4)]
    public void GyroRangesUseTheDatasheetSensitivity(GyroRange range, double lsbPerDps)
    {
        var chip = new SimulatedMpu6050 { AngularRate = (100, -200, 33.3) };
        using var imu = new Mpu6050(chip, gyro: range, ownsDevice: false);
        var sample = new float[6];
        imu.Read(sample);
        Assert.That(sample[3], Is.EqualTo(100f).Within(0.5 / lsbPerDps + 1e-4));
        Assert.That(sample[4], Is.EqualTo(-200f).Within(0.5 / lsbPerDps + 1e-4));
        Assert.That(sample[5], Is.EqualTo(33.3f).Within(0.5 / lsbPerDps + 1e-4));
    }

    [Test]
    public void WrongChipIsRejected()
    {
        var chip = new SimulatedMpu6050();
        chip.Write([(byte)Mpu6050Register.PWR_MGMT_1, 0x80]); // reset keeps WHO_AM_I
        Assert.That(chip.Register(Mpu6050Register.WHO_AM_I), Is.EqualTo(0x68));
        var other = new NotAnMpu();
        var e = Assert.Throws<IOException>(() => new Mpu6050(other))!;
        Assert.That(e.Message, Does.Contain("WHO_AM_I is 0x00"));
    }

    private sealed class NotAnMpu : System.Device.I2c.I2cDevice
    {
        public override System.Device.I2c.I2cConnectionSettings ConnectionSettings { get; } = new(1, 0x68);
        public override byte ReadByte() => 0;
        public override void Read(Span<byte> buffer) => buffer.Clear();
        public override void WriteByte(byte value) { }
        public override void Write(ReadOnlySpan<byte> buffer) { }
        public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer) => readBuffer.Clear();
    }

    [Test]
    public void BusErrorMidStreamIsRecoveredByReopeningWithBackoff()
    {
        // The first chip fails after 5 samples (and stays failed, like an unplugged sensor); the second open fails
        // outright; the third works. The stream of samples goes on with the values of the working chip.
        var chips = new List<SimulatedMpu6050>();
        int opens = 0;
        ISource Open()
        {
            opens++;
            var chip = new SimulatedMpu6050 { Acceleration = (0.1 * opens, 0, 1), FailAfterDataReads = opens == 1 ? 5 : -1 };
            chips.Add(chip);
            if (opens == 2) throw new IOException("simulated: no ACK from 0x68");
            return new ImuSource("imu:test", new Mpu6050(chip), 0);
        }
        var waits = new List<TimeSpan>();
        var log = new StringWriter();
        using var source = new ResilientSource("imu:test", Open, log, sleep: waits.Add,
            initialBackoff: TimeSpan.FromMilliseconds(100), maxBackoff: TimeSpan.FromSeconds(1));
        var xs = new List<float>();
        for (int i = 0; i < 12; i++)
        {
            Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
            Assert.That(frame.Format, Is.EqualTo(FrameFormat.Samples));
            xs.Add(frame.Values[0]);
        }
        Assert.That(xs.Take(5), Has.All.EqualTo(0.1f).Within(1e-4), "first chip");
        Assert.That(xs.Skip(5), Has.All.EqualTo(0.3f).Within(1e-4), "third chip after two failures");
        Assert.That(source.Reopens, Is.EqualTo(2));
        Assert.That(waits, Is.EqualTo(new[] { TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200) }), "exponential backoff");
        Assert.That(log.ToString(), Does.Contain("simulated I2C bus error").And.Contain("no ACK"));
    }

    [Test]
    public void SimulatedImuSourceRunsTheWholeUriPath()
    {
        using var source = SourceFactory.Create(EdgeNets.Host.SourceUri.Parse("imu:simulated?rate=1000"), TextWriter.Null);
        Assert.That(source, Is.TypeOf<ResilientSource>(), "live sources reopen on errors");
        for (int i = 0; i < 5; i++)
        {
            Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
            Assert.That(frame.Values.Length, Is.EqualTo(6));
            double g = Math.Sqrt(frame.Values[0] * frame.Values[0] + frame.Values[1] * frame.Values[1] + frame.Values[2] * frame.Values[2]);
            Assert.That(g, Is.EqualTo(1.0).Within(0.001), "gravity only");
        }
    }

    [Test]
    public void GyroInRadiansIsTheDegreesReadingTimesPiOver180()
    {
        using var degrees = SourceFactory.Create(EdgeNets.Host.SourceUri.Parse("imu:simulated?rate=1000"), TextWriter.Null);
        using var radians = SourceFactory.Create(EdgeNets.Host.SourceUri.Parse("imu:simulated?rate=1000&gyro=rad"), TextWriter.Null);
        for (int i = 0; i < 5; i++)
        {
            degrees.Read(out var d);
            radians.Read(out var r);
            for (int k = 0; k < 3; k++) Assert.That(r.Values[k], Is.EqualTo(d.Values[k]), $"sample {i}: accel {k} stays in g");
            for (int k = 3; k < 6; k++) Assert.That(r.Values[k], Is.EqualTo(d.Values[k] * MathF.PI / 180f).Within(1e-6), $"sample {i}: gyro {k - 3}");
        }
        Assert.That(GyroYIsSwinging(degrees), Is.True);
        var e = Assert.Throws<EdgeNets.Host.SourceUriException>(() => SourceFactory.Create(EdgeNets.Host.SourceUri.Parse("imu:simulated?gyro=rpm"), TextWriter.Null));
        Assert.That(e!.Message, Does.Contain("gyro=rpm"));
    }

    /// <summary>The simulated chip swings about Y, so its gyro Y reading is not zero (the comparison above is not 0 = 0).</summary>
    private static bool GyroYIsSwinging(ISource source)
    {
        source.Read(out var frame);
        return Math.Abs(frame.Values[4]) > 1f;
    }
}
