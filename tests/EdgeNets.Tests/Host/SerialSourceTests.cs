using System.Runtime.InteropServices;
using EdgeNets.Host;
using EdgeNets.Host.Sources;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>The serial source on a pseudo-terminal: the test writes to the master side like a microcontroller would.</summary>
public partial class SerialSourceTests
{
    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static partial int PosixOpenPt(int flags);
    [LibraryImport("libc", EntryPoint = "grantpt")]
    private static partial int GrantPt(int fd);
    [LibraryImport("libc", EntryPoint = "unlockpt")]
    private static partial int UnlockPt(int fd);
    [LibraryImport("libc", EntryPoint = "ptsname")]
    private static partial nint PtsName(int fd);
    [LibraryImport("libc", EntryPoint = "write")]
    private static partial nint Write(int fd, ReadOnlySpan<byte> buffer, nuint count);
    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [Test]
    public void CsvLinesFromTheSerialPortBecomeSamplesAndGarbageIsSkipped()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("pseudo-terminals are tested on Linux");
        int master = PosixOpenPt(2 /* O_RDWR */ | 0x100 /* O_NOCTTY */);
        if (master < 0 || GrantPt(master) != 0 || UnlockPt(master) != 0) Assert.Ignore("no pseudo-terminal available");
        try
        {
            string slave = Marshal.PtrToStringUTF8(PtsName(master))!;
            using var source = new SerialSource(SourceUri.Parse($"serial:{slave}?baud=115200&columns=2,0"));
            var text = "boot v1.2\n1.5,2,-3.25\n7,8\n4,5,6\n"u8;
            Assert.That((long)Write(master, text, (nuint)text.Length), Is.EqualTo(text.Length));
            Assert.That(source.Read(out var first), Is.EqualTo(ReadStatus.Frame));
            Assert.That(first.Values.ToArray(), Is.EqualTo(new[] { -3.25f, 1.5f }));
            Assert.That(source.Read(out var second), Is.EqualTo(ReadStatus.Frame));
            Assert.That(second.Values.ToArray(), Is.EqualTo(new[] { 6f, 4f }));
            Assert.That(source.DroppedFrames, Is.EqualTo(2), "the boot message and the short line");
        }
        finally
        {
            Close(master);
        }
    }

    [Test]
    public void SerialNeedsColumns()
    {
        var e = Assert.Throws<SourceUriException>(() => new SerialSource(SourceUri.Parse("serial:/dev/ttyUSB0?baud=9600")))!;
        Assert.That(e.Message, Does.Contain("columns"));
    }
}
