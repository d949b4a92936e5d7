namespace EdgeNets.Runtime.Format;

/// <summary>Constants of the .enet container; docs/model-format.md describes the layout.</summary>
public static class EnetFormat
{
    /// <summary>"ENET" read as a little-endian uint32.</summary>
    public const uint Magic = 0x54454E45;
    public const ushort VersionMajor = 1;
    public const ushort VersionMinor = 0;
    public const int HeaderSize = 64;
    public const int Alignment = 64;

    // Header field offsets.
    public const int MagicOffset = 0;
    public const int VersionMajorOffset = 4;
    public const int VersionMinorOffset = 6;
    public const int FileLengthOffset = 8;
    public const int ChecksumOffset = 16;
    public const int GraphOffsetOffset = 24;
    public const int GraphLengthOffset = 32;
    public const int DataOffsetOffset = 40;
    public const int DataLengthOffset = 48;
    public const int ArenaBytesOffset = 56;

    // Limits the loader enforces so a hostile file cannot ask for absurd work or memory.
    public const int MaxStringBytes = 4096;
    public const int MaxTensors = 1 << 20;
    public const int MaxOps = 1 << 20;
    public const int MaxOpTensors = 1024;
    public const int MaxAttributeValues = 1 << 20;
    /// <summary>Largest activation arena a model may plan (1 GiB): far above any device model, and an int32 byte count with room to spare.</summary>
    public const long MaxArenaBytes = 1L << 30;
    /// <summary>
    /// Largest memory a session's kernels may allocate when they are prepared (1 GiB, summed over the operators as
    /// <see cref="Kernels.KernelScratch"/> bounds it from the shapes): a small arena cannot hide huge im2col or packing buffers.
    /// </summary>
    public const long MaxScratchBytes = 1L << 30;
    /// <summary>Largest model file <see cref="Model.Load(string)"/> reads (1 GiB).</summary>
    public const long MaxFileBytes = 1L << 30;

    public static long AlignUp(long value) => (value + Alignment - 1) & ~(long)(Alignment - 1);

    /// <summary>XxHash64 of the whole file with the checksum field taken as zero.</summary>
    public static ulong ComputeChecksum(ReadOnlySpan<byte> file)
    {
        var hash = new System.IO.Hashing.XxHash64();
        hash.Append(file[..ChecksumOffset]);
        Span<byte> zero = stackalloc byte[8];
        zero.Clear();
        hash.Append(zero);
        hash.Append(file[(ChecksumOffset + 8)..]);
        return hash.GetCurrentHashAsUInt64();
    }
}
