using System.Diagnostics.CodeAnalysis;
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
/// Int8 MatMul of two run-time tensors (attention's Q·Kᵀ and weights·V), Y[i, j] = requant(Σ_p (A[i, p] − za)·(B[p, j] − zb)),
/// batch by batch. The right operand is packed per run into the kernel's own buffers (sized once, at prepare time), and
/// each output row accumulates whole vectors of columns with one broadcast of the row per step, so no horizontal sums:
/// <list type="bullet">
/// <item>AVX2 / AVX-512: B − zb as int16 pairs of consecutive p per column ([p/2][column][2]); vpmaddwd of the row's
/// (A − za) pair, broadcast, gives 8 (16) columns' two products in int32. Operands lie in [-255, 255], so no pair
/// saturates.</item>
/// <item>AdvSimd: B − zb as int16 rows; smlal/smlal2 by the element of A − za, 4 columns per multiply.</item>
/// <item>SDOT: raw int8 quadruplets of consecutive p per column ([p/4][column][4]); sdot by one quadruplet of the raw
/// row, then Σ(a − za)(b − zb) = Σab − zb·Σa − za·Σb + K·za·zb with the column sums taken while packing.</item>
/// </list>
/// Every sum is the reference's exact int32 value (K ≤ 2^15), so the requantization gives its bytes.
/// </summary>
internal sealed class MatMulInt8Vector : OpKernel
{
    private readonly string _name;
    private readonly Isa _isa;
    private readonly int _a, _b, _y;
    private readonly int _za, _zb, _zy, _min, _max, _multiplier, _shift;
    private readonly ElementwiseKernels.MatMulShape _shape;
    /// <summary>Columns padded to whole column blocks; rows of B (p) padded to the packing's group.</summary>
    private readonly int _paddedN, _paddedK;
    private readonly short[] _packed16 = [], _row16 = [];
    private readonly sbyte[] _packed8 = [], _row8 = [];
    /// <summary>SDOT: za·Σ_p B[p, j] − K·za·zb per column of the packed B.</summary>
    private readonly int[] _columnTerms = [];

    public static bool CanHandle(KernelSetup s)
    {
        _ = new ElementwiseKernels.MatMulShape(s, DataType.Int8);
        return true;
    }

    public MatMulInt8Vector(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _isa = isa;
        _shape = new ElementwiseKernels.MatMulShape(s, DataType.Int8);
        _za = ElementwiseKernels.PerTensorQuant(s, s.Input(0)).ZeroPoint;
        _zb = ElementwiseKernels.PerTensorQuant(s, s.Input(1)).ZeroPoint;
        _zy = ElementwiseKernels.PerTensorQuant(s, s.Output(0)).ZeroPoint;
        if (_shape.K > 1 << 15) throw s.Fail($"inner dimension {_shape.K} is too large for an int32 accumulator");
        (_multiplier, _shift) = ElementwiseKernels.RequireMultiplier(s, AttributeKey.OutputMultiplier, AttributeKey.OutputShift, 1, 0);
        (_min, _max) = ElementwiseKernels.QuantizedClamp(s);
        _a = s.InputId(0);
        _b = s.InputId(1);
        _y = s.OutputId(0);
        int k = _shape.K, n = _shape.N;
        int columnBlock = isa == Isa.Avx2 ? 8 : 16;
        _paddedN = (n + columnBlock - 1) / columnBlock * columnBlock;
        switch (isa)
        {
            case Isa.Avx2 or Isa.Avx512:
                _paddedK = (k + 1) & ~1;
                _packed16 = new short[_paddedK * _paddedN];
                _row16 = new short[_paddedK];
                break;
            case Isa.AdvSimd:
                _paddedK = (k + 7) & ~7;
                _packed16 = new short[_paddedK * _paddedN];
                _row16 = new short[_paddedK];
                break;
            default:
                _paddedK = (k + 15) & ~15;
                _packed8 = new sbyte[_paddedK * _paddedN];
                _row8 = new sbyte[_paddedK];
                _columnTerms = new int[_paddedN];
                break;
        }
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var a = memory.Read<sbyte>(_a);
        var b = memory.Read<sbyte>(_b);
        var y = memory.Write<sbyte>(_y);
        var sh = _shape;
        int m = sh.M, k = sh.K, n = sh.N;
        int packedOffset = -1;
        for (int batch = 0; batch < sh.BatchCount; batch++)
        {
            sh.MatrixOffsets(batch, out int oa, out int ob);
            // A right operand broadcast over the batch is packed once.
            if (ob != packedOffset)
            {
                Pack(b.Slice(ob, k * n));
                packedOffset = ob;
            }
            for (int i = 0; i < m; i++)
            {
                var row = a.Slice(oa + i * k, k);
                var output = y.Slice((batch * m + i) * n, n);
                switch (_isa)
                {
                    case Isa.Avx512: RowAvx512(row, output); break;
                    case Isa.Avx2: RowAvx2(row, output); break;
                    case Isa.AdvSimd: RowAdvSimd(row, output); break;
                    default: RowSdot(row, output); break;
                }
            }
        }
    }

    private void Pack(ReadOnlySpan<sbyte> b)
    {
        switch (_isa)
        {
            case Isa.Avx2 or Isa.Avx512: PackPairs(b); break;
            case Isa.AdvSimd: PackRows(b); break;
            default: PackQuads(b); break;
        }
    }

    /// <summary>[p/2][j][p%2] = B[p, j] − zb; the odd last row's partner and the padded columns stay 0.</summary>
    private void PackPairs(ReadOnlySpan<sbyte> b)
    {
        int k = _shape.K, n = _shape.N;
        var zb = Vector128.Create((short)_zb);
        ref sbyte src = ref MemoryMarshal.GetReference(b);
        ref short dst = ref MemoryMarshal.GetArrayDataReference(_packed16);
        int p = 0;
        for (; p + 2 <= k; p += 2)
        {
            ref short pair = ref Unsafe.Add(ref dst, p * _paddedN);
            int j = 0;
            for (; j + 16 <= n; j += 16)
            {
                var (l0, h0) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)(p * n + j)));
                var (l1, h1) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)((p + 1) * n + j)));
                l0 -= zb; h0 -= zb; l1 -= zb; h1 -= zb;
                ref short d = ref Unsafe.Add(ref pair, 2 * j);
                Sse2.UnpackLow(l0, l1).StoreUnsafe(ref d);
                Sse2.UnpackHigh(l0, l1).StoreUnsafe(ref d, 8);
                Sse2.UnpackLow(h0, h1).StoreUnsafe(ref d, 16);
                Sse2.UnpackHigh(h0, h1).StoreUnsafe(ref d, 24);
            }
            for (; j < n; j++)
            {
                Unsafe.Add(ref pair, 2 * j) = (short)(b[p * n + j] - _zb);
                Unsafe.Add(ref pair, 2 * j + 1) = (short)(b[(p + 1) * n + j] - _zb);
            }
        }
        for (; p < k; p++)
            for (int j = 0; j < n; j++) _packed16[p * _paddedN + 2 * j] = (short)(b[p * n + j] - _zb);
    }

    /// <summary>[p][j] = B[p, j] − zb; padded rows and columns stay 0.</summary>
    private void PackRows(ReadOnlySpan<sbyte> b)
    {
        int k = _shape.K, n = _shape.N;
        for (int p = 0; p < k; p++) GemmInt8Vector.Widen(b.Slice(p * n, n), _packed16.AsSpan(p * _paddedN, n), _zb);
    }

    /// <summary>[p/4][j][p%4] = B[p, j] (raw); padded rows and columns stay 0. Then the column terms, by sdot with ones.</summary>
    private void PackQuads(ReadOnlySpan<sbyte> b)
    {
        int k = _shape.K, n = _shape.N;
        ref sbyte src = ref MemoryMarshal.GetReference(b);
        ref sbyte dst = ref MemoryMarshal.GetArrayDataReference(_packed8);
        int p = 0;
        for (; p + 4 <= k; p += 4)
        {
            ref sbyte quad = ref Unsafe.Add(ref dst, p * _paddedN);
            int j = 0;
            for (; j + 16 <= n; j += 16)
            {
                var r0 = Vector128.LoadUnsafe(ref src, (nuint)(p * n + j));
                var r1 = Vector128.LoadUnsafe(ref src, (nuint)((p + 1) * n + j));
                var r2 = Vector128.LoadUnsafe(ref src, (nuint)((p + 2) * n + j));
                var r3 = Vector128.LoadUnsafe(ref src, (nuint)((p + 3) * n + j));
                var lo01 = AdvSimd.Arm64.ZipLow(r0, r1).AsInt16();
                var hi01 = AdvSimd.Arm64.ZipHigh(r0, r1).AsInt16();
                var lo23 = AdvSimd.Arm64.ZipLow(r2, r3).AsInt16();
                var hi23 = AdvSimd.Arm64.ZipHigh(r2, r3).AsInt16();
                ref sbyte d = ref Unsafe.Add(ref quad, 4 * j);
                AdvSimd.Arm64.ZipLow(lo01, lo23).AsSByte().StoreUnsafe(ref d);
                AdvSimd.Arm64.ZipHigh(lo01, lo23).AsSByte().StoreUnsafe(ref d, 16);
                AdvSimd.Arm64.ZipLow(hi01, hi23).AsSByte().StoreUnsafe(ref d, 32);
                AdvSimd.Arm64.ZipHigh(hi01, hi23).AsSByte().StoreUnsafe(ref d, 48);
            }
            for (; j < n; j++)
                for (int t = 0; t < 4; t++) Unsafe.Add(ref quad, 4 * j + t) = b[(p + t) * n + j];
        }
        for (; p < k; p++)
            for (int j = 0; j < n; j++) _packed8[(p & ~3) * _paddedN + 4 * j + (p & 3)] = b[p * n + j];

        var ones = Vector128.Create((sbyte)1);
        var za = Vector128.Create(_za);
        var constant = Vector128.Create(k * _za * _zb);
        for (int j0 = 0; j0 < _paddedN; j0 += 4)
        {
            var sum = Vector128<int>.Zero;
            for (int q = 0; q < _paddedK; q += 4)
                sum = Dp.DotProduct(sum, Vector128.LoadUnsafe(ref dst, (nuint)(q * _paddedN + 4 * j0)), ones);
            (za * sum - constant).StoreUnsafe(ref _columnTerms[j0]);
        }
    }

    internal static void StoreBytes(long bytes, Span<sbyte> output, int j, int lanes)
    {
        int count = Math.Min(lanes, output.Length - j);
        if (count == 8) Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref output[j]), bytes);
        else
            for (int t = 0; t < count; t++) output[j + t] = (sbyte)(bytes >> (8 * t));
    }

    /// <summary>16 bytes to <paramref name="output"/> from <paramref name="j"/> (fewer at the end of the row).</summary>
    internal static void Store16(Vector128<sbyte> bytes, Span<sbyte> output, int j)
    {
        if (j + 16 <= output.Length) bytes.StoreUnsafe(ref output[j]);
        else
        {
            StoreBytes(bytes.AsInt64().GetElement(0), output, j, 8);
            if (j + 8 < output.Length) StoreBytes(bytes.AsInt64().GetElement(1), output, j + 8, 8);
        }
    }

    private void RowAvx2(ReadOnlySpan<sbyte> row, Span<sbyte> output)
    {
        GemmInt8Vector.Widen(row, _row16, _za);
        Int16Pairs.Row<Vector256<int>, Pairs256, TensorRequantization>(_row16, _packed16, _paddedK, _paddedN, output, new TensorRequantization(this));
    }

    private void RowAvx512(ReadOnlySpan<sbyte> row, Span<sbyte> output)
    {
        GemmInt8Vector.Widen(row, _row16, _za);
        Int16Pairs.Row<Vector512<int>, Pairs512, TensorRequantization>(_row16, _packed16, _paddedK, _paddedN, output, new TensorRequantization(this));
    }

    /// <summary>One (multiplier, shift) pair for the whole tensor.</summary>
    private readonly struct TensorRequantization(MatMulInt8Vector kernel) : IPairStore<Vector256<int>>, IPairStore<Vector512<int>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(Vector256<int> sums, Span<sbyte> output, int j)
        {
            var k = kernel;
            var r = Requantization.Requantize(sums, k._multiplier, k._shift, Vector256.Create(k._zy), Vector256.Create(k._min), Vector256.Create(k._max));
            var s = Vector128.Narrow(r.GetLower(), r.GetUpper());
            StoreBytes(Vector128.Narrow(s, s).AsInt64().ToScalar(), output, j, 8);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(Vector512<int> sums, Span<sbyte> output, int j)
        {
            var k = kernel;
            var r = Requantization.Requantize(sums, k._multiplier, k._shift, Vector512.Create(k._zy), Vector512.Create(k._min), Vector512.Create(k._max));
            Store16(Requantization.NarrowToInt8(r), output, j);
        }
    }

    /// <summary>smlal/smlal2 of 16 columns by one element of the row (lane <paramref name="lane"/> of <paramref name="x"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref Vector128<int> s0, ref Vector128<int> s1, ref Vector128<int> s2, ref Vector128<int> s3, ref short col, Vector128<short> x,
        [ConstantExpected(Max = (byte)7)] byte lane)
    {
        var b0 = Vector128.LoadUnsafe(ref col);
        var b1 = Vector128.LoadUnsafe(ref col, 8);
        s0 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(s0, b0.GetLower(), x, lane);
        s1 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(s1, b0, x, lane);
        s2 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(s2, b1.GetLower(), x, lane);
        s3 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(s3, b1, x, lane);
    }

    private void RowAdvSimd(ReadOnlySpan<sbyte> row, Span<sbyte> output)
    {
        GemmInt8Vector.Widen(row, _row16, _za);
        ref short x = ref MemoryMarshal.GetArrayDataReference(_row16);
        ref short w = ref MemoryMarshal.GetArrayDataReference(_packed16);
        int stride = _paddedN;
        for (int j0 = 0; j0 < _paddedN; j0 += 16)
        {
            Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default;
            for (int p = 0; p < _paddedK; p += 8)
            {
                var xv = Vector128.LoadUnsafe(ref x, (nuint)p);
                ref short col = ref Unsafe.Add(ref w, p * stride + j0);
                Step(ref s0, ref s1, ref s2, ref s3, ref col, xv, 0);
                Step(ref s0, ref s1, ref s2, ref s3, ref Unsafe.Add(ref col, stride), xv, 1);
                Step(ref s0, ref s1, ref s2, ref s3, ref Unsafe.Add(ref col, 2 * stride), xv, 2);
                Step(ref s0, ref s1, ref s2, ref s3, ref Unsafe.Add(ref col, 3 * stride), xv, 3);
                Step(ref s0, ref s1, ref s2, ref s3, ref Unsafe.Add(ref col, 4 * stride), xv, 4);
                Step(ref s0, ref s1, ref s2, ref s3, ref Unsafe.Add(ref col, 5 * stride), xv, 5);
                Step(ref s0, ref s1, ref s2, ref s3, ref Unsafe.Add(ref col, 6 * stride), xv, 6);
                Step(ref s0, ref s1, ref s2, ref s3, ref Unsafe.Add(ref col, 7 * stride), xv, 7);
            }
            StoreAdvSimd(s0, s1, s2, s3, output, j0);
        }
    }

    private void StoreAdvSimd(Vector128<int> s0, Vector128<int> s1, Vector128<int> s2, Vector128<int> s3, Span<sbyte> output, int j0)
    {
        var bytes = Requantization.RequantizeToInt8(s0, s1, s2, s3, Vector128.Create(_multiplier), Vector128.Create(_shift), _shift, Vector128.Create(_zy),
            Vector128.Create((sbyte)_min), Vector128.Create((sbyte)_max));
        Store16(bytes, output, j0);
    }

    private void RowSdot(ReadOnlySpan<sbyte> row, Span<sbyte> output)
    {
        ref sbyte x = ref Int8Quads.PaddedRow(row, _row8);
        var rowTerm = Vector128.Create(_zb * Int8Quads.Sum(ref x, _paddedK));
        Int8Quads.Row(ref x, _packed8, _paddedK, _paddedN, output, new ZeroPointTerms(this, rowTerm));
    }

    /// <summary>The zero points' terms (row's and column's), then the tensor's requantization.</summary>
    private readonly struct ZeroPointTerms(MatMulInt8Vector kernel, Vector128<int> rowTerm) : IQuadStore
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(Vector128<int> s0, Vector128<int> s1, Vector128<int> s2, Vector128<int> s3, Span<sbyte> output, int j0)
        {
            var k = kernel;
            ref int terms = ref k._columnTerms[j0];
            s0 -= rowTerm + Vector128.LoadUnsafe(ref terms);
            s1 -= rowTerm + Vector128.LoadUnsafe(ref terms, 4);
            s2 -= rowTerm + Vector128.LoadUnsafe(ref terms, 8);
            s3 -= rowTerm + Vector128.LoadUnsafe(ref terms, 12);
            k.StoreAdvSimd(s0, s1, s2, s3, output, j0);
        }
    }
}
