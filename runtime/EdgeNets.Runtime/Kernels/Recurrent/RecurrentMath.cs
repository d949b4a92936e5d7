using System.Runtime.CompilerServices;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// Exp, log, tanh and sigmoid for the recurrent kernels built only from float +, -, *, /, floor and bit moves, so that
/// they give the same bits on every CPU (MathF.Exp and friends call the platform's libm, which differs between
/// x64 and arm64). The JIT does not contract a * b + c into a fused multiply-add, so each expression rounds the same
/// way everywhere. Accuracy: a few float ulps, far below the 1e-4 the conformance tests allow.
/// </summary>
public static class RecurrentMath
{
    /// <summary>e^x: x = k ln2 + r with |r| ≤ ln2/2, e^r by its Taylor polynomial of degree 7, 2^k from the exponent bits.</summary>
    public static float Exp(float x)
    {
        if (float.IsNaN(x)) return x;
        if (x < -87f) return 0f;
        if (x > 88f) x = 88f; // 1.65e38: stays finite so sigmoid and tanh need no special case
        float k = MathF.Floor(x * 1.44269504f + 0.5f);
        // ln2 split in two so that k * 0.693359375 is exact (Cephes).
        float r = x - k * 0.693359375f;
        r = r + k * 2.12194440e-4f;
        float p = 1f + r * (1f + r * (0.5f + r * (1f / 6f + r * (1f / 24f + r * (1f / 120f + r * (1f / 720f + r * (1f / 5040f)))))));
        return p * BitConverter.Int32BitsToSingle(((int)k + 127) << 23);
    }

    /// <summary>Natural log of a positive normal float: exponent bits plus 2·atanh((m-1)/(m+1)) for the mantissa.</summary>
    public static float Log(float y)
    {
        if (float.IsNaN(y) || y <= 0f) return float.NaN;
        if (float.IsPositiveInfinity(y)) return y;
        int bits = BitConverter.SingleToInt32Bits(y);
        int e = ((bits >> 23) & 0xFF) - 127;
        float m = BitConverter.Int32BitsToSingle((bits & 0x007FFFFF) | 0x3F800000);
        if (m > 1.41421356f) { m *= 0.5f; e++; }
        float s = (m - 1f) / (m + 1f);
        float s2 = s * s;
        float l = 2f * s * (1f + s2 * (1f / 3f + s2 * (1f / 5f + s2 * (1f / 7f + s2 * (1f / 9f)))));
        return e * 0.693147181f + l;
    }

    public static float Tanh(float x)
    {
        float a = MathF.Abs(x);
        if (a < 0.5f)
        {
            // Taylor series of tanh up to x^15: relative error below 1e-7 on |x| < 0.5.
            float x2 = x * x;
            float p = -1f / 3f + x2 * (2f / 15f + x2 * (-17f / 315f + x2 * (62f / 2835f + x2 * (-1382f / 155925f
                + x2 * (21844f / 6081075f + x2 * (-929569f / 638512875f))))));
            return x + x * x2 * p;
        }
        if (a > 9.1f) return x > 0 ? 1f : -1f; // tanh(9.1) rounds to 1 in float
        float t = 1f - 2f / (Exp(2f * a) + 1f);
        return x < 0 ? -t : t;
    }

    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));

    /// <summary>One of the ONNX recurrent activation functions with its alpha and beta.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(int function, float alpha, float beta, float x)
    {
        switch ((RecurrentActivation)function)
        {
            case RecurrentActivation.Sigmoid: return Sigmoid(x);
            case RecurrentActivation.Tanh: return Tanh(x);
            case RecurrentActivation.Relu: return x > 0f ? x : 0f;
            case RecurrentActivation.Affine: return alpha * x + beta;
            case RecurrentActivation.LeakyRelu: return x >= 0f ? x : alpha * x;
            case RecurrentActivation.ThresholdedRelu: return x > alpha ? x : 0f;
            case RecurrentActivation.ScaledTanh: return alpha * Tanh(beta * x);
            case RecurrentActivation.HardSigmoid: return MathF.Max(0f, MathF.Min(1f, alpha * x + beta));
            case RecurrentActivation.Elu: return x >= 0f ? x : alpha * (Exp(x) - 1f);
            case RecurrentActivation.Softsign: return x / (1f + MathF.Abs(x));
            case RecurrentActivation.Softplus: return x > 20f ? x : Log(1f + Exp(x));
            default: return float.NaN; // rejected when the kernel is prepared
        }
    }

    public static bool IsKnown(int function) => function >= (int)RecurrentActivation.Sigmoid && function <= (int)RecurrentActivation.Softplus;
}
