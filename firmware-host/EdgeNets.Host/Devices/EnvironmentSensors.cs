using System.Device.I2c;
using Iot.Device.Bmxx80;
using Iot.Device.Bmxx80.PowerMode;

namespace EdgeNets.Host.Devices;

/// <summary>
/// An environment sensor that <see cref="Sources.EnvironmentSource"/> reads: a sample is temperature (°C), relative
/// humidity (%) and pressure (hPa), then gas resistance (Ω) for a chip with a gas sensor.
/// </summary>
public interface IEnvironmentSensor : IDisposable
{
    int Channels { get; }

    /// <summary>Reads one sample into <paramref name="destination"/> (<see cref="Channels"/> values).</summary>
    void ReadSample(Span<float> destination);
}

/// <summary>
/// The Bosch BME280 through Iot.Device.Bindings' <see cref="Bme280"/>: normal mode (it measures continuously),
/// standard oversampling; a sample reads its latest result.
/// </summary>
public sealed class Bme280Sensor : IEnvironmentSensor
{
    private readonly Bme280 _sensor;

    public Bme280Sensor(I2cDevice device)
    {
        _sensor = new Bme280(device);
        _sensor.TemperatureSampling = Sampling.Standard;
        _sensor.PressureSampling = Sampling.Standard;
        _sensor.HumiditySampling = Sampling.Standard;
        _sensor.SetPowerMode(Bmx280PowerMode.Normal);
    }

    public int Channels => 3;

    public void ReadSample(Span<float> destination)
    {
        if (!_sensor.TryReadTemperature(out var temperature) || !_sensor.TryReadHumidity(out var humidity)
            || !_sensor.TryReadPressure(out var pressure))
            throw new IOException("the BME280 skipped a measurement");
        destination[0] = (float)temperature.DegreesCelsius;
        destination[1] = (float)humidity.Percent;
        destination[2] = (float)pressure.Hectopascals;
    }

    public void Dispose() => _sensor.Dispose();
}
