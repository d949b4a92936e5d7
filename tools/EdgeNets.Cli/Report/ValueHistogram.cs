namespace EdgeNets.Cli.Report;

/// <summary>
/// Counts of values in equal bins: <see cref="RangeBins"/> bins span [<see cref="Low"/>, <see cref="High"/>] exactly and
/// <see cref="MarginBins"/> more continue on each side; values beyond those are counted in <see cref="Below"/> and
/// <see cref="Above"/>, NaN and infinities in <see cref="NonFinite"/>. For a quantized tensor [Low, High] is the range its
/// integers can represent, and <see cref="Saturated"/> counts the values outside it (clamped by quantization).
/// The axis is fixed before the first value, so the values can stream through without being kept.
/// </summary>
internal sealed class ValueHistogram
{
    public const int RangeBins = 60;
    public const int MarginBins = 6;

    private ValueHistogram(double low, double high, bool isQuantizationRange)
    {
        if (!(high > low)) high = low + Math.Max(Math.Abs(low), 1e-6) * 1e-3;
        Low = low;
        High = high;
        IsQuantizationRange = isQuantizationRange;
        BinWidth = (high - low) / RangeBins;
    }

    /// <summary>The representable range of a quantized tensor: values outside it saturate.</summary>
    public static ValueHistogram ForQuantizationRange(double low, double high) => new(low, high, isQuantizationRange: true);

    /// <summary>An axis for values with no range of their own (a float tensor, an error): from the values seen first.</summary>
    public static ValueHistogram ForValues(ReadOnlySpan<float> first)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (float v in first)
        {
            if (!float.IsFinite(v)) continue;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        if (double.IsInfinity(min)) (min, max) = (0, 1);
        return new ValueHistogram(min, max, isQuantizationRange: false);
    }

    /// <summary>A symmetric axis [-bound, bound], for errors.</summary>
    public static ValueHistogram Symmetric(double bound) => new(-bound, bound, isQuantizationRange: false);

    public double Low { get; }
    public double High { get; }
    public double BinWidth { get; }
    public bool IsQuantizationRange { get; }
    /// <summary>Bin i covers [Low + (i - MarginBins)·BinWidth, Low + (i - MarginBins + 1)·BinWidth); High falls in the last bin of the range.</summary>
    public long[] Counts { get; } = new long[RangeBins + 2 * MarginBins];
    public long Below { get; private set; }
    public long Above { get; private set; }
    public long NonFinite { get; private set; }
    public long Total { get; private set; }
    /// <summary>Finite values outside [Low, High].</summary>
    public long Saturated { get; private set; }
    public double Min { get; private set; } = double.PositiveInfinity;
    public double Max { get; private set; } = double.NegativeInfinity;

    /// <summary>The share of finite values outside a quantization range; null when the axis is not one.</summary>
    public double? SaturationShare => IsQuantizationRange ? (Total - NonFinite == 0 ? 0 : (double)Saturated / (Total - NonFinite)) : null;

    public void Add(ReadOnlySpan<float> values)
    {
        foreach (float value in values)
        {
            Total++;
            if (!float.IsFinite(value))
            {
                NonFinite++;
                continue;
            }
            double v = value;
            if (v < Min) Min = v;
            if (v > Max) Max = v;
            double k = Math.Floor((v - Low) / BinWidth);
            // Bins follow the range's ends exactly, whatever the rounding of the division.
            if (v < Low) { Saturated++; k = Math.Min(k, -1); }
            else if (v > High) { Saturated++; k = Math.Max(k, RangeBins); }
            else k = Math.Clamp(k, 0, RangeBins - 1);
            if (k < -MarginBins) Below++;
            else if (k >= RangeBins + MarginBins) Above++;
            else Counts[(int)k + MarginBins]++;
        }
    }
}
