using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 1x1 Conv on a one-pixel map (squeeze-excite's two fully connected layers after the global pool) as a
/// matrix-vector product on AVX-512: an im2col GEMM would fill one of its 32 pixel columns. The weights are packed once
/// as int16 pairs of two input channels for 16 output channels ((w[m][k], w[m][k+1]) in lane m), the input as the pairs
/// (x[k] − zx, x[k+1] − zx), each broadcast to every lane, so one vpmaddwd adds two input channels to 16 outputs. Two
/// products of |x − zx| ≤ 255 and |w| ≤ 128 cannot overflow the pair's int32; sums wrap like the reference's.
/// Requantization is per lane (each lane one output channel).
/// </summary>
internal sealed class ConvInt8MatrixVector : OpKernel
{
    private const int Lanes = 16;
    /// <summary>Output blocks of 16 run side by side, sharing each broadcast input pair.</summary>
    private const int Blocks = 4;

    private readonly string _name;
    private readonly int _x, _y, _channels, _outChannels, _blocks, _inputPairs, _inputZeroPoint;
    private readonly int _images;
    /// <summary>Per 16-output block, per input pair: 16 lanes of (w[m][2p], w[m][2p + 1]).</summary>
    private readonly short[] _weights;
    /// <summary>Per output channel, padded to whole blocks.</summary>
    private readonly int[] _bias;
    private readonly LaneRequantization _requantization;
    /// <summary>The input pairs of the current image as int32 (two int16).</summary>
    private readonly int[] _pairs;
    private readonly sbyte[] _out;

    public static bool CanHandle(KernelSetup s)
    {
        if (!ConvInt8Gemm.CanHandle(s, depthwise: false)) return false;
        var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
        var g = shape.Window;
        return shape.Group == 1 && g.H == 1 && g.W == 1 && g.OutH == 1 && g.OutW == 1 && g.KernelH == 1 && g.KernelW == 1;
    }

    public ConvInt8MatrixVector(KernelSetup s, string name)
    {
        _name = name;
        var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
        var (zx, zeroPoint, multipliers, shifts, min, max) = ConvKernels.Int8Requantization.Read(s, shape.OutChannels);
        _inputZeroPoint = zx;
        _requantization = new LaneRequantization(multipliers, shifts, zeroPoint, min, max);
        _x = s.InputId(0);
        _y = s.OutputId(0);
        _images = shape.Window.N;
        _channels = shape.Window.C;
        _outChannels = shape.OutChannels;
        _blocks = (_outChannels + Lanes - 1) / Lanes;
        _inputPairs = (_channels + 1) / 2;

        var weights = MemoryMarshal.Cast<byte, sbyte>(s.Input(1).Data.Span);
        var bias = s.HasInput(2) ? MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span) : default;
        int lanes = _blocks * Lanes;
        _weights = new short[lanes * _inputPairs * 2];
        for (int m = 0; m < _outChannels; m++)
            for (int k = 0; k < _channels; k++)
                _weights[((m / Lanes * _inputPairs + k / 2) * Lanes + m % Lanes) * 2 + k % 2] = weights[m * _channels + k];
        _bias = new int[lanes];
        if (!bias.IsEmpty) bias.CopyTo(_bias);
        _pairs = new int[_inputPairs];
        _out = new sbyte[lanes];
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        for (int n = 0; n < _images; n++)
        {
            var image = x.Slice(n * _channels, _channels);
            for (int p = 0; p < _inputPairs; p++)
            {
                int k = 2 * p;
                int second = k + 1 < _channels ? image[k + 1] - _inputZeroPoint : 0;
                _pairs[p] = (ushort)(short)(image[k] - _inputZeroPoint) | (ushort)(short)second << 16;
            }
            int b = 0;
            for (; b + Blocks <= _blocks; b += Blocks) Products4(b);
            for (; b < _blocks; b++) Products1(b);
            _out.AsSpan(0, _outChannels).CopyTo(y.Slice(n * _outChannels, _outChannels));
        }
    }

    /// <summary>Output blocks <paramref name="b"/> .. <paramref name="b"/> + 3, each input pair broadcast once for all four.</summary>
    private void Products4(int b)
    {
        int stride = _inputPairs * 2 * Lanes;
        ref short w = ref _weights[b * stride];
        ref int pairs = ref MemoryMarshal.GetArrayDataReference(_pairs);
        var a0 = Vector512.LoadUnsafe(ref _bias[b * Lanes]);
        var a1 = Vector512.LoadUnsafe(ref _bias[(b + 1) * Lanes]);
        var a2 = Vector512.LoadUnsafe(ref _bias[(b + 2) * Lanes]);
        var a3 = Vector512.LoadUnsafe(ref _bias[(b + 3) * Lanes]);
        for (int p = 0; p < _inputPairs; p++, w = ref Unsafe.Add(ref w, 2 * Lanes))
        {
            var xp = Vector512.Create(Unsafe.Add(ref pairs, p)).AsInt16();
            a0 += Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref w), xp);
            a1 += Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref w, (nuint)stride), xp);
            a2 += Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref w, (nuint)(2 * stride)), xp);
            a3 += Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref w, (nuint)(3 * stride)), xp);
        }
        Store(a0, b);
        Store(a1, b + 1);
        Store(a2, b + 2);
        Store(a3, b + 3);
    }

    private void Products1(int b)
    {
        ref short w = ref _weights[b * _inputPairs * 2 * Lanes];
        ref int pairs = ref MemoryMarshal.GetArrayDataReference(_pairs);
        var a = Vector512.LoadUnsafe(ref _bias[b * Lanes]);
        for (int p = 0; p < _inputPairs; p++, w = ref Unsafe.Add(ref w, 2 * Lanes))
            a += Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref w), Vector512.Create(Unsafe.Add(ref pairs, p)).AsInt16());
        Store(a, b);
    }

    private void Store(Vector512<int> sums, int b) => _requantization.Apply(sums, b * Lanes).StoreUnsafe(ref _out[b * Lanes]);
}
