namespace EdgeNets.Converter.Quantization;

/// <summary>
/// Searches of a tensor's calibration histogram for the int8 range that loses least: by KL divergence
/// (<see cref="Entropy"/>) or by expected squared error (<see cref="Mse"/>). Both return a range that contains 0 and
/// lies within the values seen.
/// <para>
/// Geometry: the histogram has <see cref="TensorStats.BinCount"/> bins of width w over [-L, L]; bin b covers
/// [-L + b·w, -L + (b+1)·w), so zero is the edge between bins B/2 - 1 and B/2. Candidate range ends are bin edges.
/// Exact zeros are taken out of the zero bin: they are exact at any range, so they neither round nor clip.
/// </para>
/// </summary>
internal static class RangeSearch
{
    /// <summary>The threshold search starts at this many bins from zero, as TensorRT's does (one bin per int8 level of a side).</summary>
    public const int EntropyFirstThreshold = 128;

    /// <summary>
    /// The range [lo, hi] with bin-edge ends minimizing the expected squared error of the values, each bin's count
    /// spread evenly over the bin: clipping error Σ (x - lo)² below lo and Σ (x - hi)² above hi, exactly, plus the
    /// rounding error of every other non-zero value, s²/12 for the step s = (hi - lo) / 255 (the error of rounding a value
    /// that is uniform within its step). Every pair of ends is tried, in O(1) each from prefix sums.
    /// </summary>
    public static (float Min, float Max) Mse(TensorStats stats)
    {
        var h = Histogram.Of(stats);
        if (h == null) return (Math.Min(stats.Min, 0f), Math.Max(stats.Max, 0f));
        int n = TensorStats.BinCount, zero = n / 2;
        // Prefix sums in bin units (x / w, zero at 0): count, Σ x and Σ x² of the values below each edge.
        var count = new double[n + 1];
        var first = new double[n + 1];
        var second = new double[n + 1];
        for (int b = 0; b < n; b++)
        {
            double u = b - zero, v = u + 1, c = h.Counts[b];
            count[b + 1] = count[b] + c;
            first[b + 1] = first[b] + c * (u + v) / 2;
            second[b + 1] = second[b] + c * (u * u + u * v + v * v) / 3;
        }
        double best = double.PositiveInfinity;
        int bestLo = h.LowEdge, bestHi = h.HighEdge;
        for (int a = h.LowEdge; a <= zero; a++)
        {
            double lo = h.Lower(a);
            double below = second[a] - 2 * lo * first[a] + lo * lo * count[a];
            for (int c = h.HighEdge; c >= zero; c--)
            {
                double hi = h.Upper(c);
                if (hi <= lo) continue;
                double above = second[n] - second[c] - 2 * hi * (first[n] - first[c]) + hi * hi * (count[n] - count[c]);
                double step = (hi - lo) / 255;
                double error = below + above + (count[c] - count[a]) * step * step / 12;
                if (error < best) { best = error; bestLo = a; bestHi = c; }
            }
        }
        return h.Range(bestLo, bestHi);
    }

    /// <summary>
    /// TensorRT's entropy calibration on the signed histogram: for each threshold T (a bin edge, from
    /// <see cref="EntropyFirstThreshold"/> bins up to the farthest value), the range is [-T, T] within the values seen;
    /// P is the histogram inside it with the clipped counts added to its end bins, Q the histogram inside it (without
    /// them) merged over the bins that quantize to the same int8 value and spread back evenly over the bins where P is
    /// non-zero. Both are smoothed as TensorRT does (ε = 0.0001 moved to the empty bins) and the threshold with the least
    /// KL(P‖Q) wins.
    /// </summary>
    public static (float Min, float Max) Entropy(TensorStats stats)
    {
        var h = Histogram.Of(stats);
        if (h == null) return (Math.Min(stats.Min, 0f), Math.Max(stats.Max, 0f));
        int zero = TensorStats.BinCount / 2;
        int farthest = Math.Max(zero - h.LowEdge, h.HighEdge - zero);
        if (farthest <= EntropyFirstThreshold) return h.Range(h.LowEdge, h.HighEdge);
        var p = new double[TensorStats.BinCount];
        var q = new double[TensorStats.BinCount];
        double best = double.PositiveInfinity;
        int bestLo = h.LowEdge, bestHi = h.HighEdge;
        for (int k = EntropyFirstThreshold; k <= farthest; k++)
        {
            int a = Math.Max(h.LowEdge, zero - k), c = Math.Min(h.HighEdge, zero + k);
            double divergence = Divergence(h, a, c, p, q);
            if (divergence < best) { best = divergence; bestLo = a; bestHi = c; }
        }
        return h.Range(bestLo, bestHi);
    }

    /// <summary>KL(P‖Q) of the candidate range between edges <paramref name="a"/> and <paramref name="c"/>; infinity when Q is empty.</summary>
    internal static double Divergence(Histogram h, int a, int c, double[] p, double[] q)
    {
        int bins = c - a;
        double clippedBelow = 0, clippedAbove = 0;
        for (int b = 0; b < a; b++) clippedBelow += h.Counts[b];
        for (int b = c; b < h.Counts.Length; b++) clippedAbove += h.Counts[b];
        for (int i = 0; i < bins; i++) p[i] = h.Counts[a + i];
        p[0] += clippedBelow;
        p[bins - 1] += clippedAbove;

        // Bins quantizing to the same int8 value (by their centres, with the candidate's own scale and zero point) form one level of Q.
        var quant = QuantParams.Asymmetric((float)(h.Lower(a) * h.Width), (float)(h.Upper(c) * h.Width));
        int start = 0;
        while (start < bins)
        {
            int level = Level(h, a + start, quant);
            int end = start + 1;
            while (end < bins && Level(h, a + end, quant) == level) end++;
            double sum = 0;
            int nonEmpty = 0;
            for (int i = start; i < end; i++) { sum += h.Counts[a + i]; if (p[i] > 0) nonEmpty++; }
            for (int i = start; i < end; i++) q[i] = p[i] > 0 ? sum / nonEmpty : 0;
            start = end;
        }
        if (!Smooth(p, bins) || !Smooth(q, bins)) return double.PositiveInfinity;
        double pTotal = 0, qTotal = 0;
        for (int i = 0; i < bins; i++) { pTotal += p[i]; qTotal += q[i]; }
        double kl = 0;
        for (int i = 0; i < bins; i++)
        {
            if (p[i] <= 0) continue;
            if (q[i] <= 0) return double.PositiveInfinity;
            kl += p[i] / pTotal * Math.Log(p[i] / pTotal / (q[i] / qTotal));
        }
        return kl;
    }

    private static int Level(Histogram h, int bin, EdgeNets.Runtime.Graph.QuantizationInfo quant)
    {
        double centre = (bin - TensorStats.BinCount / 2 + 0.5) * h.Width;
        return (int)Math.Clamp(Math.Round(centre / quant.Scale, MidpointRounding.AwayFromZero) + quant.ZeroPoint, -128, 127);
    }

    /// <summary>TensorRT's smoothing: ε to every empty bin, taken evenly from the others; false when all are empty.</summary>
    private static bool Smooth(double[] d, int length)
    {
        const double Epsilon = 0.0001;
        int empty = 0;
        for (int i = 0; i < length; i++) if (d[i] == 0) empty++;
        if (empty == length) return false;
        double taken = Epsilon * empty / (length - empty);
        for (int i = 0; i < length; i++) d[i] += d[i] == 0 ? Epsilon : -taken;
        return true;
    }

    /// <summary>
    /// A histogram's counts with the exact zeros taken out, its occupied edges and the range between two edges in bin
    /// units (value / width), ends clamped to the values seen.
    /// </summary>
    internal sealed class Histogram
    {
        private readonly double _min, _max;

        private Histogram(long[] counts, double width, double min, double max, int lowEdge, int highEdge)
        {
            Counts = counts;
            Width = width;
            _min = min;
            _max = max;
            LowEdge = lowEdge;
            HighEdge = highEdge;
        }

        public long[] Counts { get; }
        /// <summary>Bin width in real units.</summary>
        public double Width { get; }
        /// <summary>Lowest candidate edge: the start of the lowest occupied bin, or zero.</summary>
        public int LowEdge { get; }
        /// <summary>Highest candidate edge: the end of the highest occupied bin, or zero.</summary>
        public int HighEdge { get; }

        /// <summary>Null when there is nothing to search (no values, or all zero).</summary>
        public static Histogram? Of(TensorStats stats)
        {
            if (stats.Count == 0 || stats.HistogramLimit == 0) return null;
            var counts = stats.Histogram.ToArray();
            int zero = counts.Length / 2;
            counts[zero] -= stats.ZeroCount;
            int low = zero, high = zero;
            for (int b = 0; b < zero; b++) if (counts[b] > 0) { low = b; break; }
            for (int b = counts.Length - 1; b >= zero; b--) if (counts[b] > 0) { high = b + 1; break; }
            double width = 2 * stats.HistogramLimit / counts.Length;
            return new Histogram(counts, width, stats.Min / width, stats.Max / width, low, high);
        }

        /// <summary>The low end at edge <paramref name="edge"/> in bin units: the edge, or the minimum seen when that is above it.</summary>
        public double Lower(int edge) => Math.Min(Math.Max(edge - Counts.Length / 2, _min), 0);

        /// <summary>The high end at edge <paramref name="edge"/> in bin units: the edge, or the maximum seen when that is below it.</summary>
        public double Upper(int edge) => Math.Max(Math.Min(edge - Counts.Length / 2, _max), 0);

        public (float Min, float Max) Range(int lowEdge, int highEdge) => ((float)(Lower(lowEdge) * Width), (float)(Upper(highEdge) * Width));
    }
}
