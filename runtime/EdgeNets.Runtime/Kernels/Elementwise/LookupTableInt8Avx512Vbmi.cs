using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// LookupTable int8, y = Table[c][x + 128], 64 elements at a time: the 256-byte table sits in four registers and two
/// vpermi2b each look up one 128-byte half; the sign of x chooses the half. Tails (under 64 elements of a channel's
/// block) are looked up one by one. Same checks as the reference.
/// </summary>
internal sealed class LookupTableInt8Avx512Vbmi : OpKernel
{
    private readonly int _input, _table, _output;
    private readonly int _channels, _inner;

    public LookupTableInt8Avx512Vbmi(KernelSetup s)
    {
        (_channels, _inner) = ActivationKernels.LookupTableLayout(s);
        _input = s.InputId(0);
        _table = s.InputId(1);
        _output = s.OutputId(0);
    }

    public override string Name => "LookupTableInt8_Avx512Vbmi";

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_input);
        var table = memory.Read<sbyte>(_table);
        var y = memory.Write<sbyte>(_output);
        int n = y.Length;
        if (n == 0 || _inner == 0) return;
        for (int start = 0, c = 0; start < n; start += _inner, c = c + 1 == _channels ? 0 : c + 1)
            Map(x.Slice(start, _inner), table.Slice(c * 256, 256), y.Slice(start, _inner));
    }

    private static void Map(ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> table, Span<sbyte> y)
    {
        ref byte t = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(table));
        ref byte xs = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(x));
        ref byte ys = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(y));
        int n = y.Length, i = 0;
        if (n >= 64)
        {
            var t0 = Vector512.LoadUnsafe(ref t);
            var t1 = Vector512.LoadUnsafe(ref t, 64);
            var t2 = Vector512.LoadUnsafe(ref t, 128);
            var t3 = Vector512.LoadUnsafe(ref t, 192);
            for (; i <= n - 64; i += 64)
                Lookup(Vector512.LoadUnsafe(ref xs, (nuint)i), t0, t1, t2, t3).StoreUnsafe(ref ys, (nuint)i);
        }
        // x + 128 is in [0, 255] for every sbyte and the table slice has 256 entries.
        for (; i < n; i++) Unsafe.Add(ref ys, i) = Unsafe.Add(ref t, (sbyte)Unsafe.Add(ref xs, i) + 128);
    }

    /// <summary>
    /// Table[x + 128] for 64 int8 values (as bytes) and the table's four 64-byte quarters. vpermi2b reads an index's low
    /// seven bits, which x + 128 shares with x; its top bit, x's sign flipped, picks the half: negative x the first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<byte> Lookup(Vector512<byte> x, Vector512<byte> t0, Vector512<byte> t1, Vector512<byte> t2, Vector512<byte> t3)
    {
        var low = Avx512Vbmi.PermuteVar64x8x2(t0, x, t1);
        var high = Avx512Vbmi.PermuteVar64x8x2(t2, x, t3);
        return Vector512.ConditionalSelect(Vector512.LessThan(x.AsSByte(), Vector512<sbyte>.Zero).AsByte(), low, high);
    }
}
