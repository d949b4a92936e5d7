using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>One int8 binary elementwise function: raw int8 operand values in, the final (clamped) int8 value out, on int32 lanes.</summary>
internal interface IBinaryInt8Operator
{
    int Invoke(int a, int b);
    Vector128<int> Invoke(Vector128<int> a, Vector128<int> b);
    Vector256<int> Invoke(Vector256<int> a, Vector256<int> b);
    /// <summary>Only called by <see cref="Isa.Avx512"/> and <see cref="Isa.Avx512Vbmi"/> variants, which require AVX-512F.</summary>
    Vector512<int> Invoke(Vector512<int> a, Vector512<int> b);
    /// <summary>
    /// A row, 16 values at a time from its start with the operator's constants held in registers; returns how many were
    /// done. Requires AdvSimd.Arm64.
    /// </summary>
    int RowAdvSimd(ReadOnlySpan<sbyte> a, bool splatA, ReadOnlySpan<sbyte> b, bool splatB, Span<sbyte> y);
}

/// <summary>One float32 binary elementwise function.</summary>
internal interface IBinaryFloatOperator
{
    float Invoke(float a, float b);
    Vector128<float> Invoke(Vector128<float> a, Vector128<float> b);
    Vector256<float> Invoke(Vector256<float> a, Vector256<float> b);
}

/// <summary>One float32 unary elementwise function.</summary>
internal interface IUnaryFloatOperator
{
    float Invoke(float x);
    Vector128<float> Invoke(Vector128<float> x);
    Vector256<float> Invoke(Vector256<float> x);
}

/// <summary>
/// The shared loops of the elementwise variants: broadcast rows from a <see cref="BroadcastPlan"/>, a Vector256 loop,
/// a Vector128 loop, and a scalar tail, all calling the same operator so every path computes the same function.
/// A row operand with stride 0 (scalar or per-channel broadcast) is splatted once per row.
/// </summary>
internal static class ElementwiseDriver
{
    public static void Binary<TOp>(in TOp op, BroadcastPlan plan, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> y, Isa width)
        where TOp : struct, IBinaryInt8Operator => Binary(op, plan, a, b, y, width, 0, y.Length);

    /// <summary>Output elements [<paramref name="begin"/>, <paramref name="end"/>) only: rows, or parts of rows, as they fall.</summary>
    public static void Binary<TOp>(in TOp op, BroadcastPlan plan, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> y, Isa width, int begin, int end)
        where TOp : struct, IBinaryInt8Operator
    {
        int inner = plan.InnerCount;
        if (inner == 0 || begin >= end) return;
        bool splatA = plan.InnerStrideA == 0, splatB = plan.InnerStrideB == 0;
        if (ExpandsShortRows(plan, a.Length, b.Length, y.Length))
        {
            ShortRows(op, plan, a, b, y, width, begin, end);
            return;
        }
        for (int row = begin / inner; row < plan.OuterCount && row * inner < end; row++)
        {
            int from = Math.Max(begin - row * inner, 0), count = Math.Min(end - row * inner, inner) - from;
            plan.RowOffsets(row, out int ia, out int ib);
            BinaryRow(op, splatA ? a.Slice(ia, 1) : a.Slice(ia + from, count), splatA, splatB ? b.Slice(ib, 1) : b.Slice(ib + from, count), splatB,
                y.Slice(row * inner + from, count), width);
        }
    }

    /// <summary>Rows shorter than this, with one operand splatted per row, are expanded into whole blocks of rows.</summary>
    public const int ShortRow = 64;
    private const int ExpandedBlock = 1024;

    /// <summary>
    /// Whether <see cref="Binary{TOp}(in TOp, BroadcastPlan, ReadOnlySpan{sbyte}, ReadOnlySpan{sbyte}, Span{sbyte}, Isa, int, int)"/>
    /// walks this plan as blocks of rows: many rows shorter than <see cref="ShortRow"/>, one operand splatted per row
    /// (per-channel broadcast on small maps, squeeze-excite's gate) and the other as long as the output.
    /// </summary>
    public static bool ExpandsShortRows(BroadcastPlan plan, int lengthA, int lengthB, int lengthY)
    {
        if (plan.OuterCount <= 1 || plan.InnerCount >= ShortRow) return false;
        return plan.InnerStrideB == 0 && plan.InnerStrideA == 1 && lengthA == lengthY
            || plan.InnerStrideA == 0 && plan.InnerStrideB == 1 && lengthB == lengthY;
    }

    /// <summary>
    /// Short rows in blocks: the splatted operand's values are written out for a block of whole rows, then the block runs
    /// as one row of two full operands, so the vector loops see about <see cref="ExpandedBlock"/> elements at once
    /// instead of a tail per row. The operator is the same, so are the bytes.
    /// </summary>
    private static void ShortRows<TOp>(in TOp op, BroadcastPlan plan, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> y, Isa width, int begin, int end)
        where TOp : struct, IBinaryInt8Operator
    {
        bool splatA = plan.InnerStrideA == 0;
        int inner = plan.InnerCount, rowsPerBlock = ExpandedBlock / inner;
        Span<sbyte> expanded = stackalloc sbyte[ExpandedBlock];
        int lastRow = (end - 1) / inner;
        for (int row = begin / inner; row <= lastRow; row += rowsPerBlock)
        {
            int rows = Math.Min(rowsPerBlock, lastRow + 1 - row);
            for (int k = 0; k < rows; k++)
            {
                plan.RowOffsets(row + k, out int ia, out int ib);
                expanded.Slice(k * inner, inner).Fill(splatA ? a[ia] : b[ib]);
            }
            int from = Math.Max(begin, row * inner), count = Math.Min(end, (row + rows) * inner) - from;
            var splatted = expanded.Slice(from - row * inner, count);
            if (splatA) BinaryRow(op, splatted, false, b.Slice(from, count), false, y.Slice(from, count), width);
            else BinaryRow(op, a.Slice(from, count), false, splatted, false, y.Slice(from, count), width);
        }
    }

    public static void Binary<TOp>(in TOp op, BroadcastPlan plan, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, Isa width)
        where TOp : struct, IBinaryFloatOperator
    {
        int inner = plan.InnerCount;
        bool splatA = plan.InnerStrideA == 0, splatB = plan.InnerStrideB == 0;
        for (int row = 0; row < plan.OuterCount; row++)
        {
            plan.RowOffsets(row, out int ia, out int ib);
            BinaryRow(op, a.Slice(ia, splatA ? 1 : inner), splatA, b.Slice(ib, splatB ? 1 : inner), splatB, y.Slice(row * inner, inner), width);
        }
    }

    private static void BinaryRow<TOp>(in TOp op, ReadOnlySpan<sbyte> a, bool splatA, ReadOnlySpan<sbyte> b, bool splatB, Span<sbyte> y, Isa width)
        where TOp : struct, IBinaryInt8Operator
    {
        // Row slices have exactly n elements (or 1 when splatted), so every vector load and store in the loops is in bounds.
        // Each width's loop is its own method so the JIT inlines the operator into every one of them.
        int n = y.Length, i = 0;
        if (width == Isa.Avx512Vbmi && n >= TableRow && splatA != splatB)
        {
            BinaryRowByTable(op, splatA ? b : a, splatA ? a[0] : b[0], splatA, y);
            return;
        }
        if (width is Isa.Avx512 or Isa.Avx512Vbmi) i = BinaryRow512(op, a, splatA, b, splatB, y);
        if (width is Isa.Avx2 or Isa.Avx512 or Isa.Avx512Vbmi) i = BinaryRow256(op, a, splatA, b, splatB, y, i);
        if (AdvSimd.Arm64.IsSupported) i = op.RowAdvSimd(a, splatA, b, splatB, y);
        i = BinaryRow128(op, a, splatA, b, splatB, y, i);
        for (; i < n; i++)
            y[i] = (sbyte)op.Invoke(splatA ? a[0] : a[i], splatB ? b[0] : b[i]);
    }

    /// <summary>Rows at least this long with one operand splatted are looked up in a table of the row's function (AVX-512 VBMI).</summary>
    public const int TableRow = 512;

    /// <summary>
    /// A row where one operand is one value: y is then a function of the other operand's int8 value, tabulated for all
    /// 256 values by the operator itself (16 lanes at a time) and looked up 64 at a time. Requires AVX-512 VBMI.
    /// </summary>
    private static void BinaryRowByTable<TOp>(in TOp op, ReadOnlySpan<sbyte> x, sbyte splat, bool splatIsA, Span<sbyte> y)
        where TOp : struct, IBinaryInt8Operator
    {
        Span<sbyte> table = stackalloc sbyte[256];
        ref sbyte t = ref MemoryMarshal.GetReference(table);
        var fixedValue = Vector512.Create((int)splat);
        for (int k = 0; k < 256; k += 16)
        {
            var values = Vector512<int>.Indices + Vector512.Create(k - 128);
            Avx512F.ConvertToVector128SByte(splatIsA ? op.Invoke(fixedValue, values) : op.Invoke(values, fixedValue)).StoreUnsafe(ref t, (nuint)k);
        }
        var lookup = new ByteTable512(ref Unsafe.As<sbyte, byte>(ref t));
        ref byte xs = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(x));
        ref byte ys = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(y));
        int n = y.Length, i = 0;
        for (; i <= n - 64; i += 64) lookup.Lookup(Vector512.LoadUnsafe(ref xs, (nuint)i)).StoreUnsafe(ref ys, (nuint)i);
        for (; i < n; i++) y[i] = table[x[i] + 128];
    }

    /// <summary>64 values at a time from the start of the row; returns how many were done. Requires AVX-512F.</summary>
    private static int BinaryRow512<TOp>(in TOp op, ReadOnlySpan<sbyte> a, bool splatA, ReadOnlySpan<sbyte> b, bool splatB, Span<sbyte> y)
        where TOp : struct, IBinaryInt8Operator
    {
        int n = y.Length, i = 0;
        ref sbyte ra = ref MemoryMarshal.GetReference(a);
        ref sbyte rb = ref MemoryMarshal.GetReference(b);
        ref sbyte ry = ref MemoryMarshal.GetReference(y);
        // vpmovsxbd widens 16 int8 straight to a Vector512<int>; vpmovdb narrows back (lanes are already clamped).
        var sa = Vector512.Create((int)ra);
        var sb = Vector512.Create((int)rb);
        for (; i <= n - 64; i += 64)
        {
            for (int k = 0; k < 64; k += 16)
            {
                var va = splatA ? sa : Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref ra, (nuint)(i + k)));
                var vb = splatB ? sb : Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref rb, (nuint)(i + k)));
                Avx512F.ConvertToVector128SByte(op.Invoke(va, vb)).StoreUnsafe(ref ry, (nuint)(i + k));
            }
        }
        return i;
    }

    /// <summary>32 values at a time from <paramref name="i"/>; returns where it stopped. Requires AVX2.</summary>
    private static int BinaryRow256<TOp>(in TOp op, ReadOnlySpan<sbyte> a, bool splatA, ReadOnlySpan<sbyte> b, bool splatB, Span<sbyte> y, int i)
        where TOp : struct, IBinaryInt8Operator
    {
        int n = y.Length;
        ref sbyte ra = ref MemoryMarshal.GetReference(a);
        ref sbyte rb = ref MemoryMarshal.GetReference(b);
        ref sbyte ry = ref MemoryMarshal.GetReference(y);
        var sa = Vector256.Create((int)ra);
        var sb = Vector256.Create((int)rb);
        for (; i <= n - 32; i += 32)
        {
            Vector256<int> a0 = sa, a1 = sa, a2 = sa, a3 = sa, b0 = sb, b1 = sb, b2 = sb, b3 = sb;
            if (!splatA) Widen(Vector256.LoadUnsafe(ref ra, (nuint)i), out a0, out a1, out a2, out a3);
            if (!splatB) Widen(Vector256.LoadUnsafe(ref rb, (nuint)i), out b0, out b1, out b2, out b3);
            Narrow(op.Invoke(a0, b0), op.Invoke(a1, b1), op.Invoke(a2, b2), op.Invoke(a3, b3)).StoreUnsafe(ref ry, (nuint)i);
        }
        return i;
    }

    /// <summary>16 values at a time from <paramref name="i"/>; returns where it stopped. Requires SSE4.1 or AdvSimd.</summary>
    private static int BinaryRow128<TOp>(in TOp op, ReadOnlySpan<sbyte> a, bool splatA, ReadOnlySpan<sbyte> b, bool splatB, Span<sbyte> y, int i)
        where TOp : struct, IBinaryInt8Operator
    {
        int n = y.Length;
        ref sbyte ra = ref MemoryMarshal.GetReference(a);
        ref sbyte rb = ref MemoryMarshal.GetReference(b);
        ref sbyte ry = ref MemoryMarshal.GetReference(y);
        var sa = Vector128.Create((int)ra);
        var sb = Vector128.Create((int)rb);
        for (; i <= n - 16; i += 16)
        {
            Vector128<int> a0 = sa, a1 = sa, a2 = sa, a3 = sa, b0 = sb, b1 = sb, b2 = sb, b3 = sb;
            if (!splatA) Widen(Vector128.LoadUnsafe(ref ra, (nuint)i), out a0, out a1, out a2, out a3);
            if (!splatB) Widen(Vector128.LoadUnsafe(ref rb, (nuint)i), out b0, out b1, out b2, out b3);
            Narrow(op.Invoke(a0, b0), op.Invoke(a1, b1), op.Invoke(a2, b2), op.Invoke(a3, b3)).StoreUnsafe(ref ry, (nuint)i);
        }
        return i;
    }

    private static void BinaryRow<TOp>(in TOp op, ReadOnlySpan<float> a, bool splatA, ReadOnlySpan<float> b, bool splatB, Span<float> y, Isa width)
        where TOp : struct, IBinaryFloatOperator
    {
        int n = y.Length, i = 0;
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        ref float ry = ref MemoryMarshal.GetReference(y);
        if (width == Isa.Avx2)
        {
            var sa = Vector256.Create(ra);
            var sb = Vector256.Create(rb);
            for (; i <= n - 8; i += 8)
            {
                var va = splatA ? sa : Vector256.LoadUnsafe(ref ra, (nuint)i);
                var vb = splatB ? sb : Vector256.LoadUnsafe(ref rb, (nuint)i);
                op.Invoke(va, vb).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        {
            var sa = Vector128.Create(ra);
            var sb = Vector128.Create(rb);
            for (; i <= n - 4; i += 4)
            {
                var va = splatA ? sa : Vector128.LoadUnsafe(ref ra, (nuint)i);
                var vb = splatB ? sb : Vector128.LoadUnsafe(ref rb, (nuint)i);
                op.Invoke(va, vb).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        for (; i < n; i++)
            y[i] = op.Invoke(splatA ? a[0] : a[i], splatB ? b[0] : b[i]);
    }

    public static void Unary<TOp>(in TOp op, ReadOnlySpan<float> x, Span<float> y, Isa width)
        where TOp : struct, IUnaryFloatOperator
    {
        int n = y.Length, i = 0;
        x = x.Slice(0, n);
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        if (width == Isa.Avx2)
            for (; i <= n - 8; i += 8)
                op.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        for (; i <= n - 4; i += 4)
            op.Invoke(Vector128.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        for (; i < n; i++)
            y[i] = op.Invoke(x[i]);
    }

    /// <summary>32 int8 values to four vectors of eight int32, in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen(Vector256<sbyte> v, out Vector256<int> v0, out Vector256<int> v1, out Vector256<int> v2, out Vector256<int> v3)
    {
        var (lo, hi) = Vector256.Widen(v);
        (v0, v1) = Vector256.Widen(lo);
        (v2, v3) = Vector256.Widen(hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen(Vector128<sbyte> v, out Vector128<int> v0, out Vector128<int> v1, out Vector128<int> v2, out Vector128<int> v3)
    {
        var (lo, hi) = Vector128.Widen(v);
        (v0, v1) = Vector128.Widen(lo);
        (v2, v3) = Vector128.Widen(hi);
    }

    /// <summary>Four vectors of int32 already clamped to int8 range back to 32 int8 values (truncating narrow is exact here).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Narrow(Vector256<int> v0, Vector256<int> v1, Vector256<int> v2, Vector256<int> v3) =>
        Vector256.Narrow(Vector256.Narrow(v0, v1), Vector256.Narrow(v2, v3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Narrow(Vector128<int> v0, Vector128<int> v1, Vector128<int> v2, Vector128<int> v3) =>
        Vector128.Narrow(Vector128.Narrow(v0, v1), Vector128.Narrow(v2, v3));
}
