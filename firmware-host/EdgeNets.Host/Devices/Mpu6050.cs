using System.Buffers.Binary;
using System.Device.I2c;

namespace EdgeNets.Host.Devices;

/// <summary>MPU-6050 registers used here (InvenSense register map RM-MPU-6000A-00, rev. 4.2).</summary>
public enum Mpu6050Register : byte
{
    SMPLRT_DIV = 0x19,
    CONFIG = 0x1A,
    GYRO_CONFIG = 0x1B,
    ACCEL_CONFIG = 0x1C,
    INT_STATUS = 0x3A,
    ACCEL_XOUT_H = 0x3B,
    ACCEL_XOUT_L = 0x3C,
    ACCEL_YOUT_H = 0x3D,
    ACCEL_YOUT_L = 0x3E,
    ACCEL_ZOUT_H = 0x3F,
    ACCEL_ZOUT_L = 0x40,
    TEMP_OUT_H = 0x41,
    TEMP_OUT_L = 0x42,
    GYRO_XOUT_H = 0x43,
    GYRO_XOUT_L = 0x44,
    GYRO_YOUT_H = 0x45,
    GYRO_YOUT_L = 0x46,
    GYRO_ZOUT_H = 0x47,
    GYRO_ZOUT_L = 0x48,
    INT_PIN_CFG = 0x37,
    USER_CTRL = 0x6A,
    PWR_MGMT_1 = 0x6B,
    WHO_AM_I = 0x75,
}

/// <summary>ACCEL_CONFIG AFS_SEL (bits 4:3): full-scale range ±2, ±4, ±8, ±16 g.</summary>
public enum AccelRange : byte { G2 = 0, G4 = 1, G8 = 2, G16 = 3 }

/// <summary>GYRO_CONFIG FS_SEL (bits 4:3): full-scale range ±250, ±500, ±1000, ±2000 °/s.</summary>
public enum GyroRange : byte { Dps250 = 0, Dps500 = 1, Dps1000 = 2, Dps2000 = 3 }

/// <summary>
/// The MPU-6050 accelerometer and gyroscope on I2C, written from the datasheet (PS-MPU-6000A-00 rev. 3.4) and register
/// map: wake from sleep on the X gyro PLL clock, 44 Hz low-pass filter (1 kHz gyro output rate), the sample rate
/// divider for the requested rate, then 14-byte burst reads of accel, temperature and gyro (big-endian int16).
/// </summary>
public sealed class Mpu6050 : IImuSensor
{
    public const byte DefaultAddress = 0x68;
    public const byte WhoAmIValue = 0x68;
    /// <summary>Temperature in °C = TEMP_OUT / 340 + 36.53 (register map, section 4.18).</summary>
    public const double TemperatureLsbPerDegree = 340.0, TemperatureOffset = 36.53;

    private readonly I2cDevice _device;
    private readonly bool _ownsDevice;

    public Mpu6050(I2cDevice device, int sampleRateHz = 50, AccelRange accel = AccelRange.G2, GyroRange gyro = GyroRange.Dps250, bool ownsDevice = true)
        : this(device, "MPU-6050", WhoAmIValue, sampleRateHz, accel, gyro, ownsDevice)
    {
    }

    /// <summary>
    /// A chip with the MPU-6050's accelerometer and gyroscope registers and another WHO_AM_I value (the MPU-9250's
    /// register map, RM-MPU-9250A-00, keeps every register used here and its scales).
    /// </summary>
    internal Mpu6050(I2cDevice device, string chip, byte whoAmI, int sampleRateHz, AccelRange accel, GyroRange gyro, bool ownsDevice)
    {
        if (sampleRateHz < 4 || sampleRateHz > 1000) throw new ArgumentOutOfRangeException(nameof(sampleRateHz), $"the {chip} samples at 4..1000 Hz with the low-pass filter on");
        _device = device;
        _ownsDevice = ownsDevice;
        byte who = ReadRegister(Mpu6050Register.WHO_AM_I);
        if (who != whoAmI) throw new IOException($"{chip}: WHO_AM_I is 0x{who:X2}, expected 0x{whoAmI:X2} (wrong address or not an {chip})");
        WriteRegister(Mpu6050Register.PWR_MGMT_1, 0x01); // SLEEP=0, CLKSEL=1 (PLL on X gyro)
        WriteRegister(Mpu6050Register.CONFIG, 0x03); // DLPF_CFG=3: 44 Hz, gyro output rate 1 kHz
        WriteRegister(Mpu6050Register.SMPLRT_DIV, (byte)(1000 / sampleRateHz - 1)); // rate = 1 kHz / (1 + SMPLRT_DIV)
        WriteRegister(Mpu6050Register.GYRO_CONFIG, (byte)((byte)gyro << 3));
        WriteRegister(Mpu6050Register.ACCEL_CONFIG, (byte)((byte)accel << 3));
        AccelLsbPerG = AccelSensitivity(accel);
        GyroLsbPerDps = GyroSensitivity(gyro);
        SampleRateHz = 1000.0 / (1000 / sampleRateHz);
    }

    public double AccelLsbPerG { get; }
    public double GyroLsbPerDps { get; }
    public double SampleRateHz { get; }

    /// <summary>Datasheet table 6.2: 16384, 8192, 4096, 2048 LSB/g.</summary>
    public static double AccelSensitivity(AccelRange range) => 16384 >> (int)range;

    /// <summary>Datasheet table 6.1: 131, 65.5, 32.8, 16.4 LSB/(°/s).</summary>
    public static double GyroSensitivity(GyroRange range) => range switch
    {
        GyroRange.Dps250 => 131.0,
        GyroRange.Dps500 => 65.5,
        GyroRange.Dps1000 => 32.8,
        _ => 16.4,
    };

    public int Channels => 6;

    void IImuSensor.ReadSample(Span<float> destination) => Read(destination);

    public byte ReadRegister(Mpu6050Register register) => I2cRegisters.Read(_device, (byte)register);

    public void WriteRegister(Mpu6050Register register, byte value) => I2cRegisters.Write(_device, (byte)register, value);

    /// <summary>
    /// Reads one sample: <paramref name="destination"/> gets accel X, Y, Z in g and gyro X, Y, Z in °/s (6 values);
    /// returns the die temperature in °C.
    /// </summary>
    public double Read(Span<float> destination)
    {
        if (destination.Length < 6) throw new ArgumentException("needs room for 6 values", nameof(destination));
        Span<byte> raw = stackalloc byte[14];
        I2cRegisters.Read(_device, (byte)Mpu6050Register.ACCEL_XOUT_H, raw);
        for (int axis = 0; axis < 3; axis++)
        {
            destination[axis] = (float)(BinaryPrimitives.ReadInt16BigEndian(raw[(axis * 2)..]) / AccelLsbPerG);
            destination[3 + axis] = (float)(BinaryPrimitives.ReadInt16BigEndian(raw[(8 + axis * 2)..]) / GyroLsbPerDps);
        }
        return BinaryPrimitives.ReadInt16BigEndian(raw[6..]) / TemperatureLsbPerDegree + TemperatureOffset;
    }

    public void Dispose()
    {
        if (_ownsDevice) _device.Dispose();
    }
}
