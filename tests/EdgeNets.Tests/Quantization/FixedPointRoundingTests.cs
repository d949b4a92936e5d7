using EdgeNets.Runtime.Quantization;
using NUnit.Framework;

namespace EdgeNets.Tests.Quantization;

public class FixedPointRoundingTests
{
    /// <summary>
    /// MultiplyByQuantizedMultiplier against exact rational arithmetic: x * multiplier * 2^(shift - 31) rounded to nearest.
    /// It rounds twice with a right shift (before and by the shift), so it may be off by half a unit plus half of 2^shift;
    /// negative and positive accumulators must be treated alike.
    /// </summary>
    [TestCase(0.5)]
    [TestCase(0.9)]
    [TestCase(0.3)]
    [TestCase(0.0012345)]
    [TestCase(1.7)]
    [TestCase(37.25)]
    public void MultiplyByQuantizedMultiplierRoundsToNearestForBothSigns(double real)
    {
        var (multiplier, shift) = FixedPoint.QuantizeMultiplier(real);
        double exactFactor = multiplier * Math.ScaleB(1.0, shift - 31);
        double allowed = shift >= 0 ? 0.5 : 0.5 + 0.5 * Math.ScaleB(1.0, shift);
        var rng = new Random(1234);
        for (int i = 0; i < 20000; i++)
        {
            int x = rng.Next(-200000, 200001);
            if (Math.Abs(x * real) > 1e6) continue;
            int actual = FixedPoint.MultiplyByQuantizedMultiplier(x, multiplier, shift);
            double exact = x * exactFactor;
            Assert.That(Math.Abs(actual - exact), Is.LessThanOrEqualTo(allowed + 1e-9), $"x = {x}: got {actual}, exact {exact}");
            Assert.That(FixedPoint.MultiplyByQuantizedMultiplier(-x, multiplier, shift), Is.EqualTo(-actual).Within(1),
                $"x = {x}: negating the input changes more than a tie");
        }
    }
}
