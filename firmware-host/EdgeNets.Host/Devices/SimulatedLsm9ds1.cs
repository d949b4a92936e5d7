namespace EdgeNets.Host.Devices;

/// <summary>
/// An LSM9DS1 without hardware: the accelerometer/gyroscope device (<see cref="AccelGyro"/>) and the magnetometer
/// device (<see cref="Magnetometer"/>), each with its register file and WHO_AM_I value. Data registers are filled from
/// <see cref="Acceleration"/> (g), <see cref="AngularRate"/> (°/s) and <see cref="MagneticField"/> (µT) with the
/// data sheet's sensitivities (table 3) for the ranges the control registers select.
/// </summary>
public sealed class SimulatedLsm9ds1
{
    /// <summary>Table 3: mg/LSB for FS_XL = 00, 01, 10, 11 (±2, ±16, ±4, ±8 g).</summary>
    public static readonly double[] AccelMgPerLsb = [0.061, 0.732, 0.122, 0.244];
    /// <summary>Table 3: mdps/LSB for FS_G = 00, 01, 11 (±245, ±500, ±2000 °/s); 10 is not available.</summary>
    public static readonly double[] GyroMdpsPerLsb = [8.75, 17.50, double.NaN, 70];
    /// <summary>Table 3: mgauss/LSB for FS = 00, 01, 10, 11 (±4, ±8, ±12, ±16 gauss).</summary>
    public static readonly double[] MagMgaussPerLsb = [0.14, 0.29, 0.43, 0.58];

    public SimulatedLsm9ds1(int busId = 1)
    {
        AccelGyro = new AgDevice(this, busId);
        Magnetometer = new MagDevice(this, busId);
    }

    public SimulatedRegisterDevice AccelGyro { get; }
    public SimulatedRegisterDevice Magnetometer { get; }

    public (double X, double Y, double Z) Acceleration { get; set; } = (0, 0, 1);
    public (double X, double Y, double Z) AngularRate { get; set; }
    /// <summary>Magnetic field in µT (the Earth's is 25 to 65 µT).</summary>
    public (double X, double Y, double Z) MagneticField { get; set; } = (20, 0, -40);

    private sealed class AgDevice : SimulatedRegisterDevice
    {
        private readonly SimulatedLsm9ds1 _chip;

        public AgDevice(SimulatedLsm9ds1 chip, int busId) : base(busId, Lsm9ds1.DefaultAddress)
        {
            _chip = chip;
            Registers[(int)Lsm9ds1AgRegister.WHO_AM_I] = Lsm9ds1.AgWhoAmIValue;
            Registers[(int)Lsm9ds1AgRegister.CTRL_REG8] = 0x04; // reset value: IF_ADD_INC
        }

        protected override int AddressMask => 0x7F;

        protected override void OnWrite(int register, byte value)
        {
            if (register != (int)Lsm9ds1AgRegister.WHO_AM_I) Registers[register] = value;
        }

        protected override bool OnRead(int register)
        {
            bool powered = Registers[(int)Lsm9ds1AgRegister.CTRL_REG1_G] >> 5 != 0; // ODR_G = 000: power-down
            if (register == (int)Lsm9ds1AgRegister.OUT_X_L_XL)
            {
                if (powered)
                {
                    double lsbPerG = 1000 / AccelMgPerLsb[Registers[(int)Lsm9ds1AgRegister.CTRL_REG6_XL] >> 3 & 3];
                    PutVector((int)Lsm9ds1AgRegister.OUT_X_L_XL, _chip.Acceleration, lsbPerG);
                }
                return true;
            }
            if (register == (int)Lsm9ds1AgRegister.OUT_X_L_G)
            {
                if (powered)
                {
                    double lsbPerDps = 1000 / GyroMdpsPerLsb[Registers[(int)Lsm9ds1AgRegister.CTRL_REG1_G] >> 3 & 3];
                    PutVector((int)Lsm9ds1AgRegister.OUT_X_L_G, _chip.AngularRate, lsbPerDps);
                }
                return true;
            }
            return false;
        }
    }

    private sealed class MagDevice : SimulatedRegisterDevice
    {
        private readonly SimulatedLsm9ds1 _chip;

        public MagDevice(SimulatedLsm9ds1 chip, int busId) : base(busId, Lsm9ds1.DefaultMagnetometerAddress)
        {
            _chip = chip;
            Registers[(int)Lsm9ds1MagRegister.WHO_AM_I_M] = Lsm9ds1.MagWhoAmIValue;
            Registers[(int)Lsm9ds1MagRegister.CTRL_REG3_M] = 0x03; // reset value: power-down
        }

        protected override int AddressMask => 0x7F;

        protected override void OnWrite(int register, byte value)
        {
            if (register != (int)Lsm9ds1MagRegister.WHO_AM_I_M) Registers[register] = value;
        }

        protected override bool OnRead(int register)
        {
            if (register != (int)Lsm9ds1MagRegister.OUT_X_L_M) return false;
            if ((Registers[(int)Lsm9ds1MagRegister.CTRL_REG3_M] & 3) == 0) // MD = 00: continuous conversion
            {
                double lsbPerMicrotesla = 1000 / MagMgaussPerLsb[Registers[(int)Lsm9ds1MagRegister.CTRL_REG2_M] >> 5 & 3] / ImuUnits.MicroteslaPerGauss;
                PutVector((int)Lsm9ds1MagRegister.OUT_X_L_M, _chip.MagneticField, lsbPerMicrotesla);
            }
            return true;
        }
    }
}
