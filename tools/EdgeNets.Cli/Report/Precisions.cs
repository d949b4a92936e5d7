using EdgeNets.Runtime.Graph;

namespace EdgeNets.Cli.Report;

/// <summary>The precision a tensor is computed and stored in, as the report shows it (per layer: mixed-precision models differ).</summary>
internal static class Precisions
{
    public static string Of(TensorInfo tensor) => tensor.Type switch
    {
        DataType.Int8 => "int8",
        DataType.UInt8 => "uint8",
        DataType.Int32 => "int32",
        DataType.Float32 => "float32",
        _ => tensor.Type.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// The precision an operator computes in: its output's, except for the conversions between int8 and float32 layers,
    /// which are named as such.
    /// </summary>
    public static string OfLayer(ModelGraph graph, OpInfo op) => op.Type switch
    {
        OpType.Quantize => "f32->i8",
        OpType.Dequantize => "i8->f32",
        _ => Of(graph.Tensors[op.Outputs[0]]),
    };
}
