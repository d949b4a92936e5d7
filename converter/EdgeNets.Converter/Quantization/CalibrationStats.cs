using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Quantization;

/// <summary>How the real range of an activation is chosen from the values seen during calibration.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,
    /// <summary>From the (100 - p)th to the p-th percentile of the values seen (<see cref="CalibrationOptions.Percentile"/>): outliers are clipped.</summary>
    Percentile,
    /// <summary>The clipping threshold whose int8 histogram is closest to the float one in KL divergence (TensorRT's entropy calibration).</summary>
    Entropy,
    /// <summary>The range with the least expected squared error, rounding and clipping together (<see cref="RangeSearch.Mse"/>).</summary>
    Mse,
    /// <summary>Per tensor, whichever of the others reconstructs the calibration values with the least squared error, measured in a second pass.</summary>
    Auto,
}

public sealed class CalibrationOptions
{
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>
    /// With <see cref="CalibrationMethod.Percentile"/> (and for auto's percentile candidate), the range runs from the
    /// (100 - Percentile)th to the Percentile-th percentile of the values: 100 - Percentile percent is cut from each tail.
    /// </summary>
    public double Percentile { get; init; } = 99.99;
}

/// <summary>
/// What calibration saw of one activation tensor: exact minimum and maximum, the number of exact zeros and a histogram
/// of the values over [-<see cref="HistogramLimit"/>, <see cref="HistogramLimit"/>]. Its size is fixed, however many
/// samples are added.
/// </summary>
public sealed class TensorStats
{
    /// <summary>Bins of the value histogram; a power of two so the range can double by merging bin pairs.</summary>
    public const int BinCount = 2048;

    private readonly long[] _bins = new long[BinCount];
    // Searched ranges by method, computed once; cleared when values are added.
    private readonly Dictionary<CalibrationMethod, (float Min, float Max)> _searched = [];

    public TensorStats(string name) => Name = name;

    public string Name { get; }
    public float Min { get; private set; } = float.PositiveInfinity;
    public float Max { get; private set; } = float.NegativeInfinity;
    public long Count { get; private set; }
    /// <summary>How many of the values were exactly zero (exact in any int8 range, so they carry no rounding error).</summary>
    public long ZeroCount { get; private set; }
    /// <summary>With <see cref="CalibrationMethod.Auto"/>: the method the calibrator chose for this tensor and its range.</summary>
    public (CalibrationMethod Method, float Min, float Max)? Chosen { get; internal set; }
    /// <summary>The histogram covers [-HistogramLimit, HistogramLimit]; 0 until a non-zero value is seen.</summary>
    public double HistogramLimit { get; private set; }
    public ReadOnlySpan<long> Histogram => _bins;

    /// <summary>Adds the values of one run. NaNs are ignored.</summary>
    public void Add(ReadOnlySpan<float> values)
    {
        float min = Min, max = Max, peak = 0;
        int seen = 0, zeros = 0;
        foreach (float v in values)
        {
            if (float.IsNaN(v)) continue;
            seen++;
            if (v == 0) zeros++;
            if (v < min) min = v;
            if (v > max) max = v;
            float a = MathF.Abs(v);
            if (a > peak) peak = a;
        }
        Min = min;
        Max = max;
        Count += seen;
        ZeroCount += zeros;
        _searched.Clear();
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
        if (options.Method is CalibrationMethod.Entropy or CalibrationMethod.Mse && HistogramLimit > 0)
        {
            if (!_searched.TryGetValue(options.Method, out var found))
                _searched[options.Method] = found = options.Method == CalibrationMethod.Entropy ? RangeSearch.Entropy(this) : RangeSearch.Mse(this);
            (lo, hi) = (Math.Max(lo, found.Min), Math.Min(hi, found.Max));
        }
        if (options.Method == CalibrationMethod.Auto)
        {
            var chosen = Chosen ?? throw new InvalidOperationException($"tensor '{Name}': auto calibration has not measured its candidates (Calibrator does)");
            (lo, hi) = (chosen.Min, chosen.Max);
        }
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

    /// <summary>
    /// A short description for model metadata, e.g. "percentile 99.99, 256 samples", or for auto the count of tensors
    /// per chosen method: "auto (minmax 3, entropy 12, mse 40), 256 samples".
    /// </summary>
    public string Describe()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string method = Options.Method switch
        {
            CalibrationMethod.Percentile => string.Create(inv, $"percentile {Options.Percentile}"),
            CalibrationMethod.Auto => $"auto ({string.Join(", ", ChosenCounts().Select(c => string.Create(inv, $"{MethodName(c.Method)} {c.Tensors}")))})",
            _ => MethodName(Options.Method),
        };
        return string.Create(inv, $"{method}, {SampleCount} samples");
    }

    /// <summary>Model metadata key of <see cref="DescribeChoices"/>.</summary>
    public const string ChoicesKey = "calibration_choices";

    // One letter per method in ChoicesKey's value, in the order of CalibrationMethod; '-' for a tensor without a choice.
    private const string ChoiceLetters = "mpes";

    /// <summary>
    /// With auto: the method chosen for each activation tensor of <paramref name="quantized"/> (the graph quantized with
    /// these statistics), one letter per non-constant tensor in tensor order (m minmax, p percentile, e entropy,
    /// s mse, - none), short enough for model metadata; <see cref="ParseChoices"/> reads it back.
    /// </summary>
    public string DescribeChoices(ModelGraph quantized) => new(quantized.Tensors.Where(t => !t.IsConstant)
        .Select(t => Tensors.TryGetValue(t.Name, out var stats) && stats.Chosen is { } c ? ChoiceLetters[(int)c.Method] : '-').ToArray());

    /// <summary>The tensors of a model whose calibration auto chose, with the method: tensor index to method name.</summary>
    public static Dictionary<int, string> ParseChoices(ModelGraph model)
    {
        var result = new Dictionary<int, string>();
        if (!model.Metadata.TryGetValue(ChoicesKey, out var letters)) return result;
        int k = 0;
        for (int t = 0; t < model.Tensors.Count && k < letters.Length; t++)
        {
            if (model.Tensors[t].IsConstant) continue;
            int method = ChoiceLetters.IndexOf(letters[k++]);
            if (method >= 0) result[t] = MethodName((CalibrationMethod)method);
        }
        return result;
    }

    /// <summary>With auto: how many tensors each method was chosen for, in the order of <see cref="CalibrationMethod"/>.</summary>
    public IEnumerable<(CalibrationMethod Method, int Tensors)> ChosenCounts() =>
        Tensors.Values.Where(t => t.Chosen != null).GroupBy(t => t.Chosen!.Value.Method).OrderBy(g => g.Key).Select(g => (g.Key, g.Count()));

    /// <summary>The method's name on the command line and in model metadata.</summary>
    public static string MethodName(CalibrationMethod method) => method switch
    {
        CalibrationMethod.MinMax => "minmax",
        CalibrationMethod.Percentile => "percentile",
        CalibrationMethod.Entropy => "entropy",
        CalibrationMethod.Mse => "mse",
        _ => "auto",
    };
}
