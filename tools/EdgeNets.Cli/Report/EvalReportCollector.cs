using EdgeNets.Runtime.Graph;

namespace EdgeNets.Cli.Report;

/// <summary>
/// What eval sees sample by sample that only the report needs: every layer's float values against its quantization
/// range, every output's errors and the first output's predictions against the labels.
/// </summary>
internal sealed class EvalReportCollector
{
    /// <summary>Errors kept per output for its histogram (its axis needs them all); past this the first ones stand for the rest.</summary>
    public const int MaxErrorsKept = 1 << 22;

    private readonly Dictionary<int, ValueHistogram> _activations = new();
    private readonly List<float>[] _errors;
    private readonly long[] _errorCounts;

    public EvalReportCollector(ModelGraph graph, bool labels)
    {
        Graph = graph;
        _errors = graph.Outputs.Select(_ => new List<float>()).ToArray();
        _errorCounts = new long[graph.Outputs.Count];
        if (labels) Confusion = new ConfusionMatrix(graph.Tensors[graph.Outputs[0]].ElementCount);
    }

    public ModelGraph Graph { get; }
    public ConfusionMatrix? Confusion { get; }

    /// <summary>The float (reference) values of activation <paramref name="tensor"/> for one sample.</summary>
    public void AddActivation(int tensor, ReadOnlySpan<float> reference)
    {
        if (!_activations.TryGetValue(tensor, out var histogram))
        {
            histogram = QuantizationRange(Graph.Tensors[tensor]) is { } range
                ? ValueHistogram.ForQuantizationRange(range.Low, range.High)
                : ValueHistogram.ForValues(reference);
            _activations[tensor] = histogram;
        }
        histogram.Add(reference);
    }

    public ValueHistogram Activation(int tensor) => _activations[tensor];

    /// <summary>Output <paramref name="index"/> of one sample, ONNX Runtime's and ours.</summary>
    public void AddOutput(int index, ReadOnlySpan<float> reference, ReadOnlySpan<float> ours)
    {
        var list = _errors[index];
        for (int i = 0; i < reference.Length; i++)
        {
            float e = ours[i] - reference[i];
            if (!float.IsFinite(e)) continue;
            _errorCounts[index]++;
            if (list.Count < MaxErrorsKept) list.Add(e);
        }
    }

    public void AddPrediction(int label, int predicted) => Confusion?.Add(label, predicted);

    /// <summary>The histogram of output <paramref name="index"/>'s errors, the number it holds and the number seen.</summary>
    public (ValueHistogram Histogram, long Kept, long Total) OutputErrors(int index)
    {
        var errors = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_errors[index]);
        double bound = 0;
        foreach (float e in errors) bound = Math.Max(bound, Math.Abs(e));
        var histogram = ValueHistogram.Symmetric(bound);
        histogram.Add(errors);
        return (histogram, errors.Length, _errorCounts[index]);
    }

    /// <summary>The real values a quantized tensor's integers stand for, from the smallest to the largest; null for other tensors.</summary>
    public static (double Low, double High)? QuantizationRange(TensorInfo tensor)
    {
        if (tensor.Quantization is not { IsPerChannel: false } q) return null;
        return tensor.Type switch
        {
            DataType.Int8 => ((double)q.Scale * (sbyte.MinValue - q.ZeroPoint), (double)q.Scale * (sbyte.MaxValue - q.ZeroPoint)),
            DataType.UInt8 => ((double)q.Scale * (byte.MinValue - q.ZeroPoint), (double)q.Scale * (byte.MaxValue - q.ZeroPoint)),
            _ => null,
        };
    }
}
