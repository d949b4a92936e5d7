using System.Buffers.Binary;
using System.Device.I2c;
using System.Device.Spi;

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
/// The ADXL345 accelerometer on I2C or SPI, written from the data sheet. Iot.Device.Bindings' <c>Adxl345</c> (4.2.0)
/// talks SPI only, and the common breakout boards are wired for I2C (address 0x53 with SDO/ALT ADDRESS low, 0x1D high);
/// on SPI its reading is right but it leaves the output data rate at the reset value (100 Hz), reads 10-bit values
/// (31.2 mg/LSB at ±16 g) and allocates per reading, so this driver serves both buses (4-wire SPI, mode 3, up to
/// 5 MHz; a read sets bit 7 of the command and a burst bit 6, the data sheet's figures 37 to 39).
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

    /// <summary>SPI command bit 6: the address advances for every byte of the transfer (a burst).</summary>
    public const byte SpiMultiByte = 0x40;
    /// <summary>The data sheet's maximum SPI clock.</summary>
    public const int MaxSpiClockHz = 5_000_000;

    private readonly I2cDevice? _i2c;
    private readonly SpiDevice? _spi;
    private readonly bool _ownsDevice;

    public Adxl345(I2cDevice device, double sampleRateHz = 50, bool ownsDevice = true)
    {
        _i2c = device;
        _ownsDevice = ownsDevice;
        OutputRateHz = Configure(sampleRateHz);
    }

    /// <param name="device">Opened with <see cref="SpiSettings"/>.</param>
    public Adxl345(SpiDevice device, double sampleRateHz = 50, bool ownsDevice = true)
    {
        _spi = device;
        _ownsDevice = ownsDevice;
        OutputRateHz = Configure(sampleRateHz);
    }

    /// <summary>SPI bus <paramref name="busId"/> (/dev/spidevBUS.CS), chip select <paramref name="chipSelect"/>: mode 3 (CPOL = CPHA = 1), 5 MHz.</summary>
    public static SpiConnectionSettings SpiSettings(int busId, int chipSelect) =>
        new(busId, chipSelect) { Mode = SpiMode.Mode3, ClockFrequency = MaxSpiClockHz };

    private double Configure(double sampleRateHz)
    {
        byte id = ReadRegister(Adxl345Register.DEVID);
        if (id != DeviceId) throw new IOException($"ADXL345: DEVID is 0x{id:X2}, expected 0x{DeviceId:X2} (wrong address or not an ADXL345)");
        byte rateCode = RateCode(sampleRateHz);
        WriteRegister(Adxl345Register.POWER_CTL, 0); // standby while configuring
        WriteRegister(Adxl345Register.BW_RATE, rateCode);
        WriteRegister(Adxl345Register.DATA_FORMAT, FullResolution16G);
        WriteRegister(Adxl345Register.POWER_CTL, Measure);
        return OutputRate(rateCode);
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

    public byte ReadRegister(Adxl345Register register)
    {
        Span<byte> value = stackalloc byte[1];
        Read(register, value);
        return value[0];
    }

    public void WriteRegister(Adxl345Register register, byte value)
    {
        if (_spi != null) SpiRegisters.Write(_spi, (byte)register, value);
        else I2cRegisters.Write(_i2c!, (byte)register, value);
    }

    private void Read(Adxl345Register register, Span<byte> destination)
    {
        if (_spi != null) SpiRegisters.Read(_spi, (byte)register, destination, SpiMultiByte);
        else I2cRegisters.Read(_i2c!, (byte)register, destination);
    }

    /// <summary>Acceleration X, Y, Z in g.</summary>
    public void ReadSample(Span<float> destination)
    {
        if (destination.Length < 3) throw new ArgumentException("needs room for 3 values", nameof(destination));
        Span<byte> raw = stackalloc byte[6];
        Read(Adxl345Register.DATAX0, raw);
        for (int axis = 0; axis < 3; axis++)
            destination[axis] = (float)(BinaryPrimitives.ReadInt16LittleEndian(raw[(axis * 2)..]) / LsbPerG);
    }

    public void Dispose()
    {
        if (!_ownsDevice) return;
        _i2c?.Dispose();
        _spi?.Dispose();
    }
}
