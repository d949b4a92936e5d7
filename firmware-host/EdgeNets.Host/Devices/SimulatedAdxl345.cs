namespace EdgeNets.Host.Devices;

/// <summary>
/// An ADXL345 without hardware: DEVID 0xE5, and the data registers filled from <see cref="Acceleration"/> (g) with the
/// scale DATA_FORMAT selects (data sheet table 1 and the DATA_FORMAT description: full resolution 256 LSB/g at every
/// range; 10-bit mode 256, 128, 64, 32 LSB/g at ±2, 4, 8, 16 g), only while POWER_CTL's Measure bit is set.
/// </summary>
public sealed class SimulatedAdxl345 : SimulatedRegisterDevice
{
    public SimulatedAdxl345(int busId = 1, int address = Adxl345.DefaultAddress) : base(busId, address)
    {
        Registers[(int)Adxl345Register.DEVID] = Adxl345.DeviceId;
        Registers[(int)Adxl345Register.BW_RATE] = 0x0A; // reset value: 100 Hz
    }

    /// <summary>Acceleration in g on X, Y, Z (gravity included).</summary>
    public (double X, double Y, double Z) Acceleration { get; set; } = (0, 0, 1);

    public Action<SimulatedAdxl345>? BeforeDataRead { get; set; }

    public bool IsMeasuring => (Registers[(int)Adxl345Register.POWER_CTL] & Adxl345.Measure) != 0;

    protected override void OnWrite(int register, byte value)
    {
        if (register != (int)Adxl345Register.DEVID) Registers[register] = value;
    }

    protected override bool OnRead(int register)
    {
        if (register != (int)Adxl345Register.DATAX0) return false;
        BeforeDataRead?.Invoke(this);
        if (!IsMeasuring) return true; // standby: the data registers keep their last values
        byte format = Registers[(int)Adxl345Register.DATA_FORMAT];
        int range = format & 3;
        double lsbPerG = (format & 0x08) != 0 ? Adxl345.LsbPerG : Adxl345.LsbPerG / (1 << range);
        // Full resolution keeps 3.9 mg/LSB up to the range (13 bits at ±16 g); 10-bit mode saturates at ±512 LSB.
        double limit = (format & 0x08) != 0 ? (2 << range) * Adxl345.LsbPerG : 512;
        PutAxis((int)Adxl345Register.DATAX0, Acceleration.X * lsbPerG, limit);
        PutAxis((int)Adxl345Register.DATAY0, Acceleration.Y * lsbPerG, limit);
        PutAxis((int)Adxl345Register.DATAZ0, Acceleration.Z * lsbPerG, limit);
        return true;
    }

    private void PutAxis(int low, double raw, double limit) => PutInt16LittleEndian(low, Math.Clamp(raw, -limit, limit - 1), 1);
}
