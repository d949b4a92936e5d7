namespace EdgeNets.Host.Devices;

/// <summary>
/// The AK8963 magnetometer of a simulated MPU-9250: WIA 0x48, the sensitivity adjustment values in the fuse ROM
/// (readable in fuse ROM access mode only), and HXL..HZH filled from <see cref="MagneticField"/> (µT, in the AK8963's
/// own axes) with 0.15 µT/LSB (16-bit output) or 0.6 µT/LSB (14-bit) and the adjustment undone, as a chip with those
/// fuse values measures, while a continuous measurement mode is set. <see cref="Reachable"/> models the MPU-9250's
/// bypass multiplexer: without it the magnetometer does not answer.
/// </summary>
public sealed class SimulatedAk8963 : SimulatedRegisterDevice
{
    public SimulatedAk8963(int busId = 1, byte asaX = 128, byte asaY = 128, byte asaZ = 128) : base(busId, Mpu9250.MagnetometerAddress)
    {
        Asa = (asaX, asaY, asaZ);
        Registers[(int)Ak8963Register.WIA] = Mpu9250.MagnetometerId;
    }

    public (byte X, byte Y, byte Z) Asa { get; }

    /// <summary>The field in µT on the AK8963's X, Y, Z.</summary>
    public (double X, double Y, double Z) MagneticField { get; set; } = (0, 20, 40);

    /// <summary>False while the bus does not reach the magnetometer (an MPU-9250 without bypass mode).</summary>
    public Func<bool> Reachable { get; set; } = () => true;

    public byte Mode => (byte)(Registers[(int)Ak8963Register.CNTL1] & 0x0F);

    public override void Read(Span<byte> buffer)
    {
        if (!Reachable()) throw new IOException("simulated I2C bus error: no device at 0x0C (remote I/O error)");
        base.Read(buffer);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!Reachable()) throw new IOException("simulated I2C bus error: no device at 0x0C (remote I/O error)");
        base.Write(buffer);
    }

    protected override void OnWrite(int register, byte value)
    {
        if (register != (int)Ak8963Register.CNTL1) return;
        Registers[register] = value;
        bool fuse = (value & 0x0F) == Mpu9250.FuseRomAccess;
        Registers[(int)Ak8963Register.ASAX] = fuse ? Asa.X : (byte)0;
        Registers[(int)Ak8963Register.ASAX + 1] = fuse ? Asa.Y : (byte)0;
        Registers[(int)Ak8963Register.ASAX + 2] = fuse ? Asa.Z : (byte)0;
    }

    protected override bool OnRead(int register)
    {
        if (register != (int)Ak8963Register.HXL) return false;
        if (Mode is 0x02 or 0x06) // continuous measurement mode 1 (8 Hz) or 2 (100 Hz)
        {
            bool sixteenBit = (Registers[(int)Ak8963Register.CNTL1] & 0x10) != 0;
            double lsbPerMicrotesla = 1 / (sixteenBit ? Mpu9250.MicroteslaPerLsb : 0.6);
            // The chip measures the unadjusted field: the driver's adjustment brings back MagneticField.
            var b = MagneticField;
            PutVector((int)Ak8963Register.HXL,
                (b.X / Mpu9250.Adjustment(Asa.X), b.Y / Mpu9250.Adjustment(Asa.Y), b.Z / Mpu9250.Adjustment(Asa.Z)), lsbPerMicrotesla);
            Registers[(int)Ak8963Register.ST1] = 0x01; // DRDY
            Registers[(int)Ak8963Register.ST2] = (byte)(sixteenBit ? 0x10 : 0); // BITM mirrors the output width
        }
        return true;
    }
}
