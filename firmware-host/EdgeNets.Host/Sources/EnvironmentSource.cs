using System.Device.I2c;
using EdgeNets.Host.Devices;
using Iot.Device.Bmxx80;
using Iot.Device.Bmxx80.PowerMode;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>env:bme280?bus=1&amp;address=0x76&amp;rate=1</c>: a Bosch BME280 on I2C through the Iot.Device.Bindings driver,
/// as samples of temperature (°C), relative humidity (%) and pressure (hPa) at a fixed rate. The chip runs in normal
/// mode (it measures continuously, standard oversampling) and each sample reads its latest result.
/// <c>env:simulated</c> runs the same path on a <see cref="SimulatedBme280"/>, for trying the host without hardware.
/// </summary>
public sealed class EnvironmentSource : ISource
{
    public const int Channels = 3;
    private readonly Bme280 _sensor;
    private readonly float[] _sample = new float[Channels];
    private readonly Pacer _pacer;

    public EnvironmentSource(string name, I2cDevice device, double rateHz)
    {
        Name = name;
        _pacer = new Pacer(rateHz);
        _sensor = new Bme280(device);
        _sensor.TemperatureSampling = Sampling.Standard;
        _sensor.PressureSampling = Sampling.Standard;
        _sensor.HumiditySampling = Sampling.Standard;
        _sensor.SetPowerMode(Bmx280PowerMode.Normal);
    }

    public static EnvironmentSource Open(SourceUri uri)
    {
        uri.RejectUnknownKeys("bus", "address", "rate");
        double rate = uri.GetDouble("rate", 1, 0, 100);
        I2cDevice device = uri.Path switch
        {
            "bme280" => I2cDevice.Create(new I2cConnectionSettings(uri.GetInt("bus", 1, 0, 255), uri.GetInt("address", Bmx280Base.SecondaryI2cAddress, 0x03, 0x77))),
            "simulated" => new SimulatedBme280(),
            _ => throw new SourceUriException($"source '{uri.Text}': unknown environment sensor '{uri.Path}' (supported: bme280, simulated)"),
        };
        try { return new EnvironmentSource(uri.Text, device, rate); }
        catch { device.Dispose(); throw; }
    }

    public string Name { get; }
    public long DroppedFrames => 0;

    public ReadStatus Read(out Frame frame)
    {
        _pacer.Wait();
        if (!_sensor.TryReadTemperature(out var temperature) || !_sensor.TryReadHumidity(out var humidity)
            || !_sensor.TryReadPressure(out var pressure))
            throw new IOException($"{Name}: the BME280 skipped a measurement");
        _sample[0] = (float)temperature.DegreesCelsius;
        _sample[1] = (float)humidity.Percent;
        _sample[2] = (float)pressure.Hectopascals;
        frame = new Frame(FrameFormat.Samples, _sample);
        return ReadStatus.Frame;
    }

    public void Dispose() => _sensor.Dispose();
}
