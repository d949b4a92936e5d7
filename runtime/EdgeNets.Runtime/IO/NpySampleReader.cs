using Microsoft.Win32.SafeHandles;

namespace EdgeNets.Runtime.IO;

/// <summary>
/// Reads the samples stacked on the first axis of a .npy file one at a time, as float32, without loading the file:
/// memory stays one sample's bytes whatever the file's size (calibration sets of hundreds of images).
/// </summary>
public sealed class NpySampleReader : IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly byte[] _buffer;
    private readonly int _elementSize;

    /// <summary>Opens <paramref name="path"/>; its samples are <paramref name="sampleCount"/> blocks of <paramref name="sampleSize"/> elements from the start of the data.</summary>
    public NpySampleReader(string path, NpyHeader header, int sampleCount, int sampleSize)
    {
        _elementSize = NpyFile.ElementSize(header.Type);
        if ((long)sampleCount * sampleSize * _elementSize > header.DataBytes)
            throw new ArgumentOutOfRangeException(nameof(sampleCount), $"{path}: {sampleCount} samples of {sampleSize} values need more than the file's {header.DataBytes} data bytes");
        Path = path;
        Header = header;
        SampleCount = sampleCount;
        SampleSize = sampleSize;
        _buffer = new byte[sampleSize * _elementSize];
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    public string Path { get; }
    public NpyHeader Header { get; }
    public int SampleCount { get; }
    public int SampleSize { get; }

    /// <summary>Sample <paramref name="index"/> converted to float32 into <paramref name="destination"/> (<see cref="SampleSize"/> values).</summary>
    public void Read(int index, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, SampleCount);
        if (destination.Length != SampleSize) throw new ArgumentException($"expected {SampleSize} values, got {destination.Length}", nameof(destination));
        long offset = Header.DataOffset + (long)index * _buffer.Length;
        int done = 0;
        while (done < _buffer.Length)
        {
            int n = RandomAccess.Read(_file, _buffer.AsSpan(done), offset + done);
            if (n == 0) throw new InvalidDataException($"{Path}: ended before sample {index} was read (changed while reading?)");
            done += n;
        }
        NpyArray.ConvertToFloat32(Header.Type, _buffer, destination);
    }

    public void Dispose() => _file.Dispose();
}
