using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 Gemm, Y[r, j] = requant(B[j] + Σ_k (A[r, k] − za)·W[j, k]), as dot products along K for 4 outputs at a time
/// (rows of A are few: a batch). The int16 variants widen W once at prepare time and each row of A (minus za, so in
/// [-255, 255]) per run, both zero-padded to whole vectors; vpmaddwd / pmaddwd / smlal never saturate on such operands.
/// The SDOT variant keeps int8 and folds −za·Σ_k W[j, k] into the bias. All sums wrap in int32 like the reference's.
/// </summary>
internal sealed class GemmInt8Vector : OpKernel
{
    private const int Block = 4;

    private readonly string _name;
    private readonly Int8Isa _isa;
    private readonly int _a, _y, _rows, _n, _k, _paddedK;
    private readonly int _inputZeroPoint, _outputZeroPoint, _min, _max;
    private readonly int[] _multipliers, _shifts, _bias;
    private readonly short[] _weights16 = [], _row16 = [];
    private readonly sbyte[] _weights8 = [], _row8 = [];

    public static bool CanHandle(KernelSetup s)
    {
        try
        {
            if (s.InputCount < 2 || s.OutputCount != 1 || !s.HasInput(0) || !s.HasInput(1)) return false;
            _ = new GemmKernels.GemmShape(s, DataType.Int8, DataType.Int32);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    public GemmInt8Vector(KernelSetup s, Int8Isa isa, string name)
    {
        _name = name;
        _isa = isa;
        var shape = new GemmKernels.GemmShape(s, DataType.Int8, DataType.Int32);
        _inputZeroPoint = ConvKernels.ReadActivationZeroPoint(s, s.Input(0));
        _outputZeroPoint = ConvKernels.ReadActivationZeroPoint(s, s.Output(0));
        ConvKernels.ExpectSymmetricWeights(s, s.Input(1));
        (_multipliers, _shifts) = ConvKernels.ReadRequantization(s, shape.N);
        (_min, _max) = ConvKernels.ReadQuantizedClamp(s);
        _a = s.InputId(0);
        _y = s.OutputId(0);
        (_rows, _n, _k) = (shape.Rows, shape.N, shape.K);
        // Whole vectors of 16 lanes; the weight rows are padded to a multiple of 4 so every block reads in bounds.
        _paddedK = (_k + 15) & ~15;
        int paddedN = (_n + Block - 1) / Block * Block;
        var weights = MemoryMarshal.Cast<byte, sbyte>(s.Input(1).Data.Span);
        _bias = new int[_n];
        if (s.HasInput(2)) MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span).CopyTo(_bias);
        if (isa == Int8Isa.AdvSimdDot)
        {
            _weights8 = new sbyte[paddedN * _paddedK];
            _row8 = new sbyte[_paddedK];
            for (int j = 0; j < _n; j++)
            {
                int sum = 0;
                for (int i = 0; i < _k; i++)
                {
                    _weights8[j * _paddedK + i] = weights[j * _k + i];
                    sum += weights[j * _k + i];
                }
                _bias[j] -= _inputZeroPoint * sum;
            }
        }
        else
        {
            _weights16 = new short[paddedN * _paddedK];
            _row16 = new short[_paddedK];
            for (int j = 0; j < _n; j++)
                for (int i = 0; i < _k; i++) _weights16[j * _paddedK + i] = weights[j * _k + i];
        }
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var a = memory.Read<sbyte>(_a);
        var y = memory.Write<sbyte>(_y);
        Span<int> sums = stackalloc int[Block];
        for (int r = 0; r < _rows; r++)
        {
            var row = a.Slice(r * _k, _k);
            if (_isa == Int8Isa.AdvSimdDot) row.CopyTo(_row8);
            else Widen(row, _row16, _inputZeroPoint);
            var output = y.Slice(r * _n, _n);
            for (int j0 = 0; j0 < _n; j0 += Block)
            {
                switch (_isa)
                {
                    case Int8Isa.Avx2: DotAvx2(j0, sums); break;
                    case Int8Isa.Vector128:
                        if (AdvSimd.IsSupported) DotNeon(j0, sums);
                        else DotSse(j0, sums);
                        break;
                    default: DotSdot(j0, sums); break;
                }
                int end = Math.Min(Block, _n - j0);
                for (int t = 0; t < end; t++)
                {
                    int j = j0 + t;
                    output[j] = FixedPoint.Requantize(sums[t] + _bias[j], _multipliers[j], _shifts[j], _outputZeroPoint, _min, _max);
                }
            }
        }
    }

    private static void Widen(ReadOnlySpan<sbyte> src, Span<short> dst, int zeroPoint)
    {
        var zx = Vector128.Create((short)zeroPoint);
        int i = 0;
        for (; i + 16 <= src.Length; i += 16)
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(src), (nuint)i));
            (lo - zx).StoreUnsafe(ref MemoryMarshal.GetReference(dst), (nuint)i);
            (hi - zx).StoreUnsafe(ref MemoryMarshal.GetReference(dst), (nuint)i + 8);
        }
        for (; i < src.Length; i++) dst[i] = (short)(src[i] - zeroPoint);
        // dst past the row stays 0 from allocation and meets zero weights anyway.
    }

    private void DotAvx2(int j0, Span<int> sums)
    {
        ref short x = ref MemoryMarshal.GetArrayDataReference(_row16);
        ref short w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_weights16), j0 * _paddedK);
        nuint k = (nuint)_paddedK;
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
        for (nuint i = 0; i < k; i += 16)
        {
            var xv = Vector256.LoadUnsafe(ref x, i);
            s0 += Avx2.MultiplyAddAdjacent(xv, Vector256.LoadUnsafe(ref w, i));
            s1 += Avx2.MultiplyAddAdjacent(xv, Vector256.LoadUnsafe(ref w, k + i));
            s2 += Avx2.MultiplyAddAdjacent(xv, Vector256.LoadUnsafe(ref w, 2 * k + i));
            s3 += Avx2.MultiplyAddAdjacent(xv, Vector256.LoadUnsafe(ref w, 3 * k + i));
        }
        sums[0] = Vector256.Sum(s0);
        sums[1] = Vector256.Sum(s1);
        sums[2] = Vector256.Sum(s2);
        sums[3] = Vector256.Sum(s3);
    }

    private void DotSse(int j0, Span<int> sums)
    {
        ref short x = ref MemoryMarshal.GetArrayDataReference(_row16);
        ref short w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_weights16), j0 * _paddedK);
        nuint k = (nuint)_paddedK;
        Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default;
        for (nuint i = 0; i < k; i += 8)
        {
            var xv = Vector128.LoadUnsafe(ref x, i);
            s0 += Sse2.MultiplyAddAdjacent(xv, Vector128.LoadUnsafe(ref w, i));
            s1 += Sse2.MultiplyAddAdjacent(xv, Vector128.LoadUnsafe(ref w, k + i));
            s2 += Sse2.MultiplyAddAdjacent(xv, Vector128.LoadUnsafe(ref w, 2 * k + i));
            s3 += Sse2.MultiplyAddAdjacent(xv, Vector128.LoadUnsafe(ref w, 3 * k + i));
        }
        sums[0] = Vector128.Sum(s0);
        sums[1] = Vector128.Sum(s1);
        sums[2] = Vector128.Sum(s2);
        sums[3] = Vector128.Sum(s3);
    }

    private void DotNeon(int j0, Span<int> sums)
    {
        ref short x = ref MemoryMarshal.GetArrayDataReference(_row16);
        ref short w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_weights16), j0 * _paddedK);
        nuint k = (nuint)_paddedK;
        Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default;
        for (nuint i = 0; i < k; i += 8)
        {
            var xv = Vector128.LoadUnsafe(ref x, i);
            var xl = xv.GetLower();
            var w0 = Vector128.LoadUnsafe(ref w, i);
            var w1 = Vector128.LoadUnsafe(ref w, k + i);
            var w2 = Vector128.LoadUnsafe(ref w, 2 * k + i);
            var w3 = Vector128.LoadUnsafe(ref w, 3 * k + i);
            s0 = AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLowerAndAdd(s0, xl, w0.GetLower()), xv, w0);
            s1 = AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLowerAndAdd(s1, xl, w1.GetLower()), xv, w1);
            s2 = AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLowerAndAdd(s2, xl, w2.GetLower()), xv, w2);
            s3 = AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLowerAndAdd(s3, xl, w3.GetLower()), xv, w3);
        }
        sums[0] = Vector128.Sum(s0);
        sums[1] = Vector128.Sum(s1);
        sums[2] = Vector128.Sum(s2);
        sums[3] = Vector128.Sum(s3);
    }

    private void DotSdot(int j0, Span<int> sums)
    {
        ref sbyte x = ref MemoryMarshal.GetArrayDataReference(_row8);
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_weights8), j0 * _paddedK);
        nuint k = (nuint)_paddedK;
        Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default;
        for (nuint i = 0; i < k; i += 16)
        {
            var xv = Vector128.LoadUnsafe(ref x, i);
            s0 = Dp.DotProduct(s0, xv, Vector128.LoadUnsafe(ref w, i));
            s1 = Dp.DotProduct(s1, xv, Vector128.LoadUnsafe(ref w, k + i));
            s2 = Dp.DotProduct(s2, xv, Vector128.LoadUnsafe(ref w, 2 * k + i));
            s3 = Dp.DotProduct(s3, xv, Vector128.LoadUnsafe(ref w, 3 * k + i));
        }
        sums[0] = Vector128.Sum(s0);
        sums[1] = Vector128.Sum(s1);
        sums[2] = Vector128.Sum(s2);
        sums[3] = Vector128.Sum(s3);
    }
}
