using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Ops;

/// <summary>
/// What the converter does to give an operator its int8 form (Quantizer): one rule per way of quantizing, shared by
/// every operator quantized that way, so an operator that fits an existing rule needs no quantizer code.
/// </summary>
internal enum QuantizationRule
{
    /// <summary>No int8 form: the quantizer rejects the operator.</summary>
    None,
    /// <summary>Conv, Gemm: int8 weights per output channel, int32 bias, fused activation as output clamp.</summary>
    Weighted,
    /// <summary>Product of two int8 operands (constants symmetric per tensor), one output multiplier.</summary>
    Product,
    /// <summary>TFLite's int8 Add: both inputs rescaled to a common scale with headroom.</summary>
    Sum,
    /// <summary>Elementwise product of two asymmetric int8 operands.</summary>
    ElementwiseProduct,
    /// <summary>Inputs rescaled to the output's scale (kept when they all share one).</summary>
    Concatenation,
    /// <summary>Moves or selects values: the output keeps the input's scale and zero point.</summary>
    SameScale,
    /// <summary>int8 in, fixed 1/256 output scale, exp table as a float constant.</summary>
    Softmax,
    /// <summary>int8 in and out, float parameters kept.</summary>
    Normalization,
    /// <summary>One function of one input: becomes a LookupTable of <c>ActivationFunction</c>.</summary>
    Table,
    /// <summary>LeakyRelu with a slope per channel: a LookupTable per channel.</summary>
    TablePerChannel,
    /// <summary>int8 weights and hidden state, float gates (RecurrentQuantizer).</summary>
    Recurrent,
}

/// <summary>
/// One operator's rules, read by the converter (quantizer, activation fusion, QDQ export) and the runtime (streaming
/// builder) instead of a switch over <see cref="OpType"/> in each. The kernels are in Kernels/ and registered by
/// operator (KernelRegistry); the ONNX lowering is in the converter's Import/. One schema per operator or family in this
/// folder, listed once in <see cref="OperatorSchemas"/>.
/// </summary>
internal abstract class OperatorSchema
{
    protected OperatorSchema(OpType type) => Type = type;

    public OpType Type { get; }

    public virtual QuantizationRule Quantization => QuantizationRule.None;

    /// <summary>An elementwise activation: one function of one input (<c>ActivationFunction</c>).</summary>
    public virtual bool IsActivation => false;

    /// <summary>A recurrent layer: reads a sequence along its time axis and keeps state over it.</summary>
    public virtual bool IsRecurrent => false;

    /// <summary>Never in a model file: built by the runtime or removed by the converter; a file that contains one is rejected.</summary>
    public virtual bool NeverInFile => false;

    /// <summary>Takes a following Relu or Clip as its output clamp (converter's ActivationFusion; the QDQ export undoes it).</summary>
    public virtual bool FusesActivation => false;

    /// <summary>
    /// The streaming rule: the time axis of output 0 given the time axes of the inputs (<paramref name="t"/>), or
    /// <see cref="TimeAxes.None"/>; throws (<see cref="TimeAxes.Fail"/>) when the operator cannot run one step at a time.
    /// Called only when some input has a time axis.
    /// </summary>
    public virtual int OutputTimeAxis(TimeAxes t) => throw t.Fail($"{t.Op} is not supported on a streamed sequence");

    /// <summary>The attributes of the one-step operator, when they differ from the whole sequence's (<paramref name="inputTimeAxis"/>: of input 0).</summary>
    public virtual void AdjustForStep(OpAttributes attributes, int inputTimeAxis) { }
}
