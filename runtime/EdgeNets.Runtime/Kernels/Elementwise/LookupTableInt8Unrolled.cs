using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// LookupTable int8, y = Table[c][x + 128], with the lookup unrolled by four; with <see cref="Isa.Avx512Vbmi"/> a
/// channel's block is looked up 64 values at a time first (<see cref="ByteTable512"/>).
/// </summary>
internal sealed class LookupTableInt8UnrolledKernel(KernelSetup s, Isa isa, string name) : LookupTableInt8Kernel(s)
{
    private readonly bool _vbmi = isa == Isa.Avx512Vbmi;

    public override string Name { get; } = name;

    protected override void Map(ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> table, Span<sbyte> y)
    {
        int done = _vbmi && y.Length >= 64 ? Map512(x, ref MemoryMarshal.GetReference(table), y) : 0;
        Unrolled(x[done..], table, y[done..]);
    }

    /// <summary>The block's elements four at a time (each group read whole before it is written: an output that is its input stays right).</summary>
    internal static void Unrolled(ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> table, Span<sbyte> y)
    {
        // x + 128 is in [0, 255] for every sbyte and the table slice has 256 entries, so the unchecked reads stay inside it.
        ref sbyte t = ref MemoryMarshal.GetReference(table);
        int n = y.Length, i = 0;
        for (; i <= n - 4; i += 4)
        {
            sbyte y0 = Unsafe.Add(ref t, x[i] + 128);
            sbyte y1 = Unsafe.Add(ref t, x[i + 1] + 128);
            sbyte y2 = Unsafe.Add(ref t, x[i + 2] + 128);
            sbyte y3 = Unsafe.Add(ref t, x[i + 3] + 128);
            y[i] = y0;
            y[i + 1] = y1;
            y[i + 2] = y2;
            y[i + 3] = y3;
        }
        for (; i < n; i++) y[i] = Unsafe.Add(ref t, x[i] + 128);
    }

    /// <summary>64 values at a time from the start; returns how many were done. Requires AVX-512 VBMI.</summary>
    private static int Map512(ReadOnlySpan<sbyte> x, ref sbyte table, Span<sbyte> y)
    {
        var lookup = new ByteTable512(ref Unsafe.As<sbyte, byte>(ref table));
        ref byte xs = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(x));
        ref byte ys = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(y));
        int n = y.Length, i = 0;
        for (; i <= n - 64; i += 64) lookup.Lookup(Vector512.LoadUnsafe(ref xs, (nuint)i)).StoreUnsafe(ref ys, (nuint)i);
        return i;
    }
}
