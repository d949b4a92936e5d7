namespace EdgeNets.Host.Sources;

/// <summary>
/// Which exceptions from a live device mean "the device went away or stopped answering" (reopen it later) rather than
/// a bug or a wrong configuration (end the program). Decided by exception class, because the same loss surfaces
/// differently depending on when it is noticed: a USB serial adapter pulled mid-read completes the read with
/// <see cref="ObjectDisposedException"/> ("The port is closed"), a read on the dead descriptor gives
/// <see cref="IOException"/>, and reopening while the node is gone or recreated by udev without its permissions yet
/// gives <see cref="UnauthorizedAccessException"/> from <c>SerialPort.Open</c> ("Access to the port is denied") or
/// <see cref="FileNotFoundException"/> from other devices.
/// </summary>
public static class DeviceFailure
{
    /// <summary>
    /// True for <see cref="IOException"/> (read/ioctl/I2C errors, and a vanished device node: file or directory not
    /// found), <see cref="ObjectDisposedException"/> (the port was closed under the reader),
    /// <see cref="UnauthorizedAccessException"/> (a recreated node without its permissions yet) and
    /// <see cref="TimeoutException"/> (a device that stopped answering).
    /// </summary>
    public static bool IsDeviceLoss(Exception e) =>
        e is IOException or ObjectDisposedException or UnauthorizedAccessException or TimeoutException;
}
