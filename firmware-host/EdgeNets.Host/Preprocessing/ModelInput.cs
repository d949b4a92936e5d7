using System.Runtime.InteropServices;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Host.Preprocessing;

/// <summary>
/// Graph input 0 of a session, written in place: float models get floats, int8 models get values quantized with the
/// input's scale and zero point directly into the session's input bytes (no float staging copy).
/// </summary>
public sealed class ModelInput
{
    private readonly Session _session;

    public ModelInput(Session session)
    {
        _session = session;
        var graph = session.Model.Graph;
        if (graph.Inputs.Count != 1) throw new InvalidDataException($"the host runs single-input models; this one has {graph.Inputs.Count} inputs");
        Tensor = graph.Tensors[graph.Inputs[0]];
        switch (Tensor.Type)
        {
            case DataType.Float32:
                break;
            case DataType.Int8:
                var q = Tensor.Quantization ?? throw new InvalidDataException($"int8 input '{Tensor.Name}' has no quantization parameters");
                if (q.IsPerChannel) throw new InvalidDataException($"input '{Tensor.Name}' is quantized per channel; the host needs one scale");
                IsInt8 = true;
                Scale = q.Scale;
                ZeroPoint = q.ZeroPoint;
                InverseScale = 1f / q.Scale;
                // Beyond these a value rounds past -128 or 127 and is clamped: the input lies outside the range the
                // model was calibrated for.
                SaturationLow = (-128.5f - q.ZeroPoint) * q.Scale;
                SaturationHigh = (127.5f - q.ZeroPoint) * q.Scale;
                break;
            default:
                throw new InvalidDataException($"input '{Tensor.Name}' is {Tensor.Type}; the host feeds float32 or int8 inputs");
        }
    }

    public TensorInfo Tensor { get; }
    public int[] Shape => Tensor.Shape;
    public int ElementCount => Tensor.ElementCount;
    public bool IsInt8 { get; }
    public float Scale { get; } = 1f;
    public int ZeroPoint { get; }
    public float InverseScale { get; } = 1f;
    /// <summary>Int8 inputs: values below or above these saturate (are clamped to -128 or 127). Infinite for float inputs.</summary>
    public float SaturationLow { get; } = float.NegativeInfinity;
    public float SaturationHigh { get; } = float.PositiveInfinity;

    public Span<float> Floats => MemoryMarshal.Cast<byte, float>(_session.GetInputBytes(0));
    public Span<sbyte> Int8 => MemoryMarshal.Cast<byte, sbyte>(_session.GetInputBytes(0));

    public sbyte Quantize(float value) => FixedPoint.QuantizeValue(value, InverseScale, ZeroPoint);

    /// <summary>True when <paramref name="value"/> lies outside the int8 input's range and quantizes to a clamped -128 or 127.</summary>
    public bool Saturates(float value) => value < SaturationLow || value > SaturationHigh;

    /// <summary>Quantizes one value and counts it in <paramref name="saturated"/> when it saturates.</summary>
    public sbyte Quantize(float value, ref int saturated)
    {
        if (Saturates(value)) saturated++;
        return Quantize(value);
    }

    /// <summary>Writes a whole input's worth of float values, quantizing for int8 models; returns how many saturated.</summary>
    public int Write(ReadOnlySpan<float> values)
    {
        if (values.Length != ElementCount)
            throw new InvalidDataException($"input '{Tensor.Name}' needs {ElementCount} values, the source gives {values.Length}");
        if (!IsInt8) { values.CopyTo(Floats); return 0; }
        var q = Int8;
        int saturated = 0;
        for (int i = 0; i < values.Length; i++) q[i] = Quantize(values[i], ref saturated);
        return saturated;
    }
}
