using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime.Quantization;
using NUnit.Framework;

namespace EdgeNets.Tests.Quantization;

/// <summary>
/// The entropy and MSE range searches against direct evaluations of their objectives over every candidate, and against
/// the real reconstruction error of the values they were computed from.
/// </summary>
[TestFixture]
public class RangeSearchTests
{
    private const int Bins = TensorStats.BinCount, Zero = TensorStats.BinCount / 2;

    private static readonly CalibrationOptions MinMax = new() { Method = CalibrationMethod.MinMax };
    private static readonly CalibrationOptions Entropy = new() { Method = CalibrationMethod.Entropy };
    private static readonly CalibrationOptions Mse = new() { Method = CalibrationMethod.Mse };

    /// <summary>Bell-shaped values (sum of uniforms) times <paramref name="sigma"/>, shifted, with a few far outliers.</summary>
    private static float[] Values(int seed, int count, float sigma, float shift, int outliers, float outlier, bool relu = false)
    {
        var rng = new Random(seed);
        var v = new float[count];
        for (int i = 0; i < count; i++)
        {
            double s = 0;
            for (int k = 0; k < 4; k++) s += rng.NextDouble() - 0.5;
            v[i] = (float)(s * sigma + shift);
            if (relu) v[i] = Math.Max(v[i], 0f);
        }
        for (int i = 0; i < outliers; i++) v[rng.Next(count)] = outlier * (1 + 0.01f * i);
        return v;
    }

    private static TensorStats Stats(params float[][] batches)
    {
        var stats = new TensorStats("t");
        foreach (var b in batches) stats.Add(b);
        return stats;
    }

    /// <summary>Σ (x - dequantize(quantize(x)))² with the runtime's int8 quantization and the range's scale and zero point.</summary>
    private static double ReconstructionError(float[] values, (float Min, float Max) range)
    {
        var q = QuantParams.Asymmetric(range.Min, range.Max);
        double sum = 0;
        foreach (float v in values)
        {
            double e = v - (double)q.Scale * (FixedPoint.QuantizeValue(v, 1f / q.Scale, q.ZeroPoint) - q.ZeroPoint);
            sum += e * e;
        }
        return sum;
    }

    [Test]
    public void RareOutliers_EntropyClipsBelowTheMaximum_MinMaxDoesNot_AndTheBulkReconstructsBetter()
    {
        var values = Values(1, 50_000, 1f, 0f, outliers: 5, outlier: 40f, relu: true);
        var stats = Stats(values);
        var minmax = stats.Range(MinMax);
        var entropy = stats.Range(Entropy);
        Assert.That(minmax.Max, Is.EqualTo(values.Max()));
        Assert.That(entropy.Max, Is.LessThan(minmax.Max / 3), "entropy clips the outliers");
        Assert.That(entropy.Max, Is.GreaterThan(1f), "entropy keeps the bulk (the bell reaches 2)");
        Assert.That(entropy.Min, Is.EqualTo(0f));
        // Five far outliers weigh more in squared error than the finer steps gain, so MSE keeps them; entropy trades
        // them for the bulk, which it reconstructs better.
        var bulk = values.Where(v => v < 3).ToArray();
        Assert.That(ReconstructionError(bulk, entropy), Is.LessThan(ReconstructionError(bulk, minmax) / 4));
    }

    [Test]
    public void HeavyTail_MseClipsBelowTheMaximum_MinMaxDoesNot_AndReconstructsBetter()
    {
        // Laplace values: a long sparse tail, where the optimal 8-bit clipping lies below the largest of 200k samples.
        var rng = new Random(7);
        var values = Enumerable.Range(0, 200_000).Select(_ =>
        {
            double u = rng.NextDouble() - 0.5;
            return (float)(-Math.Sign(u) * Math.Log(1 - 2 * Math.Abs(u)));
        }).ToArray();
        var stats = Stats(values);
        var minmax = stats.Range(MinMax);
        var mse = stats.Range(Mse);
        Assert.That(minmax, Is.EqualTo((values.Min(), values.Max())));
        Assert.That(mse.Max, Is.LessThan(0.9f * minmax.Max), "mse clips the tail");
        Assert.That(mse.Min, Is.GreaterThan(0.9f * minmax.Min), "mse clips the tail");
        Assert.That(ReconstructionError(values, mse), Is.LessThan(ReconstructionError(values, minmax)));
    }

    [Test]
    public void WithoutOutliers_MseKeepsNearlyTheWholeRange()
    {
        // Uniform values: clipping any of them costs more than the finer step saves.
        var rng = new Random(2);
        var values = Enumerable.Range(0, 20_000).Select(_ => (float)(rng.NextDouble() * 3 - 1)).ToArray();
        var (lo, hi) = Stats(values).Range(Mse);
        Assert.That(lo, Is.LessThan(-0.97f));
        Assert.That(hi, Is.GreaterThan(1.97f));
    }

    /// <summary>
    /// The MSE objective written out per bin (each bin's count spread evenly over it; clipped bins by the closed-form
    /// integral of (x - end)², the others s²/12 each; exact zeros free), minimized over every pair of bin edges.
    /// </summary>
    private static (double Error, double Lo, double Hi) BruteForceMse(TensorStats stats)
    {
        double w = 2 * stats.HistogramLimit / Bins;
        var counts = stats.Histogram.ToArray();
        counts[Zero] -= stats.ZeroCount;
        int first = Array.FindIndex(counts, c => c > 0), last = Array.FindLastIndex(counts, c => c > 0);
        double best = double.PositiveInfinity, bestLo = 0, bestHi = 0;
        for (int a = Math.Min(first, Zero); a <= Zero; a++)
        for (int c = Zero; c <= Math.Max(last + 1, Zero); c++)
        {
            double lo = Math.Min(Math.Max((a - Zero) * w, stats.Min), 0), hi = Math.Max(Math.Min((c - Zero) * w, stats.Max), 0);
            if (hi <= lo) continue;
            double s = (hi - lo) / 255, error = 0;
            for (int b = first; b <= last; b++)
            {
                if (counts[b] == 0) continue;
                double u = (b - Zero) * w, v = u + w;
                double end = b < a ? lo : b >= c ? hi : double.NaN;
                error += double.IsNaN(end)
                    ? counts[b] * s * s / 12
                    : counts[b] * (Math.Pow(v - end, 3) - Math.Pow(u - end, 3)) / (3 * w);
            }
            if (error < best * (1 - 1e-12)) { best = error; bestLo = lo; bestHi = hi; }
        }
        return (best, bestLo, bestHi);
    }

    [TestCase(3, false)]
    [TestCase(4, true)]
    public void Mse_FindsTheMinimumOfItsObjectiveOverEveryPairOfEdges(int seed, bool relu)
    {
        // One-sided (ReLU-like, with exact zeros) and two-sided with a short clipped negative tail, with outliers on top.
        var values = Values(seed, 30_000, 1f, relu ? 0f : 0.4f, outliers: 3, outlier: 12f, relu);
        if (!relu) for (int i = 0; i < values.Length; i++) values[i] = Math.Max(values[i], -0.6f);
        var stats = Stats(values);
        var found = stats.Range(Mse);
        var (_, bestLo, bestHi) = BruteForceMse(stats);
        double w = 2 * stats.HistogramLimit / Bins;
        Assert.That(found.Max, Is.EqualTo(bestHi).Within(w * 1e-3));
        Assert.That(found.Min, Is.EqualTo(bestLo).Within(w * 1e-3));
    }

    /// <summary>
    /// KL(P‖Q) of one threshold, written from the definition: P the clipped histogram with the outliers on its end bins,
    /// Q the unclipped counts grouped by the int8 value each bin's centre quantizes to, spread over P's non-empty bins;
    /// TensorRT's ε-smoothing; KL of the normalized distributions.
    /// </summary>
    private static double BruteForceDivergence(long[] counts, double w, double min, double max, int k)
    {
        int first = Array.FindIndex(counts, c => c > 0), last = Array.FindLastIndex(counts, c => c > 0);
        int a = Math.Max(Math.Min(first, Zero), Zero - k), c = Math.Min(Math.Max(last + 1, Zero), Zero + k);
        double lo = Math.Min(Math.Max((a - Zero) * w, min), 0), hi = Math.Max(Math.Min((c - Zero) * w, max), 0);
        var quant = QuantParams.Asymmetric((float)lo, (float)hi);
        var p = new List<double>();
        var level = new List<int>();
        for (int b = a; b < c; b++)
        {
            p.Add(counts[b]);
            double centre = (b - Zero + 0.5) * w;
            level.Add((int)Math.Clamp(Math.Round(centre / quant.Scale, MidpointRounding.AwayFromZero) + quant.ZeroPoint, -128, 127));
        }
        p[0] += counts.Take(a).Sum();
        p[^1] += counts.Skip(c).Sum();
        var groupSum = new Dictionary<int, double>();
        var groupNonEmpty = new Dictionary<int, int>();
        for (int i = 0; i < p.Count; i++)
        {
            groupSum[level[i]] = groupSum.GetValueOrDefault(level[i]) + counts[a + i];
            groupNonEmpty[level[i]] = groupNonEmpty.GetValueOrDefault(level[i]) + (p[i] > 0 ? 1 : 0);
        }
        var q = p.Select((pi, i) => pi > 0 ? groupSum[level[i]] / groupNonEmpty[level[i]] : 0).ToList();
        static List<double> Smooth(List<double> d)
        {
            int zeros = d.Count(x => x == 0);
            double taken = 0.0001 * zeros / (d.Count - zeros);
            return d.Select(x => x == 0 ? 0.0001 : x - taken).ToList();
        }
        if (q.All(x => x == 0)) return double.PositiveInfinity;
        var ps = Smooth(p);
        var qs = Smooth(q);
        double pt = ps.Sum(), qt = qs.Sum();
        return ps.Zip(qs).Where(t => t.First > 0).Sum(t => t.First / pt * Math.Log(t.First / pt / (t.Second / qt)));
    }

    [TestCase(5, true)]
    [TestCase(6, false)]
    public void Entropy_FindsTheThresholdOfLeastDivergence(int seed, bool relu)
    {
        var values = Values(seed, 30_000, 1f, relu ? 0f : -0.2f, outliers: 4, outlier: relu ? 9f : -9f, relu);
        var stats = Stats(values);
        var found = stats.Range(Entropy);
        double w = 2 * stats.HistogramLimit / Bins;
        var counts = stats.Histogram.ToArray();
        counts[Zero] -= stats.ZeroCount;
        int farthest = Math.Max(Zero - Array.FindIndex(counts, c => c > 0), Array.FindLastIndex(counts, c => c > 0) + 1 - Zero);
        double best = double.PositiveInfinity;
        int bestK = -1;
        for (int k = RangeSearch.EntropyFirstThreshold; k <= farthest; k++)
        {
            double d = BruteForceDivergence(counts, w, stats.Min, stats.Max, k);
            if (d < best) { best = d; bestK = k; }
        }
        double threshold = bestK * w;
        Assert.That(Math.Max(-found.Min, found.Max), Is.EqualTo(threshold).Within(w * 1e-3).Or.EqualTo(Math.Max(-stats.Min, stats.Max)).Within(w * 1e-3),
            $"least divergence {best} at {bestK} bins");
        Assert.That(Math.Max(-found.Min, found.Max), Is.LessThan(8f), "the outliers are clipped");
    }

    [Test]
    public void AllZeroAndEmptyTensors_KeepTheirTrivialRange()
    {
        Assert.That(Stats(new float[100]).Range(Entropy), Is.EqualTo((0f, 0f)));
        Assert.That(Stats(new float[100]).Range(Mse), Is.EqualTo((0f, 0f)));
        Assert.That(new TensorStats("e").Range(Mse), Is.EqualTo((0f, 0f)));
    }
}
