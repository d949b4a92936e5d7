using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// What a kernel does with its requantized int8 outputs before it stores them (<see cref="Requantizer{TEpilogue}"/>):
/// nothing (<see cref="Int8Store"/>), or the elementwise operator that reads them, fused (<see cref="LookupEpilogue"/>,
/// <see cref="ResidualAddEpilogue"/>). A struct type argument, so the JIT/AOT compiles one store loop per epilogue and
/// the plain store costs nothing more. Every epilogue computes exactly what its operator's kernel computes on the
/// stored bytes, so a fused kernel gives the bytes of the unfused sequence.
/// </summary>
internal interface IInt8Epilogue
{
    /// <summary>
    /// The outputs bound for <paramref name="destination"/>[0, <paramref name="count"/>) (1 to 16; lanes beyond
    /// <paramref name="count"/> are ignored), given their requantized values <paramref name="y"/>. Reads nothing of the
    /// destination, so an epilogue that reads a tensor at the destination's position may have it share those bytes.
    /// </summary>
    Vector128<sbyte> Apply(Vector128<sbyte> y, ref sbyte destination, int count);
}

/// <summary>The plain int8 store: the requantized values as they are.</summary>
internal readonly struct Int8Store : IInt8Epilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector128<sbyte> y, ref sbyte destination, int count) => y;
}

/// <summary>
/// A LookupTable with one 256-entry table after the requantization (an int8 activation: Hardswish, SiLU, Sigmoid,
/// GELU ...): Table[y + 128].
/// </summary>
internal readonly struct LookupEpilogue : IInt8Epilogue
{
    private readonly sbyte[] _table;
    private readonly ByteTable512 _wide;

    public LookupEpilogue(sbyte[] table)
    {
        if (table.Length != 256) throw new ArgumentException($"a lookup table has 256 entries, not {table.Length}");
        _table = table;
        if (Avx512Vbmi.IsSupported) _wide = new ByteTable512(ref Unsafe.As<sbyte, byte>(ref table[0]));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector128<sbyte> y, ref sbyte destination, int count)
    {
        if (Avx512Vbmi.IsSupported) return _wide.Lookup(y.AsByte().ToVector256Unsafe().ToVector512Unsafe()).GetLower().GetLower().AsSByte();
        if (AdvSimd.Arm64.IsSupported) return Lookup64x4(y);
        // One byte at a time (no byte shuffle reaches 256 entries below AVX-512 VBMI); the values stay in L1.
        var v = y;
        ref sbyte b = ref Unsafe.As<Vector128<sbyte>, sbyte>(ref v);
        ref sbyte t = ref _table[0];
        for (int i = 0; i < 16; i++) Unsafe.Add(ref b, i) = Unsafe.Add(ref t, Unsafe.Add(ref b, i) + 128);
        return v;
    }

    /// <summary>TBL on four 64-byte quarters, as <see cref="LookupTableInt8AdvSimd"/>: an index out of a quarter's range leaves the lane as it was.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector128<sbyte> Lookup64x4(Vector128<sbyte> y)
    {
        ref sbyte t = ref _table[0];
        var index = y.AsByte() ^ Vector128.Create((byte)0x80);
        var quarter = Vector128.Create((byte)64);
        var r = AdvSimd.Arm64.VectorTableLookup(Quarter(ref t, 0), index);
        index -= quarter;
        r = AdvSimd.Arm64.VectorTableLookupExtension(r, Quarter(ref t, 64), index);
        index -= quarter;
        r = AdvSimd.Arm64.VectorTableLookupExtension(r, Quarter(ref t, 128), index);
        index -= quarter;
        return AdvSimd.Arm64.VectorTableLookupExtension(r, Quarter(ref t, 192), index).AsSByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<byte>, Vector128<byte>, Vector128<byte>, Vector128<byte>) Quarter(ref sbyte table, nuint offset) =>
        (Vector128.LoadUnsafe(ref table, offset).AsByte(), Vector128.LoadUnsafe(ref table, offset + 16).AsByte(),
            Vector128.LoadUnsafe(ref table, offset + 32).AsByte(), Vector128.LoadUnsafe(ref table, offset + 48).AsByte());
}

/// <summary>
/// An int8 Add of the requantized values and a residual tensor of the same shape (<see cref="AddInt8Operator"/>, the
/// Add's own scales, clamp and operand order). The residual lies in the same arena as the destination,
/// <see cref="_residualOffset"/> bytes from it, so its element is read at the destination's position plus that offset.
/// </summary>
internal readonly struct ResidualAddEpilogue(AddInt8Operator add, bool convFirst, nint residualOffset) : IInt8Epilogue
{
    private readonly AddInt8Operator _add = add;
    private readonly bool _convFirst = convFirst;
    private readonly nint _residualOffset = residualOffset;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector128<sbyte> y, ref sbyte destination, int count)
    {
        var r = Load(ref Unsafe.Add(ref destination, _residualOffset), count);
        var (a, b) = _convFirst ? (y, r) : (r, y);
        var a0 = Vector128.WidenLower(a);
        var a1 = Vector128.WidenUpper(a);
        var b0 = Vector128.WidenLower(b);
        var b1 = Vector128.WidenUpper(b);
        // Each sum is clamped to the Add's int8 range, so the narrows keep its value.
        var low = Vector128.Narrow(_add.Invoke(Vector128.WidenLower(a0), Vector128.WidenLower(b0)), _add.Invoke(Vector128.WidenUpper(a0), Vector128.WidenUpper(b0)));
        var high = Vector128.Narrow(_add.Invoke(Vector128.WidenLower(a1), Vector128.WidenLower(b1)), _add.Invoke(Vector128.WidenUpper(a1), Vector128.WidenUpper(b1)));
        return Vector128.Narrow(low, high);
    }

    /// <summary>The first <paramref name="count"/> bytes at <paramref name="source"/>, none beyond (a tensor may end the arena).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Load(ref sbyte source, int count)
    {
        if (count >= 16) return Vector128.LoadUnsafe(ref source);
        if (count == 8) return Vector64.LoadUnsafe(ref source).ToVector128Unsafe();
        Vector128<sbyte> v = default;
        ref sbyte b = ref Unsafe.As<Vector128<sbyte>, sbyte>(ref v);
        for (int i = 0; i < count; i++) Unsafe.Add(ref b, i) = Unsafe.Add(ref source, i);
        return v;
    }
}
