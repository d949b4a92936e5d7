using System.Device.I2c;
using System.Device.Spi;
using System.Globalization;
using EdgeNets.Host.Devices;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>imu:CHIP?bus=1&amp;address=0x68&amp;rate=50</c>: inertial sensor samples at a fixed rate, acceleration X, Y, Z in g,
/// then angular rate X, Y, Z in °/s (or rad/s with <c>gyro=rad</c>, the unit of phone recordings such as hapt-uci) and
/// magnetic field X, Y, Z in µT where the chip has them (see <see cref="IImuSensor"/>). CHIP is mpu6050, mpu9250,
/// lsm9ds1 (<c>mag-address</c> names its magnetometer), bno055 or adxl345; the adxl345 also on SPI with
/// <c>spi=BUS.CS</c> (/dev/spidevBUS.CS) instead of <c>bus</c> and <c>address</c>. <c>imu:simulated?rate=50</c> runs the same
/// path on a simulated MPU-6050 swinging slowly, for trying the host without hardware.
/// </summary>
public sealed class ImuSource : ISource
{
    public const string Chips = "mpu6050, mpu9250, lsm9ds1, bno055, adxl345, simulated";
    private readonly IImuSensor _imu;
    private readonly float[] _sample;
    private readonly Pacer _pacer;
    private readonly float _gyroScale;

    public ImuSource(string name, IImuSensor imu, double rateHz, bool gyroInRadians = false)
    {
        Name = name;
        _imu = imu;
        _sample = new float[imu.Channels];
        _pacer = new Pacer(rateHz);
        _gyroScale = gyroInRadians ? MathF.PI / 180f : 1f;
    }

    public static ImuSource Open(SourceUri uri)
    {
        uri.RejectUnknownKeys("bus", "address", "rate", "gyro", "mag-address", "spi");
        string gyro = uri.GetString("gyro") ?? "dps";
        if (gyro is not ("dps" or "rad")) throw new SourceUriException($"source '{uri.Text}': gyro={gyro} must be dps (degrees/s) or rad (radians/s)");
        if (gyro == "rad" && uri.Path == "adxl345")
            throw new SourceUriException($"source '{uri.Text}': gyro=rad needs a gyroscope; the adxl345 measures acceleration only");
        if (uri.Path != "lsm9ds1" && uri.GetString("mag-address") != null)
            throw new SourceUriException($"source '{uri.Text}': mag-address is for the lsm9ds1, whose magnetometer is a device of its own");
        var spi = SpiAddress(uri);
        int bus = uri.GetInt("bus", 1, 0, 255);
        I2cDevice Device(int defaultAddress, string key = "address") =>
            I2cDevice.Create(new I2cConnectionSettings(bus, uri.GetInt(key, defaultAddress, 0x03, 0x77)));
        var opened = new List<IDisposable>();
        T Open<T>(T device) where T : IDisposable { opened.Add(device); return device; }
        try
        {
            (IImuSensor imu, int rate) = uri.Path switch
            {
                "mpu6050" => Rate(uri, 1000, rate => new Mpu6050(Open(Device(Mpu6050.DefaultAddress)), rate)),
                "mpu9250" => Rate(uri, 1000, rate => new Mpu9250(Open(Device(Mpu6050.DefaultAddress)),
                    Open(I2cDevice.Create(new I2cConnectionSettings(bus, Mpu9250.MagnetometerAddress))), rate)),
                "lsm9ds1" => Rate(uri, 952, rate => new Lsm9ds1(Open(Device(Lsm9ds1.DefaultAddress)),
                    Open(Device(Lsm9ds1.DefaultMagnetometerAddress, "mag-address")), rate)),
                "bno055" => Rate(uri, Bno055Imu.MaxRateHz, _ => new Bno055Imu(Open(Device(Bno055Imu.DefaultAddress)))),
                "adxl345" when spi != null => Rate(uri, 3200, rate => new Adxl345(Open(SpiDevice.Create(
                    Adxl345.SpiSettings(spi.Value.Bus, spi.Value.ChipSelect))), rate)),
                "adxl345" => Rate(uri, 3200, rate => new Adxl345(Open(Device(Adxl345.DefaultAddress)), rate)),
                "simulated" => Rate(uri, 1000, rate => new Mpu6050(new SimulatedMpu6050 { BeforeDataRead = Swing }, rate)),
                _ => throw new SourceUriException($"source '{uri.Text}': unknown IMU '{uri.Path}' (supported: {Chips})"),
            };
            return new ImuSource(uri.Text, imu, rate, gyroInRadians: gyro == "rad");
        }
        catch
        {
            foreach (var device in opened) device.Dispose();
            throw;
        }
    }

    /// <summary><c>spi=BUS.CS</c>: the SPI bus and chip select of /dev/spidevBUS.CS; null for I2C.</summary>
    private static (int Bus, int ChipSelect)? SpiAddress(SourceUri uri)
    {
        string? text = uri.GetString("spi");
        if (text == null) return null;
        if (uri.Path != "adxl345") throw new SourceUriException($"source '{uri.Text}': spi is for the adxl345; the {uri.Path} is read over I2C");
        if (uri.GetString("bus") != null || uri.GetString("address") != null)
            throw new SourceUriException($"source '{uri.Text}': spi=BUS.CS replaces bus and address (those are I2C's)");
        int dot = text.IndexOf('.');
        if (dot > 0 && int.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out int bus) && bus <= 255
            && int.TryParse(text.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int chipSelect) && chipSelect <= 255)
            return (bus, chipSelect);
        throw new SourceUriException($"source '{uri.Text}': spi={text} must be BUS.CS, e.g. spi=0.0 for /dev/spidev0.0");
    }

    /// <summary>Reads <c>rate</c> (4 Hz up to the chip's <paramref name="maxHz"/>) before the chip is opened.</summary>
    private static (IImuSensor, int) Rate(SourceUri uri, int maxHz, Func<int, IImuSensor> open)
    {
        int rate = uri.GetInt("rate", 50, 4, maxHz);
        return (open(rate), rate);
    }

    private static void Swing(SimulatedMpu6050 chip)
    {
        double t = chip.DataReads * 0.02;
        chip.Acceleration = (0.3 * Math.Sin(t), 0, Math.Sqrt(1 - 0.09 * Math.Sin(t) * Math.Sin(t)));
        chip.AngularRate = (0, 17 * Math.Cos(t), 0);
    }

    public string Name { get; }
    public long DroppedFrames => 0;

    public ReadStatus Read(out Frame frame)
    {
        _pacer.Wait();
        _imu.ReadSample(_sample);
        if (_gyroScale != 1f)
            for (int i = 3; i < 6; i++) _sample[i] *= _gyroScale;
        frame = new Frame(FrameFormat.Samples, _sample);
        return ReadStatus.Frame;
    }

    public void Dispose() => _imu.Dispose();
}
