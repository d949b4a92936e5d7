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

/// <summary>
/// The Bosch BME680 through Iot.Device.Bindings' <see cref="Bme680"/>: temperature, humidity, pressure and the gas
/// sensor's resistance (Ω; it falls as volatile organic compounds rise). The gas measurement heats a hot plate (the
/// driver's default profile: 320 °C for 150 ms), so the chip is run in forced mode, one measurement per sample: a
/// sample triggers it, waits its duration (the driver's figure for the oversampling and heater profile) and reads
/// the results. Standard oversampling, as for the BME280.
/// </summary>
public sealed class Bme680Sensor : IEnvironmentSensor
{
    private readonly Bme680 _sensor;
    private readonly int _measurementMs;

    public Bme680Sensor(I2cDevice device)
    {
        _sensor = new Bme680(device);
        _sensor.TemperatureSampling = Sampling.Standard;
        _sensor.PressureSampling = Sampling.Standard;
        _sensor.HumiditySampling = Sampling.Standard;
        _measurementMs = (int)Math.Ceiling(_sensor.GetMeasurementDuration(_sensor.HeaterProfile).Milliseconds);
    }

    public int Channels => 4;

    /// <summary>How long one forced measurement takes, in milliseconds.</summary>
    public int MeasurementMs => _measurementMs;

    public void ReadSample(Span<float> destination)
    {
        _sensor.SetPowerMode(Bme680PowerMode.Forced);
        Thread.Sleep(_measurementMs);
        if (!_sensor.TryReadTemperature(out var temperature) || !_sensor.TryReadHumidity(out var humidity)
            || !_sensor.TryReadPressure(out var pressure))
            throw new IOException("the BME680 skipped a measurement");
        // No valid gas reading (the hot plate did not reach its temperature in time) is a missing value, not a fault.
        destination[3] = _sensor.TryReadGasResistance(out var gas) ? (float)gas.Ohms : float.NaN;
        destination[0] = (float)temperature.DegreesCelsius;
        destination[1] = (float)humidity.Percent;
        destination[2] = (float)pressure.Hectopascals;
    }

    public void Dispose() => _sensor.Dispose();
}
