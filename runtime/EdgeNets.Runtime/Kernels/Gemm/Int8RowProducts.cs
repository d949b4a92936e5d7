using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>How a vector of one row's column sums (8 or 16 int32 lanes) reaches the output: the epilogue of <see cref="Int16Pairs.Row"/>.</summary>
internal interface IPairStore<TVec> where TVec : struct
{
    /// <summary>The columns from <paramref name="j"/> (fewer at the end of the row).</summary>
    void Store(TVec sums, Span<sbyte> output, int j);
}

/// <summary>
/// One width of the int16-pair multiply-add (vpmaddwd): each int32 lane gets the two products of a broadcast pair of the
/// row with its column's pair. A value-type generic argument makes the JIT and AOT compilers specialize
/// <see cref="Int16Pairs.Row"/> per width, so every call below inlines.
/// </summary>
internal interface IPairLanes<TVec> where TVec : struct
{
    /// <summary>Columns (int32 lanes) per vector.</summary>
    static abstract int Count { get; }
    static abstract TVec Add(TVec a, TVec b);
    /// <summary><paramref name="sums"/> + the pair at <paramref name="row"/> times <see cref="Count"/> columns' pairs at <paramref name="columns"/> + <paramref name="offset"/>.</summary>
    static abstract TVec MultiplyAdd(TVec sums, ref short row, ref short columns, nuint offset);
    /// <summary><see cref="Count"/> columns' pairs from <paramref name="columns"/> + <paramref name="offset"/> (in int16 values).</summary>
    static abstract TVec LoadPairs(ref short columns, nuint offset);
    /// <summary>One pair (two int16 in an int32) in every lane.</summary>
    static abstract TVec Broadcast(int pair);
    /// <summary><paramref name="sums"/> + the lane-wise pair products of <paramref name="x"/> and <paramref name="w"/>.</summary>
    static abstract TVec MultiplyAddPairs(TVec sums, TVec x, TVec w);
    /// <summary>The lane-wise pair products of <paramref name="x"/> and <paramref name="w"/>.</summary>
    static abstract TVec MultiplyPairs(TVec x, TVec w);
    static abstract void Store(TVec sums, ref int destination, nuint offset);
    /// <summary>y[at..] = (float)sums · scales[at..] + biases[at..] per lane: an int32 sum to a float with its row's scale and bias.</summary>
    static abstract void StoreScaled(TVec sums, ref float scales, ref float biases, ref float y, nuint at);
}

/// <summary>Requires AVX2.</summary>
internal readonly struct Pairs256 : IPairLanes<Vector256<int>>
{
    public static int Count => 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> Add(Vector256<int> a, Vector256<int> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAdd(Vector256<int> sums, ref short row, ref short columns, nuint offset) =>
        sums + Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.As<short, int>(ref row)).AsInt16(), Vector256.LoadUnsafe(ref columns, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> LoadPairs(ref short columns, nuint offset) => Vector256.LoadUnsafe(ref columns, offset).AsInt32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> Broadcast(int pair) => Vector256.Create(pair);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> MultiplyAddPairs(Vector256<int> sums, Vector256<int> x, Vector256<int> w) => sums + Avx2.MultiplyAddAdjacent(x.AsInt16(), w.AsInt16());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> MultiplyPairs(Vector256<int> x, Vector256<int> w) => Avx2.MultiplyAddAdjacent(x.AsInt16(), w.AsInt16());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<int> sums, ref int destination, nuint offset) => sums.StoreUnsafe(ref destination, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreScaled(Vector256<int> sums, ref float scales, ref float biases, ref float y, nuint at) =>
        (Vector256.ConvertToSingle(sums) * Vector256.LoadUnsafe(ref scales, at) + Vector256.LoadUnsafe(ref biases, at)).StoreUnsafe(ref y, at);
}

/// <summary>Requires AVX-512BW.</summary>
internal readonly struct Pairs512 : IPairLanes<Vector512<int>>
{
    public static int Count => 16;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<int> Add(Vector512<int> a, Vector512<int> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAdd(Vector512<int> sums, ref short row, ref short columns, nuint offset) =>
        sums + Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.As<short, int>(ref row)).AsInt16(), Vector512.LoadUnsafe(ref columns, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<int> LoadPairs(ref short columns, nuint offset) => Vector512.LoadUnsafe(ref columns, offset).AsInt32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<int> Broadcast(int pair) => Vector512.Create(pair);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<int> MultiplyAddPairs(Vector512<int> sums, Vector512<int> x, Vector512<int> w) => sums + Avx512BW.MultiplyAddAdjacent(x.AsInt16(), w.AsInt16());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<int> MultiplyPairs(Vector512<int> x, Vector512<int> w) => Avx512BW.MultiplyAddAdjacent(x.AsInt16(), w.AsInt16());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<int> sums, ref int destination, nuint offset) => sums.StoreUnsafe(ref destination, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreScaled(Vector512<int> sums, ref float scales, ref float biases, ref float y, nuint at) =>
        (Vector512.ConvertToSingle(sums) * Vector512.LoadUnsafe(ref scales, at) + Vector512.LoadUnsafe(ref biases, at)).StoreUnsafe(ref y, at);
}

/// <summary>Requires SSE2.</summary>
internal readonly struct Pairs128 : IPairLanes<Vector128<int>>
{
    public static int Count => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Add(Vector128<int> a, Vector128<int> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAdd(Vector128<int> sums, ref short row, ref short columns, nuint offset) =>
        sums + Sse2.MultiplyAddAdjacent(Vector128.Create(Unsafe.As<short, int>(ref row)).AsInt16(), Vector128.LoadUnsafe(ref columns, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> LoadPairs(ref short columns, nuint offset) => Vector128.LoadUnsafe(ref columns, offset).AsInt32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Broadcast(int pair) => Vector128.Create(pair);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> MultiplyAddPairs(Vector128<int> sums, Vector128<int> x, Vector128<int> w) => sums + Sse2.MultiplyAddAdjacent(x.AsInt16(), w.AsInt16());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> MultiplyPairs(Vector128<int> x, Vector128<int> w) => Sse2.MultiplyAddAdjacent(x.AsInt16(), w.AsInt16());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<int> sums, ref int destination, nuint offset) => sums.StoreUnsafe(ref destination, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreScaled(Vector128<int> sums, ref float scales, ref float biases, ref float y, nuint at) =>
        (Vector128.ConvertToSingle(sums) * Vector128.LoadUnsafe(ref scales, at) + Vector128.LoadUnsafe(ref biases, at)).StoreUnsafe(ref y, at);
}

/// <summary>
/// One output row of an int8 product whose right operand is packed as int16 pairs [p/2][column][2] (<c>paddedN</c>
/// columns, whole vectors), the row widened to int16 (<c>paddedK</c> long): each pair of the row is broadcast against
/// whole vectors of columns, so there are no horizontal sums. Written once over the width (<see cref="IPairLanes{TVec}"/>).
/// Operands in [-255, 255] never saturate a pair.
/// </summary>
internal static class Int16Pairs
{
    public static void Row<TVec, TLanes, TStore>(short[] row, short[] packed, int paddedK, int paddedN, Span<sbyte> output, in TStore store)
        where TVec : struct where TLanes : struct, IPairLanes<TVec> where TStore : struct, IPairStore<TVec>
    {
        ref short x = ref MemoryMarshal.GetArrayDataReference(row);
        ref short w = ref MemoryMarshal.GetArrayDataReference(packed);
        int lanes = TLanes.Count;
        nuint pairStride = (nuint)paddedN * 2, step = (nuint)lanes * 2;
        int j0 = 0;
        // Four vectors of columns per pass while they last: four independent chains share each broadcast.
        for (; j0 + 4 * lanes <= paddedN; j0 += 4 * lanes)
        {
            TVec s0 = default, s1 = default, s2 = default, s3 = default;
            ref short col = ref Unsafe.Add(ref w, 2 * j0);
            for (nuint p = 0, o = 0; p < (nuint)paddedK; p += 2, o += pairStride)
            {
                ref short pair = ref Unsafe.Add(ref x, p);
                s0 = TLanes.MultiplyAdd(s0, ref pair, ref col, o);
                s1 = TLanes.MultiplyAdd(s1, ref pair, ref col, o + step);
                s2 = TLanes.MultiplyAdd(s2, ref pair, ref col, o + 2 * step);
                s3 = TLanes.MultiplyAdd(s3, ref pair, ref col, o + 3 * step);
            }
            store.Store(s0, output, j0);
            store.Store(s1, output, j0 + lanes);
            store.Store(s2, output, j0 + 2 * lanes);
            store.Store(s3, output, j0 + 3 * lanes);
        }
        for (; j0 < paddedN; j0 += lanes)
        {
            // Two chains, even and odd pairs, halve the wait on each multiply-add.
            TVec even = default, odd = default;
            ref short col = ref Unsafe.Add(ref w, 2 * j0);
            nuint p = 0, o = 0;
            for (; p + 4 <= (nuint)paddedK; p += 4, o += 2 * pairStride)
            {
                even = TLanes.MultiplyAdd(even, ref Unsafe.Add(ref x, p), ref col, o);
                odd = TLanes.MultiplyAdd(odd, ref Unsafe.Add(ref x, p + 2), ref col, o + pairStride);
            }
            if (p < (nuint)paddedK) even = TLanes.MultiplyAdd(even, ref Unsafe.Add(ref x, p), ref col, o);
            store.Store(TLanes.Add(even, odd), output, j0);
        }
    }
}

/// <summary>How 16 column sums of a row (s0: the first 4) reach the output: the epilogue of <see cref="Int8Quads.Row"/>.</summary>
internal interface IQuadStore
{
    void Store(Vector128<int> s0, Vector128<int> s1, Vector128<int> s2, Vector128<int> s3, Span<sbyte> output, int j0);
}

/// <summary>
/// One output row of an int8 product by SDOT: the right operand packed as raw int8 quadruplets of consecutive p per column
/// ([p/4][column][4], <c>paddedN</c> columns in whole groups of 16, <c>paddedK</c> a multiple of 16), each quadruplet of
/// the raw row broadcast against 16 columns. The zero points' terms are the epilogue's. Requires SDOT.
/// </summary>
internal static class Int8Quads
{
    /// <summary>The row itself when it is a whole number of 16-byte groups, else a copy zero-padded to them in <paramref name="buffer"/>.</summary>
    public static ref sbyte PaddedRow(ReadOnlySpan<sbyte> row, sbyte[] buffer)
    {
        if ((row.Length & 15) == 0) return ref MemoryMarshal.GetReference(row);
        row.CopyTo(buffer);
        return ref MemoryMarshal.GetArrayDataReference(buffer);
    }

    /// <summary>Σ of <paramref name="length"/> (a multiple of 16) bytes, by SDOT with ones.</summary>
    public static int Sum(ref sbyte x, int length)
    {
        var ones = Vector128.Create((sbyte)1);
        var sum = Vector128<int>.Zero;
        for (int p = 0; p < length; p += 16) sum = Dp.DotProduct(sum, Vector128.LoadUnsafe(ref x, (nuint)p), ones);
        return AdvSimd.Arm64.AddAcross(sum).ToScalar();
    }

    public static void Row<TStore>(ref sbyte x, sbyte[] packed, int paddedK, int paddedN, Span<sbyte> output, in TStore store) where TStore : struct, IQuadStore
    {
        ref sbyte w = ref MemoryMarshal.GetArrayDataReference(packed);
        nuint quadStride = (nuint)paddedN * 4;
        for (int j0 = 0; j0 < paddedN; j0 += 16)
        {
            Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default;
            ref sbyte col = ref Unsafe.Add(ref w, 4 * j0);
            for (nuint p = 0, o = 0; p < (nuint)paddedK; p += 16, o += 4 * quadStride)
            {
                var xv = Vector128.LoadUnsafe(ref x, p);
                QuadStep(ref s0, ref s1, ref s2, ref s3, ref Unsafe.Add(ref col, o), xv, 0);
                QuadStep(ref s0, ref s1, ref s2, ref s3, ref Unsafe.Add(ref col, o + quadStride), xv, 1);
                QuadStep(ref s0, ref s1, ref s2, ref s3, ref Unsafe.Add(ref col, o + 2 * quadStride), xv, 2);
                QuadStep(ref s0, ref s1, ref s2, ref s3, ref Unsafe.Add(ref col, o + 3 * quadStride), xv, 3);
            }
            store.Store(s0, s1, s2, s3, output, j0);
        }
    }

    /// <summary>sdot of 16 columns (4 per vector) by quadruplet <paramref name="quad"/> of <paramref name="x"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuadStep(ref Vector128<int> s0, ref Vector128<int> s1, ref Vector128<int> s2, ref Vector128<int> s3, ref sbyte col, Vector128<sbyte> x,
        [System.Diagnostics.CodeAnalysis.ConstantExpected(Max = (byte)3)] byte quad)
    {
        s0 = Dp.DotProductBySelectedQuadruplet(s0, Vector128.LoadUnsafe(ref col), x, quad);
        s1 = Dp.DotProductBySelectedQuadruplet(s1, Vector128.LoadUnsafe(ref col, 16), x, quad);
        s2 = Dp.DotProductBySelectedQuadruplet(s2, Vector128.LoadUnsafe(ref col, 32), x, quad);
        s3 = Dp.DotProductBySelectedQuadruplet(s3, Vector128.LoadUnsafe(ref col, 48), x, quad);
    }

    /// <summary>[p/4][j][p%4] = W[j, p] for a constant W [n, k] (rows are outputs); the padding stays 0.</summary>
    public static sbyte[] PackRowsAsQuads(ReadOnlySpan<sbyte> weights, int n, int k, int paddedN, int paddedK)
    {
        var packed = new sbyte[paddedK * paddedN];
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++) packed[(p & ~3) * paddedN + 4 * j + (p & 3)] = weights[j * k + p];
        return packed;
    }
}
