using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Ops;

/// <summary>MaxPool and AveragePool: a window per output over the spatial axes.</summary>
internal sealed class WindowPoolSchema(OpType type) : OperatorSchema(type)
{
    public override QuantizationRule Quantization => QuantizationRule.SameScale;
    public override int OutputTimeAxis(TimeAxes t) => TimeWindows.OverTime(t, kernelFromWeights: false, leadingPadding: false);
}

/// <summary>GlobalAveragePool and GlobalMaxPool: one value per channel over all spatial axes.</summary>
internal sealed class GlobalPoolSchema(OpType type) : OperatorSchema(type)
{
    public override QuantizationRule Quantization => QuantizationRule.SameScale;
    public override int OutputTimeAxis(TimeAxes t) => t.X == 0 ? 0 : throw TimeWindows.WholeAxis(t);
}
