using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// LookupTable int8 on AArch64 NEON, y = Table[c][x + 128], 16 elements per step: the 256-entry table sits in 16 vector
/// registers as four 64-byte tables, and x + 128 (x XOR 0x80 as a byte) indexes them with one TBL (entries 0-63) and
/// three TBX (64-127, 128-191, 192-255, the index lowered by 64 each time; TBX leaves a lane alone when its index is out
/// of its table's range). Blocks of one channel's table shorter than 16 elements and the tail of each block take the
/// scalar loop. Same checks as the reference.
/// </summary>
internal sealed class LookupTableInt8AdvSimd : OpKernel
{
    private readonly int _input, _table, _output;
    private readonly int _channels, _inner;

    public LookupTableInt8AdvSimd(KernelSetup s)
    {
        (_channels, _inner) = ActivationKernels.LookupTableLayout(s);
        _input = s.InputId(0);
        _table = s.InputId(1);
        _output = s.OutputId(0);
    }

    public override string Name => "LookupTableInt8_AdvSimd";

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_input);
        var table = memory.Read<sbyte>(_table);
        var y = memory.Write<sbyte>(_output);
        int n = y.Length;
        if (n == 0 || _inner == 0) return;
        // The input is walked as blocks of _inner elements that share one channel's table, channels repeating.
        for (int start = 0, c = 0; start < n; start += _inner, c = c + 1 == _channels ? 0 : c + 1)
            Map(x.Slice(start, _inner), table.Slice(c * 256, 256), y.Slice(start, _inner));
    }

    private static void Map(ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> table, Span<sbyte> y)
    {
        int n = y.Length, i = 0;
        ref sbyte t = ref MemoryMarshal.GetReference(table);
        ref sbyte src = ref MemoryMarshal.GetReference(x);
        ref sbyte dst = ref MemoryMarshal.GetReference(y);
        if (n >= 16)
        {
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
        // x + 128 is in [0, 255] for every sbyte and the table slice has 256 entries, so the unchecked reads stay inside it.
        for (; i < n; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref t, Unsafe.Add(ref src, i) + 128);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<byte>, Vector128<byte>, Vector128<byte>, Vector128<byte>) Load4(ref sbyte table, nuint offset) =>
        (Vector128.LoadUnsafe(ref table, offset).AsByte(), Vector128.LoadUnsafe(ref table, offset + 16).AsByte(),
            Vector128.LoadUnsafe(ref table, offset + 32).AsByte(), Vector128.LoadUnsafe(ref table, offset + 48).AsByte());
}
