using System.Buffers.Binary;
using System.Device.I2c;

namespace EdgeNets.Host.Devices;

/// <summary>ADXL345 registers used here (Analog Devices ADXL345 data sheet, rev. G, table 19).</summary>
public enum Adxl345Register : byte
{
    DEVID = 0x00,
    BW_RATE = 0x2C,
    POWER_CTL = 0x2D,
    DATA_FORMAT = 0x31,
    DATAX0 = 0x32,
    DATAX1 = 0x33,
    DATAY0 = 0x34,
    DATAY1 = 0x35,
    DATAZ0 = 0x36,
    DATAZ1 = 0x37,
}

/// <summary>
/// The ADXL345 accelerometer on I2C, written from the data sheet: Iot.Device.Bindings' <c>Adxl345</c> (4.2.0) talks
/// SPI only, and the common breakout boards are wired for I2C (address 0x53 with SDO/ALT ADDRESS low, 0x1D high).
/// Full-resolution mode at ±16 g (DATA_FORMAT FULL_RES, range 11): every range then has the same scale, 3.9 mg/LSB
/// (256 LSB/g, table 1); the output data rate is the lowest BW_RATE step at or above the requested rate; measurement
/// starts with POWER_CTL's Measure bit; each sample is one 6-byte burst of DATAX0..DATAZ1 (little-endian int16).
/// </summary>
public sealed class Adxl345 : IImuSensor
{
    public const byte DefaultAddress = 0x53;
    public const byte DeviceId = 0xE5;
    /// <summary>Full resolution: 256 LSB/g (3.9 mg/LSB) at every range.</summary>
    public const double LsbPerG = 256;
    public const byte FullResolution16G = 0x0B; // FULL_RES (bit 3) | range ±16 g (bits 1:0 = 11)
    public const byte Measure = 0x08; // POWER_CTL bit 3

    private readonly I2cDevice _device;
    private readonly bool _ownsDevice;

    public Adxl345(I2cDevice device, double sampleRateHz = 50, bool ownsDevice = true)
    {
        _device = device;
        _ownsDevice = ownsDevice;
        byte id = ReadRegister(Adxl345Register.DEVID);
        if (id != DeviceId) throw new IOException($"ADXL345: DEVID is 0x{id:X2}, expected 0x{DeviceId:X2} (wrong address or not an ADXL345)");
        byte rateCode = RateCode(sampleRateHz);
        WriteRegister(Adxl345Register.POWER_CTL, 0); // standby while configuring
        WriteRegister(Adxl345Register.BW_RATE, rateCode);
        WriteRegister(Adxl345Register.DATA_FORMAT, FullResolution16G);
        WriteRegister(Adxl345Register.POWER_CTL, Measure);
        OutputRateHz = OutputRate(rateCode);
    }

    public int Channels => 3;
    public double OutputRateHz { get; }

    /// <summary>Table 7: output data rate = 3200 Hz / 2^(15 - code) for codes 0x6 (6.25 Hz) to 0xF (3200 Hz).</summary>
    public static double OutputRate(byte code) => 3200.0 / (1 << (15 - code));

    /// <summary>The lowest rate code whose output data rate is at least <paramref name="hz"/>.</summary>
    public static byte RateCode(double hz)
    {
        if (hz <= 0 || hz > 3200) throw new ArgumentOutOfRangeException(nameof(hz), "the ADXL345 samples at up to 3200 Hz");
        byte code = 0x6;
        while (OutputRate(code) < hz) code++;
        return code;
    }

    public byte ReadRegister(Adxl345Register register) => I2cRegisters.Read(_device, (byte)register);

    public void WriteRegister(Adxl345Register register, byte value) => I2cRegisters.Write(_device, (byte)register, value);

    /// <summary>Acceleration X, Y, Z in g.</summary>
    public void ReadSample(Span<float> destination)
    {
        if (destination.Length < 3) throw new ArgumentException("needs room for 3 values", nameof(destination));
        Span<byte> raw = stackalloc byte[6];
        I2cRegisters.Read(_device, (byte)Adxl345Register.DATAX0, raw);
        for (int axis = 0; axis < 3; axis++)
            destination[axis] = (float)(BinaryPrimitives.ReadInt16LittleEndian(raw[(axis * 2)..]) / LsbPerG);
    }

    public void Dispose()
    {
        if (_ownsDevice) _device.Dispose();
    }
}
