using System.Device.Spi;

namespace EdgeNets.Host.Devices;

/// <summary>
/// Register access over SPI for chips whose first byte is the command: bit 7 set for a read, the register address
/// below it, and (on chips such as the ADXL345) a multi-byte bit that makes the chip advance the address for a burst.
/// A read is one full-duplex transfer (the command, then as many don't-care bytes as registers), so chip select stays
/// low for the whole burst and its values come from one instant.
/// </summary>
public static class SpiRegisters
{
    public const byte ReadBit = 0x80;
    private const int LongestBurst = 32;

    /// <summary>Reads <paramref name="destination"/>.Length registers from <paramref name="register"/> on.</summary>
    public static void Read(SpiDevice device, byte register, Span<byte> destination, byte multiByteBit)
    {
        if (destination.Length > LongestBurst) throw new ArgumentException($"at most {LongestBurst} registers per burst", nameof(destination));
        Span<byte> command = stackalloc byte[LongestBurst + 1];
        Span<byte> reply = stackalloc byte[LongestBurst + 1];
        command = command[..(destination.Length + 1)];
        reply = reply[..(destination.Length + 1)];
        command.Clear();
        command[0] = (byte)(register | ReadBit | (destination.Length > 1 ? multiByteBit : 0));
        device.TransferFullDuplex(command, reply);
        reply[1..].CopyTo(destination);
    }

    public static void Write(SpiDevice device, byte register, byte value)
    {
        Span<byte> command = [register, value];
        device.Write(command);
    }
}
