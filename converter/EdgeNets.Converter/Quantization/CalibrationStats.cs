namespace EdgeNets.Converter.Quantization;

/// <summary>How the real range of an activation is chosen from the values seen during calibration.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,
    /// <summary>From the (100 - p)th to the p-th percentile of the values seen (<see cref="CalibrationOptions.Percentile"/>): outliers are clipped.</summary>
    Percentile,
}

public sealed class CalibrationOptions
{
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>
    /// With <see cref="CalibrationMethod.Percentile"/>, the range runs from the (100 - Percentile)th to the
    /// Percentile-th percentile of the values: 100 - Percentile percent is cut from each tail.
    /// </summary>
    public double Percentile { get; init; } = 99.99;
}

/// <summary>
/// What calibration saw of one activation tensor: exact minimum and maximum and a histogram of the values
/// over [-<see cref="HistogramLimit"/>, <see cref="HistogramLimit"/>].
/// </summary>
public sealed class TensorStats
{
    /// <summary>Bins of the value histogram; a power of two so the range can double by merging bin pairs.</summary>
    public const int BinCount = 2048;

    private readonly long[] _bins = new long[BinCount];

    public TensorStats(string name) => Name = name;

    public string Name { get; }
    public float Min { get; private set; } = float.PositiveInfinity;
    public float Max { get; private set; } = float.NegativeInfinity;
    public long Count { get; private set; }
    /// <summary>The histogram covers [-HistogramLimit, HistogramLimit]; 0 until a non-zero value is seen.</summary>
    public double HistogramLimit { get; private set; }
    public ReadOnlySpan<long> Histogram => _bins;

    /// <summary>Adds the values of one run. NaNs are ignored.</summary>
    public void Add(ReadOnlySpan<float> values)
    {
        float min = Min, max = Max, peak = 0;
        int seen = 0;
        foreach (float v in values)
        {
            if (float.IsNaN(v)) continue;
            seen++;
            if (v < min) min = v;
            if (v > max) max = v;
            float a = MathF.Abs(v);
            if (a > peak) peak = a;
        }
        Min = min;
        Max = max;
        Count += seen;
        if (float.IsInfinity(peak)) peak = float.MaxValue;
        GrowHistogram(peak);

        double limit = HistogramLimit;
        if (limit == 0) { _bins[BinCount / 2] += seen; return; }   // all values so far are zero
        double binsPerUnit = BinCount / (2 * limit);
        foreach (float v in values)
        {
            if (float.IsNaN(v)) continue;
            int bin = (int)((v + limit) * binsPerUnit);
            _bins[Math.Clamp(bin, 0, BinCount - 1)]++;
        }
    }

    /// <summary>Doubles the histogram range until it holds <paramref name="peak"/>, merging each pair of bins.</summary>
    private void GrowHistogram(float peak)
    {
        if (peak <= HistogramLimit) return;
        if (HistogramLimit == 0)
        {
            // Zeros counted so far sit in the middle bin, which stays the bin of zero at any range.
            HistogramLimit = peak;
            return;
        }
        while (HistogramLimit < peak)
        {
            // Old bin i covers the same values as half of new bin BinCount/4 + i/2.
            var merged = new long[BinCount];
            for (int i = 0; i < BinCount; i++) merged[BinCount / 4 + i / 2] += _bins[i];
            merged.CopyTo(_bins, 0);
            HistogramLimit *= 2;
        }
    }

    /// <summary>The range to quantize to: always contains 0 (so zero is exact) and never exceeds what was seen.</summary>
    public (float Min, float Max) Range(CalibrationOptions options)
    {
        if (Count == 0) return (0, 0);
        float lo = Min, hi = Max;
        if (options.Method == CalibrationMethod.Percentile && HistogramLimit > 0)
        {
            // Whole values per tail; the small epsilon keeps e.g. 0.1% of 1000 values at exactly 1 despite float error.
            double tail = Math.Floor((100 - Math.Clamp(options.Percentile, 0, 100)) / 100 * Count + 1e-6);
            lo = Math.Max(lo, (float)ValueAtRank(tail, fromTop: false));
            hi = Math.Min(hi, (float)ValueAtRank(tail, fromTop: true));
        }
        return (Math.Min(lo, 0f), Math.Max(hi, 0f));
    }

    /// <summary>
    /// The histogram edge below which (or above which, from the top) at most <paramref name="rank"/> values lie;
    /// the edge of the first bin that would exceed it.
    /// </summary>
    private double ValueAtRank(double rank, bool fromTop)
    {
        double width = 2 * HistogramLimit / BinCount;
        long cumulative = 0;
        for (int k = 0; k < BinCount; k++)
        {
            int bin = fromTop ? BinCount - 1 - k : k;
            if (cumulative + _bins[bin] > rank)
                return fromTop ? -HistogramLimit + (bin + 1) * width : -HistogramLimit + bin * width;
            cumulative += _bins[bin];
        }
        return fromTop ? -HistogramLimit : HistogramLimit;
    }
}

/// <summary>Calibration results for every activation tensor of a float graph, by tensor name.</summary>
public sealed class CalibrationStats
{
    public CalibrationStats(CalibrationOptions options, int sampleCount, IReadOnlyDictionary<string, TensorStats> tensors)
    {
        Options = options;
        SampleCount = sampleCount;
        Tensors = tensors;
    }

    public CalibrationOptions Options { get; }
    public int SampleCount { get; }
    public IReadOnlyDictionary<string, TensorStats> Tensors { get; }

    /// <summary>The calibrated real range of a tensor with the configured method.</summary>
    public (float Min, float Max) Range(string tensorName)
    {
        if (!Tensors.TryGetValue(tensorName, out var stats))
            throw new ConversionException($"calibration has no statistics for tensor '{tensorName}'");
        return stats.Range(Options);
    }

    /// <summary>A short description for model metadata, e.g. "percentile 99.99, 256 samples".</summary>
    public string Describe() => Options.Method == CalibrationMethod.Percentile
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"percentile {Options.Percentile}, {SampleCount} samples")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"minmax, {SampleCount} samples");
}
