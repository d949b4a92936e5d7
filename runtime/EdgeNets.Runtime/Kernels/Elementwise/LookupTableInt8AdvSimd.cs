using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// LookupTable int8 on AArch64 NEON, y = Table[c][x + 128], 16 elements per step: the 256-entry table sits in 16 vector
/// registers as four 64-byte tables, and x + 128 (x XOR 0x80 as a byte) indexes them with one TBL (entries 0-63) and
/// three TBX (64-127, 128-191, 192-255, the index lowered by 64 each time; TBX leaves a lane alone when its index is out
/// of its table's range). A block shorter than 16 elements, and the tail of each block, take the unrolled scalar loop.
/// </summary>
internal sealed class LookupTableInt8AdvSimd(KernelSetup s) : LookupTableInt8Kernel(s)
{
    public override string Name => "LookupTableInt8_AdvSimd";

    protected override void Map(ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> table, Span<sbyte> y)
    {
        int n = y.Length, i = 0;
        if (n >= 16)
        {
            ref sbyte t = ref MemoryMarshal.GetReference(table);
            ref sbyte src = ref MemoryMarshal.GetReference(x);
            ref sbyte dst = ref MemoryMarshal.GetReference(y);
            var t0 = Load4(ref t, 0);
            var t1 = Load4(ref t, 64);
            var t2 = Load4(ref t, 128);
            var t3 = Load4(ref t, 192);
            var sign = Vector128.Create((byte)0x80);
            var quarter = Vector128.Create((byte)64);
            // Each block is loaded whole before it is stored, so an output that is its input stays right.
            for (; i <= n - 16; i += 16)
            {
                var index = Vector128.LoadUnsafe(ref src, (nuint)i).AsByte() ^ sign;
                var r = AdvSimd.Arm64.VectorTableLookup(t0, index);
                index -= quarter;
                r = AdvSimd.Arm64.VectorTableLookupExtension(r, t1, index);
                index -= quarter;
                r = AdvSimd.Arm64.VectorTableLookupExtension(r, t2, index);
                index -= quarter;
                r = AdvSimd.Arm64.VectorTableLookupExtension(r, t3, index);
                r.AsSByte().StoreUnsafe(ref dst, (nuint)i);
            }
        }
        LookupTableInt8UnrolledKernel.Unrolled(x[i..], table, y[i..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<byte>, Vector128<byte>, Vector128<byte>, Vector128<byte>) Load4(ref sbyte table, nuint offset) =>
        (Vector128.LoadUnsafe(ref table, offset).AsByte(), Vector128.LoadUnsafe(ref table, offset + 16).AsByte(),
            Vector128.LoadUnsafe(ref table, offset + 32).AsByte(), Vector128.LoadUnsafe(ref table, offset + 48).AsByte());
}
