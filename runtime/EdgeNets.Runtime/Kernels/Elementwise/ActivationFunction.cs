using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// The scalar semantics of the unary activations, defined once: the float32 reference kernels evaluate it, and the
/// converter tabulates it into the int8 lookup tables that replace the activations in int8 models. Sigmoid and Tanh are
/// evaluated in double and rounded once to float.
/// </summary>
public readonly struct ActivationFunction
{
    private readonly OpType _op;
    private readonly float _alpha, _beta;
    private readonly ActivationFunction[]? _gate;

    private ActivationFunction(OpType op, float alpha = 0, float beta = 0, ActivationFunction[]? gate = null)
    {
        _op = op;
        _alpha = alpha;
        _beta = beta;
        _gate = gate;
    }

    /// <summary>The operator and its two parameters as this function resolved them (defaults filled in; a Clip's min and max).</summary>
    public OpType Op => _op;
    public float Alpha => _alpha;
    public float Beta => _beta;

    /// <summary>The activation of an operator, its parameters read from the attributes; null when the operator is not one.</summary>
    public static ActivationFunction? For(OpType op, OpAttributes a) => op switch
    {
        OpType.Relu or OpType.Sigmoid or OpType.Tanh or OpType.HardSwish or OpType.Erf or OpType.Gelu or OpType.Softplus or OpType.Sqrt or OpType.Exp => new ActivationFunction(op),
        OpType.Pow => new ActivationFunction(op, a.GetFloat(AttributeKey.Alpha, 1f)),
        OpType.LeakyRelu => LeakyRelu(a.GetFloat(AttributeKey.Alpha, 0.01f)),
        OpType.HardSigmoid => new ActivationFunction(op, a.GetFloat(AttributeKey.Alpha, 0.2f), a.GetFloat(AttributeKey.Beta, 0.5f)),
        OpType.Clip => new ActivationFunction(op, a.GetFloat(AttributeKey.ActivationMin, float.NegativeInfinity), a.GetFloat(AttributeKey.ActivationMax, float.PositiveInfinity)),
        OpType.SelfGate => SelfGate(a),
        _ => null,
    };

    /// <summary>x·g(x) with g the chain in Gate/GateAlpha/GateBeta; null when those do not describe a chain of activations.</summary>
    private static ActivationFunction? SelfGate(OpAttributes a)
    {
        var ops = a.GetInts(AttributeKey.Gate);
        var alpha = a.GetFloats(AttributeKey.GateAlpha);
        var beta = a.GetFloats(AttributeKey.GateBeta);
        if (ops is not { Length: > 0 } || alpha?.Length != ops.Length || beta?.Length != ops.Length) return null;
        var gate = new ActivationFunction[ops.Length];
        for (int k = 0; k < ops.Length; k++)
        {
            var op = (OpType)ops[k];
            if (op == OpType.SelfGate || For(op, new OpAttributes()) == null) return null;
            gate[k] = new ActivationFunction(op, alpha[k], beta[k]);
        }
        return new ActivationFunction(OpType.SelfGate, gate: gate);
    }

    /// <summary>The attributes of a SelfGate whose gate is <paramref name="gate"/>, applied first to last.</summary>
    public static OpAttributes SelfGateAttributes(IReadOnlyList<ActivationFunction> gate) => new OpAttributes()
        .Set(AttributeKey.Gate, gate.Select(f => (int)f.Op).ToArray())
        .Set(AttributeKey.GateAlpha, gate.Select(f => f.Alpha).ToArray())
        .Set(AttributeKey.GateBeta, gate.Select(f => f.Beta).ToArray());

    /// <summary>LeakyRelu with slope <paramref name="alpha"/> (also PRelu's function for one channel).</summary>
    public static ActivationFunction LeakyRelu(float alpha) => new(OpType.LeakyRelu, alpha);

    public float Invoke(float v) => _op switch
    {
        OpType.Relu => MathF.Max(v, 0f),
        OpType.LeakyRelu => v < 0 ? _alpha * v : v,
        OpType.Clip => Math.Min(Math.Max(v, _alpha), _beta),
        OpType.Sigmoid => (float)(1 / (1 + Math.Exp(-v))),
        OpType.Tanh => (float)Math.Tanh(v),
        OpType.HardSigmoid => Math.Min(Math.Max(_alpha * v + _beta, 0f), 1f),
        OpType.HardSwish => v * Math.Min(Math.Max(v / 6f + 0.5f, 0f), 1f),
        OpType.Erf => (float)Erf(v),
        OpType.Gelu => (float)(0.5 * v * (1 + Erf(v / Math.Sqrt(2)))),
        // ln(1 + eˣ) = max(x, 0) + ln(1 + e^-|x|): no overflow for large x, full precision for very negative x.
        OpType.Softplus => (float)(Math.Max(v, 0.0) + Math.Log(1 + Math.Exp(-Math.Abs((double)v)))),
        OpType.Sqrt => MathF.Sqrt(v),
        OpType.Exp => MathF.Exp(v),
        OpType.Pow => MathF.Pow(v, _alpha),
        OpType.SelfGate => v * Gate(v),
        _ => float.NaN,
    };

    private float Gate(float v)
    {
        foreach (var f in _gate!) v = f.Invoke(v);
        return v;
    }

    /// <summary>
    /// erf(x) from erfc's Chebyshev fit (Numerical Recipes, erfcc: relative error below 1.2e-7 everywhere), evaluated in
    /// double so the float result is within an ulp or two of the exact value. .NET has no erf of its own.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        double z = Math.Abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double erfc = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1.0 - erfc : erfc - 1.0;
    }
}
