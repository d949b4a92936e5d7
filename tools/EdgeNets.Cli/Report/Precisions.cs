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
        DataType.Int16 => "int16",
        DataType.Float32 => "float32",
        _ => tensor.Type.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// The precision an operator computes in: its output's, except for the conversions between int8, int16 and float32
    /// layers, which are named as such (e.g. "f32->i8", "i8->i16").
    /// </summary>
    public static string OfLayer(ModelGraph graph, OpInfo op) => op.Type switch
    {
        OpType.Quantize or OpType.Dequantize or OpType.Requantize when op.Inputs.Length > 0 && op.Inputs[0] >= 0 =>
            $"{graph.Tensors[op.Inputs[0]].Type.ToShortName()}->{graph.Tensors[op.Outputs[0]].Type.ToShortName()}",
        _ => Of(graph.Tensors[op.Outputs[0]]),
    };
}
