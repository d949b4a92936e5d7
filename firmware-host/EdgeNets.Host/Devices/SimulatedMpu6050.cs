using System.Buffers.Binary;

namespace EdgeNets.Host.Devices;

/// <summary>
/// An MPU-6050 without hardware: an I2C device with the chip's register file (see <see cref="SimulatedRegisterDevice"/>
/// for reads, writes and <see cref="SimulatedRegisterDevice.FailAfterDataReads"/>). The data registers are filled
/// from <see cref="Acceleration"/> (g), <see cref="AngularRate"/> (°/s) and <see cref="Temperature"/> (°C) with the
/// scale that ACCEL_CONFIG/GYRO_CONFIG select, as the chip does, on each burst read from ACCEL_XOUT_H.
/// </summary>
public sealed class SimulatedMpu6050 : SimulatedRegisterDevice
{
    private readonly byte _whoAmI;

    /// <param name="whoAmI">The WHO_AM_I value: 0x68 for an MPU-6050, <see cref="Mpu9250.WhoAmIValue"/> for the accelerometer and gyroscope of an MPU-9250.</param>
    public SimulatedMpu6050(int busId = 1, int address = Mpu6050.DefaultAddress, byte whoAmI = Mpu6050.WhoAmIValue) : base(busId, address)
    {
        _whoAmI = whoAmI;
        Registers[(int)Mpu6050Register.WHO_AM_I] = whoAmI;
        Registers[(int)Mpu6050Register.PWR_MGMT_1] = 0x40; // reset value: SLEEP set
    }

    /// <summary>Acceleration in g on X, Y, Z (gravity included).</summary>
    public (double X, double Y, double Z) Acceleration { get; set; } = (0, 0, 1);

    /// <summary>Angular rate in °/s around X, Y, Z.</summary>
    public (double X, double Y, double Z) AngularRate { get; set; }

    public double Temperature { get; set; } = 25;

    /// <summary>Called before each burst read of the data registers, e.g. to move the simulated device.</summary>
    public Action<SimulatedMpu6050>? BeforeDataRead { get; set; }

    public bool IsAsleep => (Registers[(int)Mpu6050Register.PWR_MGMT_1] & 0x40) != 0;
    public byte Register(Mpu6050Register register) => Registers[(int)register];

    /// <summary>Register addresses are 7 bits.</summary>
    protected override int AddressMask => 0x7F;

    protected override void OnWrite(int register, byte value)
    {
        if (register == (int)Mpu6050Register.PWR_MGMT_1 && (value & 0x80) != 0)
        {
            Array.Clear(Registers); // DEVICE_RESET
            Registers[(int)Mpu6050Register.WHO_AM_I] = _whoAmI;
            Registers[register] = 0x40;
        }
        else if (register != (int)Mpu6050Register.WHO_AM_I) Registers[register] = value;
    }

    protected override bool OnRead(int register)
    {
        if (register != (int)Mpu6050Register.ACCEL_XOUT_H) return false;
        if (NextDataReadFails) return true; // the bus fails before anything moves
        BeforeDataRead?.Invoke(this);
        LatchData();
        return true;
    }

    /// <summary>Converts the physical values to register contents with the selected full-scale ranges.</summary>
    private void LatchData()
    {
        if (IsAsleep) return; // a sleeping chip does not update its data registers
        double accelLsb = Mpu6050.AccelSensitivity((AccelRange)((Registers[(int)Mpu6050Register.ACCEL_CONFIG] >> 3) & 3));
        double gyroLsb = Mpu6050.GyroSensitivity((GyroRange)((Registers[(int)Mpu6050Register.GYRO_CONFIG] >> 3) & 3));
        Put(Mpu6050Register.ACCEL_XOUT_H, Acceleration.X * accelLsb);
        Put(Mpu6050Register.ACCEL_YOUT_H, Acceleration.Y * accelLsb);
        Put(Mpu6050Register.ACCEL_ZOUT_H, Acceleration.Z * accelLsb);
        Put(Mpu6050Register.TEMP_OUT_H, (Temperature - Mpu6050.TemperatureOffset) * Mpu6050.TemperatureLsbPerDegree);
        Put(Mpu6050Register.GYRO_XOUT_H, AngularRate.X * gyroLsb);
        Put(Mpu6050Register.GYRO_YOUT_H, AngularRate.Y * gyroLsb);
        Put(Mpu6050Register.GYRO_ZOUT_H, AngularRate.Z * gyroLsb);
    }

    private void Put(Mpu6050Register high, double value) =>
        BinaryPrimitives.WriteInt16BigEndian(Registers.AsSpan((int)high, 2), Saturate(value));
}
