using System.Numerics;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Runtime.Kernels.Reference;
using NUnit.Framework;

namespace EdgeNets.Tests.Recurrent;

/// <summary>
/// The vector Sigmoid and Tanh of the optimized recurrent kernels (Vector&lt;float&gt; one, two and four vectors at a time,
/// and Vector512 where it is accelerated) against the scalar reference routines, bit for bit (any NaN matches any NaN): the vector forms drop range checks that cannot change a result, so they are compared on
/// floats from the whole range, not only on the values the kernel tests happen to reach.
/// </summary>
[TestFixture]
public class RecurrentMathVectorTests
{
    /// <summary>Every 997th bit pattern (all signs, exponents and NaN payload regions) plus the edges of each branch.</summary>
    [Test]
    public void SigmoidAndTanh_MatchScalarBits_OnSampledFloats()
    {
        Assert.That(Mismatches(Sampled(997)), Is.Empty);
    }

    /// <summary>The same over all 2^32 bit patterns (a few minutes); run by hand when the functions change.</summary>
    [Test, Explicit("all 2^32 floats, a few minutes")]
    public void SigmoidAndTanh_MatchScalarBits_OnEveryFloat()
    {
        Assert.That(Mismatches(Sampled(1)), Is.Empty);
    }

    private static IEnumerable<float> Sampled(uint stride)
    {
        float[] edges = [0f, 0.5f, 9.1f, 44f, 87f, 88f, 1f, float.PositiveInfinity, float.Epsilon, float.MaxValue];
        foreach (float edge in edges)
        {
            for (int sign = 0; sign < 2; sign++)
            {
                float v = sign == 0 ? edge : -edge;
                float below = v, above = v;
                for (int i = 0; i < 64; i++)
                {
                    yield return below;
                    yield return above;
                    below = MathF.BitDecrement(below);
                    above = MathF.BitIncrement(above);
                }
            }
        }
        yield return float.NaN;
        for (ulong bits = 0; bits <= uint.MaxValue; bits += stride) yield return BitConverter.UInt32BitsToSingle((uint)bits);
    }

    private static List<string> Mismatches(IEnumerable<float> values)
    {
        var failures = new List<string>();
        int lanes = Vector<float>.Count, filled = 0;
        var batch = new float[lanes];
        foreach (float v in values)
        {
            batch[filled++] = v;
            if (filled < lanes) continue;
            Compare(batch, failures);
            filled = 0;
            if (failures.Count >= 20) break;
        }
        if (filled > 0)
        {
            Array.Fill(batch, 0f, filled, lanes - filled);
            Compare(batch, failures);
        }
        return failures;
    }

    private static void Compare(float[] batch, List<string> failures)
    {
        var x = new Vector<float>(batch);
        var sigmoid = RecurrentMathVector.Sigmoid(x);
        var tanh = RecurrentMathVector.Tanh(x);
        // The paired forms, with the lanes reversed in the second vector.
        var reversed = new float[batch.Length];
        for (int i = 0; i < batch.Length; i++) reversed[i] = batch[batch.Length - 1 - i];
        var y = new Vector<float>(reversed);
        RecurrentMathVector.Sigmoid(x, y, out var sigmoidX, out var sigmoidY);
        RecurrentMathVector.Tanh(x, y, out var tanhX, out var tanhY);
        RecurrentMathVector.Sigmoid(y, x, x, y, out var sigmoid0, out var sigmoid1, out var sigmoid2, out var sigmoid3);
        for (int i = 0; i < batch.Length; i++)
        {
            Check("Sigmoid", batch[i], sigmoid[i], RecurrentMath.Sigmoid(batch[i]), failures);
            Check("Tanh", batch[i], tanh[i], RecurrentMath.Tanh(batch[i]), failures);
            Check("Sigmoid pair", batch[i], sigmoidX[i], RecurrentMath.Sigmoid(batch[i]), failures);
            Check("Sigmoid pair", reversed[i], sigmoidY[i], RecurrentMath.Sigmoid(reversed[i]), failures);
            Check("Tanh pair", batch[i], tanhX[i], RecurrentMath.Tanh(batch[i]), failures);
            Check("Tanh pair", reversed[i], tanhY[i], RecurrentMath.Tanh(reversed[i]), failures);
            Check("Sigmoid four", reversed[i], sigmoid0[i], RecurrentMath.Sigmoid(reversed[i]), failures);
            Check("Sigmoid four", batch[i], sigmoid1[i], RecurrentMath.Sigmoid(batch[i]), failures);
            Check("Sigmoid four", batch[i], sigmoid2[i], RecurrentMath.Sigmoid(batch[i]), failures);
            Check("Sigmoid four", reversed[i], sigmoid3[i], RecurrentMath.Sigmoid(reversed[i]), failures);
        }
        if (!Vector512.IsHardwareAccelerated) return;
        // The same values in every lane group of a Vector512.
        var wide = new float[Vector512<float>.Count];
        for (int i = 0; i < wide.Length; i++) wide[i] = batch[i % batch.Length];
        var x512 = Vector512.Create(wide);
        var sigmoid512 = RecurrentMathVector.Sigmoid(x512);
        var tanh512 = RecurrentMathVector.Tanh(x512);
        for (int i = 0; i < wide.Length; i++)
        {
            Check("Sigmoid512", wide[i], sigmoid512[i], RecurrentMath.Sigmoid(wide[i]), failures);
            Check("Tanh512", wide[i], tanh512[i], RecurrentMath.Tanh(wide[i]), failures);
        }
    }

    private static void Check(string name, float x, float vector, float scalar, List<string> failures)
    {
        bool same = float.IsNaN(scalar) ? float.IsNaN(vector) : BitConverter.SingleToUInt32Bits(vector) == BitConverter.SingleToUInt32Bits(scalar);
        if (!same) failures.Add($"{name}({x:R} = 0x{BitConverter.SingleToUInt32Bits(x):X8}): vector {vector:R}, scalar {scalar:R}");
    }
}
