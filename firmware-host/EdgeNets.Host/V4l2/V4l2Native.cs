using System.Runtime.InteropServices;

namespace EdgeNets.Host.V4l2;

// Kernel ABI of <linux/videodev2.h> for 64-bit Linux (x86-64 and arm64 are both LP64 with natural alignment, so the
// layouts agree). Only the fields the capture path uses are named; the rest is kept as padding of the right size.

[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2Capability
{
    public fixed byte Driver[16];
    public fixed byte Card[32];
    public fixed byte BusInfo[32];
    public uint Version;
    public uint Capabilities;
    public uint DeviceCaps;
    public fixed uint Reserved[3];
}

[StructLayout(LayoutKind.Sequential)]
public struct V4l2PixFormat
{
    public uint Width;
    public uint Height;
    public uint PixelFormat;
    public uint Field;
    public uint BytesPerLine;
    public uint SizeImage;
    public uint Colorspace;
    public uint Priv;
    public uint Flags;
    public uint YcbcrEnc;
    public uint Quantization;
    public uint XferFunc;
}

/// <summary>struct v4l2_format: the fmt union holds struct v4l2_window (with pointers), so it starts at offset 8.</summary>
[StructLayout(LayoutKind.Explicit, Size = 208)]
public struct V4l2Format
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(8)] public V4l2PixFormat Pix;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2RequestBuffers
{
    public uint Count;
    public uint Type;
    public uint Memory;
    public uint Capabilities;
    public byte Flags;
    public fixed byte Reserved[3];
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2Timecode
{
    public uint Type;
    public uint Flags;
    public byte Frames, Seconds, Minutes, Hours;
    public fixed byte UserBits[4];
}

/// <summary>struct v4l2_buffer; timestamp is a struct timeval (two longs), m is a union of u32 offset / pointer / fd.</summary>
[StructLayout(LayoutKind.Explicit, Size = 88)]
public struct V4l2Buffer
{
    [FieldOffset(0)] public uint Index;
    [FieldOffset(4)] public uint Type;
    [FieldOffset(8)] public uint BytesUsed;
    [FieldOffset(12)] public uint Flags;
    [FieldOffset(16)] public uint Field;
    [FieldOffset(24)] public long TimestampSeconds;
    [FieldOffset(32)] public long TimestampMicroseconds;
    [FieldOffset(40)] public V4l2Timecode Timecode;
    [FieldOffset(56)] public uint Sequence;
    [FieldOffset(60)] public uint Memory;
    [FieldOffset(64)] public uint Offset;
    [FieldOffset(72)] public uint Length;
    [FieldOffset(76)] public uint Reserved2;
    [FieldOffset(80)] public int RequestFd;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2CaptureParm
{
    public uint Capability;
    public uint CaptureMode;
    public uint TimePerFrameNumerator;
    public uint TimePerFrameDenominator;
    public uint ExtendedMode;
    public uint ReadBuffers;
    public fixed uint Reserved[4];
}

[StructLayout(LayoutKind.Explicit, Size = 204)]
public struct V4l2StreamParm
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public V4l2CaptureParm Capture;
}

[StructLayout(LayoutKind.Sequential)]
public struct PollFd
{
    public int Fd;
    public short Events;
    public short Revents;
}

public static class V4l2Constants
{
    public const uint BufTypeVideoCapture = 1;
    public const uint MemoryMmap = 1;
    public const uint FieldNone = 1;
    public const uint CapVideoCapture = 0x00000001;
    public const uint CapStreaming = 0x04000000;
    public const uint CapDeviceCaps = 0x80000000;
    public static readonly uint PixFmtYuyv = FourCc('Y', 'U', 'Y', 'V');
    public static readonly uint PixFmtGrey = FourCc('G', 'R', 'E', 'Y');

    public static uint FourCc(char a, char b, char c, char d) => (uint)a | (uint)b << 8 | (uint)c << 16 | (uint)d << 24;

    // asm-generic/ioctl.h (used by x86-64 and arm64): dir << 30 | size << 16 | type << 8 | nr.
    private const uint IocWrite = 1, IocRead = 2;
    public static uint Ioc(uint dir, char type, uint nr, int size) => dir << 30 | (uint)size << 16 | (uint)type << 8 | nr;

    public static readonly uint VIDIOC_QUERYCAP = Ioc(IocRead, 'V', 0, Marshal.SizeOf<V4l2Capability>());
    public static readonly uint VIDIOC_S_FMT = Ioc(IocRead | IocWrite, 'V', 5, Marshal.SizeOf<V4l2Format>());
    public static readonly uint VIDIOC_REQBUFS = Ioc(IocRead | IocWrite, 'V', 8, Marshal.SizeOf<V4l2RequestBuffers>());
    public static readonly uint VIDIOC_QUERYBUF = Ioc(IocRead | IocWrite, 'V', 9, Marshal.SizeOf<V4l2Buffer>());
    public static readonly uint VIDIOC_QBUF = Ioc(IocRead | IocWrite, 'V', 15, Marshal.SizeOf<V4l2Buffer>());
    public static readonly uint VIDIOC_DQBUF = Ioc(IocRead | IocWrite, 'V', 17, Marshal.SizeOf<V4l2Buffer>());
    public static readonly uint VIDIOC_STREAMON = Ioc(IocWrite, 'V', 18, sizeof(int));
    public static readonly uint VIDIOC_STREAMOFF = Ioc(IocWrite, 'V', 19, sizeof(int));
    public static readonly uint VIDIOC_S_PARM = Ioc(IocRead | IocWrite, 'V', 22, Marshal.SizeOf<V4l2StreamParm>());
}

/// <summary>The libc calls the camera and the pipe reader need (source-generated marshalling, so NativeAOT-safe).</summary>
internal static unsafe partial class Libc
{
    public const int O_RDONLY = 0, O_RDWR = 2, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    public const int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;
    public const short POLLIN = 1, POLLERR = 8, POLLHUP = 0x10;
    public const int EINTR = 4, EAGAIN = 11;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    public const int SEEK_CUR = 1;

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    public static partial long Lseek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(void* address, nuint length);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errno);

    public static string Describe(int errno) => Marshal.PtrToStringUTF8(StrError(errno)) ?? $"errno {errno}";
}
