using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Ops;

/// <summary>Softmax over Axis.</summary>
internal sealed class SoftmaxSchema() : OperatorSchema(OpType.Softmax)
{
    public override QuantizationRule Quantization => QuantizationRule.Softmax;

    public override int OutputTimeAxis(TimeAxes t)
    {
        if (t.Op.Attributes.GetInt(AttributeKey.Axis, -1) == t.X) throw t.Fail($"{t.Op} normalizes over the time axis");
        return t.X;
    }
}

/// <summary>LayerNormalization over the axes from Axis on: inputs X, Scale, B (optional).</summary>
internal sealed class LayerNormSchema() : OperatorSchema(OpType.LayerNorm)
{
    public override QuantizationRule Quantization => QuantizationRule.Normalization;

    public override int OutputTimeAxis(TimeAxes t)
    {
        int axis = t.Op.Attributes.GetInt(AttributeKey.Axis, -1);
        if (axis < 0) axis += t.OutputShape.Length;
        if (t.X >= axis) throw t.Fail($"{t.Op} normalizes over the time axis");
        return t.X;
    }
}
