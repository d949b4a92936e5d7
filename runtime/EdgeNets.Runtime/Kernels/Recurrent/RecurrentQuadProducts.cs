using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// The int8 row products of <see cref="RecurrentVectorKernel"/> on ARMv8.0 NEON (no SDOT) with 4 rows per int32
/// vector, for weights without -128. Per 4 rows and 4 columns (a quad) one 16-byte vector holds the weights: bytes
/// 0-7 the 4 rows' weights of columns 0 and 1 (row by row), bytes 8-15 those of columns 2 and 3; the inputs' quad is
/// expanded by TBL to x0 x1 repeated 4 times, then x2 x3 repeated 4 times. SMULL2 + SMLAL put two products in each
/// int16 lane (|w·x| ≤ 127·128, so two fit) and SADALP adds each row's lane pair into its int32 lane: 16 products per
/// three instructions, and the sums come out row by row, so no reduction of partial sums is left at the end. Passes of
/// 64 rows (the rest 8 rows at a time) keep their accumulators in registers while the input moves along in chunks of 16 columns.
/// </summary>
internal static class RecurrentQuadProducts
{
    /// <summary>Bytes of one quad's weights for 4 rows.</summary>
    private const int QuadBytes = 16;

    /// <summary>TBL indices of the 4 quads of a 16-byte input chunk (quad q: x[4q], x[4q+1] four times, then x[4q+2], x[4q+3]).</summary>
    private static ReadOnlySpan<byte> Expand =>
    [
        0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3,
        4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7,
        8, 9, 8, 9, 8, 9, 8, 9, 10, 11, 10, 11, 10, 11, 10, 11,
        12, 13, 12, 13, 12, 13, 12, 13, 14, 15, 14, 15, 14, 15, 14, 15,
    ];

    /// <summary>
    /// int8 [directions * rows, columns] to [direction][chunk of 16 columns][quad][group of 4 padded rows][16 bytes]
    /// (zero past the last column and in padding rows), and per padded row its starting sum -zeroPoint · Σ_k w[row, k].
    /// <paramref name="paddedRow"/> maps a row of one direction to its padded row.
    /// </summary>
    public static (sbyte[] Packed, int[] Start) Pack(ReadOnlySpan<sbyte> weights, int directions, int rows, int paddedRows, int[] paddedRow,
        int columns, int chunks, int zeroPoint)
    {
        int groups = paddedRows / 4;
        var packed = new sbyte[directions * chunks * 4 * groups * QuadBytes];
        var start = new int[directions * paddedRows];
        for (int d = 0; d < directions; d++)
            for (int row = 0; row < rows; row++)
            {
                int padded = paddedRow[row], group = padded / 4, lane = padded % 4, sum = 0;
                for (int k = 0; k < columns; k++)
                {
                    sbyte w = weights[(d * rows + row) * columns + k];
                    int chunk = k / 16, quad = k % 16 / 4, i = k % 4;
                    int at = (((d * chunks + chunk) * 4 + quad) * groups + group) * QuadBytes + i / 2 * 8 + lane * 2 + i % 2;
                    packed[at] = w;
                    sum += w;
                }
                start[d * paddedRows + padded] = -(zeroPoint * sum);
            }
        return (packed, start);
    }

    /// <summary>
    /// y[row] = (float)(start[row] + Σ_k x[k]·w[row, k]) · scale[row] + bias[row] for <paramref name="groups"/> groups of
    /// 4 padded rows (an even number) from <paramref name="w"/> (the first group's quad 0 of chunk 0 in <see cref="Pack"/>'s
    /// layout, <paramref name="groupsPerQuad"/> groups per quad), x holding 16·chunks int8 values, scaleBias per 4 rows
    /// their 4 scales then their 4 biases. Requires AdvSimd.Arm64.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(ref sbyte w, int groupsPerQuad, int groups, int chunks, ref sbyte x, ref int start, ref float scaleBias, ref float y)
    {
        nuint quad = (nuint)(groupsPerQuad * QuadBytes), chunkStride = 4 * quad;
        ref sbyte xEnd = ref Unsafe.Add(ref x, (nuint)(16 * chunks));
        int g = 0;
        for (; g + 16 <= groups; g += 16)
            Pass16(ref Unsafe.Add(ref w, (nuint)g * QuadBytes), quad, chunkStride, ref x, ref xEnd,
                ref Unsafe.Add(ref start, 4 * g), ref Unsafe.Add(ref scaleBias, 8 * g), ref Unsafe.Add(ref y, 4 * g));
        for (; g < groups; g += 2)
            Pass2(ref Unsafe.Add(ref w, (nuint)g * QuadBytes), quad, chunkStride, ref x, ref xEnd,
                ref Unsafe.Add(ref start, 4 * g), ref Unsafe.Add(ref scaleBias, 8 * g), ref Unsafe.Add(ref y, 4 * g));
    }

    /// <summary>16 products of 4 rows and one quad into the rows' int32 lanes: SMULL2 + SMLAL + SADALP.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Mac(Vector128<int> sums, Vector128<sbyte> w, Vector128<sbyte> x) =>
        AdvSimd.AddPairwiseWideningAndAdd(sums, AdvSimd.MultiplyWideningLowerAndAdd(AdvSimd.MultiplyWideningUpper(w, x), w.GetLower(), x.GetLower()));

    /// <summary>
    /// (float)sums · scale + bias of 4 rows into y at <paramref name="at"/>, their scales and biases at 2·at in
    /// <paramref name="scaleBias"/> (constant element offsets: load pairs and stores with immediate offsets).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<int> sums, ref float scaleBias, ref float y, nuint at) =>
        (Vector128.ConvertToSingle(sums) * Vector128.LoadUnsafe(ref scaleBias, 2 * at) + Vector128.LoadUnsafe(ref scaleBias, 2 * at + 4)).StoreUnsafe(ref y, at);

    /// <summary>One quad of 16 groups (64 rows) at <paramref name="p"/>: two weight vectors per load pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quad16(ref sbyte p, Vector128<sbyte> xq, ref Vector128<int> a0, ref Vector128<int> a1, ref Vector128<int> a2, ref Vector128<int> a3,
        ref Vector128<int> a4, ref Vector128<int> a5, ref Vector128<int> a6, ref Vector128<int> a7, ref Vector128<int> a8, ref Vector128<int> a9,
        ref Vector128<int> a10, ref Vector128<int> a11, ref Vector128<int> a12, ref Vector128<int> a13, ref Vector128<int> a14, ref Vector128<int> a15)
    {
        var w0 = Vector128.LoadUnsafe(ref p);
        var w1 = Vector128.LoadUnsafe(ref p, 16);
        a0 = Mac(a0, w0, xq);
        a1 = Mac(a1, w1, xq);
        w0 = Vector128.LoadUnsafe(ref p, 32);
        w1 = Vector128.LoadUnsafe(ref p, 48);
        a2 = Mac(a2, w0, xq);
        a3 = Mac(a3, w1, xq);
        w0 = Vector128.LoadUnsafe(ref p, 64);
        w1 = Vector128.LoadUnsafe(ref p, 80);
        a4 = Mac(a4, w0, xq);
        a5 = Mac(a5, w1, xq);
        w0 = Vector128.LoadUnsafe(ref p, 96);
        w1 = Vector128.LoadUnsafe(ref p, 112);
        a6 = Mac(a6, w0, xq);
        a7 = Mac(a7, w1, xq);
        w0 = Vector128.LoadUnsafe(ref p, 128);
        w1 = Vector128.LoadUnsafe(ref p, 144);
        a8 = Mac(a8, w0, xq);
        a9 = Mac(a9, w1, xq);
        w0 = Vector128.LoadUnsafe(ref p, 160);
        w1 = Vector128.LoadUnsafe(ref p, 176);
        a10 = Mac(a10, w0, xq);
        a11 = Mac(a11, w1, xq);
        w0 = Vector128.LoadUnsafe(ref p, 192);
        w1 = Vector128.LoadUnsafe(ref p, 208);
        a12 = Mac(a12, w0, xq);
        a13 = Mac(a13, w1, xq);
        w0 = Vector128.LoadUnsafe(ref p, 224);
        w1 = Vector128.LoadUnsafe(ref p, 240);
        a14 = Mac(a14, w0, xq);
        a15 = Mac(a15, w1, xq);
    }

    /// <summary>64 rows: 16 accumulators started from the rows' starting sums, all chunks, then scaled into y.</summary>
    private static void Pass16(ref sbyte p, nuint quad, nuint chunkStride, ref sbyte x, ref sbyte xEnd, ref int start, ref float scaleBias, ref float y)
    {
        ref byte expand = ref MemoryMarshal.GetReference(Expand);
        var e0 = Vector128.LoadUnsafe(ref expand);
        var e1 = Vector128.LoadUnsafe(ref expand, 16);
        var e2 = Vector128.LoadUnsafe(ref expand, 32);
        var e3 = Vector128.LoadUnsafe(ref expand, 48);
        Vector128<int> a0 = Vector128.LoadUnsafe(ref start), a1 = Vector128.LoadUnsafe(ref start, 4), a2 = Vector128.LoadUnsafe(ref start, 8),
            a3 = Vector128.LoadUnsafe(ref start, 12), a4 = Vector128.LoadUnsafe(ref start, 16), a5 = Vector128.LoadUnsafe(ref start, 20),
            a6 = Vector128.LoadUnsafe(ref start, 24), a7 = Vector128.LoadUnsafe(ref start, 28), a8 = Vector128.LoadUnsafe(ref start, 32),
            a9 = Vector128.LoadUnsafe(ref start, 36), a10 = Vector128.LoadUnsafe(ref start, 40), a11 = Vector128.LoadUnsafe(ref start, 44),
            a12 = Vector128.LoadUnsafe(ref start, 48), a13 = Vector128.LoadUnsafe(ref start, 52), a14 = Vector128.LoadUnsafe(ref start, 56),
            a15 = Vector128.LoadUnsafe(ref start, 60);
        ref sbyte xp = ref x;
        do
        {
            var chunk = Vector128.LoadUnsafe(ref xp).AsByte();
            Quad16(ref p, AdvSimd.Arm64.VectorTableLookup(chunk, e0).AsSByte(), ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7,
                ref a8, ref a9, ref a10, ref a11, ref a12, ref a13, ref a14, ref a15);
            Quad16(ref Unsafe.Add(ref p, quad), AdvSimd.Arm64.VectorTableLookup(chunk, e1).AsSByte(), ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7,
                ref a8, ref a9, ref a10, ref a11, ref a12, ref a13, ref a14, ref a15);
            Quad16(ref Unsafe.Add(ref p, 2 * quad), AdvSimd.Arm64.VectorTableLookup(chunk, e2).AsSByte(), ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7,
                ref a8, ref a9, ref a10, ref a11, ref a12, ref a13, ref a14, ref a15);
            Quad16(ref Unsafe.Add(ref p, 3 * quad), AdvSimd.Arm64.VectorTableLookup(chunk, e3).AsSByte(), ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7,
                ref a8, ref a9, ref a10, ref a11, ref a12, ref a13, ref a14, ref a15);
            p = ref Unsafe.Add(ref p, chunkStride);
            xp = ref Unsafe.Add(ref xp, 16);
        }
        while (Unsafe.IsAddressLessThan(ref xp, ref xEnd));
        Store(a0, ref scaleBias, ref y, 0);
        Store(a1, ref scaleBias, ref y, 4);
        Store(a2, ref scaleBias, ref y, 8);
        Store(a3, ref scaleBias, ref y, 12);
        Store(a4, ref scaleBias, ref y, 16);
        Store(a5, ref scaleBias, ref y, 20);
        Store(a6, ref scaleBias, ref y, 24);
        Store(a7, ref scaleBias, ref y, 28);
        Store(a8, ref scaleBias, ref y, 32);
        Store(a9, ref scaleBias, ref y, 36);
        Store(a10, ref scaleBias, ref y, 40);
        Store(a11, ref scaleBias, ref y, 44);
        Store(a12, ref scaleBias, ref y, 48);
        Store(a13, ref scaleBias, ref y, 52);
        Store(a14, ref scaleBias, ref y, 56);
        Store(a15, ref scaleBias, ref y, 60);
    }

    /// <summary>8 rows: <see cref="Pass16"/> with 2 accumulators.</summary>
    private static void Pass2(ref sbyte p, nuint quad, nuint chunkStride, ref sbyte x, ref sbyte xEnd, ref int start, ref float scaleBias, ref float y)
    {
        ref byte expand = ref MemoryMarshal.GetReference(Expand);
        var e0 = Vector128.LoadUnsafe(ref expand);
        var e1 = Vector128.LoadUnsafe(ref expand, 16);
        var e2 = Vector128.LoadUnsafe(ref expand, 32);
        var e3 = Vector128.LoadUnsafe(ref expand, 48);
        Vector128<int> a0 = Vector128.LoadUnsafe(ref start), a1 = Vector128.LoadUnsafe(ref start, 4);
        ref sbyte xp = ref x;
        do
        {
            var chunk = Vector128.LoadUnsafe(ref xp).AsByte();
            var x0 = AdvSimd.Arm64.VectorTableLookup(chunk, e0).AsSByte();
            var x1 = AdvSimd.Arm64.VectorTableLookup(chunk, e1).AsSByte();
            var x2 = AdvSimd.Arm64.VectorTableLookup(chunk, e2).AsSByte();
            var x3 = AdvSimd.Arm64.VectorTableLookup(chunk, e3).AsSByte();
            a0 = Mac(a0, Vector128.LoadUnsafe(ref p), x0);
            a1 = Mac(a1, Vector128.LoadUnsafe(ref p, 16), x0);
            a0 = Mac(a0, Vector128.LoadUnsafe(ref p, quad), x1);
            a1 = Mac(a1, Vector128.LoadUnsafe(ref p, quad + 16), x1);
            a0 = Mac(a0, Vector128.LoadUnsafe(ref p, 2 * quad), x2);
            a1 = Mac(a1, Vector128.LoadUnsafe(ref p, 2 * quad + 16), x2);
            a0 = Mac(a0, Vector128.LoadUnsafe(ref p, 3 * quad), x3);
            a1 = Mac(a1, Vector128.LoadUnsafe(ref p, 3 * quad + 16), x3);
            p = ref Unsafe.Add(ref p, chunkStride);
            xp = ref Unsafe.Add(ref xp, 16);
        }
        while (Unsafe.IsAddressLessThan(ref xp, ref xEnd));
        Store(a0, ref scaleBias, ref y, 0);
        Store(a1, ref scaleBias, ref y, 4);
    }
}
