using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Int16;

/// <summary>
/// Conv with int16 activations and int8 weights (TFLite's reference integer_ops conv for int16): every geometry the
/// int8 Conv takes (groups, depthwise, strides, dilations, pads), int64 bias and sums, per-channel requantization of
/// <see cref="FixedPoint.RequantizeInt16"/>. The spec of the int16 Conv variants.
/// </summary>
internal sealed class ConvInt16Reference : OpKernel
{
    public const string KernelName = "Conv2dInt16_Reference";

    private readonly int _x, _w, _b, _y;
    private readonly ConvKernels.ConvShape _shape;
    private readonly Int16Requantization _q;

    public ConvInt16Reference(KernelSetup s)
    {
        _shape = new ConvKernels.ConvShape(s, DataType.Int16, DataType.Int64, DataType.Int8);
        var g = _shape.Window;
        _q = Int16Requantization.Read(s, _shape.OutChannels, _shape.InChannelsPerGroup * g.KernelH * g.KernelW);
        _x = s.InputId(0);
        _w = s.InputId(1);
        _b = s.InputId(2);
        _y = s.OutputId(0);
    }

    public override string Name => KernelName;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<short>(_x);
        var w = memory.Read<sbyte>(_w);
        var bias = _b >= 0 ? memory.Read<long>(_b) : default;
        var y = memory.Write<short>(_y);
        var g = _shape.Window;
        int cpg = _shape.InChannelsPerGroup, mpg = _shape.OutChannelsPerGroup, kernelSize = g.KernelH * g.KernelW;
        int o = 0;
        for (int n = 0; n < g.N; n++)
        {
            for (int m = 0; m < _shape.OutChannels; m++)
            {
                int xChannel0 = n * g.C + m / mpg * cpg;
                int wFilter = m * cpg * kernelSize;
                long b = _b >= 0 ? bias[m] : 0;
                int multiplier = _q.Multipliers[m], shift = _q.Shifts[m];
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    int ih0 = oh * g.StrideH - g.PadTop, khBegin = g.RowTapBegin[oh], khEnd = g.RowTapEnd[oh];
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        int iw0 = ow * g.StrideW - g.PadLeft, kwBegin = g.ColTapBegin[ow], kwEnd = g.ColTapEnd[ow];
                        // Symmetric activations: padding is 0 and adds nothing, so only taps inside the input count.
                        long acc = b;
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
                        y[o++] = FixedPoint.RequantizeInt16(acc, multiplier, shift, _q.Min, _q.Max);
                    }
                }
            }
        }
    }
}
