using System.IO.Ports;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>serial:/dev/ttyUSB0?baud=115200&amp;columns=0,1,2</c>: sensor samples sent as CSV lines over a serial port (e.g. by
/// a microcontroller). <c>columns</c> are 0-based field indices giving the model's channels in order. Lines that do not
/// parse (a partial first line, boot messages) are skipped and counted as dropped.
/// </summary>
public sealed class SerialSource : ISource
{
    private readonly SerialPort _port;
    private readonly LineReader _reader;
    private readonly int[] _columns;
    private readonly float[] _sample;
    private long _dropped;

    public SerialSource(SourceUri uri)
    {
        uri.RejectUnknownKeys("baud", "columns");
        Name = uri.Text;
        var columns = uri.GetList("columns") ?? throw new SourceUriException($"source '{uri.Text}': serial needs columns=I,J,... (0-based field indices)");
        _columns = new int[columns.Length];
        for (int i = 0; i < columns.Length; i++)
            if (!int.TryParse(columns[i], out _columns[i]) || _columns[i] < 0)
                throw new SourceUriException($"source '{uri.Text}': columns must be 0-based field indices, got '{columns[i]}'");
        _sample = new float[_columns.Length];
        _port = new SerialPort(uri.Path, uri.GetInt("baud", 115200, 50, 4_000_000)) { ReadTimeout = SerialPort.InfiniteTimeout };
        _port.Open();
        _reader = new LineReader(_port.BaseStream, 4096);
    }

    public string Name { get; }
    public long DroppedFrames => _dropped;

    public ReadStatus Read(out Frame frame)
    {
        while (true)
        {
            if (!_reader.TryReadLine(out var line)) throw new IOException($"{Name}: serial port closed");
            if (Parse(line)) break;
            _dropped++;
        }
        frame = new Frame(FrameFormat.Samples, _sample);
        return ReadStatus.Frame;
    }

    private bool Parse(ReadOnlySpan<byte> line)
    {
        for (int c = 0; c < _columns.Length; c++)
            if (!LineReader.TryGetField(line, _columns[c], out var field) || !LineReader.TryParseFloat(field, out _sample[c])) return false;
        return true;
    }

    public void Dispose() => _port.Dispose();
}
