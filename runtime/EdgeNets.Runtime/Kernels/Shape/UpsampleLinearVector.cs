using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Bilinear Upsample (ResizeMode 1) with the reference's tables (<see cref="LinearResizeKernel"/>), separated: each
/// input row an output row needs is blended along W once into a row of the output's width (kept while consecutive
/// output rows share it), then output rows are blended from two such rows along H, a vector at a time.
/// <para>
/// Exactness: the reference's int8 blend is t·(2^10 − wy) + b·wy rounded at 2^20, with t and b the exact int32 row
/// blends of its top and bottom neighbours, which is what the two passes compute; float32 evaluates the same
/// expressions (t + (b − t)·wy after t = x00 + (x01 − x00)·wx) element by element, without fused multiply-adds.
/// </para>
/// </summary>
internal sealed class UpsampleLinearVector : OpKernel
{
    private readonly string _name;
    private readonly bool _wide, _int8;
    private readonly int _x, _y, _planes, _inH, _inW, _outH, _outW;
    private readonly int[] _row0, _row1, _col0, _col1, _rowWeightQ, _colWeightQ;
    private readonly float[] _rowWeight, _colWeight;
    /// <summary>Two rows blended along W (int32 for int8, float for float32), padded to whole vectors, and the input row each holds.</summary>
    private readonly int[] _rowsQ;
    private readonly float[] _rowsF;
    private readonly int _rowStride;
    private int _held0, _held1;

    public static bool CanHandle(KernelSetup s) => s.Attributes.GetInt(AttributeKey.ResizeMode, 0) == 1;

    public UpsampleLinearVector(KernelSetup s, DataType type, Isa isa, string name)
    {
        var plan = new LinearResizeKernel(s, type);
        _name = name;
        _wide = isa == Isa.Avx2;
        _int8 = type == DataType.Int8;
        (_planes, _inH, _inW, _outH, _outW) = plan.Shape;
        (_row0, _row1, _rowWeight, _rowWeightQ) = plan.Rows;
        (_col0, _col1, _colWeight, _colWeightQ) = plan.Columns;
        _x = s.InputId(0);
        _y = s.OutputId(0);
        _rowStride = (_outW + 15) / 16 * 16;
        _rowsQ = _int8 ? new int[2 * _rowStride] : [];
        _rowsF = _int8 ? [] : new float[2 * _rowStride];
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        if (_int8) RunInt8(memory.Read<sbyte>(_x), memory.Write<sbyte>(_y));
        else RunFloat(memory.Read<float>(_x), memory.Write<float>(_y));
    }

    /// <summary>
    /// Which of the two held rows (0 or 1) holds input row <paramref name="row"/>; if neither does, the slot it takes (the
    /// one not holding <paramref name="keep"/>) plus 2, for the caller to blend it there.
    /// </summary>
    private int Hold(int row, int keep)
    {
        if (_held0 == row) return 0;
        if (_held1 == row) return 1;
        int slot = _held0 == keep ? 1 : 0;
        if (slot == 0) _held0 = row; else _held1 = row;
        return slot | 2;
    }

    private void RunInt8(ReadOnlySpan<sbyte> x, Span<sbyte> y) => RunPlanes<sbyte, int, Int8Blend>(x, y, _rowsQ, new Int8Blend(this));

    /// <summary>
    /// Every plane's output rows: the input rows each needs blended along W into the two row buffers (unless held), then
    /// the output row blended from them along H.
    /// </summary>
    private void RunPlanes<T, TRow, TBlend>(ReadOnlySpan<T> x, Span<T> y, Span<TRow> rows, TBlend blend) where TBlend : struct, IRowBlend<T, TRow>
    {
        for (int p = 0; p < _planes; p++)
        {
            var plane = x.Slice(p * _inH * _inW, _inH * _inW);
            _held0 = _held1 = -1;
            for (int r = 0; r < _outH; r++)
            {
                int top = Hold(_row0[r], _row1[r]), bottom = Hold(_row1[r], _row0[r]);
                if (top > 1) blend.Columns(plane.Slice(_row0[r] * _inW, _inW), rows.Slice((top & 1) * _rowStride, _outW));
                if (bottom > 1) blend.Columns(plane.Slice(_row1[r] * _inW, _inW), rows.Slice((bottom & 1) * _rowStride, _outW));
                blend.Rows(ref rows[(top & 1) * _rowStride], ref rows[(bottom & 1) * _rowStride], y.Slice((p * _outH + r) * _outW, _outW), r);
            }
        }
    }

    /// <summary>The two passes of one element type: an input row along W into a row buffer, two row buffers along H into an output row.</summary>
    private interface IRowBlend<T, TRow>
    {
        void Columns(ReadOnlySpan<T> row, Span<TRow> blended);
        void Rows(ref TRow t, ref TRow b, Span<T> output, int r);
    }

    private readonly struct Int8Blend(UpsampleLinearVector k) : IRowBlend<sbyte, int>
    {
        public void Columns(ReadOnlySpan<sbyte> row, Span<int> blended) => k.BlendColumns(row, blended);
        public void Rows(ref int t, ref int b, Span<sbyte> output, int r) => k.BlendRows(ref t, ref b, output, r);
    }

    private readonly struct FloatBlend(UpsampleLinearVector k) : IRowBlend<float, float>
    {
        public void Columns(ReadOnlySpan<float> row, Span<float> blended) => k.BlendColumns(row, blended);
        public void Rows(ref float t, ref float b, Span<float> output, int r)
        {
            if (k._wide) k.BlendRows<Float256, Vector256<float>>(ref t, ref b, output, r);
            else k.BlendRows<Float128, Vector128<float>>(ref t, ref b, output, r);
        }
    }

    /// <summary>One int8 output row from two rows blended along W: t·(2^10 − wy) + b·wy rounded at 2^20.</summary>
    private void BlendRows(ref int t, ref int b, Span<sbyte> output, int r)
    {
        const int one = LinearResizeKernel.One, bits = 2 * LinearResizeKernel.WeightBits;
        int wy = _rowWeightQ[r], c = 0;
        if (_wide)
        {
            var upper = Vector256.Create(one - wy);
            var lower = Vector256.Create(wy);
            var round = Vector256.Create(1 << (bits - 1));
            for (; c + 16 <= _outW; c += 16)
            {
                var v0 = Vector256.ShiftRightArithmetic(Vector256.LoadUnsafe(ref t, (nuint)c) * upper + Vector256.LoadUnsafe(ref b, (nuint)c) * lower + round, bits);
                var v1 = Vector256.ShiftRightArithmetic(Vector256.LoadUnsafe(ref t, (nuint)c + 8) * upper + Vector256.LoadUnsafe(ref b, (nuint)c + 8) * lower + round, bits);
                var s = Vector256.Narrow(v0, v1);
                Vector256.Narrow(s, s).GetLower().StoreUnsafe(ref MemoryMarshal.GetReference(output), (nuint)c);
            }
        }
        else
        {
            var upper = Vector128.Create(one - wy);
            var lower = Vector128.Create(wy);
            var round = Vector128.Create(1 << (bits - 1));
            for (; c + 8 <= _outW; c += 8)
            {
                var v0 = Vector128.ShiftRightArithmetic(Vector128.LoadUnsafe(ref t, (nuint)c) * upper + Vector128.LoadUnsafe(ref b, (nuint)c) * lower + round, bits);
                var v1 = Vector128.ShiftRightArithmetic(Vector128.LoadUnsafe(ref t, (nuint)c + 4) * upper + Vector128.LoadUnsafe(ref b, (nuint)c + 4) * lower + round, bits);
                var s = Vector128.Narrow(v0, v1);
                Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref MemoryMarshal.GetReference(output), c)), Vector128.Narrow(s, s).AsInt64().ToScalar());
            }
        }
        for (; c < _outW; c++)
            output[c] = (sbyte)((Unsafe.Add(ref t, c) * (one - wy) + Unsafe.Add(ref b, c) * wy + (1 << (bits - 1))) >> bits);
    }

    /// <summary>One int8 input row blended along W at the output's columns: x[c0]·(2^10 − wx) + x[c1]·wx.</summary>
    private void BlendColumns(ReadOnlySpan<sbyte> row, Span<int> blended)
    {
        const int one = LinearResizeKernel.One;
        for (int c = 0; c < blended.Length; c++)
        {
            int wx = _colWeightQ[c];
            blended[c] = row[_col0[c]] * (one - wx) + row[_col1[c]] * wx;
        }
    }

    private void RunFloat(ReadOnlySpan<float> x, Span<float> y) => RunPlanes<float, float, FloatBlend>(x, y, _rowsF, new FloatBlend(this));

    /// <summary>One float32 output row from two rows blended along W: t + (b − t)·wy, as the reference.</summary>
    private void BlendRows<TF, TVec>(ref float t, ref float b, Span<float> y, int r) where TF : struct, IFloatVector<TVec> where TVec : struct
    {
        ref float output = ref MemoryMarshal.GetReference(y);
        float wy = _rowWeight[r];
        var weight = TF.Splat(wy);
        int c = 0;
        for (; c + TF.Count <= _outW; c += TF.Count)
        {
            var tv = TF.Load(ref t, (nuint)c);
            TF.Store(TF.Add(tv, TF.Multiply(TF.Subtract(TF.Load(ref b, (nuint)c), tv), weight)), ref output, (nuint)c);
        }
        for (; c < _outW; c++)
        {
            float tc = Unsafe.Add(ref t, c);
            Unsafe.Add(ref output, c) = tc + (Unsafe.Add(ref b, c) - tc) * wy;
        }
    }

    /// <summary>One float input row blended along W at the output's columns: x00 + (x01 − x00)·wx, as the reference.</summary>
    private void BlendColumns(ReadOnlySpan<float> row, Span<float> blended)
    {
        for (int c = 0; c < blended.Length; c++)
        {
            float x00 = row[_col0[c]];
            blended[c] = x00 + (row[_col1[c]] - x00) * _colWeight[c];
        }
    }
}
