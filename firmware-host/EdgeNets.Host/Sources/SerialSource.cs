using System.IO.Ports;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>serial:/dev/ttyUSB0?baud=115200&amp;columns=0,1,2</c>: sensor samples sent as CSV lines over a serial port (e.g. by
/// a microcontroller). <c>columns</c> are 0-based field indices giving the model's channels in order. Lines that do not
/// parse (a partial first line, boot messages, a line longer than 4096 bytes) are skipped and counted as dropped.
/// Reads wait for data without a timeout but end at once when <c>cancel</c> is cancelled (the host is being stopped):
/// <see cref="Read"/> then reports the end of the stream.
/// </summary>
public sealed class SerialSource : ISource
{
    private readonly SerialPort _port;
    private readonly LineReader _reader;
    private readonly int[] _columns;
    private readonly float[] _sample;
    private readonly CancellationToken _cancel;
    private long _dropped;

    public SerialSource(SourceUri uri, CancellationToken cancel = default)
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
        _cancel = cancel;
        _reader = new LineReader(_port.BaseStream, 4096, cancel);
    }

    public string Name { get; }
    public long DroppedFrames => _dropped + _reader.LongLinesSkipped;

    public ReadStatus Read(out Frame frame)
    {
        while (true)
        {
            ReadOnlySpan<byte> line;
            try
            {
                if (!_reader.TryReadLine(out line)) throw new IOException($"{Name}: serial port closed");
            }
            catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
            {
                frame = default;
                return ReadStatus.EndOfStream;
            }
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
