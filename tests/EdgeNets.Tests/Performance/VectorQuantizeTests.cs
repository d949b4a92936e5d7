using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Runtime.Quantization;
using NUnit.Framework;

namespace EdgeNets.Tests.Performance;

/// <summary>The vector input quantization gives FixedPoint.QuantizeValue's bytes for every value, on every vector width.</summary>
public class VectorQuantizeTests
{
    private static readonly float[] Specials =
    [
        float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue,
        0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 0.49999997f, -0.49999997f, 127.5f, -128.5f, 126.5f, 8388607.5f, -8388607.5f, 16777217f, 1e30f, -1e30f,
    ];

    [TestCase(0.00390625f, -128)]
    [TestCase(0.1f, 0)]
    [TestCase(1f, 127)]
    [TestCase(0.0211f, 5)]
    [TestCase(3e-5f, -17)]
    public void MatchesTheScalarRoutine(float scale, int zeroPoint)
    {
        var rng = new Random(31);
        // Odd length: vector blocks plus a scalar tail; halves of the scale hit exact midpoints after scaling.
        var values = new float[1003];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (i % 5) switch
            {
                0 => Specials[rng.Next(Specials.Length)],
                1 => (rng.Next(-600, 600) + 0.5f) * scale,
                2 => rng.Next(-300, 300) * scale,
                _ => (float)(rng.NextDouble() * 400 - 200) * scale,
            };
        }
        float inverseScale = 1f / scale;
        var actual = new sbyte[values.Length];
        QuantizeVector.Quantize(values, actual, inverseScale, zeroPoint);
        for (int i = 0; i < values.Length; i++)
            Assert.That(actual[i], Is.EqualTo(FixedPoint.QuantizeValue(values[i], inverseScale, zeroPoint)), $"value {values[i]:R} at {i}");
    }
}
