using System.Device.I2c;
using EdgeNets.Host.Devices;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>env:CHIP?bus=1&amp;address=0x76&amp;rate=1</c>: a Bosch environment sensor on I2C through the Iot.Device.Bindings
/// drivers, as samples at a fixed rate: temperature (°C), relative humidity (%) and pressure (hPa), and for the
/// bme680 its gas resistance (Ω) as well (see <see cref="Bme280Sensor"/>, <see cref="Bme680Sensor"/>).
/// <c>env:simulated</c> runs the BME280 path on a <see cref="SimulatedBme280"/>, for trying the host without hardware.
/// </summary>
public sealed class EnvironmentSource : ISource
{
    public const string Chips = "bme280, bme680, simulated";
    private readonly IEnvironmentSensor _sensor;
    private readonly float[] _sample;
    private readonly Pacer _pacer;

    public EnvironmentSource(string name, IEnvironmentSensor sensor, double rateHz)
    {
        Name = name;
        _sensor = sensor;
        _sample = new float[sensor.Channels];
        _pacer = new Pacer(rateHz);
    }

    /// <summary>A BME280 on <paramref name="device"/>.</summary>
    public EnvironmentSource(string name, I2cDevice device, double rateHz) : this(name, new Bme280Sensor(device), rateHz)
    {
    }

    public static EnvironmentSource Open(SourceUri uri)
    {
        uri.RejectUnknownKeys("bus", "address", "rate");
        double rate = uri.GetDouble("rate", 1, 0, 100);
        I2cDevice Device() => I2cDevice.Create(new I2cConnectionSettings(uri.GetInt("bus", 1, 0, 255), uri.GetInt("address", 0x76, 0x03, 0x77)));
        Func<I2cDevice, IEnvironmentSensor> open;
        I2cDevice device;
        switch (uri.Path)
        {
            case "bme280": open = d => new Bme280Sensor(d); device = Device(); break;
            case "bme680": open = d => new Bme680Sensor(d); device = Device(); break;
            case "simulated": open = d => new Bme280Sensor(d); device = new SimulatedBme280(); break;
            default: throw new SourceUriException($"source '{uri.Text}': unknown environment sensor '{uri.Path}' (supported: {Chips})");
        }
        try { return new EnvironmentSource(uri.Text, open(device), rate); }
        catch { device.Dispose(); throw; }
    }

    public string Name { get; }
    public long DroppedFrames => 0;
    public int Channels => _sample.Length;

    public ReadStatus Read(out Frame frame)
    {
        _pacer.Wait();
        _sensor.ReadSample(_sample);
        frame = new Frame(FrameFormat.Samples, _sample);
        return ReadStatus.Frame;
    }

    public void Dispose() => _sensor.Dispose();
}
