using EdgeNets.Runtime.IO;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>npy:FILE.npy?labels=LABELS.npy&amp;targets=TARGETS.npy&amp;loop=true&amp;rate=30&amp;kind=tensor|samples</c>: replays the
/// rows of a NumPy array. kind=tensor (default) gives each row as a ready model input; kind=samples gives each row as
/// one sensor sample (a value per channel) for windowed models. labels: a class per row; targets: the value a
/// regression model should report after each row (NaN where there is none).
/// </summary>
public sealed class NpySource : ISource
{
    private readonly float[] _values;
    private readonly int[]? _labels;
    private readonly float[]? _targets;
    private readonly int _rowSize, _rows;
    private readonly bool _loop;
    private readonly FrameFormat _format;
    private readonly Pacer _pacer;
    private int _next;

    public NpySource(SourceUri uri, CancellationToken cancel = default)
    {
        uri.RejectUnknownKeys("labels", "targets", "loop", "rate", "kind");
        Name = uri.Text;
        var array = NpyFile.Read(uri.Path);
        if (array.SampleCount == 0) throw new InvalidDataException($"{uri.Path}: no rows to replay");
        _values = array.ToFloat32();
        _rows = array.SampleCount;
        _rowSize = array.SampleSize;
        string? labels = uri.GetString("labels");
        if (labels != null)
        {
            var labelArray = NpyFile.Read(labels);
            if (labelArray.Count != _rows)
                throw new InvalidDataException($"{labels}: {labelArray.Count} labels for {_rows} rows of {uri.Path}");
            _labels = labelArray.ToInt32();
        }
        string? targets = uri.GetString("targets");
        if (targets != null)
        {
            var targetArray = NpyFile.Read(targets);
            if (targetArray.Count != _rows)
                throw new InvalidDataException($"{targets}: {targetArray.Count} targets for {_rows} rows of {uri.Path}");
            _targets = targetArray.ToFloat32();
        }
        _loop = uri.GetBool("loop", false);
        _pacer = new Pacer(uri.GetDouble("rate", 0, 0, 1e6), cancel);
        _format = uri.GetString("kind") switch
        {
            null or "tensor" => FrameFormat.Tensor,
            "samples" => FrameFormat.Samples,
            var k => throw new SourceUriException($"source '{uri.Text}': kind={k} must be tensor or samples"),
        };
    }

    public string Name { get; }
    public long DroppedFrames => 0;
    public int RowSize => _rowSize;

    public ReadStatus Read(out Frame frame)
    {
        if (_next == _rows)
        {
            if (!_loop) { frame = default; return ReadStatus.EndOfStream; }
            _next = 0;
        }
        _pacer.Wait();
        int row = _next++;
        frame = new Frame(_format, _values.AsSpan(row * _rowSize, _rowSize), _labels?[row] ?? -1, _targets?[row] ?? float.NaN);
        return ReadStatus.Frame;
    }

    public void Dispose() { }
}
