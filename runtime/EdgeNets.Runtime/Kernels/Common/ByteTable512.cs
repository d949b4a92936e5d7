using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// A 256-entry int8 table indexed by an int8 value plus 128, held in four 512-bit registers and looked up 64 values at
/// a time with AVX-512 VBMI: two vpermi2b each look up one 128-byte half, and the value's sign picks the half.
/// </summary>
internal readonly struct ByteTable512
{
    private readonly Vector512<byte> _t0, _t1, _t2, _t3;

    /// <summary>The table at <paramref name="table"/> (256 bytes, entry i for the value i − 128).</summary>
    public ByteTable512(ref byte table)
    {
        _t0 = Vector512.LoadUnsafe(ref table);
        _t1 = Vector512.LoadUnsafe(ref table, 64);
        _t2 = Vector512.LoadUnsafe(ref table, 128);
        _t3 = Vector512.LoadUnsafe(ref table, 192);
    }

    /// <summary>
    /// Table[x + 128] for 64 int8 values (as bytes). vpermi2b reads an index's low seven bits, which x + 128 shares with
    /// x; the top bit of x + 128 is x's sign flipped, so negative x take the first half.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<byte> Lookup(Vector512<byte> x)
    {
        var low = Avx512Vbmi.PermuteVar64x8x2(_t0, x, _t1);
        var high = Avx512Vbmi.PermuteVar64x8x2(_t2, x, _t3);
        return Vector512.ConditionalSelect(Vector512.LessThan(x.AsSByte(), Vector512<sbyte>.Zero).AsByte(), low, high);
    }
}
