using System.Buffers.Binary;
using System.Text;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Format;

/// <summary>Hostile .npy headers: every one ends in an <see cref="InvalidDataException"/> saying what is wrong, never in another exception.</summary>
public class NpyFileTests
{
    /// <summary>A .npy file of format <paramref name="major"/> with the header dictionary and data given.</summary>
    private static byte[] Npy(int major, string dict, byte[]? data = null, long? headerLength = null)
    {
        var header = Encoding.Latin1.GetBytes(dict + "\n");
        int prefix = major == 1 ? 10 : 12;
        var bytes = new byte[prefix + header.Length + (data?.Length ?? 0)];
        byte[] magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
        magic.CopyTo(bytes, 0);
        bytes[6] = (byte)major;
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)(headerLength ?? header.Length));
        else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)(headerLength ?? header.Length));
        header.CopyTo(bytes, prefix);
        data?.CopyTo(bytes, prefix + header.Length);
        return bytes;
    }

    private static string Dict(string descr, string shape) => $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";

    [Test]
    public void AWellFormedFileOfEachVersionIsRead()
    {
        var data = new byte[12];
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(8), 2.5f);
        foreach (int major in new[] { 1, 2, 3 })
        {
            var array = NpyFile.Parse(Npy(major, Dict("<f4", "(3,)"), data));
            Assert.That(array.Shape, Is.EqualTo(new[] { 3 }));
            Assert.That(array.ToFloat32(), Is.EqualTo(new[] { 0f, 0f, 2.5f }));
        }
    }

    [TestCase(2, 0xFFFFFFF0L)]
    [TestCase(3, 0xFFFFFFFFL)]
    [TestCase(2, 0x7FFFFFFFL)]
    [TestCase(1, 0xFFFFL)]
    public void AHeaderLengthPastTheEndIsNamed(int major, long headerLength)
    {
        var e = Assert.Throws<InvalidDataException>(() => NpyFile.Parse(Npy(major, Dict("<f4", "(1,)"), new byte[4], headerLength)));
        Assert.That(e!.Message, Does.Contain($"header length {headerLength}"));
    }

    [TestCase("<f4", "(65536, 65536, 65536, 65536)")]   // the element count wraps to 0 in 64 bits
    [TestCase("|u1", "(65536, 65536, 65536, 65536)")]
    [TestCase("<f8", "(2147483647, 2147483647)")]
    [TestCase("<f4", "(1073741824,)")]                  // 4 GiB of data: more than one array holds
    public void AShapeWhoseSizeOverflowsIsRejected(string descr, string shape)
    {
        var e = Assert.Throws<InvalidDataException>(() => NpyFile.Parse(Npy(1, Dict(descr, shape), new byte[16])));
        Assert.That(e!.Message, Does.Contain("holds more than"));
    }

    [TestCase("(2147483000,)")]
    [TestCase("(3, 5)")]
    public void AShapeLargerThanTheDataIsTruncated(string shape)
    {
        var e = Assert.Throws<InvalidDataException>(() => NpyFile.Parse(Npy(1, Dict("|u1", shape), new byte[7])));
        Assert.That(e!.Message, Does.Contain("truncated data"));
    }

    [TestCase("(-1,)")]
    [TestCase("(1e9,)")]
    [TestCase("(4294967296,)")]
    public void MalformedDimensionsAreRejected(string shape)
    {
        var e = Assert.Throws<InvalidDataException>(() => NpyFile.Parse(Npy(1, Dict("|u1", shape), new byte[8])));
        Assert.That(e!.Message, Does.Contain("malformed .npy shape"));
    }

    /// <summary>Random byte changes to a real file's header and first data bytes: parsed or refused, nothing else.</summary>
    [Test]
    public void MutatedHeadersOfARealFileAreParsedOrRefused()
    {
        var original = File.ReadAllBytes(Path.Combine(RepoPaths.GestureModel, "test_labels.npy"));
        var rng = new Random(14);
        int refused = 0;
        for (int i = 0; i < 5000; i++)
        {
            var bytes = (byte[])original.Clone();
            for (int f = 1 + rng.Next(3); f > 0; f--) bytes[rng.Next(Math.Min(bytes.Length, 140))] = (byte)rng.Next(256);
            try
            {
                var array = NpyFile.Parse(bytes);
                Assert.That(array.Data.LongLength, Is.LessThanOrEqualTo(bytes.LongLength));
                _ = array.Count;
            }
            catch (InvalidDataException) { refused++; }
        }
        Assert.That(refused, Is.GreaterThan(100));
    }

    [Test]
    public void ADeviceOrDirectoryIsRefusedNamingIt()
    {
        string dir = RepoPaths.TempDirectory();
        var e = Assert.Throws<InvalidDataException>(() => NpyFile.Read(dir));
        Assert.That(e!.Message, Does.StartWith(dir + ":").And.Contain("is a directory"));
        Assume.That(File.Exists("/dev/zero"), "needs /dev/zero");
        e = Assert.Throws<InvalidDataException>(() => NpyFile.Read("/dev/zero"));
        Assert.That(e!.Message, Does.StartWith("/dev/zero:").And.Contain("not a regular file"));
    }
}
