namespace EdgeNets.Runtime.Graph;

/// <summary>Where a tensor's bytes live.</summary>
public enum TensorKind : byte
{
    /// <summary>Produced at run time (including graph inputs); lives in the session arena at <see cref="TensorInfo.Offset"/>.</summary>
    Activation = 1,
    /// <summary>Weights and other constants; read in place from the model file.</summary>
    Constant = 2,
}

/// <summary>Quantization of an int8/int32 tensor: real = scale * (q - zeroPoint), per tensor or per channel along <see cref="Axis"/>.</summary>
public sealed class QuantizationInfo
{
    public QuantizationInfo(float[] scales, int zeroPoint, int axis = -1)
    {
        Scales = scales;
        ZeroPoint = zeroPoint;
        Axis = axis;
    }

    public float[] Scales { get; }
    public int ZeroPoint { get; }
    /// <summary>Channel axis of per-channel scales, or -1 for one scale per tensor.</summary>
    public int Axis { get; }
    public float Scale => Scales[0];
    public bool IsPerChannel => Axis >= 0;

    public static QuantizationInfo PerTensor(float scale, int zeroPoint) => new([scale], zeroPoint);
}

/// <summary>A tensor of the model: static shape, element type, storage and (for quantized tensors) scale and zero point.</summary>
public sealed class TensorInfo
{
    public TensorInfo(string name, DataType type, int[] shape, TensorKind kind)
    {
        Name = name;
        Type = type;
        Shape = shape;
        Kind = kind;
        ElementCount = ShapeUtil.ElementCount(shape);
    }

    public string Name { get; }
    public DataType Type { get; }
    public int[] Shape { get; }
    public TensorKind Kind { get; }
    public int ElementCount { get; }
    public int ByteLength => checked(ElementCount * Type.SizeInBytes());
    public int Rank => Shape.Length;

    /// <summary>Arena offset (activations) or offset in the file's data section (constants).</summary>
    public long Offset { get; set; }

    /// <summary>Bytes of a constant: in place in the loaded file, or owned by the converter before writing.</summary>
    public ReadOnlyMemory<byte> Data { get; set; }

    public QuantizationInfo? Quantization { get; set; }

    public bool IsConstant => Kind == TensorKind.Constant;

    public override string ToString() => $"{Name}: {Type.ToShortName()}[{string.Join('x', Shape)}]";
}
