using System.Device.Spi;

namespace EdgeNets.Host.Devices;

/// <summary>
/// A simulated chip's register file (<see cref="SimulatedRegisterDevice"/>) on an SPI bus: the first byte of a transfer
/// is the command (bit 7 read, <paramref name="multiByteBit"/> a burst, the address below), the bytes after it carry
/// register values out or in. Without the burst bit only one register is read or written. A bus in another clock mode
/// than the chip's, or clocked faster than it allows, samples bits on the wrong edge: the chip is not understood and
/// answers 0xFF (MISO idles high), as a real one does.
/// </summary>
public sealed class SimulatedSpiDevice(SimulatedRegisterDevice chip, SpiConnectionSettings settings, SpiMode chipMode,
                                       int maxClockHz, byte multiByteBit) : SpiDevice
{
    private const byte AddressMask = 0x3F;

    public override SpiConnectionSettings ConnectionSettings { get; } = settings;

    public SimulatedRegisterDevice Chip => chip;

    /// <summary>A simulated ADXL345 behind <see cref="Adxl345.SpiSettings"/> (or other settings, to test them).</summary>
    public static SimulatedSpiDevice Adxl345(SimulatedAdxl345 chip, SpiConnectionSettings settings) =>
        new(chip, settings, SpiMode.Mode3, Devices.Adxl345.MaxSpiClockHz, Devices.Adxl345.SpiMultiByte);

    private bool Understood => ConnectionSettings.Mode == chipMode && ConnectionSettings.ClockFrequency <= maxClockHz;

    public override void TransferFullDuplex(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        if (writeBuffer.Length != readBuffer.Length) throw new ArgumentException("SPI transfers send and receive the same number of bytes");
        if (writeBuffer.IsEmpty) return;
        readBuffer.Fill(0xFF);
        if (!Understood) return;
        byte command = writeBuffer[0];
        byte register = (byte)(command & AddressMask);
        int count = (command & multiByteBit) != 0 ? writeBuffer.Length - 1 : Math.Min(1, writeBuffer.Length - 1);
        if ((command & SpiRegisters.ReadBit) != 0)
            chip.WriteRead([register], readBuffer.Slice(1, count));
        else
        {
            Span<byte> write = stackalloc byte[count + 1];
            write[0] = register;
            writeBuffer.Slice(1, count).CopyTo(write[1..]);
            chip.Write(write);
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Span<byte> ignored = stackalloc byte[buffer.Length];
        TransferFullDuplex(buffer, ignored);
    }

    public override void WriteByte(byte value) => Write([value]);

    /// <summary>Clocking without a command: the chip has nothing to say.</summary>
    public override void Read(Span<byte> buffer) => buffer.Fill(0xFF);

    public override byte ReadByte() => 0xFF;

    protected override void Dispose(bool disposing)
    {
        if (disposing) chip.Dispose();
        base.Dispose(disposing);
    }
}
