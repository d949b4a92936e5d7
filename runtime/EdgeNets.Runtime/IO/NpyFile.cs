using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace EdgeNets.Runtime.IO;

/// <summary>Element types of .npy files EdgeNets reads and writes.</summary>
public enum NpyType { Float32, Float64, Int64, Int32, Int8, UInt8 }

/// <summary>An n-dimensional array read from or written to a NumPy .npy file (C order, little-endian).</summary>
public sealed class NpyArray
{
    public NpyArray(NpyType type, int[] shape, byte[] data)
    {
        Type = type;
        Shape = shape;
        Data = data;
    }

    public NpyType Type { get; }
    public int[] Shape { get; }
    /// <summary>Raw little-endian element bytes in C order.</summary>
    public byte[] Data { get; }
    public int Count => Shape.Aggregate(1, (a, b) => checked(a * b));

    /// <summary>Number of samples stacked on the first axis (1 for a scalar).</summary>
    public int SampleCount => Shape.Length == 0 ? 1 : Shape[0];
    public int SampleSize => Shape.Length == 0 ? 1 : Shape.Skip(1).Aggregate(1, (a, b) => checked(a * b));

    /// <summary>All elements converted to float32.</summary>
    public float[] ToFloat32()
    {
        var result = new float[Count];
        ConvertToFloat32(Type, Data, result);
        return result;
    }

    /// <summary>Converts <paramref name="destination"/>.Length little-endian elements of <paramref name="type"/> from <paramref name="source"/>.</summary>
    public static void ConvertToFloat32(NpyType type, ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = type switch
            {
                NpyType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(source[(i * 4)..]),
                NpyType.Float64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(source[(i * 8)..]),
                NpyType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(source[(i * 8)..]),
                NpyType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(source[(i * 4)..]),
                NpyType.Int8 => (sbyte)source[i],
                _ => source[i],
            };
        }
    }

    /// <summary>Integer labels (int64/int32/uint8/int8 arrays) as int.</summary>
    public int[] ToInt32()
    {
        if (Type is NpyType.Float32 or NpyType.Float64) throw new InvalidDataException($"expected an integer array, found {NpyFile.Descr(Type)}");
        return ToFloat32().Select(v => (int)v).ToArray();
    }

    /// <summary>Sample <paramref name="index"/> along the first axis, as float32.</summary>
    public float[] Sample(int index) => ToFloat32().AsSpan(index * SampleSize, SampleSize).ToArray();

    public static NpyArray FromFloat32(int[] shape, ReadOnlySpan<float> values)
    {
        var data = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), values[i]);
        return new NpyArray(NpyType.Float32, shape, data);
    }
}

/// <summary>
/// Strict reader and writer for NumPy's .npy format (versions 1 to 3). Fortran order, big-endian data, object arrays
/// and truncated files are rejected with a message that names the file.
/// </summary>
public static class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Largest .npy file <see cref="Read"/> takes: the largest array .NET allocates.</summary>
    public static long MaxFileBytes => Array.MaxLength;

    public static NpyArray Read(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"{path}: file not found");
        byte[] bytes;
        try { bytes = RegularFile.ReadAllBytes(path, MaxFileBytes); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: not a .npy file: it {e.Message}", e); }
        try { return Parse(bytes); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    public static NpyArray Parse(byte[] bytes)
    {
        var header = ParseHeader(bytes, bytes.Length);
        return new NpyArray(header.Type, header.Shape, bytes.AsSpan((int)header.DataOffset, (int)header.DataBytes).ToArray());
    }

    /// <summary>
    /// The type, shape and data offset of a .npy file without reading its data (for reading samples one at a time);
    /// the same checks as <see cref="Read"/>, the file's length against the shape included.
    /// </summary>
    public static NpyHeader ReadHeader(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            if (!stream.CanSeek || stream.Length == 0) throw new InvalidDataException("not a .npy file: it is empty or not a regular file (a device or a pipe)");
            var prefix = new byte[(int)Math.Min(stream.Length, 12)];
            stream.ReadExactly(prefix);
            long headerEnd = prefix.Length < 10 ? prefix.Length
                : prefix[6] == 1 ? 10L + BinaryPrimitives.ReadUInt16LittleEndian(prefix.AsSpan(8))
                : prefix.Length == 12 ? 12L + BinaryPrimitives.ReadUInt32LittleEndian(prefix.AsSpan(8)) : prefix.Length;
            var bytes = new byte[Math.Min(headerEnd, stream.Length)];
            stream.Position = 0;
            stream.ReadExactly(bytes);
            return ParseHeader(bytes, stream.Length);
        }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>The header at the start of <paramref name="bytes"/>, checked against a file of <paramref name="fileLength"/> bytes.</summary>
    private static NpyHeader ParseHeader(byte[] bytes, long fileLength)
    {
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic)) throw new InvalidDataException("not a NumPy .npy file (bad magic)");
        int major = bytes[6];
        long headerLength;
        int headerStart;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); headerStart = 10; }
        else if (major is 2 or 3)
        {
            if (bytes.Length < 12) throw new InvalidDataException("truncated .npy header");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
            headerStart = 12;
        }
        else throw new InvalidDataException($"unsupported .npy version {major}");
        if (headerLength > bytes.Length - headerStart)
            throw new InvalidDataException($"header length {headerLength} runs past the end of the {fileLength}-byte file");
        string header = Encoding.Latin1.GetString(bytes, headerStart, (int)headerLength);

        string descr = DictValue(header, "descr").Trim().Trim('\'', '"');
        string order = DictValue(header, "fortran_order").Trim();
        string shapeText = DictValue(header, "shape").Trim();
        if (order != "False") throw new InvalidDataException("Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
        var type = descr switch
        {
            "<f4" => NpyType.Float32,
            "<f8" => NpyType.Float64,
            "<i8" => NpyType.Int64,
            "<i4" => NpyType.Int32,
            "|i1" or "<i1" => NpyType.Int8,
            "|u1" or "<u1" or "|b1" => NpyType.UInt8,
            _ => throw new InvalidDataException($"unsupported dtype '{descr}' (expected float32, float64, int64, int32, int8 or uint8, little-endian)"),
        };
        var shape = ParseShape(shapeText);
        // Bounded at every step, so no product of dimensions can wrap (a wrapped count of 0 would pass as empty); zero
        // dimensions count as 1 here, so the partial products NpyArray.Count forms stay in range too.
        long limit = Array.MaxLength;
        long bound = ElementSize(type);
        foreach (int d in shape)
        {
            if (bound > limit / Math.Max(d, 1))
                throw new InvalidDataException($"shape ({string.Join(", ", shape)}) of {descr} holds more than {limit} bytes");
            bound *= Math.Max(d, 1);
        }
        long expected = shape.Contains(0) ? 0 : bound;
        int dataStart = headerStart + (int)headerLength;
        if (fileLength - dataStart < expected)
            throw new InvalidDataException($"truncated data: shape ({string.Join(", ", shape)}) needs {expected} bytes, file has {fileLength - dataStart}");
        return new NpyHeader(type, shape, dataStart, expected);
    }

    public static void Write(string path, NpyArray array)
    {
        string shape = array.Shape.Length == 1 ? $"({array.Shape[0]},)" : $"({string.Join(", ", array.Shape)})";
        string dict = $"{{'descr': '{Descr(array.Type)}', 'fortran_order': False, 'shape': {shape}, }}";
        int total = 10 + dict.Length + 1;
        int padding = (64 - total % 64) % 64;
        string header = dict + new string(' ', padding) + "\n";
        using var stream = File.Create(path);
        stream.Write(Magic);
        stream.WriteByte(1);
        stream.WriteByte(0);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, checked((ushort)header.Length));
        stream.Write(len);
        stream.Write(Encoding.Latin1.GetBytes(header));
        stream.Write(array.Data);
    }

    public static void WriteFloat32(string path, int[] shape, ReadOnlySpan<float> values) => Write(path, NpyArray.FromFloat32(shape, values));

    internal static string Descr(NpyType type) => type switch
    {
        NpyType.Float32 => "<f4",
        NpyType.Float64 => "<f8",
        NpyType.Int64 => "<i8",
        NpyType.Int32 => "<i4",
        NpyType.Int8 => "|i1",
        _ => "|u1",
    };

    internal static int ElementSize(NpyType type) => type switch
    {
        NpyType.Float64 or NpyType.Int64 => 8,
        NpyType.Float32 or NpyType.Int32 => 4,
        _ => 1,
    };

    private static string DictValue(string header, string key)
    {
        int k = header.IndexOf($"'{key}'", StringComparison.Ordinal);
        if (k < 0) k = header.IndexOf($"\"{key}\"", StringComparison.Ordinal);
        if (k < 0) throw new InvalidDataException($"malformed .npy header: no '{key}'");
        int colon = header.IndexOf(':', k);
        int end = colon < 0 ? -1 : key == "shape" ? header.IndexOf(')', colon) + 1 : header.IndexOf(',', colon);
        if (end <= colon) throw new InvalidDataException($"malformed .npy header near '{key}'");
        return header[(colon + 1)..end];
    }

    private static int[] ParseShape(string text)
    {
        text = text.Trim().TrimStart('(').TrimEnd(')');
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shape = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i].TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
                throw new InvalidDataException($"malformed .npy shape '({text})'");
        return shape;
    }
}

/// <summary>What a .npy header says: element type, shape, where the data starts and how many bytes it has.</summary>
public sealed record NpyHeader(NpyType Type, int[] Shape, long DataOffset, long DataBytes);
