namespace EdgeNets.Runtime.Graph;

/// <summary>
/// Operators the runtime executes. The converter lowers ONNX into these: Flatten, Squeeze and Unsqueeze
/// become Reshape; BatchNormalization is folded into Conv or lowered to Mul + Add; in int8 models every
/// unary non-linearity becomes a LookupTable. Values are stored in the model file: never renumber.
/// </summary>
public enum OpType : ushort
{
    Conv = 1,
    MaxPool = 2,
    AveragePool = 3,
    GlobalAveragePool = 4,
    GlobalMaxPool = 5,
    Gemm = 6,
    MatMul = 7,
    Add = 8,
    Mul = 9,
    Concat = 10,
    Reshape = 11,
    Transpose = 12,
    Pad = 13,
    Relu = 14,
    LeakyRelu = 15,
    Clip = 16,
    Sigmoid = 17,
    Tanh = 18,
    HardSigmoid = 19,
    HardSwish = 20,
    PRelu = 21,
    Softmax = 22,
    /// <summary>int8 unary function by table: output = table[input + 128] (table per channel when Axis is set).</summary>
    LookupTable = 23,
    /// <summary>ONNX LSTM (all directions, both layouts, peepholes, activations, clip); outputs Y, Y_h, Y_c.</summary>
    Lstm = 24,
    /// <summary>ONNX GRU (linear_before_reset 0 and 1); outputs Y, Y_h.</summary>
    Gru = 25,
    /// <summary>ONNX RNN (simple recurrent layer); outputs Y, Y_h.</summary>
    Rnn = 26,
    /// <summary>Contiguous range [Starts, Ends) of one axis; the axis is dropped when the output has one rank less.</summary>
    Slice = 27,
    /// <summary>Gauss error function (GELU's core); a LookupTable in int8 models.</summary>
    Erf = 28,
    /// <summary>LayerNormalization over the axes from Axis on: inputs X, Scale, B (optional); epsilon in Alpha.</summary>
    LayerNorm = 29,
    /// <summary>
    /// Nearest-neighbour upsampling by a whole factor per axis (ONNX Resize, nearest, integer scales), or with
    /// ResizeMode 1 bilinear resizing of the last two axes (ONNX Resize, linear).
    /// </summary>
    Upsample = 30,
    /// <summary>GELU, x·½·(1 + erf(x/√2)), fused by the converter from the exporters' Erf chain; a LookupTable in int8.</summary>
    Gelu = 31,
    /// <summary>
    /// Transposed convolution (1-D and 2-D, grouped): weights [M, C/group, kernel...] like Conv's (the converter reorders
    /// ONNX's [C, M/group, kernel...]), optional bias [M]; Strides, Pads, Dilations, Group; the output size is the output's.
    /// </summary>
    ConvTranspose = 32,
    /// <summary>Softplus, ln(1 + eˣ) (Mish is x·tanh(softplus(x))); a LookupTable in int8 models.</summary>
    Softplus = 33,
    /// <summary>Square root (NaN below zero, as ONNX's Sqrt); a LookupTable in int8 models.</summary>
    Sqrt = 34,
    /// <summary>eˣ; a LookupTable in int8 models.</summary>
    Exp = 35,
    /// <summary>x to the constant power Alpha (ONNX Pow with a one-value exponent, and division by a run-time tensor as x⁻¹); a LookupTable in int8 models.</summary>
    Pow = 36,
    /// <summary>
    /// x·g(x), g a chain of activations (Gate, with GateAlpha/GateBeta): SiLU, Hardswish, Mish as the converter fuses them
    /// from the exporters' activation-then-Mul; one LookupTable in int8 models.
    /// </summary>
    SelfGate = 37,
    /// <summary>
    /// float32 to int8 with the output's scale and zero point (FixedPoint.QuantizeValue): where a layer kept in float32
    /// inside an int8 model feeds int8 layers (the converter's per-layer precision).
    /// </summary>
    Quantize = 40,
    /// <summary>int8 to float32, scale·(q − zero point) with the input's parameters: where int8 layers feed a float32 layer.</summary>
    Dequantize = 41,
    /// <summary>
    /// int8 to int16 or int16 to int8 (Kernels/Int16): y = clamp(MultiplyByQuantizedMultiplier(x − zx, OutputMultiplier,
    /// OutputShift) + zy), where a layer with int16 activations meets int8 layers.
    /// </summary>
    Requantize = 42,

    /// <summary>
    /// Streaming only, never in a model file: keeps the last KernelShape steps of its input along Axis (one new step per
    /// run), so an operator that works on a window over time (a Conv or pool) can run once per step. See StreamingSession.
    /// </summary>
    StreamWindow = 1000,

    /// <summary>
    /// Import only, never in a model file: ONNX BatchNormalization in inference mode (inputs X, scale, B, mean, var;
    /// epsilon in Alpha), folded into the Conv or Gemm before it or lowered to Mul + Add by the converter.
    /// </summary>
    BatchNormalization = 1001,
}

public static class OpTypeExtensions
{
    /// <summary>
    /// The elementwise activations: one function of one input (<c>ActivationFunction</c>), a float32 reference kernel
    /// each, a LookupTable in int8 models, and no effect on a streamed time axis (their schema, <c>Ops/Activation.cs</c>).
    /// </summary>
    public static bool IsActivation(this OpType type) => Ops.OperatorSchemas.For(type).IsActivation;

    /// <summary>Operators that never stand in a model file (built by the runtime or removed by the converter); a file that contains one is rejected.</summary>
    public static bool IsNeverInFile(this OpType type) => Ops.OperatorSchemas.For(type).NeverInFile;
}
