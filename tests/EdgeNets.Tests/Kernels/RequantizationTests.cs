using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Runtime.Quantization;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>
/// The shared int8 epilogue (<see cref="Requantization"/>) at every vector width against its specification, the scalar
/// <see cref="FixedPoint.Requantize"/>: accumulators at the int32 edges and random, every accepted shift, multipliers
/// at their edges, output zero points and clamps (activation ranges included), one pair per call, per lane, or
/// broadcast once per channel.
/// </summary>
[TestFixture]
public class RequantizationTests
{
    private static readonly int[] Edges = [int.MinValue, int.MinValue + 1, -(1 << 30) - 1, -(1 << 30), -65536, -129, -128, -2, -1, 0, 1, 2, 127, 128, 65535, 1 << 30, int.MaxValue];

    private static int[] Accumulators(Random rng) => Edges.Concat(Enumerable.Range(0, 47).Select(_ => rng.Next(int.MinValue, int.MaxValue)))
        .Concat(Enumerable.Range(0, 32).Select(_ => rng.Next(-100_000, 100_000))).ToArray();

    private static IEnumerable<(int Multiplier, int Shift, int Zero, int Min, int Max)> Cases(Random rng)
    {
        int[] multipliers = [0, 1, 1 << 30, int.MaxValue, rng.Next(1 << 30, int.MaxValue)];
        (int, int)[] ranges = [(-128, 127), (-3, 127), (-128, 40)];
        for (int shift = -31; shift <= 30; shift++)
            foreach (int m in multipliers)
                foreach (var (min, max) in ranges)
                    yield return (m, shift, rng.Next(-128, 128), min, max);
    }

    private static sbyte[] Bytes(Vector128<sbyte> v) => Enumerable.Range(0, 16).Select(i => v.GetElement(i)).ToArray();

    private static sbyte[] Expected(int[] xs, int m, int shift, int zero, int min, int max) =>
        xs.Select(x => FixedPoint.Requantize(x, m, shift, zero, min, max)).ToArray();

    [Test]
    public void RequantizeMatchesTheScalarRoutineAtEveryWidth()
    {
        if (!Sse41.IsSupported) Assert.Ignore("needs SSE4.1 on this x86 test machine");
        var rng = new Random(12);
        var xs = Accumulators(rng);
        int checkedCount = 0;
        foreach (var (m, shift, zero, min, max) in Cases(rng))
        {
            var expected = Expected(xs, m, shift, zero, min, max);
            string at = $"m={m} shift={shift} zero={zero} range=[{min}, {max}]";
            for (int i = 0; i + 16 <= xs.Length; i += 16)
            {
                for (int k = 0; k < 16; k += 4)
                {
                    var r = Requantization.Requantize(Vector128.Create(xs.AsSpan(i + k, 4)), m, shift, Vector128.Create(zero), Vector128.Create(min), Vector128.Create(max));
                    for (int l = 0; l < 4; l++) Assert.That(r[l], Is.EqualTo(expected[i + k + l]), $"{at} x={xs[i + k + l]} (Vector128)");
                }
                if (Avx2.IsSupported)
                {
                    var zero256 = Vector256.Create(zero);
                    var min256 = Vector256.Create(min);
                    var max256 = Vector256.Create(max);
                    var low = Requantization.Requantize(Vector256.Create(xs.AsSpan(i, 8)), m, shift, zero256, min256, max256);
                    var rescale = new QuantizedMultiplier256(m, shift);
                    var high = Requantization.ToOutputRange(rescale.Apply(Vector256.Create(xs.AsSpan(i + 8, 8))), zero256, min256, max256);
                    Assert.That(Bytes(Requantization.NarrowToInt8(low, high)), Is.EqualTo(expected.Skip(i).Take(16)), $"{at} (Vector256)");
                }
                if (Avx512F.IsSupported)
                {
                    var wide = Requantization.Requantize(Vector512.Create(xs.AsSpan(i, 16)), m, shift, Vector512.Create(zero), Vector512.Create(min), Vector512.Create(max));
                    Assert.That(Bytes(Requantization.NarrowToInt8(wide)), Is.EqualTo(expected.Skip(i).Take(16)), $"{at} (Vector512)");
                    // The channel form adds its bias first: the accumulators less a bias, plus it, are the same values.
                    int bias = rng.Next(-1000, 1000);
                    var sums = Vector512.Create(xs.AsSpan(i, 16)) - Vector512.Create(bias);
                    var channel = new ChannelRequantization512(bias, m, shift, zero, min, max);
                    Assert.That(Bytes(channel.Apply(sums)), Is.EqualTo(expected.Skip(i).Take(16)), $"{at} bias={bias} (channel, Vector512)");
                }
                checkedCount++;
            }
        }
        Assert.That(checkedCount, Is.GreaterThan(5000));
    }

    /// <summary>Eight outputs with eight different (multiplier, shift) pairs in one vector, as the Gemm's per-channel lanes.</summary>
    [Test]
    public void PerLaneMultipliersMatchTheScalarRoutine()
    {
        if (!Avx2.IsSupported) Assert.Ignore("needs AVX2 on this x86 test machine");
        var rng = new Random(34);
        var xs = Accumulators(rng);
        int checkedCount = 0;
        for (int round = 0; round < 400; round++)
        {
            var multipliers = new int[8];
            var shifts = new int[8];
            for (int l = 0; l < 8; l++)
            {
                multipliers[l] = l == 0 ? int.MaxValue : l == 1 ? 0 : rng.Next(1 << 30, int.MaxValue);
                shifts[l] = rng.Next(-31, 31);
            }
            var left = shifts.Select(s => Math.Max(s, 0)).ToArray();
            var right = shifts.Select(s => Math.Max(-s, 0)).ToArray();
            var masks = right.Select(e => (int)((1L << e) - 1)).ToArray();
            for (int i = 0; i + 8 <= xs.Length; i += 8)
            {
                var r = Requantization.MultiplyByQuantizedMultiplier(Vector256.Create(xs.AsSpan(i, 8)), Vector256.Create(multipliers),
                    Vector256.Create(left), Vector256.Create(right), Vector256.Create(masks));
                for (int l = 0; l < 8; l++)
                    Assert.That(r[l], Is.EqualTo(FixedPoint.MultiplyByQuantizedMultiplier(xs[i + l], multipliers[l], shifts[l])),
                        $"x={xs[i + l]} m={multipliers[l]} shift={shifts[l]}");
                checkedCount++;
            }
        }
        Assert.That(checkedCount, Is.GreaterThan(3000));
    }
}
