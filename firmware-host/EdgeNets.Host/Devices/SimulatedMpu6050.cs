using System.Buffers.Binary;
using System.Device.I2c;

namespace EdgeNets.Host.Devices;

/// <summary>
/// An MPU-6050 without hardware: an <see cref="I2cDevice"/> with the chip's register file. Writes set the register
/// pointer (first byte) and then registers with auto-increment; reads return registers from the pointer on. The data
/// registers are filled from <see cref="Acceleration"/> (g), <see cref="AngularRate"/> (°/s) and
/// <see cref="Temperature"/> (°C) with the scale that ACCEL_CONFIG/GYRO_CONFIG select, as the chip does.
/// <see cref="FailAfterDataReads"/> makes the bus fail (IOException) like a loose cable.
/// </summary>
public sealed class SimulatedMpu6050 : I2cDevice
{
    private readonly byte[] _registers = new byte[128];
    private int _pointer;
    private bool _failed;

    private readonly byte _whoAmI;

    /// <param name="whoAmI">The WHO_AM_I value: 0x68 for an MPU-6050, <see cref="Mpu9250.WhoAmIValue"/> for the accelerometer and gyroscope of an MPU-9250.</param>
    public SimulatedMpu6050(int busId = 1, int address = Mpu6050.DefaultAddress, byte whoAmI = Mpu6050.WhoAmIValue)
    {
        ConnectionSettings = new I2cConnectionSettings(busId, address);
        _whoAmI = whoAmI;
        _registers[(int)Mpu6050Register.WHO_AM_I] = whoAmI;
        _registers[(int)Mpu6050Register.PWR_MGMT_1] = 0x40; // reset value: SLEEP set
    }

    public override I2cConnectionSettings ConnectionSettings { get; }

    /// <summary>Acceleration in g on X, Y, Z (gravity included).</summary>
    public (double X, double Y, double Z) Acceleration { get; set; } = (0, 0, 1);

    /// <summary>Angular rate in °/s around X, Y, Z.</summary>
    public (double X, double Y, double Z) AngularRate { get; set; }

    public double Temperature { get; set; } = 25;

    /// <summary>Called before each burst read of the data registers, e.g. to move the simulated device.</summary>
    public Action<SimulatedMpu6050>? BeforeDataRead { get; set; }

    /// <summary>After this many data reads every transfer throws <see cref="IOException"/>; -1 never.</summary>
    public int FailAfterDataReads { get; set; } = -1;

    public int DataReads { get; private set; }
    public bool IsAsleep => (_registers[(int)Mpu6050Register.PWR_MGMT_1] & 0x40) != 0;
    public byte Register(Mpu6050Register register) => _registers[(int)register];

    public override byte ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        Read(one);
        return one[0];
    }

    public override void Read(Span<byte> buffer)
    {
        ThrowIfFailed();
        if (_pointer == (int)Mpu6050Register.ACCEL_XOUT_H)
        {
            if (FailAfterDataReads >= 0 && DataReads >= FailAfterDataReads)
            {
                _failed = true;
                throw new IOException("simulated I2C bus error (remote I/O error)");
            }
            DataReads++;
            BeforeDataRead?.Invoke(this);
            LatchData();
        }
        for (int i = 0; i < buffer.Length; i++) buffer[i] = _registers[(_pointer + i) & 0x7F];
        _pointer = (_pointer + buffer.Length) & 0x7F;
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfFailed();
        if (buffer.IsEmpty) return;
        _pointer = buffer[0] & 0x7F;
        for (int i = 1; i < buffer.Length; i++)
        {
            int reg = _pointer;
            if (reg == (int)Mpu6050Register.PWR_MGMT_1 && (buffer[i] & 0x80) != 0)
            {
                Array.Clear(_registers); // DEVICE_RESET
                _registers[(int)Mpu6050Register.WHO_AM_I] = _whoAmI;
                _registers[reg] = 0x40;
            }
            else if (reg != (int)Mpu6050Register.WHO_AM_I) _registers[reg] = buffer[i];
            _pointer = (_pointer + 1) & 0x7F;
        }
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        Write(writeBuffer);
        Read(readBuffer);
    }

    private void ThrowIfFailed()
    {
        if (_failed) throw new IOException("simulated I2C bus error (remote I/O error)");
    }

    /// <summary>Converts the physical values to register contents with the selected full-scale ranges.</summary>
    private void LatchData()
    {
        if (IsAsleep) return; // a sleeping chip does not update its data registers
        double accelLsb = Mpu6050.AccelSensitivity((AccelRange)((_registers[(int)Mpu6050Register.ACCEL_CONFIG] >> 3) & 3));
        double gyroLsb = Mpu6050.GyroSensitivity((GyroRange)((_registers[(int)Mpu6050Register.GYRO_CONFIG] >> 3) & 3));
        Put(Mpu6050Register.ACCEL_XOUT_H, Acceleration.X * accelLsb);
        Put(Mpu6050Register.ACCEL_YOUT_H, Acceleration.Y * accelLsb);
        Put(Mpu6050Register.ACCEL_ZOUT_H, Acceleration.Z * accelLsb);
        Put(Mpu6050Register.TEMP_OUT_H, (Temperature - Mpu6050.TemperatureOffset) * Mpu6050.TemperatureLsbPerDegree);
        Put(Mpu6050Register.GYRO_XOUT_H, AngularRate.X * gyroLsb);
        Put(Mpu6050Register.GYRO_YOUT_H, AngularRate.Y * gyroLsb);
        Put(Mpu6050Register.GYRO_ZOUT_H, AngularRate.Z * gyroLsb);
    }

    private void Put(Mpu6050Register high, double value)
    {
        short raw = (short)Math.Clamp(Math.Round(value), short.MinValue, short.MaxValue);
        BinaryPrimitives.WriteInt16BigEndian(_registers.AsSpan((int)high, 2), raw);
    }
}
