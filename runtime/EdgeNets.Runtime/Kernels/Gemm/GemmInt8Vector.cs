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
/// Int8 Gemm, Y[r, j] = requant(B[j] + Σ_k (A[r, k] − za)·W[j, k]), as dot products along K for 4 (AVX2: 8) outputs at a time
/// (rows of A are few: a batch). The int16 variants widen each row of A (minus za, so in [-255, 255]) per run and W
/// once at prepare time (AVX2: as it is loaded, so half the bytes are streamed), both zero-padded to whole vectors; vpmaddwd / pmaddwd / smlal never saturate on such operands.
/// The SDOT and AdvSimd variants keep int8 and fold −za·Σ_k W[j, k] into the bias (AdvSimd without SDOT: smull +
/// smlal of 16 columns into 8 int16 lanes of two products each, sadalp into int32; each smull widened on its own when
/// a weight is −128, where two products may overflow int16); the AVX-VNNI variant (vpdpbusd: unsigned
/// bytes times signed) stores the row as A + 128 and folds −(za + 128)·Σ_k W[j, k]. All sums wrap in int32 like the reference's.
/// Every variant but the 128-bit fallback requantizes a block's outputs together in vectors (per-lane multipliers and shifts).
/// <para>
/// AVX-VNNI works the other way round: each vpdpbusd multiplies 4 consecutive row bytes, broadcast, by the weights of
/// 8 outputs at those 4 columns, so a vector accumulates 8 whole outputs and needs no horizontal sums; 8 such vectors
/// (64 outputs of one row, or 32 outputs of two rows sharing each weight load) are in flight, enough independent
/// chains to keep both multiply-add pipes busy.
/// </para>
/// </summary>
internal sealed class GemmInt8Vector : OpKernel
{
    private const int Block = 4;
    /// <summary>Outputs per dot-product pass: 8 with AVX2 (one row load feeds eight weight rows), else <see cref="Block"/>; AVX-VNNI pads the outputs to 8 too.</summary>
    private readonly int _block;

    private readonly string _name;
    private readonly Isa _isa;
    private readonly int _a, _y, _rows, _n, _k, _paddedK;
    private readonly int _inputZeroPoint, _outputZeroPoint, _min, _max;
    private readonly int[] _multipliers, _shifts, _bias;
    /// <summary>
    /// Per output, padded to whole blocks. AVX2 and AVX-VNNI: the left and right shift of its rescale and the right
    /// shift's remainder mask. AdvSimd and SDOT: <see cref="Requantization.Rescale(Vector128{int}, Vector128{int}, Vector128{int}, Vector128{int}, Vector128{int})"/>'s
    /// operands, the right shift negated (SRSHL shifts right by a negative count) and the mask int.MinValue where the shift is negative.
    /// </summary>
    private readonly int[] _leftShifts = [], _rightShifts = [], _masks = [], _paddedMultipliers = [], _paddedBias = [];
    private readonly short[] _weights16 = [], _row16 = [];
    private readonly sbyte[] _weights8 = [], _row8 = [];
    /// <summary>AdvSimd: some weight is −128, so two products may not share an int16 lane.</summary>
    private readonly bool _separatePairs;

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

    public GemmInt8Vector(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _isa = isa;
        var shape = new GemmKernels.GemmShape(s, DataType.Int8, DataType.Int32);
        (_inputZeroPoint, _outputZeroPoint, _multipliers, _shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, shape.N);
        _a = s.InputId(0);
        _y = s.OutputId(0);
        (_rows, _n, _k) = (shape.Rows, shape.N, shape.K);
        // Whole vectors of 16 lanes (AVX-VNNI: whole quadruplets of columns); the weight rows are padded to whole
        // blocks so every block reads in bounds.
        _paddedK = isa == Isa.AvxVnni ? (_k + 3) & ~3 : (_k + 15) & ~15;
        _block = isa is Isa.Avx2 or Isa.AvxVnni ? 8 : Block;
        int paddedN = (_n + _block - 1) / _block * _block;
        var weights = MemoryMarshal.Cast<byte, sbyte>(s.Input(1).Data.Span);
        _bias = new int[_n];
        if (s.HasInput(2)) MemoryMarshal.Cast<byte, int>(s.Input(2).Data.Span).CopyTo(_bias);
        _separatePairs = isa == Isa.AdvSimd && weights.Contains(sbyte.MinValue);
        if (isa.UsesQuads())
        {
            _weights8 = new sbyte[paddedN * _paddedK];
            // AVX-VNNI and AdvSimd take rows two at a time (each weight load then feeds both).
            _row8 = new sbyte[(isa is Isa.AvxVnni or Isa.AdvSimd ? 2 : 1) * _paddedK];
            int storedZeroPoint = isa.StoredZeroPoint(_inputZeroPoint);
            for (int j = 0; j < _n; j++)
            {
                int sum = 0;
                for (int i = 0; i < _k; i++)
                {
                    _weights8[WeightIndex(isa, j, i)] = weights[j * _k + i];
                    sum += weights[j * _k + i];
                }
                _bias[j] -= storedZeroPoint * sum;
            }
        }
        if (isa is Isa.Avx2 or Isa.AvxVnni or Isa.AdvSimd or Isa.AdvSimdDot)
        {
            bool arm = isa is Isa.AdvSimd or Isa.AdvSimdDot;
            _leftShifts = new int[paddedN];
            _rightShifts = new int[paddedN];
            _masks = new int[paddedN];
            _paddedMultipliers = new int[paddedN];
            _paddedBias = new int[paddedN];
            for (int j = 0; j < _n; j++)
            {
                _leftShifts[j] = Math.Max(0, _shifts[j]);
                _rightShifts[j] = arm ? Math.Min(0, _shifts[j]) : Math.Max(0, -_shifts[j]);
                _masks[j] = arm ? (_shifts[j] < 0 ? int.MinValue : 0) : (int)((1L << _rightShifts[j]) - 1);
                _paddedMultipliers[j] = _multipliers[j];
                _paddedBias[j] = _bias[j];
            }
        }
        if (isa == Isa.Avx2)
        {
            // int8 weights, widened as they are loaded (vpmovsxbw): half the bytes to stream of int16 weights.
            _weights8 = new sbyte[paddedN * _paddedK];
            _row16 = new short[_paddedK];
            for (int j = 0; j < _n; j++)
                for (int i = 0; i < _k; i++) _weights8[j * _paddedK + i] = weights[j * _k + i];
        }
        else if (!isa.UsesQuads())
        {
            _weights16 = new short[paddedN * _paddedK];
            _row16 = new short[_paddedK];
            for (int j = 0; j < _n; j++)
                for (int i = 0; i < _k; i++) _weights16[j * _paddedK + i] = weights[j * _k + i];
        }
    }

    public override string Name => _name;

    /// <summary>Outputs per AVX-VNNI tile: 8 accumulators of 8 outputs each.</summary>
    private const int VnniTile = 64;

    /// <summary>
    /// Where W[j, i] goes in the quadruplet layouts: SDOT row by row. AVX-VNNI per tile of up to 64 outputs: for each
    /// column quadruplet q, the tile's outputs one after another, 4 bytes each (W[j, 4q..4q+3]), so a tile streams its
    /// weights from one sequential run, 32 bytes per 8 outputs and quadruplet.
    /// </summary>
    private int WeightIndex(Isa isa, int j, int i)
    {
        if (isa != Isa.AvxVnni) return j * _paddedK + i;
        int tileStart = j / VnniTile * VnniTile;
        int tileWidth = Math.Min(VnniTile, (_n + 7) / 8 * 8 - tileStart);
        return tileStart * _paddedK + (i / 4 * tileWidth + (j - tileStart)) * 4 + i % 4;
    }

    public override void Run(TensorMemory memory)
    {
        var a = memory.Read<sbyte>(_a);
        var y = memory.Write<sbyte>(_y);
        if (_isa == Isa.AvxVnni)
        {
            RunVnni(a, y);
            return;
        }
        if (_isa is Isa.AdvSimd or Isa.AdvSimdDot)
        {
            RunAdvSimd(a, y);
            return;
        }
        Span<int> sums = stackalloc int[8];
        for (int r = 0; r < _rows; r++)
        {
            var row = a.Slice(r * _k, _k);
            Widen(row, _row16, _inputZeroPoint);
            var output = y.Slice(r * _n, _n);
            for (int j0 = 0; j0 < _n; j0 += _block)
            {
                if (_isa == Isa.Avx2)
                {
                    RequantizeAvx2(DotAvx2(j0), j0, output);
                    continue;
                }
                if (AdvSimd.IsSupported) DotNeon(j0, sums);
                else DotSse(j0, sums);
                int end = Math.Min(_block, _n - j0);
                for (int t = 0; t < end; t++)
                {
                    int j = j0 + t;
                    output[j] = FixedPoint.Requantize(sums[t] + _bias[j], _multipliers[j], _shifts[j], _outputZeroPoint, _min, _max);
                }
            }
        }
    }

    /// <summary>
    /// AdvSimd and SDOT: 4 outputs' sums as one vector, requantized in that vector with each output's own multiplier
    /// and shift; 8 outputs (two such vectors) narrowed and stored together while whole. AdvSimd takes rows two at a
    /// time, each weight load feeding both (SDOT's loads are already one per 16 products).
    /// </summary>
    private void RunAdvSimd(ReadOnlySpan<sbyte> a, Span<sbyte> y)
    {
        var zero = Vector128.Create(_outputZeroPoint);
        var min = Vector64.Create((sbyte)_min);
        var max = Vector64.Create((sbyte)_max);
        int r = 0;
        for (; _isa == Isa.AdvSimd && r + 1 < _rows; r += 2)
        {
            a.Slice(r * _k, _k).CopyTo(_row8);
            a.Slice((r + 1) * _k, _k).CopyTo(_row8.AsSpan(_paddedK));
            RowPair(y.Slice(r * _n, _n), y.Slice((r + 1) * _n, _n), zero, min, max);
        }
        for (; r < _rows; r++)
        {
            a.Slice(r * _k, _k).CopyTo(_row8);
            Row(y.Slice(r * _n, _n), zero, min, max);
        }
    }

    /// <summary>One row's outputs from the row at the start of <c>_row8</c>.</summary>
    private void Row(Span<sbyte> output, Vector128<int> zero, Vector64<sbyte> min, Vector64<sbyte> max)
    {
        int j0 = 0;
        for (; j0 + 2 * Block <= _n; j0 += 2 * Block) Store8(output, j0, DotAdvSimd(j0), DotAdvSimd(j0 + Block), zero, min, max);
        for (; j0 < _n; j0 += Block) StoreBlock(output, j0, DotAdvSimd(j0), zero, min, max);
    }

    /// <summary>AdvSimd: two rows' outputs from both halves of <c>_row8</c>.</summary>
    private void RowPair(Span<sbyte> output0, Span<sbyte> output1, Vector128<int> zero, Vector64<sbyte> min, Vector64<sbyte> max)
    {
        int j0 = 0;
        for (; j0 + 2 * Block <= _n; j0 += 2 * Block)
        {
            var (s0, t0) = DotPairsTwoRows(j0);
            var (s1, t1) = DotPairsTwoRows(j0 + Block);
            Store8(output0, j0, s0, s1, zero, min, max);
            Store8(output1, j0, t0, t1, zero, min, max);
        }
        for (; j0 < _n; j0 += Block)
        {
            var (s, t) = DotPairsTwoRows(j0);
            StoreBlock(output0, j0, s, zero, min, max);
            StoreBlock(output1, j0, t, zero, min, max);
        }
    }

    /// <summary>The 8 outputs from <paramref name="j0"/> (all inside the row), requantized from their sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Store8(Span<sbyte> output, int j0, Vector128<int> s0, Vector128<int> s1, Vector128<int> zero, Vector64<sbyte> min, Vector64<sbyte> max)
    {
        var r0 = RescaleAdvSimd(s0, j0) + zero;
        var r1 = RescaleAdvSimd(s1, j0 + Block) + zero;
        Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref MemoryMarshal.GetReference(output), j0)), Requantization.NarrowClamp(r0, r1, min, max).AsInt64().ToScalar());
    }

    /// <summary>The outputs of the block from <paramref name="j0"/> that lie inside the row, requantized from their sums.</summary>
    private void StoreBlock(Span<sbyte> output, int j0, Vector128<int> sums, Vector128<int> zero, Vector64<sbyte> min, Vector64<sbyte> max)
    {
        var rs = RescaleAdvSimd(sums, j0) + zero;
        int bytes = Requantization.NarrowClamp(rs, rs, min, max).AsInt32().ToScalar();
        for (int t = 0; t < Math.Min(Block, _n - j0); t++) output[j0 + t] = (sbyte)(bytes >> (8 * t));
    }

    /// <summary>Sums of the 4 outputs from <paramref name="j0"/> with this kernel's dot products.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector128<int> DotAdvSimd(int j0) =>
        _isa == Isa.AdvSimdDot ? DotSdot(j0) : _separatePairs ? DotPairs<SeparateProducts, OneRow>(j0).Item1 : DotPairs<FusedProducts, OneRow>(j0).Item1;

    /// <summary>AdvSimd: sums of the 4 outputs from <paramref name="j0"/> for both rows in <c>_row8</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private (Vector128<int>, Vector128<int>) DotPairsTwoRows(int j0) =>
        _separatePairs ? DotPairs<SeparateProducts, TwoRows>(j0) : DotPairs<FusedProducts, TwoRows>(j0);

    /// <summary>Bias plus <paramref name="sums"/> of the 4 outputs from <paramref name="j0"/>, rescaled lane by lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector128<int> RescaleAdvSimd(Vector128<int> sums, int j0)
    {
        nuint j = (nuint)j0;
        return Requantization.Rescale(sums + Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_paddedBias), j),
            Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_paddedMultipliers), j), Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_leftShifts), j),
            Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_rightShifts), j), Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_masks), j));
    }

    /// <summary>[Σs0, Σs1, Σs2, Σs3] by two rounds of pairwise adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Sum4(Vector128<int> s0, Vector128<int> s1, Vector128<int> s2, Vector128<int> s3) =>
        AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(s0, s1), AdvSimd.Arm64.AddPairwise(s2, s3));

    /// <summary>src − zeroPoint as int16; <paramref name="dst"/> past the row is left as it is.</summary>
    internal static void Widen(ReadOnlySpan<sbyte> src, Span<short> dst, int zeroPoint)
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

    /// <summary>
    /// <see cref="FixedPoint.Requantize"/> of outputs j0..j0+7 with per-lane multipliers and shifts.
    /// </summary>
    private void RequantizeAvx2(Vector256<int> sums, int j0, Span<sbyte> output)
    {
        var rounded = Requantization.MultiplyByQuantizedMultiplier(sums + Vector256.LoadUnsafe(ref _paddedBias[j0]), Vector256.LoadUnsafe(ref _paddedMultipliers[j0]),
            Vector256.LoadUnsafe(ref _leftShifts[j0]), Vector256.LoadUnsafe(ref _rightShifts[j0]), Vector256.LoadUnsafe(ref _masks[j0]));
        var r = Requantization.ToOutputRange(rounded, Vector256.Create(_outputZeroPoint), Vector256.Create(_min), Vector256.Create(_max));
        // Clamped to int8, so the truncating narrows are exact.
        var s = Vector128.Narrow(r.GetLower(), r.GetUpper());
        long bytes = Vector128.Narrow(s, s).AsInt64().ToScalar();
        int count = Math.Min(8, _n - j0);
        if (count == 8) Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref output[j0]), bytes);
        else
            for (int t = 0; t < count; t++) output[j0 + t] = (sbyte)(bytes >> (8 * t));
    }

    /// <summary>Sums of 8 outputs from <paramref name="j0"/>: int8 weights widened as loaded, one horizontal-add tree at the end.</summary>
    private Vector256<int> DotAvx2(int j0)
    {
        ref short x = ref MemoryMarshal.GetArrayDataReference(_row16);
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_weights8), j0 * _paddedK);
        nuint k = (nuint)_paddedK;
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (nuint i = 0; i < k; i += 16)
        {
            var xv = Vector256.LoadUnsafe(ref x, i);
            s0 += Avx2.MultiplyAddAdjacent(xv, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w, i)));
            s1 += Avx2.MultiplyAddAdjacent(xv, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w, k + i)));
            s2 += Avx2.MultiplyAddAdjacent(xv, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w, 2 * k + i)));
            s3 += Avx2.MultiplyAddAdjacent(xv, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w, 3 * k + i)));
            s4 += Avx2.MultiplyAddAdjacent(xv, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w, 4 * k + i)));
            s5 += Avx2.MultiplyAddAdjacent(xv, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w, 5 * k + i)));
            s6 += Avx2.MultiplyAddAdjacent(xv, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w, 6 * k + i)));
            s7 += Avx2.MultiplyAddAdjacent(xv, Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w, 7 * k + i)));
        }
        return Sum8(s0, s1, s2, s3, s4, s5, s6, s7);
    }

    /// <summary>
    /// AVX-VNNI: rows two at a time, each pair's weights streamed once; per tile of up to 64 outputs, 32 outputs of both
    /// rows (8 accumulators) per pass, what is left of the tile 8 outputs at a time. A last single row takes whole tiles.
    /// </summary>
    private void RunVnni(ReadOnlySpan<sbyte> a, Span<sbyte> y)
    {
        ref byte row0 = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetArrayDataReference(_row8));
        ref byte row1 = ref Unsafe.Add(ref row0, _paddedK);
        for (int r = 0; r < _rows; r += 2)
        {
            bool pair = r + 1 < _rows;
            Int8Im2col.FlipSign(a.Slice(r * _k, _k), _row8);
            if (pair) Int8Im2col.FlipSign(a.Slice((r + 1) * _k, _k), _row8.AsSpan(_paddedK));
            var output0 = y.Slice(r * _n, _n);
            var output1 = pair ? y.Slice((r + 1) * _n, _n) : default;
            for (int j0 = 0; j0 < _n; j0 += VnniTile)
            {
                int tileWidth = Math.Min(VnniTile, (_n + 7) / 8 * 8 - j0);
                nuint stride = (nuint)tileWidth * 4;
                ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_weights8), j0 * _paddedK);
                int b = 0;
                if (!pair && tileWidth == VnniTile)
                {
                    var (s0, s1, s2, s3, s4, s5, s6, s7) = Tile64Vnni(ref row0, ref w);
                    Requantize32(s0, s1, s2, s3, j0, output0);
                    Requantize32(s4, s5, s6, s7, j0 + 32, output0);
                    continue;
                }
                for (; pair && b + 32 <= tileWidth; b += 32)
                {
                    var (s0, s1, s2, s3, t0, t1, t2, t3) = Pair32Vnni(ref row0, ref row1, ref Unsafe.Add(ref w, b * 4), stride);
                    Requantize32(s0, s1, s2, s3, j0 + b, output0);
                    Requantize32(t0, t1, t2, t3, j0 + b, output1);
                }
                // What is left of a narrower tile: block by block, each block's 32 bytes per quadruplet `stride` apart.
                for (; b < tileWidth; b += 8)
                {
                    RequantizeAvx2(Block8Vnni(ref row0, ref Unsafe.Add(ref w, b * 4), stride), j0 + b, output0);
                    if (pair) RequantizeAvx2(Block8Vnni(ref row1, ref Unsafe.Add(ref w, b * 4), stride), j0 + b, output1);
                }
            }
        }
    }

    /// <summary><see cref="RequantizeAvx2"/> of 32 consecutive outputs from <paramref name="j0"/>, 8 per accumulator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Requantize32(Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3, int j0, Span<sbyte> output)
    {
        RequantizeAvx2(s0, j0, output);
        RequantizeAvx2(s1, j0 + 8, output);
        RequantizeAvx2(s2, j0 + 16, output);
        RequantizeAvx2(s3, j0 + 24, output);
    }

    /// <summary>Sums of the 64 outputs of a full tile for one row: per quadruplet, 4 row bytes broadcast against 8 × 32 weight bytes.</summary>
    private (Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>) Tile64Vnni(ref byte x, ref sbyte w)
    {
        nuint k = (nuint)_paddedK;
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (nuint i = 0, o = 0; i < k; i += 4, o += 256)
        {
            var xv = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x, i))).AsByte();
            s0 = AvxVnni.MultiplyWideningAndAdd(s0, xv, Vector256.LoadUnsafe(ref w, o));
            s1 = AvxVnni.MultiplyWideningAndAdd(s1, xv, Vector256.LoadUnsafe(ref w, o + 32));
            s2 = AvxVnni.MultiplyWideningAndAdd(s2, xv, Vector256.LoadUnsafe(ref w, o + 64));
            s3 = AvxVnni.MultiplyWideningAndAdd(s3, xv, Vector256.LoadUnsafe(ref w, o + 96));
            s4 = AvxVnni.MultiplyWideningAndAdd(s4, xv, Vector256.LoadUnsafe(ref w, o + 128));
            s5 = AvxVnni.MultiplyWideningAndAdd(s5, xv, Vector256.LoadUnsafe(ref w, o + 160));
            s6 = AvxVnni.MultiplyWideningAndAdd(s6, xv, Vector256.LoadUnsafe(ref w, o + 192));
            s7 = AvxVnni.MultiplyWideningAndAdd(s7, xv, Vector256.LoadUnsafe(ref w, o + 224));
        }
        return (s0, s1, s2, s3, s4, s5, s6, s7);
    }

    /// <summary>Sums of 32 outputs (4 blocks, quadruplets <paramref name="stride"/> bytes apart) for two rows: each weight load feeds both.</summary>
    private (Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>) Pair32Vnni(
        ref byte x0, ref byte x1, ref sbyte w, nuint stride)
    {
        nuint k = (nuint)_paddedK;
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, t0 = default, t1 = default, t2 = default, t3 = default;
        for (nuint i = 0, o = 0; i < k; i += 4, o += stride)
        {
            var xv = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x0, i))).AsByte();
            var xu = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x1, i))).AsByte();
            var w0 = Vector256.LoadUnsafe(ref w, o);
            var w1 = Vector256.LoadUnsafe(ref w, o + 32);
            var w2 = Vector256.LoadUnsafe(ref w, o + 64);
            var w3 = Vector256.LoadUnsafe(ref w, o + 96);
            s0 = AvxVnni.MultiplyWideningAndAdd(s0, xv, w0); t0 = AvxVnni.MultiplyWideningAndAdd(t0, xu, w0);
            s1 = AvxVnni.MultiplyWideningAndAdd(s1, xv, w1); t1 = AvxVnni.MultiplyWideningAndAdd(t1, xu, w1);
            s2 = AvxVnni.MultiplyWideningAndAdd(s2, xv, w2); t2 = AvxVnni.MultiplyWideningAndAdd(t2, xu, w2);
            s3 = AvxVnni.MultiplyWideningAndAdd(s3, xv, w3); t3 = AvxVnni.MultiplyWideningAndAdd(t3, xu, w3);
        }
        return (s0, s1, s2, s3, t0, t1, t2, t3);
    }

    /// <summary>Sums of 8 outputs whose quadruplet weights lie <paramref name="stride"/> bytes apart; two chains (even and odd quadruplets) halve the wait on each vpdpbusd.</summary>
    private Vector256<int> Block8Vnni(ref byte x, ref sbyte w, nuint stride)
    {
        nuint k = (nuint)_paddedK;
        Vector256<int> even = default, odd = default;
        nuint i = 0, o = 0;
        for (; i + 8 <= k; i += 8, o += 2 * stride)
        {
            even = AvxVnni.MultiplyWideningAndAdd(even, Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x, i))).AsByte(), Vector256.LoadUnsafe(ref w, o));
            odd = AvxVnni.MultiplyWideningAndAdd(odd, Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x, i + 4))).AsByte(), Vector256.LoadUnsafe(ref w, o + stride));
        }
        if (i < k) even = AvxVnni.MultiplyWideningAndAdd(even, Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x, i))).AsByte(), Vector256.LoadUnsafe(ref w, o));
        return even + odd;
    }

    /// <summary>The lane sums of eight accumulators as one vector [Σs0 … Σs7].</summary>
    private static Vector256<int> Sum8(Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3,
        Vector256<int> s4, Vector256<int> s5, Vector256<int> s6, Vector256<int> s7)
    {
        // Per 128-bit half, pairwise sums down to [s0 s1 s2 s3] and [s4 s5 s6 s7]; then the two halves added.
        var h0123 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(s0, s1), Avx2.HorizontalAdd(s2, s3));
        var h4567 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(s4, s5), Avx2.HorizontalAdd(s6, s7));
        return Avx2.Permute2x128(h0123, h4567, 0x20) + Avx2.Permute2x128(h0123, h4567, 0x31);
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

    /// <summary>How 16 columns of a row and of a weight row reach an int32 accumulator (4 lanes of 4 products).</summary>
    private interface IProducts
    {
        static abstract Vector128<int> Add(Vector128<int> acc, Vector64<sbyte> xLo, Vector64<sbyte> xHi, Vector64<sbyte> wLo, Vector64<sbyte> wHi);
    }

    /// <summary>smull + smlal + sadalp: two products per int16 lane, at most 2·128·127 with weights in [−127, 127].</summary>
    private readonly struct FusedProducts : IProducts
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Add(Vector128<int> acc, Vector64<sbyte> xLo, Vector64<sbyte> xHi, Vector64<sbyte> wLo, Vector64<sbyte> wHi) =>
            AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningLowerAndAdd(AdvSimd.MultiplyWideningLower(xLo, wLo), xHi, wHi));
    }

    /// <summary>Each smull widened on its own: exact for every int8, −128·−128 included.</summary>
    private readonly struct SeparateProducts : IProducts
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Add(Vector128<int> acc, Vector64<sbyte> xLo, Vector64<sbyte> xHi, Vector64<sbyte> wLo, Vector64<sbyte> wHi) =>
            AdvSimd.AddPairwiseWideningAndAdd(AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningLower(xLo, wLo)), AdvSimd.MultiplyWideningLower(xHi, wHi));
    }

    /// <summary>How many rows of <c>_row8</c> one pass of <see cref="DotPairs{TProducts, TRows}"/> multiplies.</summary>
    private interface IRows
    {
        static abstract bool Two { get; }
    }

    private readonly struct OneRow : IRows
    {
        public static bool Two => false;
    }

    /// <summary>Both halves of <c>_row8</c>: each weight load feeds two rows.</summary>
    private readonly struct TwoRows : IRows
    {
        public static bool Two => true;
    }

    /// <summary>
    /// AdvSimd without SDOT: sums of 4 outputs for one or two rows, 16 columns per step, each row load pair feeding
    /// 4 weight rows (the second row's sums are zero for <see cref="OneRow"/>).
    /// </summary>
    private unsafe (Vector128<int>, Vector128<int>) DotPairs<TProducts, TRows>(int j0) where TProducts : struct, IProducts where TRows : struct, IRows
    {
        nint k = _paddedK;
        Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default, t0 = default, t1 = default, t2 = default, t3 = default;
        fixed (sbyte* row = _row8)
        fixed (sbyte* weights = _weights8)
        {
            sbyte* x = row, end = row + k;
            sbyte* w = weights + j0 * k;
            for (; x < end; x += 16, w += 16)
            {
                var (xl, xh) = AdvSimd.Arm64.LoadPairVector64(x);
                var (l0, h0) = AdvSimd.Arm64.LoadPairVector64(w);
                var (l1, h1) = AdvSimd.Arm64.LoadPairVector64(w + k);
                var (l2, h2) = AdvSimd.Arm64.LoadPairVector64(w + 2 * k);
                var (l3, h3) = AdvSimd.Arm64.LoadPairVector64(w + 3 * k);
                s0 = TProducts.Add(s0, xl, xh, l0, h0);
                s1 = TProducts.Add(s1, xl, xh, l1, h1);
                s2 = TProducts.Add(s2, xl, xh, l2, h2);
                s3 = TProducts.Add(s3, xl, xh, l3, h3);
                if (TRows.Two)
                {
                    var (ul, uh) = AdvSimd.Arm64.LoadPairVector64(x + k);
                    t0 = TProducts.Add(t0, ul, uh, l0, h0);
                    t1 = TProducts.Add(t1, ul, uh, l1, h1);
                    t2 = TProducts.Add(t2, ul, uh, l2, h2);
                    t3 = TProducts.Add(t3, ul, uh, l3, h3);
                }
            }
        }
        return (Sum4(s0, s1, s2, s3), TRows.Two ? Sum4(t0, t1, t2, t3) : default);
    }

    private Vector128<int> DotSdot(int j0)
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
        return Sum4(s0, s1, s2, s3);
    }
}
