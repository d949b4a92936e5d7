using System.Buffers.Binary;
using System.Device.I2c;

namespace EdgeNets.Host.Devices;

/// <summary>LSM9DS1 accelerometer and gyroscope registers used here (ST LSM9DS1 data sheet DocID025715, table 21).</summary>
public enum Lsm9ds1AgRegister : byte
{
    WHO_AM_I = 0x0F,
    CTRL_REG1_G = 0x10,
    OUT_X_L_G = 0x18,
    CTRL_REG6_XL = 0x20,
    CTRL_REG8 = 0x22,
    OUT_X_L_XL = 0x28,
}

/// <summary>LSM9DS1 magnetometer registers used here (table 22).</summary>
public enum Lsm9ds1MagRegister : byte
{
    WHO_AM_I_M = 0x0F,
    CTRL_REG1_M = 0x20,
    CTRL_REG2_M = 0x21,
    CTRL_REG3_M = 0x22,
    CTRL_REG4_M = 0x23,
    OUT_X_L_M = 0x28,
}

/// <summary>
/// The LSM9DS1 (accelerometer and gyroscope at 0x6B or 0x6A, magnetometer at 0x1E or 0x1C) on I2C, written from the
/// data sheet. Iot.Device.Bindings' <c>Lsm9Ds1AccelerometerAndGyroscope</c> and <c>Lsm9Ds1Magnetometer</c> (4.2.0)
/// scale readings by range / 32768, where the data sheet's sensitivities (table 3) are larger for the gyroscope
/// (8.75 mdps/LSB at ±245 °/s, 16 % more than the 7.52 it uses), the magnetometer (0.14 mgauss/LSB at ±4 gauss, 15 % more)
/// and the ±16 g accelerometer (0.732 mg/LSB, 50 % more); this driver uses the table. Accelerometer and gyroscope
/// run together at the gyroscope's output data rate (the lowest step at or above the requested rate), ±2 g and
/// ±245 °/s; the magnetometer measures continuously at 80 Hz, ultra-high performance, ±4 gauss. A sample is two
/// 6-byte bursts on the first device (accelerometer, gyroscope) and one on the second (little-endian int16).
/// </summary>
public sealed class Lsm9ds1 : IImuSensor
{
    public const byte DefaultAddress = 0x6B, DefaultMagnetometerAddress = 0x1E;
    public const byte AgWhoAmIValue = 0x68, MagWhoAmIValue = 0x3D;
    /// <summary>Table 3 at the ranges used: ±2 g, ±245 °/s, ±4 gauss.</summary>
    public const double AccelGPerLsb = 0.061e-3, GyroDpsPerLsb = 8.75e-3, MagGaussPerLsb = 0.14e-3;
    /// <summary>The multi-byte read bit of the magnetometer's sub-address (section 6.1.1).</summary>
    private const byte AutoIncrement = 0x80;

    private static readonly double[] OutputRates = [14.9, 59.5, 119, 238, 476, 952];

    private readonly I2cDevice _ag, _mag;
    private readonly bool _ownsDevices;

    public Lsm9ds1(I2cDevice accelGyro, I2cDevice magnetometer, double sampleRateHz = 50, bool ownsDevices = true)
    {
        _ag = accelGyro;
        _mag = magnetometer;
        _ownsDevices = ownsDevices;
        byte who = I2cRegisters.Read(_ag, (byte)Lsm9ds1AgRegister.WHO_AM_I);
        if (who != AgWhoAmIValue) throw new IOException($"LSM9DS1: accelerometer/gyroscope WHO_AM_I is 0x{who:X2}, expected 0x{AgWhoAmIValue:X2} (wrong address or not an LSM9DS1)");
        who = I2cRegisters.Read(_mag, (byte)Lsm9ds1MagRegister.WHO_AM_I_M);
        if (who != MagWhoAmIValue) throw new IOException($"LSM9DS1: magnetometer WHO_AM_I_M is 0x{who:X2}, expected 0x{MagWhoAmIValue:X2} (wrong magnetometer address?)");
        byte odr = OutputRateCode(sampleRateHz);
        I2cRegisters.Write(_ag, (byte)Lsm9ds1AgRegister.CTRL_REG8, 0x44); // BDU (no torn samples) and IF_ADD_INC (burst reads)
        I2cRegisters.Write(_ag, (byte)Lsm9ds1AgRegister.CTRL_REG1_G, (byte)(odr << 5)); // ODR_G, FS_G = 00: ±245 °/s
        I2cRegisters.Write(_ag, (byte)Lsm9ds1AgRegister.CTRL_REG6_XL, 0); // FS_XL = 00: ±2 g; the accelerometer follows ODR_G
        I2cRegisters.Write(_mag, (byte)Lsm9ds1MagRegister.CTRL_REG1_M, 0xFC); // TEMP_COMP, OM = 11 (ultra-high performance), DO = 111 (80 Hz)
        I2cRegisters.Write(_mag, (byte)Lsm9ds1MagRegister.CTRL_REG2_M, 0x00); // FS = 00: ±4 gauss
        I2cRegisters.Write(_mag, (byte)Lsm9ds1MagRegister.CTRL_REG3_M, 0x00); // MD = 00: continuous conversion
        I2cRegisters.Write(_mag, (byte)Lsm9ds1MagRegister.CTRL_REG4_M, 0x0C); // OMZ = 11: ultra-high performance on Z
        OutputRateHz = OutputRates[odr - 1];
    }

    public int Channels => 9;
    public double OutputRateHz { get; }

    /// <summary>ODR_G (table 46): 1..6 for 14.9, 59.5, 119, 238, 476, 952 Hz; the lowest at or above <paramref name="hz"/>.</summary>
    public static byte OutputRateCode(double hz)
    {
        if (hz <= 0 || hz > 952) throw new ArgumentOutOfRangeException(nameof(hz), "the LSM9DS1 samples at up to 952 Hz");
        int i = 0;
        while (OutputRates[i] < hz) i++;
        return (byte)(i + 1);
    }

    /// <summary>Acceleration (g), angular rate (°/s), magnetic field (µT), X, Y, Z each.</summary>
    public void ReadSample(Span<float> destination)
    {
        if (destination.Length < 9) throw new ArgumentException("needs room for 9 values", nameof(destination));
        Span<byte> raw = stackalloc byte[6];
        I2cRegisters.Read(_ag, (byte)Lsm9ds1AgRegister.OUT_X_L_XL, raw);
        Scale(raw, AccelGPerLsb, destination);
        I2cRegisters.Read(_ag, (byte)Lsm9ds1AgRegister.OUT_X_L_G, raw);
        Scale(raw, GyroDpsPerLsb, destination[3..]);
        I2cRegisters.Read(_mag, (byte)((byte)Lsm9ds1MagRegister.OUT_X_L_M | AutoIncrement), raw);
        Scale(raw, MagGaussPerLsb * ImuUnits.MicroteslaPerGauss, destination[6..]);
    }

    private static void Scale(ReadOnlySpan<byte> raw, double unitPerLsb, Span<float> destination)
    {
        for (int axis = 0; axis < 3; axis++)
            destination[axis] = (float)(BinaryPrimitives.ReadInt16LittleEndian(raw[(axis * 2)..]) * unitPerLsb);
    }

    public void Dispose()
    {
        if (!_ownsDevices) return;
        _ag.Dispose();
        _mag.Dispose();
    }
}
