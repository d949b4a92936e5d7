using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Quantization;

/// <summary>
/// The quantization a pre-quantized (QDQ) ONNX model carries, by tensor name of the imported float graph, in EdgeNets'
/// terms: activations int8 per tensor (uint8 zero points moved by -128), weights and biases by their scales (per
/// tensor, or per axis with <see cref="QuantizationInfo.Axis"/> in the float graph's layout). The quantizer uses these
/// instead of calibrated ranges and computes everything else (multipliers, tables) from them, as it does for its own.
/// </summary>
public sealed class GivenQuantization
{
    public Dictionary<string, QuantizationInfo> Tensors { get; } = new(StringComparer.Ordinal);

    public int Count => Tensors.Count;

    public QuantizationInfo? For(string name) => Tensors.GetValueOrDefault(name);

    /// <summary>Filled by the quantizer: one line per node where a given scale did not fit EdgeNets' int8 rules and what was done instead.</summary>
    public List<string> Changes { get; } = new();
}
