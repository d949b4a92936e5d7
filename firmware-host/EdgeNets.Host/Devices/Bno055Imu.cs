using System.Device.I2c;
using Iot.Device.Bno055;

namespace EdgeNets.Host.Devices;

/// <summary>
/// The Bosch BNO055 through Iot.Device.Bindings' <see cref="Bno055Sensor"/>, in its 9-degrees-of-freedom fusion mode
/// (NDOF: the chip calibrates itself and outputs at 100 Hz). A sample is the driver's acceleration (m/s², converted to
/// g), angular rate (°/s) and magnetic field (µT), each one 6-byte read.
/// </summary>
public sealed class Bno055Imu : IImuSensor
{
    public const byte DefaultAddress = Bno055Sensor.DefaultI2cAddress;
    /// <summary>The fusion modes' output data rate.</summary>
    public const int MaxRateHz = 100;

    private readonly Bno055Sensor _sensor;

    public Bno055Imu(I2cDevice device)
    {
        try { _sensor = new Bno055Sensor(device, OperationMode.AccelerometerMagnetometerGyroscopeRelativeOrientation); }
        // The driver reports a wrong chip id with a bare Exception; it is a device fault like any other wrong answer.
        catch (Exception e) when (e.GetType() == typeof(Exception)) { throw new IOException($"BNO055: {e.Message} (wrong address or not a BNO055)", e); }
    }

    public int Channels => 9;

    public void ReadSample(Span<float> destination)
    {
        if (destination.Length < 9) throw new ArgumentException("needs room for 9 values", nameof(destination));
        var a = _sensor.Accelerometer / ImuUnits.StandardGravity;
        var g = _sensor.Gyroscope;
        var m = _sensor.Magnetometer;
        destination[0] = a.X; destination[1] = a.Y; destination[2] = a.Z;
        destination[3] = g.X; destination[4] = g.Y; destination[5] = g.Z;
        destination[6] = m.X; destination[7] = m.Y; destination[8] = m.Z;
    }

    public void Dispose() => _sensor.Dispose();
}
