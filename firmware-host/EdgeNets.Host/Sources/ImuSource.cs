using System.Device.I2c;
using EdgeNets.Host.Devices;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>imu:mpu6050?bus=1&amp;address=0x68&amp;rate=50</c>: MPU-6050 samples (accel X, Y, Z in g, gyro X, Y, Z in °/s, or
/// in rad/s with <c>gyro=rad</c>, the unit of phone recordings such as hapt-uci) at a fixed rate.
/// <c>imu:simulated?rate=50</c> runs the same path on a simulated chip swinging slowly, for trying the host without hardware.
/// </summary>
public sealed class ImuSource : ISource
{
    private readonly Mpu6050 _imu;
    private readonly float[] _sample = new float[6];
    private readonly Pacer _pacer;
    private readonly float _gyroScale;

    public ImuSource(string name, Mpu6050 imu, double rateHz, bool gyroInRadians = false)
    {
        Name = name;
        _imu = imu;
        _pacer = new Pacer(rateHz);
        _gyroScale = gyroInRadians ? MathF.PI / 180f : 1f;
    }

    public static ImuSource Open(SourceUri uri)
    {
        uri.RejectUnknownKeys("bus", "address", "rate", "gyro");
        int rate = uri.GetInt("rate", 50, 4, 1000);
        string gyro = uri.GetString("gyro") ?? "dps";
        if (gyro is not ("dps" or "rad")) throw new SourceUriException($"source '{uri.Text}': gyro={gyro} must be dps (degrees/s) or rad (radians/s)");
        I2cDevice device = uri.Path switch
        {
            "mpu6050" => I2cDevice.Create(new I2cConnectionSettings(uri.GetInt("bus", 1, 0, 255), uri.GetInt("address", Mpu6050.DefaultAddress, 0x03, 0x77))),
            "simulated" => new SimulatedMpu6050 { BeforeDataRead = Swing },
            _ => throw new SourceUriException($"source '{uri.Text}': unknown IMU '{uri.Path}' (supported: mpu6050, simulated)"),
        };
        try { return new ImuSource(uri.Text, new Mpu6050(device, rate), rate, gyroInRadians: gyro == "rad"); }
        catch { device.Dispose(); throw; }
    }

    private static void Swing(SimulatedMpu6050 chip)
    {
        double t = chip.DataReads * 0.02;
        chip.Acceleration = (0.3 * Math.Sin(t), 0, Math.Sqrt(1 - 0.09 * Math.Sin(t) * Math.Sin(t)));
        chip.AngularRate = (0, 17 * Math.Cos(t), 0);
    }

    public string Name { get; }
    public long DroppedFrames => 0;
    public double LastTemperature { get; private set; }

    public ReadStatus Read(out Frame frame)
    {
        _pacer.Wait();
        LastTemperature = _imu.Read(_sample);
        if (_gyroScale != 1f)
            for (int i = 3; i < 6; i++) _sample[i] *= _gyroScale;
        frame = new Frame(FrameFormat.Samples, _sample);
        return ReadStatus.Frame;
    }

    public void Dispose() => _imu.Dispose();
}
