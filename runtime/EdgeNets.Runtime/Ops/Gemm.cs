using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Ops;

/// <summary>Gemm: X [..., K] times constant weights [N, K] (alpha folded in), optional bias [N].</summary>
internal sealed class GemmSchema() : OperatorSchema(OpType.Gemm)
{
    public override QuantizationRule Quantization => QuantizationRule.Weighted;
    public override bool FusesActivation => true;

    public override int OutputTimeAxis(TimeAxes t)
    {
        if (t.X == t.InputTensor(0).Rank - 1) throw t.Fail($"{t.Op} contracts over the time axis");
        return t.X;
    }
}

/// <summary>MatMul of two tensors (numpy broadcasting), either of which may be a constant.</summary>
internal sealed class MatMulSchema() : OperatorSchema(OpType.MatMul)
{
    public override QuantizationRule Quantization => QuantizationRule.Product;
}
