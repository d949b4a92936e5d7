using System.Device.I2c;

namespace EdgeNets.Host.Devices;

/// <summary>
/// Register access shared by the host's chip drivers: a write of the register address followed by a read (one
/// combined transfer, so no other master can slip in between), and a write of address and value.
/// </summary>
public static class I2cRegisters
{
    public static byte Read(I2cDevice device, byte register)
    {
        Span<byte> value = stackalloc byte[1];
        Read(device, register, value);
        return value[0];
    }

    /// <summary>Reads <paramref name="destination"/>.Length registers from <paramref name="register"/> on (a burst).</summary>
    public static void Read(I2cDevice device, byte register, Span<byte> destination)
    {
        Span<byte> address = [register];
        device.WriteRead(address, destination);
    }

    public static void Write(I2cDevice device, byte register, byte value)
    {
        Span<byte> command = [register, value];
        device.Write(command);
    }
}
