using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Ops;

/// <summary>
/// Quantize, Dequantize and Requantize: the boundaries between int8 layers and layers kept in float32 or int16 (per-layer precision). The
/// converter places them; they are never quantized themselves and leave a streamed time axis where it is.
/// </summary>
internal sealed class ConversionSchema(OpType type) : OperatorSchema(type)
{
    public override int OutputTimeAxis(TimeAxes t) => t.X;
}
