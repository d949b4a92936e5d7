using System.Buffers.Binary;
using System.Device.I2c;

namespace EdgeNets.Host.Devices;

/// <summary>
/// A BME280 without hardware: an <see cref="I2cDevice"/> with the chip's register file (Bosch BST-BME280-DS002,
/// section 5.3): chip id 0x60 at 0xD0, trimming parameters at 0x88..0xA1 and 0xE1..0xE7, and the raw 20-bit pressure
/// and temperature and 16-bit humidity readings at 0xF7..0xFE. Writes set the register pointer (first byte) and then
/// registers; reads return registers from the pointer on. The default trimming and readings are the worked example of
/// the BMP280 datasheet (BST-BMP280-DS001, section 3.12), which gives 25.08 °C and 100653.27 Pa.
/// </summary>
public sealed class SimulatedBme280 : I2cDevice
{
    public const byte ChipId = 0x60;
    private readonly byte[] _registers = new byte[256];
    private int _pointer;

    public SimulatedBme280(int busId = 1, int address = 0x76)
    {
        ConnectionSettings = new I2cConnectionSettings(busId, address);
        _registers[0xD0] = ChipId;
        SetTrimming([27504, 26435, -1000], [36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000], (75, 362, 0, 313, 50, 30));
        SetRaw(temperature: 519888, pressure: 415148, humidity: 30000);
    }

    public override I2cConnectionSettings ConnectionSettings { get; }

    /// <summary>Called before each read of the data registers, e.g. to change the simulated weather.</summary>
    public Action<SimulatedBme280>? BeforeDataRead { get; set; }

    public byte Register(int address) => _registers[address];

    /// <summary>dig_T1..T3 and dig_P1..P9 (T1 and P1 unsigned) and the humidity trimming dig_H1..H6.</summary>
    public void SetTrimming(int[] t, int[] p, (int H1, int H2, int H3, int H4, int H5, int H6) h)
    {
        for (int i = 0; i < 3; i++) BinaryPrimitives.WriteUInt16LittleEndian(_registers.AsSpan(0x88 + 2 * i), (ushort)t[i]);
        for (int i = 0; i < 9; i++) BinaryPrimitives.WriteUInt16LittleEndian(_registers.AsSpan(0x8E + 2 * i), (ushort)p[i]);
        _registers[0xA1] = (byte)h.H1;
        BinaryPrimitives.WriteUInt16LittleEndian(_registers.AsSpan(0xE1), (ushort)h.H2);
        _registers[0xE3] = (byte)h.H3;
        // dig_H4 is 0xE4[7:0] << 4 | 0xE5[3:0]; dig_H5 is 0xE6[7:0] << 4 | 0xE5[7:4].
        _registers[0xE4] = (byte)(h.H4 >> 4);
        _registers[0xE5] = (byte)((h.H4 & 0xF) | (h.H5 & 0xF) << 4);
        _registers[0xE6] = (byte)(h.H5 >> 4);
        _registers[0xE7] = (byte)h.H6;
    }

    /// <summary>The raw ADC readings: 20-bit temperature and pressure, 16-bit humidity.</summary>
    public void SetRaw(int temperature, int pressure, int humidity)
    {
        Put20(0xF7, pressure);
        Put20(0xFA, temperature);
        BinaryPrimitives.WriteUInt16BigEndian(_registers.AsSpan(0xFD), (ushort)humidity);
    }

    private void Put20(int msb, int value)
    {
        _registers[msb] = (byte)(value >> 12);
        _registers[msb + 1] = (byte)(value >> 4);
        _registers[msb + 2] = (byte)((value & 0xF) << 4);
    }

    public override byte ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        Read(one);
        return one[0];
    }

    public override void Read(Span<byte> buffer)
    {
        if (_pointer >= 0xF7) BeforeDataRead?.Invoke(this);
        for (int i = 0; i < buffer.Length; i++) buffer[i] = _registers[(_pointer + i) & 0xFF];
        _pointer = (_pointer + buffer.Length) & 0xFF;
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.IsEmpty) return;
        _pointer = buffer[0];
        // Register writes are address/value pairs (section 6.2.1); the read-only id and data registers keep their values.
        for (int i = 0; i + 1 < buffer.Length; i += 2)
            if (buffer[i] is 0xF2 or 0xF4 or 0xF5) _registers[buffer[i]] = buffer[i + 1];
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        Write(writeBuffer);
        Read(readBuffer);
    }
}
