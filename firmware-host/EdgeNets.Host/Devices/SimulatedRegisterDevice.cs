using System.Buffers.Binary;
using System.Device.I2c;

namespace EdgeNets.Host.Devices;

/// <summary>
/// The register file of an I2C chip without hardware, the common part of the simulated sensors: a write sets the
/// register pointer (its first byte, masked with <see cref="AddressMask"/>) and writes the following bytes to registers
/// from there on (auto-increment); a read returns registers from the pointer on. <see cref="OnRead"/> lets a chip latch
/// new data before its data registers are read, <see cref="OnWrite"/> decides what a register write does.
/// <see cref="FailAfterDataReads"/> makes the bus fail (IOException) like a loose cable.
/// </summary>
public abstract class SimulatedRegisterDevice : I2cDevice
{
    protected readonly byte[] Registers = new byte[256];
    private int _pointer;
    private bool _failed;

    protected SimulatedRegisterDevice(int busId, int address)
    {
        ConnectionSettings = new I2cConnectionSettings(busId, address);
    }

    public override I2cConnectionSettings ConnectionSettings { get; }

    /// <summary>The bits of the first written byte that address a register (the rest select auto-increment and the like).</summary>
    protected virtual int AddressMask => 0xFF;

    /// <summary>After this many reads of the data registers every transfer throws <see cref="IOException"/>; -1 never.</summary>
    public int FailAfterDataReads { get; set; } = -1;

    public int DataReads { get; private set; }

    /// <summary>True when the next read of the data registers fails (<see cref="FailAfterDataReads"/>).</summary>
    protected bool NextDataReadFails => FailAfterDataReads >= 0 && DataReads >= FailAfterDataReads;

    public byte Register(int address) => Registers[address];

    /// <summary>Called before a read that starts at <paramref name="register"/>; true when it reads the chip's data registers.</summary>
    protected abstract bool OnRead(int register);

    /// <summary>A write of <paramref name="value"/> to <paramref name="register"/>; by default the register takes it.</summary>
    protected virtual void OnWrite(int register, byte value) => Registers[register] = value;

    public override byte ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        Read(one);
        return one[0];
    }

    public override void Read(Span<byte> buffer)
    {
        ThrowIfFailed();
        if (OnRead(_pointer))
        {
            if (NextDataReadFails)
            {
                _failed = true;
                ThrowIfFailed();
            }
            DataReads++;
        }
        for (int i = 0; i < buffer.Length; i++) buffer[i] = Registers[(_pointer + i) & 0xFF];
        _pointer = (_pointer + buffer.Length) & 0xFF;
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfFailed();
        if (buffer.IsEmpty) return;
        _pointer = buffer[0] & AddressMask;
        for (int i = 1; i < buffer.Length; i++)
        {
            OnWrite(_pointer, buffer[i]);
            _pointer = (_pointer + 1) & 0xFF;
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

    /// <summary>Stores a physical value as a little-endian int16 register pair with <paramref name="lsbPerUnit"/>, saturating.</summary>
    protected void PutInt16LittleEndian(int low, double value, double lsbPerUnit) =>
        BinaryPrimitives.WriteInt16LittleEndian(Registers.AsSpan(low, 2), Saturate(value * lsbPerUnit));

    /// <summary>Stores X, Y, Z as three little-endian int16 register pairs from <paramref name="low"/> on.</summary>
    protected void PutVector(int low, (double X, double Y, double Z) v, double lsbPerUnit)
    {
        PutInt16LittleEndian(low, v.X, lsbPerUnit);
        PutInt16LittleEndian(low + 2, v.Y, lsbPerUnit);
        PutInt16LittleEndian(low + 4, v.Z, lsbPerUnit);
    }

    protected static short Saturate(double raw) => (short)Math.Clamp(Math.Round(raw), short.MinValue, short.MaxValue);
}
