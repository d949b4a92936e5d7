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
    /// <summary>Recurrent ops: 0 forward, 1 reverse, 2 bidirectional.</summary>
    Direction = 10,
    /// <summary>Recurrent ops: ONNX layout (0: X [T,B,I]; 1: X [B,T,I]).</summary>
    Layout = 11,
    /// <summary>Recurrent ops: activation function codes (<see cref="RecurrentActivation"/>), per direction in ONNX order.</summary>
    Activations = 12,
    /// <summary>GRU: 1 applies the reset gate after the recurrent matmul.</summary>
    LinearBeforeReset = 13,
    /// <summary>LSTM: 1 couples the forget gate to the input gate (f = 1 - i).</summary>
    InputForget = 14,
    /// <summary>Slice: first index and end (exclusive) along Axis (one value each).</summary>
    Starts = 15,
    Ends = 16,
    /// <summary>Upsample: 0 nearest (by whole factors), 1 linear on the last two axes (<see cref="ResizeCoordinates"/> then applies).</summary>
    ResizeMode = 17,
    /// <summary>Upsample in linear mode: how an output index maps to an input coordinate (<see cref="ResizeCoordinates"/>).</summary>
    CoordinateTransform = 18,
    /// <summary>SelfGate: the activations of its gate (OpType values), applied first to last.</summary>
    Gate = 19,

    // Float parameters.
    Alpha = 20,
    Beta = 21,
    /// <summary>Fused activation of a float op as a clamp [ActivationMin, ActivationMax] (float).</summary>
    ActivationMin = 22,
    ActivationMax = 23,
    /// <summary>Value written by Pad into the border (float for float models).</summary>
    PadValue = 24,
    /// <summary>Recurrent ops: gate pre-activations are clamped to [-Clip, Clip] when present.</summary>
    Clip = 25,
    /// <summary>Recurrent ops: alpha and beta of each entry of Activations (resolved defaults).</summary>
    ActivationAlpha = 26,
    ActivationBeta = 27,
    /// <summary>Upsample in linear mode: the ONNX scale of each axis (output / input unless the model gave its own).</summary>
    Scales = 28,
    /// <summary>SelfGate: Alpha and Beta of each activation of Gate (resolved defaults; a Clip's min and max).</summary>
    GateAlpha = 29,
    GateBeta = 30,

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

/// <summary>ONNX Resize's coordinate_transformation_mode values supported in linear mode. Stored in the model file.</summary>
public enum ResizeCoordinates
{
    HalfPixel = 0,
    PytorchHalfPixel = 1,
    AlignCorners = 2,
    Asymmetric = 3,
}

/// <summary>Activation functions of recurrent operators (the list of the ONNX RNN/GRU/LSTM specification). Stored in the model file.</summary>
public enum RecurrentActivation
{
    Sigmoid = 1,
    Tanh = 2,
    Relu = 3,
    /// <summary>alpha * x + beta.</summary>
    Affine = 4,
    LeakyRelu = 5,
    /// <summary>x when x > alpha, else 0.</summary>
    ThresholdedRelu = 6,
    /// <summary>alpha * tanh(beta * x).</summary>
    ScaledTanh = 7,
    HardSigmoid = 8,
    Elu = 9,
    Softsign = 10,
    Softplus = 11,
}
