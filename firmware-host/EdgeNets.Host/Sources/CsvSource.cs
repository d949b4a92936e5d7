using System.Text;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>csv:FILE?columns=ax,ay,az&amp;label=activity&amp;rate=50&amp;loop=true</c>: replays sensor samples, one per line.
/// The first line is the header naming the columns; <c>columns</c> picks and orders the model's channels (default: all
/// columns except the label), <c>label</c> names an integer class column used for accuracy. A line whose chosen
/// columns are missing or not numbers (or longer than 64 KB) is skipped and counted in <see cref="DroppedFrames"/>;
/// the first few are named on the log. FILE may be a named pipe (FIFO) fed by another program: waiting for its next
/// line (or for its writer, or its header) ends as soon as <c>cancel</c> is cancelled, and the replay then ends.
/// </summary>
public sealed class CsvSource : ISource
{
    private readonly string _path;
    private readonly int[] _columns;
    private readonly int _labelColumn;
    private readonly bool _loop;
    private readonly Pacer _pacer;
    private readonly float[] _sample;
    private Stream _stream;
    private LineReader _reader;
    private readonly TextWriter _log;
    private readonly CancellationToken _cancel;
    /// <summary>Stopped before the header arrived: nothing to replay.</summary>
    private readonly bool _stoppedBeforeHeader;
    private long _lineNumber, _badLines, _longLinesBefore;
    private bool _samplesThisPass;

    /// <summary>Bad lines named on the log; later ones are only counted.</summary>
    private const int BadLinesLogged = 10;

    public CsvSource(SourceUri uri, TextWriter? log = null, CancellationToken cancel = default)
    {
        _log = log ?? TextWriter.Null;
        uri.RejectUnknownKeys("columns", "label", "rate", "loop");
        Name = uri.Text;
        _path = uri.Path;
        _cancel = cancel;
        _loop = uri.GetBool("loop", false);
        _pacer = new Pacer(uri.GetDouble("rate", 0, 0, 1e6), cancel);
        _stream = PipeReadStream.Open(_path, cancel);
        _reader = new LineReader(_stream);
        string? label = uri.GetString("label");
        if (!TryReadHeader(out var header))
        {
            _stoppedBeforeHeader = true;
            _columns = [];
            _sample = [];
            Columns = [];
            return;
        }
        _lineNumber = 1;
        _labelColumn = label == null ? -1 : IndexOf(header, label, uri);
        var names = uri.GetList("columns") ?? header.Where(h => h != label).ToArray();
        _columns = names.Select(n => IndexOf(header, n, uri)).ToArray();
        Columns = names;
        _sample = new float[_columns.Length];
    }

    /// <summary>The header's column names; false when the host was stopped while a pipe's writer sent nothing.</summary>
    private bool TryReadHeader(out string[] header)
    {
        header = [];
        ReadOnlySpan<byte> headerLine;
        try
        {
            if (!_reader.TryReadLine(out headerLine)) throw new InvalidDataException($"{_path}: empty CSV file");
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested) { return false; }
        if (_reader.LongLinesSkipped > 0) throw new InvalidDataException($"{_path}: the header line is longer than 64 KB");
        header = Encoding.UTF8.GetString(headerLine).Split(',').Select(h => h.Trim()).ToArray();
        return true;
    }

    private static int IndexOf(string[] header, string name, SourceUri uri)
    {
        int i = Array.IndexOf(header, name);
        if (i < 0) throw new SourceUriException($"source '{uri.Text}': column '{name}' is not in the header ({string.Join(", ", header)})");
        return i;
    }

    public string Name { get; }
    /// <summary>Lines skipped because they could not be read (missing or non-numeric fields, over-long).</summary>
    public long DroppedFrames => _badLines + _longLinesBefore + _reader.LongLinesSkipped;
    public IReadOnlyList<string> Columns { get; }

    public ReadStatus Read(out Frame frame)
    {
        int labelValue = -1;
        while (true)
        {
            if (!TryReadLine(out var line))
            {
                // A looped file without one good line would spin here for ever.
                if (!_loop || !_samplesThisPass || _cancel.IsCancellationRequested) { frame = default; return ReadStatus.EndOfStream; }
                Rewind();
                continue;
            }
            _lineNumber++;
            if (line.Trim((byte)' ').IsEmpty) continue;
            if (TryParse(line, ref labelValue)) break;
        }
        _samplesThisPass = true;
        _pacer.Wait();
        frame = new Frame(FrameFormat.Samples, _sample, labelValue);
        return ReadStatus.Frame;
    }

    /// <summary>The next line; false at the end of the file, or when the host is stopped while a pipe is quiet.</summary>
    private bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        line = default;
        if (_stoppedBeforeHeader) return false;
        try { return _reader.TryReadLine(out line); }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested) { return false; }
    }

    private bool TryParse(ReadOnlySpan<byte> line, ref int labelValue)
    {
        for (int c = 0; c < _columns.Length; c++)
        {
            if (!LineReader.TryGetField(line, _columns[c], out var field) || !LineReader.TryParseFloat(field, out _sample[c]))
                return Skip($"column {Columns[c]} is missing or not a number");
        }
        labelValue = -1;
        if (_labelColumn >= 0 && (!LineReader.TryGetField(line, _labelColumn, out var labelField) || !LineReader.TryParseInt(labelField, out labelValue)))
            return Skip("label column is missing or not an integer");
        return true;
    }

    private bool Skip(string problem)
    {
        _badLines++;
        if (_badLines <= BadLinesLogged)
            _log.WriteLine($"edgenets-host: {_path}:{_lineNumber + _reader.LongLinesSkipped}: {problem}; line skipped{(_badLines == BadLinesLogged ? " (further bad lines are only counted)" : "")}");
        return false;
    }

    private void Rewind()
    {
        _stream.Dispose();
        _stream = PipeReadStream.Open(_path, _cancel);
        _longLinesBefore += _reader.LongLinesSkipped;
        _reader = new LineReader(_stream);
        TryReadLine(out _);
        _lineNumber = 1;
        _samplesThisPass = false;
    }

    public void Dispose() => _stream.Dispose();
}
