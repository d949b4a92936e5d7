using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// Conv over NCW or NCHW input (a 1-D convolution is the 2-D one with H = 1): strides, ONNX-ordered pads, dilations,
/// groups (depthwise included), optional bias; float with a fused clamp, int8 with per-channel requantization.
/// </summary>
public static class ConvKernels
{
    public const string Float32Name = "Conv2dFloat32_Reference";
    public const string Int8Name = "Conv2dInt8_Reference";

    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry(Float32Name, OpType.Conv, DataType.Float32, s => new ConvFloat32Kernel(s)));
        list.Add(new KernelEntry(Int8Name, OpType.Conv, DataType.Int8, s => new ConvInt8Kernel(s)));
    }

    /// <summary>Shapes of a Conv: input, weight [M, C/group, (kH,) kW], bias [M], output; shared by both element types.</summary>
    internal sealed class ConvShape
    {
        public readonly Window2d Window;
        public readonly int OutChannels, Group, InChannelsPerGroup, OutChannelsPerGroup;

        /// <summary>One input and one output channel per group.</summary>
        public bool IsDepthwise => Group > 1 && InChannelsPerGroup == 1 && OutChannelsPerGroup == 1;

        /// <summary>The shape of a Conv with these element types, or null where the node is not one (for variants' CanHandle).</summary>
        public static ConvShape? TryRead(KernelSetup s, DataType activationType, DataType biasType, DataType? weightType = null)
        {
            try
            {
                if (s.InputCount < 2 || s.OutputCount != 1 || !s.HasInput(0) || !s.HasInput(1)) return null;
                return new ConvShape(s, activationType, biasType, weightType);
            }
            catch (Exception)
            {
                return null;
            }
        }

        /// <param name="weightType">The weights' type when it is not the activations' (int8 weights of int16 layers).</param>
        public ConvShape(KernelSetup s, DataType activationType, DataType biasType, DataType? weightType = null)
        {
            s.ExpectCounts(2, 3, 1);
            var x = s.Input(0);
            var w = s.Input(1);
            var y = s.Output(0);
            s.ExpectType(x, activationType);
            s.ExpectType(w, weightType ?? activationType);
            s.ExpectType(y, activationType);
            if (!w.IsConstant) throw s.Fail($"weight '{w.Name}' must be a constant");
            if (x.Rank != 3 && x.Rank != 4) throw s.Fail($"input '{x.Name}' must be NCW or NCHW, has shape [{ShapeUtil.Format(x.Shape)}]");
            if (w.Rank != x.Rank)
                throw s.Fail($"weight '{w.Name}' has shape [{ShapeUtil.Format(w.Shape)}], expected rank {x.Rank} like input [{ShapeUtil.Format(x.Shape)}]");

            Group = s.Attributes.GetInt(AttributeKey.Group, 1);
            OutChannels = w.Shape[0];
            int channels = x.Shape[1];
            if (Group < 1 || channels % Group != 0 || OutChannels % Group != 0)
                throw s.Fail($"group {Group} must divide input channels {channels} and output channels {OutChannels}");
            InChannelsPerGroup = channels / Group;
            OutChannelsPerGroup = OutChannels / Group;
            if (w.Shape[1] != InChannelsPerGroup)
                throw s.Fail($"weight '{w.Name}' has {w.Shape[1]} input channels, expected {InChannelsPerGroup} (input channels {channels} / group {Group})");

            var kernel = w.Shape.AsSpan(2);
            var declared = s.Attributes.GetInts(AttributeKey.KernelShape);
            if (declared != null && !kernel.SequenceEqual(declared))
                throw s.Fail($"KernelShape [{ShapeUtil.Format(declared)}] differs from weight '{w.Name}' [{ShapeUtil.Format(w.Shape)}]");

            if (s.HasInput(2))
            {
                var b = s.Input(2);
                s.ExpectType(b, biasType);
                if (!b.IsConstant) throw s.Fail($"bias '{b.Name}' must be a constant");
                if (b.Rank != 1 || b.Shape[0] != OutChannels)
                    throw s.Fail($"bias '{b.Name}' has shape [{ShapeUtil.Format(b.Shape)}], expected [{OutChannels}]");
            }
            Window = Window2d.Create(s, x, y, kernel, OutChannels, allowCeilMode: false, requireNonEmptyWindows: false);
        }
    }

    private sealed class ConvFloat32Kernel : OpKernel
    {
        private readonly int _x, _w, _b, _y;
        private readonly ConvShape _shape;
        private readonly float _min, _max;

        public ConvFloat32Kernel(KernelSetup s)
        {
            _shape = new ConvShape(s, DataType.Float32, DataType.Float32);
            (_min, _max) = ReadFloatClamp(s);
            _x = s.InputId(0);
            _w = s.InputId(1);
            _b = s.InputId(2);
            _y = s.OutputId(0);
        }

        public override string Name => Float32Name;

        public override void Run(TensorMemory memory)
        {
            var x = memory.Read<float>(_x);
            var w = memory.Read<float>(_w);
            var bias = _b >= 0 ? memory.Read<float>(_b) : default;
            var y = memory.Write<float>(_y);
            var g = _shape.Window;
            int cpg = _shape.InChannelsPerGroup, mpg = _shape.OutChannelsPerGroup, kernelSize = g.KernelH * g.KernelW;
            int o = 0;
            for (int n = 0; n < g.N; n++)
            {
                for (int m = 0; m < _shape.OutChannels; m++)
                {
                    int xChannel0 = n * g.C + m / mpg * cpg;
                    int wFilter = m * cpg * kernelSize;
                    float b = _b >= 0 ? bias[m] : 0f;
                    for (int oh = 0; oh < g.OutH; oh++)
                    {
                        int ih0 = oh * g.StrideH - g.PadTop, khBegin = g.RowTapBegin[oh], khEnd = g.RowTapEnd[oh];
                        for (int ow = 0; ow < g.OutW; ow++)
                        {
                            int iw0 = ow * g.StrideW - g.PadLeft, kwBegin = g.ColTapBegin[ow], kwEnd = g.ColTapEnd[ow];
                            float acc = b;
                            for (int c = 0; c < cpg; c++)
                            {
                                int xPlane = (xChannel0 + c) * g.H * g.W;
                                int wPlane = wFilter + c * kernelSize;
                                for (int kh = khBegin; kh < khEnd; kh++)
                                {
                                    int xRow = xPlane + (ih0 + kh * g.DilationH) * g.W + iw0;
                                    int wRow = wPlane + kh * g.KernelW;
                                    for (int kw = kwBegin; kw < kwEnd; kw++)
                                        acc += x[xRow + kw * g.DilationW] * w[wRow + kw];
                                }
                            }
                            y[o++] = Math.Clamp(acc, _min, _max);
                        }
                    }
                }
            }
        }
    }

    private sealed class ConvInt8Kernel : OpKernel
    {
        private readonly int _x, _w, _b, _y;
        private readonly ConvShape _shape;
        private readonly int _inputZeroPoint, _outputZeroPoint, _min, _max;
        private readonly int[] _multipliers, _shifts;

        public ConvInt8Kernel(KernelSetup s)
        {
            _shape = new ConvShape(s, DataType.Int8, DataType.Int32);
            (_inputZeroPoint, _outputZeroPoint, _multipliers, _shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, _shape.OutChannels);
            _x = s.InputId(0);
            _w = s.InputId(1);
            _b = s.InputId(2);
            _y = s.OutputId(0);
        }

        public override string Name => Int8Name;

        public override void Run(TensorMemory memory)
        {
            var x = memory.Read<sbyte>(_x);
            var w = memory.Read<sbyte>(_w);
            var bias = _b >= 0 ? memory.Read<int>(_b) : default;
            var y = memory.Write<sbyte>(_y);
            var g = _shape.Window;
            int cpg = _shape.InChannelsPerGroup, mpg = _shape.OutChannelsPerGroup, kernelSize = g.KernelH * g.KernelW;
            int zx = _inputZeroPoint;
            int o = 0;
            for (int n = 0; n < g.N; n++)
            {
                for (int m = 0; m < _shape.OutChannels; m++)
                {
                    int xChannel0 = n * g.C + m / mpg * cpg;
                    int wFilter = m * cpg * kernelSize;
                    int b = _b >= 0 ? bias[m] : 0;
                    int multiplier = _multipliers[m], shift = _shifts[m];
                    for (int oh = 0; oh < g.OutH; oh++)
                    {
                        int ih0 = oh * g.StrideH - g.PadTop, khBegin = g.RowTapBegin[oh], khEnd = g.RowTapEnd[oh];
                        for (int ow = 0; ow < g.OutW; ow++)
                        {
                            int iw0 = ow * g.StrideW - g.PadLeft, kwBegin = g.ColTapBegin[ow], kwEnd = g.ColTapEnd[ow];
                            // Padding is real zero, i.e. x == zx: it adds nothing, so only taps inside the input count.
                            int acc = b;
                            for (int c = 0; c < cpg; c++)
                            {
                                int xPlane = (xChannel0 + c) * g.H * g.W;
                                int wPlane = wFilter + c * kernelSize;
                                for (int kh = khBegin; kh < khEnd; kh++)
                                {
                                    int xRow = xPlane + (ih0 + kh * g.DilationH) * g.W + iw0;
                                    int wRow = wPlane + kh * g.KernelW;
                                    for (int kw = kwBegin; kw < kwEnd; kw++)
                                        acc += (x[xRow + kw * g.DilationW] - zx) * w[wRow + kw];
                                }
                            }
                            y[o++] = FixedPoint.Requantize(acc, multiplier, shift, _outputZeroPoint, _min, _max);
                        }
                    }
                }
            }
        }
    }

    // Parameter readers shared by the Conv, pool and Gemm reference kernels.

    /// <summary>Fused float activation as a clamp; absent bounds are unbounded.</summary>
    internal static (float Min, float Max) ReadFloatClamp(KernelSetup s)
    {
        float min = s.Attributes.GetFloat(AttributeKey.ActivationMin, float.NegativeInfinity);
        float max = s.Attributes.GetFloat(AttributeKey.ActivationMax, float.PositiveInfinity);
        if (!(min <= max)) throw s.Fail($"fused clamp [{min}, {max}] is empty or not a number");
        return (min, max);
    }

    /// <summary>
    /// What an int8 Conv or Gemm (reference or optimized) reads to requantize its int32 sums: the input and output zero
    /// points, per-output-channel multipliers and shifts, the output clamp; and the check that the weights are symmetric.
    /// </summary>
    internal readonly record struct Int8Requantization(int InputZeroPoint, int OutputZeroPoint, int[] Multipliers, int[] Shifts, int Min, int Max)
    {
        public static Int8Requantization Read(KernelSetup s, int channels)
        {
            int inputZeroPoint = ReadActivationZeroPoint(s, s.Input(0));
            int outputZeroPoint = ReadActivationZeroPoint(s, s.Output(0));
            ExpectSymmetricWeights(s, s.Input(1));
            var (multipliers, shifts) = ReadRequantization(s, channels);
            var (min, max) = ReadQuantizedClamp(s);
            return new Int8Requantization(inputZeroPoint, outputZeroPoint, multipliers, shifts, min, max);
        }
    }

    /// <summary>Output clamp of an int8 op (fused activation included), -128..127 when absent.</summary>
    internal static (int Min, int Max) ReadQuantizedClamp(KernelSetup s)
    {
        int min = s.Attributes.GetInt(AttributeKey.QuantizedMin, sbyte.MinValue);
        int max = s.Attributes.GetInt(AttributeKey.QuantizedMax, sbyte.MaxValue);
        if (min < sbyte.MinValue || max > sbyte.MaxValue || min > max)
            throw s.Fail($"quantized clamp [{min}, {max}] must be a non-empty range within [-128, 127]");
        return (min, max);
    }

    /// <summary>Per-output-channel (multiplier, shift) pairs; a single pair applies to every channel.</summary>
    internal static (int[] Multipliers, int[] Shifts) ReadRequantization(KernelSetup s, int channels)
    {
        var multipliers = s.RequireInts(AttributeKey.OutputMultiplier);
        var shifts = s.RequireInts(AttributeKey.OutputShift);
        if (multipliers.Length != shifts.Length || (multipliers.Length != channels && multipliers.Length != 1))
            throw s.Fail($"OutputMultiplier ({multipliers.Length} values) and OutputShift ({shifts.Length} values) must both have {channels} values or 1");
        var m = new int[channels];
        var sh = new int[channels];
        for (int c = 0; c < channels; c++)
        {
            int i = multipliers.Length == 1 ? 0 : c;
            if (multipliers[i] < 0) throw s.Fail($"OutputMultiplier[{i}] = {multipliers[i]} is negative");
            if (shifts[i] < -31 || shifts[i] > 30) throw s.Fail($"OutputShift[{i}] = {shifts[i]} is outside [-31, 30]");
            m[c] = multipliers[i];
            sh[c] = shifts[i];
        }
        return (m, sh);
    }

    /// <summary>Zero point of a per-tensor quantized int8 activation.</summary>
    internal static int ReadActivationZeroPoint(KernelSetup s, TensorInfo t)
    {
        var q = s.Quant(t);
        if (q.IsPerChannel || q.Scales.Length != 1) throw s.Fail($"activation '{t.Name}' must be quantized per tensor");
        if (q.ZeroPoint < sbyte.MinValue || q.ZeroPoint > sbyte.MaxValue) throw s.Fail($"activation '{t.Name}' has zero point {q.ZeroPoint} outside [-128, 127]");
        return q.ZeroPoint;
    }

    /// <summary>Int8 weights are symmetric (zero point 0), which the accumulation relies on.</summary>
    internal static void ExpectSymmetricWeights(KernelSetup s, TensorInfo w)
    {
        if (w.Quantization != null && w.Quantization.ZeroPoint != 0)
            throw s.Fail($"weight '{w.Name}' has zero point {w.Quantization.ZeroPoint}, expected 0 (symmetric)");
    }
}
