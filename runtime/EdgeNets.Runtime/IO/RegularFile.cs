namespace EdgeNets.Runtime.IO;

/// <summary>
/// Reads a whole input file with its size known and bounded before anything is allocated: a directory, a device such as
/// /dev/zero, a pipe or an oversized file ends in one <see cref="InvalidDataException"/> instead of an endless read.
/// </summary>
internal static class RegularFile
{
    private const string NotRegular = "is empty or not a regular file (a device or a pipe)";

    /// <summary>The file's bytes; <see cref="InvalidDataException"/> (without the path: callers add it) when it is not a regular file of 1..<paramref name="maxBytes"/> bytes.</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes)
    {
        if (Directory.Exists(path)) throw new InvalidDataException("is a directory, not a file");
        // Checked before opening as well: opening a FIFO without a writer would block.
        if (new FileInfo(path) is { Exists: true, Length: 0 }) throw new InvalidDataException(NotRegular);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        // Devices and pipes report no length (or cannot seek); reading them to their end could take forever.
        long length = stream.CanSeek ? stream.Length : 0;
        if (length == 0) throw new InvalidDataException(NotRegular);
        if (length > maxBytes) throw new InvalidDataException($"is {length} bytes, more than the {maxBytes}-byte limit");
        var bytes = new byte[length];
        try { stream.ReadExactly(bytes); }
        catch (EndOfStreamException) { throw new InvalidDataException($"ended before its {length} bytes were read (changed while reading?)"); }
        return bytes;
    }
}
