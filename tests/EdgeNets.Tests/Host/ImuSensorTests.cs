using System.Buffers.Binary;
using EdgeNets.Host;
using EdgeNets.Host.Devices;
using EdgeNets.Host.Sources;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// The ADXL345, LSM9DS1, BNO055 and MPU-9250 sources on register-level simulated chips. Register contents are checked
/// against the data sheets' scales (the simulated chips encode physical values with them), decoded samples against
/// the values the chips were given.
/// </summary>
public class ImuSensorTests
{
    private static float[] ReadOne(IImuSensor imu, double rate = 0, bool gyroInRadians = false)
    {
        using var source = new ImuSource("imu:test", imu, rate, gyroInRadians);
        Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
        Assert.That(frame.Format, Is.EqualTo(FrameFormat.Samples));
        return frame.Values.ToArray();
    }

    private static short Int16(SimulatedRegisterDevice chip, int low) => (short)(chip.Register(low) | chip.Register(low + 1) << 8);

    [Test]
    public void Adxl345IsProgrammedForFullResolutionAtTheRequestedRate()
    {
        var chip = new SimulatedAdxl345();
        Assert.That(chip.IsMeasuring, Is.False, "POWER_CTL resets to standby");
        using var imu = new Adxl345(chip, sampleRateHz: 50, ownsDevice: false);
        Assert.Multiple(() =>
        {
            Assert.That(chip.IsMeasuring, Is.True);
            Assert.That(chip.Register((int)Adxl345Register.DATA_FORMAT) & 0x0B, Is.EqualTo(0x0B), "FULL_RES, ±16 g");
            // Table 7: rate code 1001 is 50 Hz; the lowest step at or above 60 Hz is 1010 (100 Hz).
            Assert.That(chip.Register((int)Adxl345Register.BW_RATE) & 0x0F, Is.EqualTo(0b1001));
            Assert.That(Adxl345.RateCode(60), Is.EqualTo(0b1010));
            Assert.That(Adxl345.OutputRate(0b1111), Is.EqualTo(3200));
            Assert.That(Adxl345.OutputRate(0b0110), Is.EqualTo(6.25));
        });
    }

    [Test]
    public void Adxl345OverSpiIsProgrammedAndReadInOneBurstWithTheDatasheetScale()
    {
        var chip = new SimulatedAdxl345 { Acceleration = (-0.5, 15.5, 1) };
        using var spi = SimulatedSpiDevice.Adxl345(chip, Adxl345.SpiSettings(0, 0));
        using var imu = new Adxl345(spi, sampleRateHz: 400, ownsDevice: false);
        float[] sample = new float[3];
        imu.ReadSample(sample);
        Assert.Multiple(() =>
        {
            Assert.That(chip.IsMeasuring, Is.True);
            // FULL_RES and ±16 g; SPI bit (6) clear: 4-wire SPI, as the Pi's controller wires it.
            Assert.That(chip.Register((int)Adxl345Register.DATA_FORMAT), Is.EqualTo(0x0B));
            Assert.That(chip.Register((int)Adxl345Register.BW_RATE) & 0x0F, Is.EqualTo(0b1100), "table 7: 400 Hz");
            Assert.That(chip.DataReads, Is.EqualTo(1), "X, Y and Z in one burst");
            Assert.That((ushort)Int16(chip, (int)Adxl345Register.DATAX0), Is.EqualTo(0xFF80));
            Assert.That(Int16(chip, (int)Adxl345Register.DATAY0), Is.EqualTo(0x0F80));
            Assert.That(sample, Is.EqualTo(new[] { -0.5f, 15.5f, 1f }));
        });
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) imu.ReadSample(sample);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "no allocation per sample");
    }

    [Test]
    public void Adxl345OverSpiInAnotherClockModeIsNotUnderstood()
    {
        // The chip samples on the rising edge with the clock idling high (mode 3, data sheet figure 37); a bus in mode 0
        // reads 0xFF, which the driver's DEVID check reports.
        var settings = Adxl345.SpiSettings(0, 1);
        Assert.That((settings.Mode, settings.ClockFrequency), Is.EqualTo((System.Device.Spi.SpiMode.Mode3, 5_000_000)));
        settings.Mode = System.Device.Spi.SpiMode.Mode0;
        var e = Assert.Throws<IOException>(() => new Adxl345(SimulatedSpiDevice.Adxl345(new SimulatedAdxl345(), settings)))!;
        Assert.That(e.Message, Does.Contain("DEVID is 0xFF"));
    }

    [Test]
    public void Adxl345ReadingsFollowTheDatasheetScale()
    {
        // Full resolution: 3.9 mg/LSB (256 LSB/g) at every range, so +1 g reads 0x0100, -0.5 g reads 0xFF80 and
        // 15.5 g, beyond the 10-bit modes' 512 LSB, reads 3968 (0x0F80).
        var chip = new SimulatedAdxl345 { Acceleration = (-0.5, 15.5, 1) };
        float[] sample = ReadOne(new Adxl345(chip));
        Assert.Multiple(() =>
        {
            Assert.That((ushort)Int16(chip, (int)Adxl345Register.DATAX0), Is.EqualTo(0xFF80));
            Assert.That(Int16(chip, (int)Adxl345Register.DATAY0), Is.EqualTo(0x0F80));
            Assert.That(Int16(chip, (int)Adxl345Register.DATAZ0), Is.EqualTo(0x0100));
            Assert.That(sample, Is.EqualTo(new[] { -0.5f, 15.5f, 1f }));
        });
    }

    [Test]
    public void Lsm9ds1ReadingsFollowTheDatasheetSensitivities()
    {
        // Table 3 at ±2 g, ±245 °/s, ±4 gauss: 0.061 mg/LSB, 8.75 mdps/LSB, 0.14 mgauss/LSB (0.014 µT/LSB).
        var chip = new SimulatedLsm9ds1 { Acceleration = (0.5, -1, 1.25), AngularRate = (100, -200, 3.5), MagneticField = (20, -35, 42) };
        float[] sample = ReadOne(new Lsm9ds1(chip.AccelGyro, chip.Magnetometer, sampleRateHz: 100));
        Assert.Multiple(() =>
        {
            Assert.That(chip.AccelGyro.Register((int)Lsm9ds1AgRegister.CTRL_REG1_G) >> 5, Is.EqualTo(3), "ODR_G 011: 119 Hz, the lowest step at or above 100 Hz");
            Assert.That(chip.AccelGyro.Register((int)Lsm9ds1AgRegister.CTRL_REG1_G) >> 3 & 3, Is.Zero, "FS_G 00: ±245 °/s");
            Assert.That(chip.AccelGyro.Register((int)Lsm9ds1AgRegister.CTRL_REG6_XL) >> 3 & 3, Is.Zero, "FS_XL 00: ±2 g");
            Assert.That(chip.Magnetometer.Register((int)Lsm9ds1MagRegister.CTRL_REG3_M) & 3, Is.Zero, "MD 00: continuous conversion");
            Assert.That(chip.Magnetometer.Register((int)Lsm9ds1MagRegister.CTRL_REG2_M) >> 5 & 3, Is.Zero, "FS 00: ±4 gauss");
            // 0.5 g / 0.061 mg = 8196.7 -> 8197; 100 °/s / 8.75 mdps = 11428.6 -> 11429; 20 µT / 0.014 µT = 1428.6 -> 1429.
            Assert.That(Int16(chip.AccelGyro, (int)Lsm9ds1AgRegister.OUT_X_L_XL), Is.EqualTo(8197));
            Assert.That(Int16(chip.AccelGyro, (int)Lsm9ds1AgRegister.OUT_X_L_G), Is.EqualTo(11429));
            Assert.That(Int16(chip.Magnetometer, (int)Lsm9ds1MagRegister.OUT_X_L_M), Is.EqualTo(1429));
            Assert.That(sample[0..3], Is.EqualTo(new[] { 0.5f, -1f, 1.25f }).Within(0.061e-3 / 2 + 1e-6));
            Assert.That(sample[3..6], Is.EqualTo(new[] { 100f, -200f, 3.5f }).Within(8.75e-3 / 2 + 1e-5));
            Assert.That(sample[6..9], Is.EqualTo(new[] { 20f, -35f, 42f }).Within(0.014 / 2 + 1e-5));
        });
    }

    [Test]
    public void Lsm9ds1ChecksBothDevices()
    {
        var chip = new SimulatedLsm9ds1();
        var e = Assert.Throws<IOException>(() => new Lsm9ds1(chip.AccelGyro, new SimulatedAdxl345(address: 0x1E), ownsDevices: false))!;
        Assert.That(e.Message, Does.Contain("WHO_AM_I_M is 0x00").And.Contain("0x3D"));
        e = Assert.Throws<IOException>(() => new Lsm9ds1(chip.Magnetometer, chip.Magnetometer, ownsDevices: false))!;
        Assert.That(e.Message, Does.Contain("WHO_AM_I is 0x3D").And.Contain("0x68"));
    }

    [Test]
    public void Bno055ReadingsThroughTheBindingFollowTheDatasheetScales()
    {
        // Section 3.6.4: 1 m/s² = 100 LSB, 1 °/s = 16 LSB, 1 µT = 16 LSB; the source reports g (m/s² / 9.80665).
        var chip = new SimulatedBno055
        {
            Acceleration = (0, -0.5 * ImuUnits.StandardGravity, ImuUnits.StandardGravity),
            AngularRate = (100, -50.5, 3.25),
            MagneticField = (21.5, -3, -40),
        };
        float[] sample = ReadOne(new Bno055Imu(chip));
        Assert.Multiple(() =>
        {
            Assert.That(chip.OperationMode, Is.EqualTo(0x0C), "NDOF fusion mode");
            Assert.That(Int16(chip, (int)Bno055Register.ACC_DATA_X_LSB + 4), Is.EqualTo(981), "9.80665 m/s² at 100 LSB per m/s²");
            Assert.That(Int16(chip, (int)Bno055Register.GYR_DATA_X_LSB), Is.EqualTo(1600));
            Assert.That(Int16(chip, (int)Bno055Register.MAG_DATA_X_LSB), Is.EqualTo(344));
            Assert.That(sample[0..3], Is.EqualTo(new[] { 0f, -0.5f, 1f }).Within(0.005 / ImuUnits.StandardGravity + 1e-6));
            Assert.That(sample[3..6], Is.EqualTo(new[] { 100f, -50.5f, 3.25f }).Within(1.0 / 32 + 1e-6));
            Assert.That(sample[6..9], Is.EqualTo(new[] { 21.5f, -3f, -40f }).Within(1.0 / 32 + 1e-6));
        });
    }

    [Test]
    public void Bno055WrongChipIsADeviceError()
    {
        var e = Assert.Throws<IOException>(() => new Bno055Imu(new SimulatedAdxl345(address: 0x28)))!;
        Assert.That(e.Message, Does.Contain("BNO055"));
    }

    private static (SimulatedMpu6050 Motion, SimulatedAk8963 Magnetometer) Mpu9250Chip(byte asaX = 128, byte asaY = 128, byte asaZ = 128)
    {
        var motion = new SimulatedMpu6050(whoAmI: Mpu9250.WhoAmIValue);
        var magnetometer = new SimulatedAk8963(asaX: asaX, asaY: asaY, asaZ: asaZ)
        {
            // Inside the package the AK8963 hangs off the auxiliary bus: the host reaches it only in bypass mode.
            Reachable = () => (motion.Register(Mpu6050Register.INT_PIN_CFG) & 0x02) != 0,
        };
        return (motion, magnetometer);
    }

    [Test]
    public void Mpu9250AppliesTheMagnetometerSensitivityAdjustment()
    {
        // AK8963 data sheet 8.3.11: Hadj = H * ((ASA - 128) * 0.5 / 128 + 1); ASA 168 is 1.15625, 108 is 0.921875.
        Assert.That(Mpu9250.Adjustment(168), Is.EqualTo(1.15625));
        Assert.That(Mpu9250.Adjustment(108), Is.EqualTo(0.921875));
        var (motion, magnetometer) = Mpu9250Chip(asaX: 168, asaY: 108);
        motion.Acceleration = (0.25, -0.5, 1);
        motion.AngularRate = (10, 20, -30);
        magnetometer.MagneticField = (12, 30, -45); // the AK8963's axes
        float[] sample = ReadOne(new Mpu9250(motion, magnetometer, sampleRateHz: 100));
        Assert.Multiple(() =>
        {
            Assert.That(magnetometer.Register((int)Ak8963Register.CNTL1), Is.EqualTo(0x16), "16-bit output, continuous measurement mode 2 (100 Hz)");
            Assert.That(1000.0 / (1 + motion.Register(Mpu6050Register.SMPLRT_DIV)), Is.EqualTo(100.0));
            // 12 µT measured through an adjustment of 1.15625 at 0.15 µT/LSB: 12 / 1.15625 / 0.15 = 69.2 -> 69.
            Assert.That(Int16(magnetometer, (int)Ak8963Register.HXL), Is.EqualTo(69));
            Assert.That(sample[0..6], Is.EqualTo(new[] { 0.25f, -0.5f, 1f, 10f, 20f, -30f }).Within(1.0 / 131));
            // Product specification 9.1: the magnetometer's X and Y are the accelerometer's Y and X, its Z is reversed.
            Assert.That(sample[6], Is.EqualTo(30f).Within(0.15 * 0.921875 / 2 + 1e-5), "Y of the AK8963");
            Assert.That(sample[7], Is.EqualTo(12f).Within(0.15 * 1.15625 / 2 + 1e-5), "X of the AK8963");
            Assert.That(sample[8], Is.EqualTo(45f).Within(0.15 / 2 + 1e-5), "-Z of the AK8963");
        });
    }

    [Test]
    public void Mpu9250RefusesAnMpu6050()
    {
        var (_, magnetometer) = Mpu9250Chip();
        var e = Assert.Throws<IOException>(() => new Mpu9250(new SimulatedMpu6050(), magnetometer))!;
        Assert.That(e.Message, Does.Contain("MPU-9250: WHO_AM_I is 0x68, expected 0x71"));
    }

    [Test]
    public void GyroInRadiansScalesOnlyTheGyroscope()
    {
        var chip = new SimulatedLsm9ds1 { AngularRate = (180, 0, -90), MagneticField = (10, 20, 30) };
        float[] sample = ReadOne(new Lsm9ds1(chip.AccelGyro, chip.Magnetometer), gyroInRadians: true);
        Assert.That(sample[3..6], Is.EqualTo(new[] { MathF.PI, 0, -MathF.PI / 2 }).Within(1e-3));
        Assert.That(sample[6..9], Is.EqualTo(new[] { 10f, 20f, 30f }).Within(0.01), "µT unchanged");
    }

    [TestCase("imu:icm20948", "unknown IMU 'icm20948'")]
    [TestCase("imu:adxl345?gyro=rad", "measures acceleration only")]
    [TestCase("imu:mpu9250?mag-address=0x0D", "mag-address is for the lsm9ds1")]
    [TestCase("imu:bno055?rate=200", "rate")]
    [TestCase("imu:mpu6050?spi=0.0", "spi is for the adxl345")]
    [TestCase("imu:adxl345?spi=0.0&address=0x53", "spi=BUS.CS replaces bus and address")]
    [TestCase("imu:adxl345?spi=0", "spi=0 must be BUS.CS")]
    [TestCase("imu:adxl345?spi=0.x", "must be BUS.CS")]
    public void UriMistakesAreUsageErrors(string text, string message)
    {
        var e = Assert.Throws<SourceUriException>(() => ImuSource.Open(SourceUri.Parse(text)))!;
        Assert.That(e.Message, Does.Contain(message));
    }

    [Test]
    public void AnSpiDeviceNodeThatIsNotThereIsADeviceLoss()
    {
        // No SPI controller here: opening /dev/spidev9.3 fails the way a device that is gone does (reopened with backoff).
        var e = Assert.Catch(() => ImuSource.Open(SourceUri.Parse("imu:adxl345?spi=9.3&rate=100")))!;
        Assert.That(DeviceFailure.IsDeviceLoss(e), Is.True, e.ToString());
        Assert.That(e.Message, Does.Contain("spidev9.3"));
    }
}
