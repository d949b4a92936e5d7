namespace EdgeNets.Runtime.Graph;

/// <summary>
/// Names of operator attributes in the model file. Integer-valued and float-valued attributes share the key
/// space; each key has one fixed kind. Values are stored in the model file: never renumber.
/// </summary>
public enum AttributeKey : ushort
{
    // Geometry (integer lists). Pads are ONNX-ordered: all begins, then all ends.
    KernelShape = 1,
    Strides = 2,
    Pads = 3,
    Dilations = 4,
    Group = 5,
    Axis = 6,
    Perm = 7,
    CeilMode = 8,
    CountIncludePad = 9,

    // Float parameters.
    Alpha = 20,
    Beta = 21,
    /// <summary>Fused activation of a float op as a clamp [ActivationMin, ActivationMax] (float).</summary>
    ActivationMin = 22,
    ActivationMax = 23,
    /// <summary>Value written by Pad into the border (float for float models).</summary>
    PadValue = 24,

    // Integer (int8) parameters computed by the converter.
    /// <summary>Clamp of a quantized output, fused activation included (int).</summary>
    QuantizedMin = 40,
    QuantizedMax = 41,
    /// <summary>Fixed-point requantization of the output: per output channel or one value (int).</summary>
    OutputMultiplier = 42,
    OutputShift = 43,
    /// <summary>Rescaling of each input to a common scale, for Add and Concat (int, one per input).</summary>
    InputMultiplier = 44,
    InputShift = 45,
    /// <summary>Extra left shift applied to inputs before rescaling, for int8 Add (int).</summary>
    LeftShift = 46,
    /// <summary>Quantized value written by Pad into the border (int).</summary>
    QuantizedPadValue = 47,
}
