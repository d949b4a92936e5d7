using System.Runtime.CompilerServices;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// The shape of a register tile: row blocks (one vector of rows each) by columns. A value-type generic argument, so
/// the compilers specialize <see cref="Int16PairTile.Run{TL, TVec, TTile}"/> per shape and drop the unused accumulators.
/// </summary>
internal interface ITileShape
{
    /// <summary>Row blocks, 1 to 6.</summary>
    static abstract int Blocks { get; }
    /// <summary>Columns, 1 to 3.</summary>
    static abstract int Columns { get; }
}

internal readonly struct Tile1x1 : ITileShape { public static int Blocks => 1; public static int Columns => 1; }
internal readonly struct Tile3x1 : ITileShape { public static int Blocks => 3; public static int Columns => 1; }
internal readonly struct Tile4x1 : ITileShape { public static int Blocks => 4; public static int Columns => 1; }
internal readonly struct Tile6x1 : ITileShape { public static int Blocks => 6; public static int Columns => 1; }
internal readonly struct Tile4x2 : ITileShape { public static int Blocks => 4; public static int Columns => 2; }
internal readonly struct Tile6x2 : ITileShape { public static int Blocks => 6; public static int Columns => 2; }
/// <summary>Nine accumulators of 512 bits, each weight load serving three columns.</summary>
internal readonly struct Tile3x3 : ITileShape { public static int Blocks => 3; public static int Columns => 3; }

/// <summary>
/// A register tile of int16-pair products with a float epilogue: for each of <c>TTile.Blocks</c> row blocks and
/// <c>TTile.Columns</c> columns, y = (float)(Σ_p x[p]·w[p]) · scale + bias per row. Weights are packed per block as
/// [pair][row][2] (a block every <c>stride</c> int16 values), each column's pairs follow the previous column's
/// (<c>pairs</c> int32 apart) and its outputs the previous column's (<c>rows</c> floats apart). Each weight load
/// serves every column and each broadcast pair every block, so the products need no horizontal sums.
/// </summary>
internal static class Int16PairTile
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TL, TVec, TTile>(ref short w, nuint stride, ref int x, nuint pairs, ref float scales, ref float biases, ref float y, nuint rows)
        where TL : struct, IPairLanes<TVec> where TVec : struct where TTile : struct, ITileShape
    {
        int blocks = TTile.Blocks, columns = TTile.Columns;
        nuint lanes = (nuint)TL.Count;
        // One pointer per block so that each load is a plain base + offset operand of the multiply-add.
        ref short w0 = ref w;
        ref short w1 = ref blocks > 1 ? ref Unsafe.Add(ref w0, stride) : ref w0;
        ref short w2 = ref blocks > 2 ? ref Unsafe.Add(ref w1, stride) : ref w0;
        ref short w3 = ref blocks > 3 ? ref Unsafe.Add(ref w2, stride) : ref w0;
        ref short w4 = ref blocks > 4 ? ref Unsafe.Add(ref w3, stride) : ref w0;
        ref short w5 = ref blocks > 5 ? ref Unsafe.Add(ref w4, stride) : ref w0;
        ref int x0 = ref x;
        ref int x1 = ref columns > 1 ? ref Unsafe.Add(ref x0, pairs) : ref x0;
        ref int x2 = ref columns > 2 ? ref Unsafe.Add(ref x1, pairs) : ref x0;
        TVec a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        TVec b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
        TVec e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default;
        for (nuint p = 0, o = 0; p < pairs; p++, o += 2 * lanes)
        {
            var xa = TL.Broadcast(Unsafe.Add(ref x0, p));
            var xb = columns > 1 ? TL.Broadcast(Unsafe.Add(ref x1, p)) : xa;
            var xe = columns > 2 ? TL.Broadcast(Unsafe.Add(ref x2, p)) : xa;
            var v = TL.LoadPairs(ref w0, o);
            a0 = TL.MultiplyAddPairs(a0, xa, v);
            if (columns > 1) b0 = TL.MultiplyAddPairs(b0, xb, v);
            if (columns > 2) e0 = TL.MultiplyAddPairs(e0, xe, v);
            if (blocks > 1)
            {
                v = TL.LoadPairs(ref w1, o);
                a1 = TL.MultiplyAddPairs(a1, xa, v);
                if (columns > 1) b1 = TL.MultiplyAddPairs(b1, xb, v);
                if (columns > 2) e1 = TL.MultiplyAddPairs(e1, xe, v);
            }
            if (blocks > 2)
            {
                v = TL.LoadPairs(ref w2, o);
                a2 = TL.MultiplyAddPairs(a2, xa, v);
                if (columns > 1) b2 = TL.MultiplyAddPairs(b2, xb, v);
                if (columns > 2) e2 = TL.MultiplyAddPairs(e2, xe, v);
            }
            if (blocks > 3)
            {
                v = TL.LoadPairs(ref w3, o);
                a3 = TL.MultiplyAddPairs(a3, xa, v);
                if (columns > 1) b3 = TL.MultiplyAddPairs(b3, xb, v);
                if (columns > 2) e3 = TL.MultiplyAddPairs(e3, xe, v);
            }
            if (blocks > 4)
            {
                v = TL.LoadPairs(ref w4, o);
                a4 = TL.MultiplyAddPairs(a4, xa, v);
                if (columns > 1) b4 = TL.MultiplyAddPairs(b4, xb, v);
                if (columns > 2) e4 = TL.MultiplyAddPairs(e4, xe, v);
            }
            if (blocks > 5)
            {
                v = TL.LoadPairs(ref w5, o);
                a5 = TL.MultiplyAddPairs(a5, xa, v);
                if (columns > 1) b5 = TL.MultiplyAddPairs(b5, xb, v);
                if (columns > 2) e5 = TL.MultiplyAddPairs(e5, xe, v);
            }
        }
        StoreColumn<TL, TVec, TTile>(a0, a1, a2, a3, a4, a5, ref scales, ref biases, ref y);
        if (columns > 1) StoreColumn<TL, TVec, TTile>(b0, b1, b2, b3, b4, b5, ref scales, ref biases, ref Unsafe.Add(ref y, rows));
        if (columns > 2) StoreColumn<TL, TVec, TTile>(e0, e1, e2, e3, e4, e5, ref scales, ref biases, ref Unsafe.Add(ref y, 2 * rows));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreColumn<TL, TVec, TTile>(TVec s0, TVec s1, TVec s2, TVec s3, TVec s4, TVec s5, ref float scales, ref float biases, ref float y)
        where TL : struct, IPairLanes<TVec> where TVec : struct where TTile : struct, ITileShape
    {
        nuint lanes = (nuint)TL.Count;
        TL.StoreScaled(s0, ref scales, ref biases, ref y, 0);
        if (TTile.Blocks > 1) TL.StoreScaled(s1, ref scales, ref biases, ref y, lanes);
        if (TTile.Blocks > 2) TL.StoreScaled(s2, ref scales, ref biases, ref y, 2 * lanes);
        if (TTile.Blocks > 3) TL.StoreScaled(s3, ref scales, ref biases, ref y, 3 * lanes);
        if (TTile.Blocks > 4) TL.StoreScaled(s4, ref scales, ref biases, ref y, 4 * lanes);
        if (TTile.Blocks > 5) TL.StoreScaled(s5, ref scales, ref biases, ref y, 5 * lanes);
    }
}
