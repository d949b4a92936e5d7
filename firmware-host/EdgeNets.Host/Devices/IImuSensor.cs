namespace EdgeNets.Host.Devices;

/// <summary>
/// An inertial sensor that <see cref="Sources.ImuSource"/> reads. A sample is acceleration X, Y, Z in g, then (when the
/// chip has them) angular rate X, Y, Z in °/s and magnetic field X, Y, Z in µT, each in the chip's own axes.
/// </summary>
public interface IImuSensor : IDisposable
{
    /// <summary>3 (accelerometer), 6 (and gyroscope) or 9 (and magnetometer).</summary>
    int Channels { get; }

    /// <summary>Reads one sample into <paramref name="destination"/> (<see cref="Channels"/> values).</summary>
    void ReadSample(Span<float> destination);
}

public static class ImuUnits
{
    /// <summary>Standard gravity (m/s² per g), for chips that report m/s².</summary>
    public const float StandardGravity = 9.80665f;

    /// <summary>µT per gauss.</summary>
    public const float MicroteslaPerGauss = 100f;
}
