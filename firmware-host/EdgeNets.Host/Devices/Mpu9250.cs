using System.Buffers.Binary;
using System.Device.I2c;

namespace EdgeNets.Host.Devices;

/// <summary>AK8963 magnetometer registers (AKM AK8963 data sheet MS1356-E-02, section 8.3).</summary>
public enum Ak8963Register : byte
{
    WIA = 0x00,
    ST1 = 0x02,
    HXL = 0x03,
    ST2 = 0x09,
    CNTL1 = 0x0A,
    CNTL2 = 0x0B,
    ASAX = 0x10,
}

/// <summary>
/// The MPU-9250: the MPU-6050's accelerometer and gyroscope registers (<see cref="Mpu6050"/>, WHO_AM_I 0x71) and an
/// AK8963 magnetometer in the same package, reached in bypass mode (INT_PIN_CFG BYPASS_EN) as its own device at 0x0C
/// on the same bus. The magnetometer runs continuously at 100 Hz with 16-bit output (0.15 µT/LSB) and each reading
/// is multiplied by its factory sensitivity adjustment, ((ASA - 128) * 0.5 / 128 + 1) per axis from the fuse ROM
/// (data sheet 8.3.11). Its axes are turned into the accelerometer's (product specification 9.1: X and Y swapped, Z
/// reversed), so all nine values share one frame. Iot.Device.Bindings' <c>Mpu9250</c> (4.2.0) divides accelerometer
/// and gyroscope readings by 1 + SMPLRT_DIV like its <c>Mpu6050</c>, and applies the adjustment only after its
/// <c>CalibrateMagnetometer</c> (a thousand readings 10 ms apart); this driver does neither.
/// </summary>
public sealed class Mpu9250 : IImuSensor
{
    public const byte WhoAmIValue = 0x71;
    public const byte MagnetometerAddress = 0x0C, MagnetometerId = 0x48;
    /// <summary>16-bit output: 0.15 µT/LSB (data sheet 5.4).</summary>
    public const double MicroteslaPerLsb = 0.15;
    public const byte Continuous100Hz16Bit = 0x16; // CNTL1 BIT = 1 (16-bit), MODE = 0110 (continuous measurement mode 2)
    public const byte FuseRomAccess = 0x0F, PowerDown = 0x00;
    private const byte BypassEnable = 0x02; // INT_PIN_CFG BYPASS_EN

    private readonly Mpu6050 _motion;
    private readonly I2cDevice _magnetometer;
    private readonly bool _ownsDevices;
    private readonly double _adjustX, _adjustY, _adjustZ;

    public Mpu9250(I2cDevice device, I2cDevice magnetometer, int sampleRateHz = 50, bool ownsDevices = true)
    {
        _motion = new Mpu6050(device, "MPU-9250", WhoAmIValue, sampleRateHz, AccelRange.G2, GyroRange.Dps250, ownsDevices);
        _magnetometer = magnetometer;
        _ownsDevices = ownsDevices;
        _motion.WriteRegister(Mpu6050Register.USER_CTRL, 0); // I2C_MST_EN off: the auxiliary bus belongs to the host
        _motion.WriteRegister(Mpu6050Register.INT_PIN_CFG, BypassEnable);
        byte id = ReadMagnetometer(Ak8963Register.WIA);
        if (id != MagnetometerId) throw new IOException($"MPU-9250: the AK8963 magnetometer at 0x{MagnetometerAddress:X2} answers WIA 0x{id:X2}, expected 0x{MagnetometerId:X2}");
        // Mode changes pass through power-down (section 6.3); the sensitivity adjustment is readable in fuse ROM mode.
        WriteMagnetometer(Ak8963Register.CNTL1, PowerDown);
        WriteMagnetometer(Ak8963Register.CNTL1, FuseRomAccess);
        Span<byte> asa = stackalloc byte[3];
        ReadMagnetometer(Ak8963Register.ASAX, asa);
        (_adjustX, _adjustY, _adjustZ) = (Adjustment(asa[0]), Adjustment(asa[1]), Adjustment(asa[2]));
        WriteMagnetometer(Ak8963Register.CNTL1, PowerDown);
        WriteMagnetometer(Ak8963Register.CNTL1, Continuous100Hz16Bit);
    }

    public int Channels => 9;

    /// <summary>Data sheet 8.3.11: Hadj = H * ((ASA - 128) * 0.5 / 128 + 1).</summary>
    public static double Adjustment(byte asa) => (asa - 128) * 0.5 / 128 + 1;

    /// <summary>Acceleration (g), angular rate (°/s), magnetic field (µT), X, Y, Z each in the accelerometer's axes.</summary>
    public void ReadSample(Span<float> destination)
    {
        if (destination.Length < 9) throw new ArgumentException("needs room for 9 values", nameof(destination));
        _motion.Read(destination);
        // HXL..HZH and ST2 in one burst: reading ST2 ends the read and lets the chip update the data registers.
        Span<byte> raw = stackalloc byte[7];
        ReadMagnetometer(Ak8963Register.HXL, raw);
        double x = BinaryPrimitives.ReadInt16LittleEndian(raw) * MicroteslaPerLsb * _adjustX;
        double y = BinaryPrimitives.ReadInt16LittleEndian(raw[2..]) * MicroteslaPerLsb * _adjustY;
        double z = BinaryPrimitives.ReadInt16LittleEndian(raw[4..]) * MicroteslaPerLsb * _adjustZ;
        destination[6] = (float)y;
        destination[7] = (float)x;
        destination[8] = (float)-z;
    }

    private byte ReadMagnetometer(Ak8963Register register) => I2cRegisters.Read(_magnetometer, (byte)register);

    private void ReadMagnetometer(Ak8963Register register, Span<byte> destination) => I2cRegisters.Read(_magnetometer, (byte)register, destination);

    private void WriteMagnetometer(Ak8963Register register, byte value) => I2cRegisters.Write(_magnetometer, (byte)register, value);

    public void Dispose()
    {
        _motion.Dispose();
        if (_ownsDevices) _magnetometer.Dispose();
    }
}
