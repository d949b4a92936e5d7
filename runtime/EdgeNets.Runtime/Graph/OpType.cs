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
}
