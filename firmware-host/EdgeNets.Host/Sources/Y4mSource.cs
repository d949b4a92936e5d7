using System.Text;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>video:FILE.y4m?loop=true&amp;rate=30</c>: replays raw YUV4MPEG2 video (4:2:0 or mono), e.g. recorded from the
/// camera with <c>ffmpeg -f v4l2 -i /dev/video0 -pix_fmt yuv420p out.y4m</c>. Frames are read into one buffer.
/// </summary>
public sealed class Y4mSource : ISource
{
    private readonly string _path;
    private readonly FileStream _stream;
    private readonly long _firstFrame;
    private readonly byte[] _frame;
    private readonly byte[] _marker = new byte[256];
    private readonly bool _loop;
    private readonly Pacer _pacer;

    public Y4mSource(SourceUri uri, CancellationToken cancel = default)
    {
        uri.RejectUnknownKeys("loop", "rate");
        Name = uri.Text;
        _path = uri.Path;
        _stream = File.OpenRead(_path);
        string header = ReadHeaderLine(_stream, 1024) ?? throw new InvalidDataException($"{_path}: empty file");
        var parts = header.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts[0] != "YUV4MPEG2") throw new InvalidDataException($"{_path}: not a YUV4MPEG2 file");
        string colorspace = "420jpeg";
        foreach (var p in parts.Skip(1))
        {
            switch (p[0])
            {
                case 'W': Width = int.Parse(p.AsSpan(1)); break;
                case 'H': Height = int.Parse(p.AsSpan(1)); break;
                case 'C': colorspace = p[1..]; break;
            }
        }
        if (Width <= 0 || Height <= 0) throw new InvalidDataException($"{_path}: header without W and H");
        if (colorspace.StartsWith("420", StringComparison.Ordinal))
        {
            Format = FrameFormat.I420;
            _frame = new byte[Width * Height + 2 * ((Width + 1) / 2) * ((Height + 1) / 2)];
        }
        else if (colorspace == "mono")
        {
            Format = FrameFormat.Gray8;
            _frame = new byte[Width * Height];
        }
        else throw new InvalidDataException($"{_path}: colorspace C{colorspace} is not supported (use 4:2:0 or mono)");
        _firstFrame = _stream.Position;
        _loop = uri.GetBool("loop", false);
        _pacer = new Pacer(uri.GetDouble("rate", 0, 0, 1e6), cancel);
    }

    public string Name { get; }
    public long DroppedFrames => 0;
    public int Width { get; }
    public int Height { get; }
    public FrameFormat Format { get; }

    private static string? ReadHeaderLine(Stream s, int max)
    {
        var sb = new StringBuilder();
        while (sb.Length < max)
        {
            int b = s.ReadByte();
            if (b < 0) return sb.Length == 0 ? null : sb.ToString();
            if (b == '\n') return sb.ToString();
            sb.Append((char)b);
        }
        throw new InvalidDataException("YUV4MPEG2 header line too long");
    }

    public ReadStatus Read(out Frame frame)
    {
        if (!ReadMarker())
        {
            if (!_loop || _stream.Position == _firstFrame) { frame = default; return ReadStatus.EndOfStream; }
            _stream.Position = _firstFrame;
            if (!ReadMarker()) { frame = default; return ReadStatus.EndOfStream; }
        }
        _stream.ReadExactly(_frame);
        _pacer.Wait();
        frame = new Frame(Format, Width, Height, _frame);
        return ReadStatus.Frame;
    }

    /// <summary>Reads the "FRAME[ params]\n" line; false at end of file.</summary>
    private bool ReadMarker()
    {
        int n = 0;
        while (true)
        {
            int b = _stream.ReadByte();
            if (b < 0)
            {
                if (n == 0) return false;
                throw new InvalidDataException($"{_path}: truncated frame header");
            }
            if (b == '\n') break;
            if (n == _marker.Length) throw new InvalidDataException($"{_path}: frame header too long");
            _marker[n++] = (byte)b;
        }
        if (!_marker.AsSpan(0, n).StartsWith("FRAME"u8)) throw new InvalidDataException($"{_path}: expected FRAME at offset {_stream.Position - n - 1}");
        return true;
    }

    public void Dispose() => _stream.Dispose();
}
