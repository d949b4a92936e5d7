using System.Runtime.InteropServices;
using EdgeNets.Host.V4l2;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// The V4L2 structures must match the kernel's layout byte for byte. The expected offsets are computed here from the
/// field lists of &lt;linux/videodev2.h&gt; with the C layout rules of each 64-bit ABI (every field aligned to its own
/// alignment, structs padded to their largest alignment), independently of the C# declarations.
/// </summary>
public class V4l2Tests
{
    /// <summary>A C ABI: sizes and alignments of long and pointers (x86-64 SysV and AArch64 AAPCS64 are both LP64).</summary>
    private sealed record Abi(string Name, int LongSize, int PointerSize);
    private static readonly Abi[] Abis = [new("x86-64", 8, 8), new("arm64", 8, 8)];

    private sealed record CField(string Name, int Size, int Align);

    private static (Dictionary<string, int> Offsets, int Size, int Align) Layout(IEnumerable<CField> fields)
    {
        int offset = 0, maxAlign = 1;
        var offsets = new Dictionary<string, int>();
        foreach (var f in fields)
        {
            offset = (offset + f.Align - 1) / f.Align * f.Align;
            offsets[f.Name] = offset;
            offset += f.Size;
            maxAlign = Math.Max(maxAlign, f.Align);
        }
        return (offsets, (offset + maxAlign - 1) / maxAlign * maxAlign, maxAlign);
    }

    private static CField U32(string n) => new(n, 4, 4);
    private static CField Bytes(string n, int count) => new(n, count, 1);

    private static (Dictionary<string, int>, int, int) Capability() =>
        Layout([Bytes("driver", 16), Bytes("card", 32), Bytes("bus_info", 32), U32("version"), U32("capabilities"), U32("device_caps"), new("reserved", 12, 4)]);

    private static (Dictionary<string, int>, int, int) PixFormat() =>
        Layout(new[] { "width", "height", "pixelformat", "field", "bytesperline", "sizeimage", "colorspace", "priv", "flags", "ycbcr_enc", "quantization", "xfer_func" }.Select(U32));

    private static (Dictionary<string, int>, int, int) Format(Abi abi)
    {
        // union fmt { v4l2_pix_format pix; v4l2_pix_format_mplane; v4l2_window win (has pointers); ...; __u8 raw_data[200]; }
        var window = Layout([new("rect", 16, 4), U32("field"), U32("chromakey"), new("clips", abi.PointerSize, abi.PointerSize),
            U32("clipcount"), new("bitmap", abi.PointerSize, abi.PointerSize), Bytes("global_alpha", 1)]);
        int unionAlign = Math.Max(window.Item3, 4);
        int unionSize = (Math.Max(200, window.Item2) + unionAlign - 1) / unionAlign * unionAlign;
        return Layout([U32("type"), new("fmt", unionSize, unionAlign)]);
    }

    private static (Dictionary<string, int>, int, int) RequestBuffers() =>
        Layout([U32("count"), U32("type"), U32("memory"), U32("capabilities"), Bytes("flags", 1), Bytes("reserved", 3)]);

    private static (Dictionary<string, int>, int, int) Buffer(Abi abi)
    {
        var timeval = Layout([new("tv_sec", abi.LongSize, abi.LongSize), new("tv_usec", abi.LongSize, abi.LongSize)]);
        var timecode = Layout([U32("type"), U32("flags"), Bytes("frames", 1), Bytes("seconds", 1), Bytes("minutes", 1), Bytes("hours", 1), Bytes("userbits", 4)]);
        int mSize = Math.Max(Math.Max(4, abi.LongSize), abi.PointerSize); // union m { __u32 offset; unsigned long userptr; struct v4l2_plane *planes; __s32 fd; }
        return Layout([U32("index"), U32("type"), U32("bytesused"), U32("flags"), U32("field"), new("timestamp", timeval.Item2, timeval.Item3),
            new("timecode", timecode.Item2, timecode.Item3), U32("sequence"), U32("memory"), new("m", mSize, mSize), U32("length"), U32("reserved2"), U32("request_fd")]);
    }

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    [Test]
    public void StructSizesAndOffsetsMatchTheKernelAbiOnX64AndArm64()
    {
        foreach (var abi in Abis)
        {
            var (cap, capSize, _) = Capability();
            Assert.That(Marshal.SizeOf<V4l2Capability>(), Is.EqualTo(capSize), $"{abi.Name} v4l2_capability");
            Assert.That(Offset<V4l2Capability>(nameof(V4l2Capability.Capabilities)), Is.EqualTo(cap["capabilities"]));
            Assert.That(Offset<V4l2Capability>(nameof(V4l2Capability.DeviceCaps)), Is.EqualTo(cap["device_caps"]));

            var (pix, pixSize, _) = PixFormat();
            Assert.That(Marshal.SizeOf<V4l2PixFormat>(), Is.EqualTo(pixSize), $"{abi.Name} v4l2_pix_format");
            Assert.That(Offset<V4l2PixFormat>(nameof(V4l2PixFormat.BytesPerLine)), Is.EqualTo(pix["bytesperline"]));
            Assert.That(Offset<V4l2PixFormat>(nameof(V4l2PixFormat.XferFunc)), Is.EqualTo(pix["xfer_func"]));

            var (fmt, fmtSize, _) = Format(abi);
            Assert.That(Marshal.SizeOf<V4l2Format>(), Is.EqualTo(fmtSize), $"{abi.Name} v4l2_format");
            Assert.That(Offset<V4l2Format>(nameof(V4l2Format.Pix)), Is.EqualTo(fmt["fmt"]), $"{abi.Name} v4l2_format.fmt");

            var (req, reqSize, _) = RequestBuffers();
            Assert.That(Marshal.SizeOf<V4l2RequestBuffers>(), Is.EqualTo(reqSize), $"{abi.Name} v4l2_requestbuffers");
            Assert.That(Offset<V4l2RequestBuffers>(nameof(V4l2RequestBuffers.Memory)), Is.EqualTo(req["memory"]));
            Assert.That(Offset<V4l2RequestBuffers>(nameof(V4l2RequestBuffers.Flags)), Is.EqualTo(req["flags"]));

            var (buf, bufSize, _) = Buffer(abi);
            Assert.That(Marshal.SizeOf<V4l2Buffer>(), Is.EqualTo(bufSize), $"{abi.Name} v4l2_buffer");
            var expected = new (string CSharp, string C)[]
            {
                (nameof(V4l2Buffer.Index), "index"), (nameof(V4l2Buffer.BytesUsed), "bytesused"), (nameof(V4l2Buffer.Field), "field"),
                (nameof(V4l2Buffer.TimestampSeconds), "timestamp"), (nameof(V4l2Buffer.Timecode), "timecode"),
                (nameof(V4l2Buffer.Sequence), "sequence"), (nameof(V4l2Buffer.Memory), "memory"), (nameof(V4l2Buffer.Offset), "m"),
                (nameof(V4l2Buffer.Length), "length"), (nameof(V4l2Buffer.RequestFd), "request_fd"),
            };
            foreach (var (cs, c) in expected)
                Assert.That(Offset<V4l2Buffer>(cs), Is.EqualTo(buf[c]), $"{abi.Name} v4l2_buffer.{c}");
            Assert.That(Offset<V4l2Buffer>(nameof(V4l2Buffer.TimestampMicroseconds)), Is.EqualTo(buf["timestamp"] + abi.LongSize));
        }
    }

    [Test]
    public void IoctlNumbersEncodeDirectionSizeTypeAndNumber()
    {
        // asm-generic/ioctl.h: _IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr; _IOR = 2, _IOW = 1.
        static uint Ioc(uint dir, uint nr, int size) => dir << 30 | (uint)size << 16 | 'V' << 8 | nr;
        Assert.Multiple(() =>
        {
            Assert.That(V4l2Constants.VIDIOC_QUERYCAP, Is.EqualTo(Ioc(2, 0, Capability().Item2)));
            Assert.That(V4l2Constants.VIDIOC_S_FMT, Is.EqualTo(Ioc(3, 5, Format(Abis[0]).Item2)));
            Assert.That(V4l2Constants.VIDIOC_REQBUFS, Is.EqualTo(Ioc(3, 8, RequestBuffers().Item2)));
            Assert.That(V4l2Constants.VIDIOC_QUERYBUF, Is.EqualTo(Ioc(3, 9, Buffer(Abis[0]).Item2)));
            Assert.That(V4l2Constants.VIDIOC_QBUF, Is.EqualTo(Ioc(3, 15, Buffer(Abis[0]).Item2)));
            Assert.That(V4l2Constants.VIDIOC_DQBUF, Is.EqualTo(Ioc(3, 17, Buffer(Abis[0]).Item2)));
            Assert.That(V4l2Constants.VIDIOC_STREAMON, Is.EqualTo(Ioc(1, 18, 4)));
            Assert.That(V4l2Constants.VIDIOC_STREAMOFF, Is.EqualTo(Ioc(1, 19, 4)));
            Assert.That(V4l2Constants.PixFmtYuyv, Is.EqualTo(BitConverter.ToUInt32("YUYV"u8)));
            Assert.That(V4l2Constants.PixFmtGrey, Is.EqualTo(BitConverter.ToUInt32("GREY"u8)));
        });
    }
}
