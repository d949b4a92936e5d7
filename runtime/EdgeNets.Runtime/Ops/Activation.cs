using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Ops;

/// <summary>
/// The elementwise activations: one function of one input (<see cref="ActivationFunction"/>, which both the float32
/// reference kernel and the int8 table evaluate), a LookupTable in int8 models, no effect on a streamed time axis.
/// </summary>
internal sealed class ActivationSchema(OpType type) : OperatorSchema(type)
{
    public static IEnumerable<OperatorSchema> All =>
        new[] { OpType.Relu, OpType.LeakyRelu, OpType.Clip, OpType.Sigmoid, OpType.Tanh, OpType.HardSigmoid, OpType.HardSwish, OpType.Erf, OpType.Gelu, OpType.Softplus, OpType.Sqrt, OpType.Exp, OpType.Pow, OpType.SelfGate }
            .Select(op => new ActivationSchema(op));

    public override QuantizationRule Quantization => QuantizationRule.Table;
    public override bool IsActivation => true;
    public override int OutputTimeAxis(TimeAxes t) => t.X;
}

/// <summary>int8 unary function by table (what the activations become in int8 models).</summary>
internal sealed class LookupTableSchema() : OperatorSchema(OpType.LookupTable)
{
    public override int OutputTimeAxis(TimeAxes t) => t.X;
}

/// <summary>PRelu: LeakyRelu with a constant slope that varies along at most one axis.</summary>
internal sealed class PReluSchema() : OperatorSchema(OpType.PRelu)
{
    public override QuantizationRule Quantization => QuantizationRule.TablePerChannel;

    public override int OutputTimeAxis(TimeAxes t)
    {
        var slope = t.InputTensor(1);
        int aligned = t.X - (t.OutputShape.Length - slope.Rank);
        if (aligned >= 0 && slope.Shape[aligned] != 1) throw t.Fail($"{t.Op}: the slope varies along the time axis");
        return t.X;
    }
}
