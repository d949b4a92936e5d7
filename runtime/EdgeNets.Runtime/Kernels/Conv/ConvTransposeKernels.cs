using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// ConvTranspose over NCW or NCHW input (1-D is 2-D with H = 1), written as a gather so each output is one sum (and, in
/// int8, one requantization): output (oh, ow) takes tap (kh, kw) of input (ih, iw) where
/// oh + padTop − kh·dilationH = ih·strideH (and likewise along W). Weights [M, C/group, (kH,) kW] as Conv's.
/// The output size comes from the output tensor (ONNX's output_padding and output_shape only change it): outputs no tap
/// reaches hold the bias, so the end pads are implied by it.
/// </summary>
public static class ConvTransposeKernels
{
    public const string Float32Name = "ConvTranspose2dFloat32_Reference";
    public const string Int8Name = "ConvTranspose2dInt8_Reference";

    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry(Float32Name, OpType.ConvTranspose, DataType.Float32, s => new ConvTransposeFloat32Kernel(s)));
        list.Add(new KernelEntry(Int8Name, OpType.ConvTranspose, DataType.Int8, s => new ConvTransposeInt8Kernel(s)));
    }

    /// <summary>Shapes and window of a ConvTranspose, shared by both element types.</summary>
    internal sealed class ConvTransposeShape
    {
        public readonly int N, C, H, W, OutChannels, OutH, OutW, KernelH, KernelW;
        public readonly int StrideH, StrideW, DilationH, DilationW, PadTop, PadLeft;
        public readonly int Group, InChannelsPerGroup, OutChannelsPerGroup;

        public ConvTransposeShape(KernelSetup s, DataType activationType, DataType biasType)
        {
            s.ExpectCounts(2, 3, 1);
            var x = s.Input(0);
            var w = s.Input(1);
            var y = s.Output(0);
            s.ExpectType(x, activationType);
            s.ExpectType(w, activationType);
            s.ExpectType(y, activationType);
            if (!w.IsConstant) throw s.Fail($"weight '{w.Name}' must be a constant");
            if (x.Rank != 3 && x.Rank != 4) throw s.Fail($"input '{x.Name}' must be NCW or NCHW, has shape [{ShapeUtil.Format(x.Shape)}]");
            if (w.Rank != x.Rank || y.Rank != x.Rank)
                throw s.Fail($"weight '{w.Name}' [{ShapeUtil.Format(w.Shape)}] and output [{ShapeUtil.Format(y.Shape)}] must have the rank of input [{ShapeUtil.Format(x.Shape)}]");
            bool twoD = x.Rank == 4;
            N = x.Shape[0];
            C = x.Shape[1];
            H = twoD ? x.Shape[2] : 1;
            W = x.Shape[^1];
            OutChannels = w.Shape[0];
            KernelH = twoD ? w.Shape[2] : 1;
            KernelW = w.Shape[^1];
            OutH = twoD ? y.Shape[2] : 1;
            OutW = y.Shape[^1];
            Group = s.Attributes.GetInt(AttributeKey.Group, 1);
            if (Group < 1 || C % Group != 0 || OutChannels % Group != 0)
                throw s.Fail($"group {Group} must divide input channels {C} and output channels {OutChannels}");
            InChannelsPerGroup = C / Group;
            OutChannelsPerGroup = OutChannels / Group;
            if (w.Shape[1] != InChannelsPerGroup)
                throw s.Fail($"weight '{w.Name}' has {w.Shape[1]} input channels, expected {InChannelsPerGroup} (input channels {C} / group {Group})");
            if (y.Shape[0] != N || y.Shape[1] != OutChannels)
                throw s.Fail($"output [{ShapeUtil.Format(y.Shape)}] must have batch {N} and {OutChannels} channels");

            int spatial = x.Rank - 2;
            int At(AttributeKey key, int index, int fallback, int count)
            {
                var v = s.Attributes.GetInts(key);
                if (v == null) return fallback;
                if (v.Length != count) throw s.Fail($"{key} has {v.Length} values, expected {count}");
                return v[index];
            }
            StrideH = twoD ? At(AttributeKey.Strides, 0, 1, spatial) : 1;
            StrideW = At(AttributeKey.Strides, spatial - 1, 1, spatial);
            DilationH = twoD ? At(AttributeKey.Dilations, 0, 1, spatial) : 1;
            DilationW = At(AttributeKey.Dilations, spatial - 1, 1, spatial);
            PadTop = twoD ? At(AttributeKey.Pads, 0, 0, 2 * spatial) : 0;
            PadLeft = At(AttributeKey.Pads, spatial - 1, 0, 2 * spatial);
            if (StrideH < 1 || StrideW < 1 || DilationH < 1 || DilationW < 1 || PadTop < 0 || PadLeft < 0)
                throw s.Fail("strides and dilations must be positive and pads not negative");
            // Bounded so that input position times stride plus tap times dilation stays far from int overflow.
            const int limit = 1 << 16;
            if (StrideH > limit || StrideW > limit || DilationH > limit || DilationW > limit || PadTop > limit || PadLeft > limit)
                throw s.Fail($"strides, dilations and pads must be at most {limit}");
            if (s.HasInput(2))
            {
                var b = s.Input(2);
                s.ExpectType(b, biasType);
                if (!b.IsConstant) throw s.Fail($"bias '{b.Name}' must be a constant");
                if (b.Rank != 1 || b.Shape[0] != OutChannels)
                    throw s.Fail($"bias '{b.Name}' has shape [{ShapeUtil.Format(b.Shape)}], expected [{OutChannels}]");
            }
        }

        /// <summary>The input row (or column) tap k of output o reads, or −1 when it falls between input samples or outside.</summary>
        public static int Source(int o, int k, int pad, int stride, int dilation, int length)
        {
            int t = o + pad - k * dilation;
            if (t < 0 || t % stride != 0) return -1;
            t /= stride;
            return t < length ? t : -1;
        }
    }

    private sealed class ConvTransposeFloat32Kernel : OpKernel
    {
        private readonly int _x, _w, _b, _y;
        private readonly ConvTransposeShape _g;
        private readonly float _min, _max;

        public ConvTransposeFloat32Kernel(KernelSetup s)
        {
            _g = new ConvTransposeShape(s, DataType.Float32, DataType.Float32);
            (_min, _max) = ConvKernels.ReadFloatClamp(s);
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
            var g = _g;
            int cpg = g.InChannelsPerGroup, mpg = g.OutChannelsPerGroup, kernelSize = g.KernelH * g.KernelW;
            int o = 0;
            for (int n = 0; n < g.N; n++)
                for (int m = 0; m < g.OutChannels; m++)
                {
                    int xChannel0 = n * g.C + m / mpg * cpg, wFilter = m * cpg * kernelSize;
                    float b = _b >= 0 ? bias[m] : 0f;
                    for (int oh = 0; oh < g.OutH; oh++)
                        for (int ow = 0; ow < g.OutW; ow++)
                        {
                            float acc = b;
                            for (int kh = 0; kh < g.KernelH; kh++)
                            {
                                int ih = ConvTransposeShape.Source(oh, kh, g.PadTop, g.StrideH, g.DilationH, g.H);
                                if (ih < 0) continue;
                                for (int kw = 0; kw < g.KernelW; kw++)
                                {
                                    int iw = ConvTransposeShape.Source(ow, kw, g.PadLeft, g.StrideW, g.DilationW, g.W);
                                    if (iw < 0) continue;
                                    for (int c = 0; c < cpg; c++)
                                        acc += x[((xChannel0 + c) * g.H + ih) * g.W + iw] * w[wFilter + c * kernelSize + kh * g.KernelW + kw];
                                }
                            }
                            y[o++] = Math.Clamp(acc, _min, _max);
                        }
                }
        }
    }

    private sealed class ConvTransposeInt8Kernel : OpKernel
    {
        private readonly int _x, _w, _b, _y;
        private readonly ConvTransposeShape _g;
        private readonly ConvKernels.Int8Requantization _q;

        public ConvTransposeInt8Kernel(KernelSetup s)
        {
            _g = new ConvTransposeShape(s, DataType.Int8, DataType.Int32);
            _q = ConvKernels.Int8Requantization.Read(s, _g.OutChannels);
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
            var g = _g;
            var q = _q;
            int cpg = g.InChannelsPerGroup, mpg = g.OutChannelsPerGroup, kernelSize = g.KernelH * g.KernelW;
            int zx = q.InputZeroPoint;
            int o = 0;
            for (int n = 0; n < g.N; n++)
                for (int m = 0; m < g.OutChannels; m++)
                {
                    int xChannel0 = n * g.C + m / mpg * cpg, wFilter = m * cpg * kernelSize;
                    int b = _b >= 0 ? bias[m] : 0;
                    int multiplier = q.Multipliers[m], shift = q.Shifts[m];
                    for (int oh = 0; oh < g.OutH; oh++)
                        for (int ow = 0; ow < g.OutW; ow++)
                        {
                            // Only taps that land on an input sample add: between and outside them the input is real zero.
                            int acc = b;
                            for (int kh = 0; kh < g.KernelH; kh++)
                            {
                                int ih = ConvTransposeShape.Source(oh, kh, g.PadTop, g.StrideH, g.DilationH, g.H);
                                if (ih < 0) continue;
                                for (int kw = 0; kw < g.KernelW; kw++)
                                {
                                    int iw = ConvTransposeShape.Source(ow, kw, g.PadLeft, g.StrideW, g.DilationW, g.W);
                                    if (iw < 0) continue;
                                    for (int c = 0; c < cpg; c++)
                                        acc += (x[((xChannel0 + c) * g.H + ih) * g.W + iw] - zx) * w[wFilter + c * kernelSize + kh * g.KernelW + kw];
                                }
                            }
                            y[o++] = FixedPoint.Requantize(acc, multiplier, shift, q.OutputZeroPoint, q.Min, q.Max);
                        }
                }
        }
    }
}
