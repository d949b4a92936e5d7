using System.Text;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>csv:FILE?columns=ax,ay,az&amp;label=activity&amp;rate=50&amp;loop=true</c>: replays sensor samples, one per line.
/// The first line is the header naming the columns; <c>columns</c> picks and orders the model's channels (default: all
/// columns except the label), <c>label</c> names an integer class column used for accuracy.
/// </summary>
public sealed class CsvSource : ISource
{
    private readonly string _path;
    private readonly int[] _columns;
    private readonly int _labelColumn;
    private readonly bool _loop;
    private readonly Pacer _pacer;
    private readonly float[] _sample;
    private FileStream _stream;
    private LineReader _reader;
    private long _lineNumber;

    public CsvSource(SourceUri uri)
    {
        uri.RejectUnknownKeys("columns", "label", "rate", "loop");
        Name = uri.Text;
        _path = uri.Path;
        _stream = File.OpenRead(_path);
        _reader = new LineReader(_stream);
        if (!_reader.TryReadLine(out var headerLine)) throw new InvalidDataException($"{_path}: empty CSV file");
        var header = Encoding.UTF8.GetString(headerLine).Split(',').Select(h => h.Trim()).ToArray();
        _lineNumber = 1;
        string? label = uri.GetString("label");
        _labelColumn = label == null ? -1 : IndexOf(header, label, uri);
        var names = uri.GetList("columns") ?? header.Where(h => h != label).ToArray();
        _columns = names.Select(n => IndexOf(header, n, uri)).ToArray();
        Columns = names;
        _sample = new float[_columns.Length];
        _loop = uri.GetBool("loop", false);
        _pacer = new Pacer(uri.GetDouble("rate", 0, 0, 1e6));
    }

    private static int IndexOf(string[] header, string name, SourceUri uri)
    {
        int i = Array.IndexOf(header, name);
        if (i < 0) throw new SourceUriException($"source '{uri.Text}': column '{name}' is not in the header ({string.Join(", ", header)})");
        return i;
    }

    public string Name { get; }
    public long DroppedFrames => 0;
    public IReadOnlyList<string> Columns { get; }

    public ReadStatus Read(out Frame frame)
    {
        ReadOnlySpan<byte> line;
        while (true)
        {
            if (_reader.TryReadLine(out line))
            {
                _lineNumber++;
                if (!line.Trim((byte)' ').IsEmpty) break;
                continue;
            }
            if (!_loop) { frame = default; return ReadStatus.EndOfStream; }
            Rewind();
        }
        for (int c = 0; c < _columns.Length; c++)
        {
            if (!LineReader.TryGetField(line, _columns[c], out var field) || !LineReader.TryParseFloat(field, out _sample[c]))
                throw new InvalidDataException($"{_path}:{_lineNumber}: column {Columns[c]} is missing or not a number");
        }
        int labelValue = -1;
        if (_labelColumn >= 0 && (!LineReader.TryGetField(line, _labelColumn, out var labelField) || !LineReader.TryParseInt(labelField, out labelValue)))
            throw new InvalidDataException($"{_path}:{_lineNumber}: label column is missing or not an integer");
        _pacer.Wait();
        frame = new Frame(FrameFormat.Samples, _sample, labelValue);
        return ReadStatus.Frame;
    }

    private void Rewind()
    {
        _stream.Dispose();
        _stream = File.OpenRead(_path);
        _reader = new LineReader(_stream);
        _reader.TryReadLine(out _);
        _lineNumber = 1;
    }

    public void Dispose() => _stream.Dispose();
}
