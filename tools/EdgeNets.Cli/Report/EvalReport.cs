using EdgeNets.Cli.Commands;

namespace EdgeNets.Cli.Report;

/// <summary>Everything `eval --report` shows: measured by <see cref="EvalReportCollector"/>, drawn by <see cref="HtmlReportWriter"/>.</summary>
internal sealed class EvalReport
{
    public required string OnnxPath { get; init; }
    public required string EnetPath { get; init; }
    public required string InputPath { get; init; }
    public required string Version { get; init; }
    /// <summary>The model's precision as a whole (its metadata); each layer has its own in <see cref="ReportLayer.Precision"/>.</summary>
    public required string Precision { get; init; }
    public required int Samples { get; init; }
    public double? Top1Agreement { get; init; }
    public double? FloatAccuracy { get; init; }
    public double? QuantizedAccuracy { get; init; }
    public required IReadOnlyList<ReportLayer> Layers { get; init; }
    public required IReadOnlyList<ChannelRanges> Weights { get; init; }
    public required IReadOnlyList<ReportOutput> Outputs { get; init; }
    /// <summary>The first output's predictions against the labels; null without labels.</summary>
    public ConfusionMatrix? Confusion { get; init; }
    public required IReadOnlyList<OperatorTiming> Timings { get; init; }
    public required int ProfileRuns { get; init; }
}

/// <summary>
/// One activation compared with ONNX Runtime's: its error, the SQNR lost from its operator's noisiest input to it (null
/// when no input is compared: the graph input's readers), and the histogram of the float values against its range.
/// </summary>
internal sealed record ReportLayer(string Name, string Op, int[] Shape, string Precision, double SqnrDb, double Cosine, double? DropDb, ValueHistogram Histogram);

/// <summary>One output: its errors against ONNX Runtime, and their histogram (ours minus float).</summary>
internal sealed record ReportOutput(string Name, int[] Shape, string Precision, double SqnrDb, double MaxAbsError, double MeanAbsError,
    double? Top1Agreement, ValueHistogram Errors, long ErrorsKept, long ErrorsTotal);

/// <summary>Samples per (true class, predicted class); labels outside the classes are counted apart.</summary>
internal sealed class ConfusionMatrix(int classes)
{
    private readonly long[] _counts = new long[classes * classes];

    public int Classes { get; } = classes;
    public long OutOfRangeLabels { get; private set; }
    public long this[int truth, int predicted] => _counts[truth * Classes + predicted];

    public void Add(int truth, int predicted)
    {
        if (truth < 0 || truth >= Classes) OutOfRangeLabels++;
        else _counts[truth * Classes + predicted]++;
    }

    public long RowTotal(int truth)
    {
        long sum = 0;
        for (int p = 0; p < Classes; p++) sum += this[truth, p];
        return sum;
    }
}
