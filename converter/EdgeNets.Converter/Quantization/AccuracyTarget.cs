using System.Globalization;

namespace EdgeNets.Converter.Quantization;

/// <summary>What an accuracy target is measured by, on the converted model's first output against the float model's.</summary>
public enum AccuracyMetric
{
    /// <summary>Output SQNR in dB over all outputs and samples: <c>sqnr&gt;=30</c>.</summary>
    Sqnr,
    /// <summary>Float top-1 accuracy minus the converted model's, in points (needs labels): <c>top1-drop&lt;=0.5</c>.</summary>
    Top1Drop,
    /// <summary>Share of samples whose top-1 class is the float model's, in percent: <c>top1-agreement&gt;=90</c>.</summary>
    Top1Agreement,
}

/// <summary>How close to the float model a converted model must be (<c>convert --accuracy-target</c>).</summary>
public sealed record AccuracyTarget(AccuracyMetric Metric, double Bound)
{
    public bool NeedsLabels => Metric == AccuracyMetric.Top1Drop;

    /// <summary>Whether <paramref name="score"/> meets the target.</summary>
    public bool IsMet(AccuracyScore score) => Metric switch
    {
        AccuracyMetric.Sqnr => score.SqnrDb >= Bound,
        AccuracyMetric.Top1Drop => score.Top1Drop is { } drop && drop <= Bound,
        _ => score.Top1Agreement >= Bound,
    };

    /// <summary>Targets separated by commas, all to be met (<c>sqnr&gt;=25,top1-agreement&gt;=90</c>); null when one is malformed.</summary>
    public static IReadOnlyList<AccuracyTarget>? ParseAll(string text)
    {
        var targets = new List<AccuracyTarget>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (Parse(part) is not { } target) return null;
            targets.Add(target);
        }
        return targets;
    }

    /// <summary><c>sqnr&gt;=DB</c>, <c>top1-drop&lt;=POINTS</c> or <c>top1-agreement&gt;=PERCENT</c>; null when the text is none of them.</summary>
    public static AccuracyTarget? Parse(string text)
    {
        foreach (var (prefix, metric) in new[] { ("sqnr>=", AccuracyMetric.Sqnr), ("top1-drop<=", AccuracyMetric.Top1Drop), ("top1-agreement>=", AccuracyMetric.Top1Agreement) })
        {
            if (!text.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (!double.TryParse(text[prefix.Length..], NumberStyles.Float, CultureInfo.InvariantCulture, out double bound) || !double.IsFinite(bound)) return null;
            if (metric != AccuracyMetric.Sqnr && (bound < 0 || bound > 100)) return null;
            return new AccuracyTarget(metric, bound);
        }
        return null;
    }

    public override string ToString() => Metric switch
    {
        AccuracyMetric.Sqnr => $"sqnr>={Bound.ToString(CultureInfo.InvariantCulture)}",
        AccuracyMetric.Top1Drop => $"top1-drop<={Bound.ToString(CultureInfo.InvariantCulture)}",
        _ => $"top1-agreement>={Bound.ToString(CultureInfo.InvariantCulture)}",
    };
}

/// <summary>
/// A converted model against the float model on the accuracy data: output SQNR (dB, all outputs), top-1 agreement (%)
/// of the first output, and with labels both accuracies (%) and the drop in points.
/// </summary>
public sealed record AccuracyScore(double SqnrDb, double Top1Agreement, double? FloatAccuracy, double? Accuracy)
{
    public double? Top1Drop => FloatAccuracy - Accuracy;

    public override string ToString()
    {
        var inv = CultureInfo.InvariantCulture;
        string s = string.Format(inv, "output SQNR {0:F1} dB, top-1 agreement {1:F1}%", SqnrDb, Top1Agreement);
        return Accuracy is { } a ? s + string.Format(inv, ", accuracy {0:F2}% (float {1:F2}%)", a, FloatAccuracy) : s;
    }
}
