namespace EdgeNets.Host.Devices;

/// <summary>BNO055 registers (page 0) the simulated chip models (Bosch BST-BNO055-DS000, section 4.2).</summary>
public enum Bno055Register : byte
{
    CHIP_ID = 0x00,
    ACC_DATA_X_LSB = 0x08,
    MAG_DATA_X_LSB = 0x0E,
    GYR_DATA_X_LSB = 0x14,
    EUL_HEADING_LSB = 0x1A,
    UNIT_SEL = 0x3B,
    OPR_MODE = 0x3D,
}

/// <summary>
/// A BNO055 without hardware: chip id 0xA0, and the data registers filled from <see cref="Acceleration"/> (m/s²),
/// <see cref="AngularRate"/> (°/s) and <see cref="MagneticField"/> (µT) with the data sheet's output scales
/// (section 3.6.4: 1 m/s² = 100 LSB or 1 mg = 1 LSB by UNIT_SEL, 1 µT = 16 LSB, 1 °/s = 16 LSB or 1 rad/s = 900 LSB)
/// whenever the chip is out of configuration mode (OPR_MODE 0).
/// </summary>
public sealed class SimulatedBno055 : SimulatedRegisterDevice
{
    public const byte ChipId = 0xA0;

    public SimulatedBno055(int busId = 1, int address = Bno055Imu.DefaultAddress) : base(busId, address)
    {
        Registers[(int)Bno055Register.CHIP_ID] = ChipId;
        Registers[0x01] = 0xFB; // ACC_ID
        Registers[0x02] = 0x32; // MAG_ID
        Registers[0x03] = 0x0F; // GYR_ID
    }

    public (double X, double Y, double Z) Acceleration { get; set; } = (0, 0, ImuUnits.StandardGravity);
    public (double X, double Y, double Z) AngularRate { get; set; }
    public (double X, double Y, double Z) MagneticField { get; set; } = (20, 0, -40);

    public byte OperationMode => Registers[(int)Bno055Register.OPR_MODE];

    protected override void OnWrite(int register, byte value)
    {
        if (register > 0x06) Registers[register] = value; // the id and revision registers are read-only
    }

    protected override bool OnRead(int register)
    {
        if (register is not ((int)Bno055Register.ACC_DATA_X_LSB or (int)Bno055Register.MAG_DATA_X_LSB or (int)Bno055Register.GYR_DATA_X_LSB))
            return false;
        if (OperationMode == 0) return true; // configuration mode: no measurements
        byte units = Registers[(int)Bno055Register.UNIT_SEL];
        double accelLsb = (units & 1) != 0 ? 1000 / ImuUnits.StandardGravity : 100; // mg or m/s²
        double gyroLsb = (units & 2) != 0 ? 900 * Math.PI / 180 : 16; // rad/s or °/s, per °/s
        PutVector((int)Bno055Register.ACC_DATA_X_LSB, Acceleration, accelLsb);
        PutVector((int)Bno055Register.MAG_DATA_X_LSB, MagneticField, 16);
        PutVector((int)Bno055Register.GYR_DATA_X_LSB, AngularRate, gyroLsb);
        return true;
    }
}
