using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>LookupTable int8, y = Table[c][x + 128], with the lookup unrolled by four.</summary>
internal sealed class LookupTableInt8UnrolledKernel(KernelSetup s) : LookupTableInt8Kernel(s)
{
    public override string Name => "LookupTableInt8_Unrolled";

    protected override void Map(ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> table, Span<sbyte> y) => Unrolled(x, table, y);

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
}
