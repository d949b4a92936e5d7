using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Float ConvTranspose whose kernel equals its stride (no pads, no dilation, output = input · stride: the U-Net's
/// 2x2/2): every output pixel takes exactly one tap, (kh, kw) = (oh mod strideH, ow mod strideW), of input pixel
/// (oh / strideH, ow / strideW). Per output channel, input row and tap, a row of outputs is computed a vector of input
/// pixels at a time, then interleaved into the output row with the reference's clamp.
/// <para>
/// Exactness: each lane sums as the reference does, the bias first and then the channels in order, with separate
/// multiplies and adds (no fused multiply-add), so every output has the reference's bits.
/// </para>
/// </summary>
internal sealed class ConvTransposeFloat32Phases : OpKernel
{
    private readonly string _name;
    private readonly bool _wide;
    private readonly int _x, _y;
    private readonly ConvTransposeKernels.ConvTransposeShape _g;
    private readonly float _min, _max;
    private readonly float[] _bias;
    /// <summary>Weights per (output channel, kh, kw), the channels of its group contiguous.</summary>
    private readonly float[] _weights;
    /// <summary>One output row's phases: per kw, the outputs of every input column.</summary>
    private readonly float[] _phases;

    public static bool CanHandle(KernelSetup s)
    {
        var g = new ConvTransposeKernels.ConvTransposeShape(s, DataType.Float32, DataType.Float32);
        return g.KernelH == g.StrideH && g.KernelW == g.StrideW && g.DilationH == 1 && g.DilationW == 1 && g.PadTop == 0 && g.PadLeft == 0
            && g.OutH == g.H * g.StrideH && g.OutW == g.W * g.StrideW;
    }

    public ConvTransposeFloat32Phases(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _wide = isa == Isa.Avx2;
        _g = new ConvTransposeKernels.ConvTransposeShape(s, DataType.Float32, DataType.Float32);
        var g = _g;
        (_min, _max) = ConvKernels.ReadFloatClamp(s);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        _bias = new float[g.OutChannels];
        if (s.HasInput(2)) MemoryMarshal.Cast<byte, float>(s.Input(2).Data.Span).CopyTo(_bias);
        var weights = MemoryMarshal.Cast<byte, float>(s.Input(1).Data.Span);
        int cpg = g.InChannelsPerGroup, kernelSize = g.KernelH * g.KernelW;
        _weights = new float[g.OutChannels * kernelSize * cpg];
        for (int m = 0; m < g.OutChannels; m++)
            for (int k = 0; k < kernelSize; k++)
                for (int c = 0; c < cpg; c++)
                    _weights[(m * kernelSize + k) * cpg + c] = weights[(m * cpg + c) * kernelSize + k];
        _phases = new float[g.KernelW * g.W];
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<float>(_x);
        var y = memory.Write<float>(_y);
        var g = _g;
        int cpg = g.InChannelsPerGroup, mpg = g.OutChannelsPerGroup, kernelSize = g.KernelH * g.KernelW, plane = g.H * g.W;
        var phases = _phases.AsSpan();
        for (int n = 0; n < g.N; n++)
            for (int m = 0; m < g.OutChannels; m++)
            {
                var input = x.Slice((n * g.C + m / mpg * cpg) * plane, cpg * plane);
                var output = y.Slice((n * g.OutChannels + m) * g.OutH * g.OutW, g.OutH * g.OutW);
                for (int ih = 0; ih < g.H; ih++)
                    for (int kh = 0; kh < g.KernelH; kh++)
                    {
                        for (int kw = 0; kw < g.KernelW; kw++)
                            Phase(input.Slice(ih * g.W), plane, _weights.AsSpan(((m * g.KernelH + kh) * g.KernelW + kw) * cpg, cpg), _bias[m], phases.Slice(kw * g.W, g.W));
                        var row = output.Slice((ih * g.StrideH + kh) * g.OutW, g.OutW);
                        for (int iw = 0; iw < g.W; iw++)
                            for (int kw = 0; kw < g.KernelW; kw++)
                                row[iw * g.StrideW + kw] = Math.Clamp(phases[kw * g.W + iw], _min, _max);
                    }
            }
    }

    /// <summary>
    /// out[iw] = bias + Σ_c x[c, iw]·w[c] for one input row (channel c at <paramref name="input"/>[c · plane]), the
    /// channels in order.
    /// </summary>
    private void Phase(ReadOnlySpan<float> input, int plane, ReadOnlySpan<float> weights, float bias, Span<float> output)
    {
        ref float x0 = ref MemoryMarshal.GetReference(input);
        ref float o = ref MemoryMarshal.GetReference(output);
        int width = output.Length, iw = 0;
        if (_wide)
            for (; iw + 8 <= width; iw += 8)
            {
                var acc = Vector256.Create(bias);
                ref float x = ref Unsafe.Add(ref x0, iw);
                for (int c = 0; c < weights.Length; c++)
                    acc += Vector256.LoadUnsafe(ref x, (nuint)(c * plane)) * Vector256.Create(weights[c]);
                acc.StoreUnsafe(ref o, (nuint)iw);
            }
        for (; iw + 4 <= width; iw += 4)
        {
            var acc = Vector128.Create(bias);
            ref float x = ref Unsafe.Add(ref x0, iw);
            for (int c = 0; c < weights.Length; c++)
                acc += Vector128.LoadUnsafe(ref x, (nuint)(c * plane)) * Vector128.Create(weights[c]);
            acc.StoreUnsafe(ref o, (nuint)iw);
        }
        for (; iw < width; iw++)
        {
            float acc = bias;
            for (int c = 0; c < weights.Length; c++) acc += input[c * plane + iw] * weights[c];
            output[iw] = acc;
        }
    }
}
