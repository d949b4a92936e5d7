using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// LookupTable int8, y = Table[c][x + 128]: the channel walk is hoisted out of the element loop (no division per
/// element) and the lookup is unrolled by four; with <see cref="Isa.Avx512Vbmi"/> a channel's block is looked up 64
/// values at a time first (<see cref="ByteTable512"/>). Same checks as the reference.
/// </summary>
internal sealed class LookupTableInt8UnrolledKernel : OpKernel
{
    private readonly int _input, _table, _output;
    private readonly int _channels, _inner;
    private readonly bool _vbmi;

    public LookupTableInt8UnrolledKernel(KernelSetup s, Isa isa, string name)
    {
        (_channels, _inner) = ActivationKernels.LookupTableLayout(s);
        _input = s.InputId(0);
        _table = s.InputId(1);
        _output = s.OutputId(0);
        _vbmi = isa == Isa.Avx512Vbmi;
        Name = name;
    }

    public override string Name { get; }

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_input);
        var table = memory.Read<sbyte>(_table);
        var y = memory.Write<sbyte>(_output);
        int n = y.Length;
        if (n == 0 || _inner == 0) return;
        // The input is walked as blocks of _inner elements that share one channel's table, channels repeating.
        for (int start = 0, c = 0; start < n; start += _inner, c = c + 1 == _channels ? 0 : c + 1)
            Map(x.Slice(start, _inner), table.Slice(c * 256, 256), y.Slice(start, _inner), _vbmi);
    }

    private static void Map(ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> table, Span<sbyte> y, bool vbmi)
    {
        // x + 128 is in [0, 255] for every sbyte and the table slice has 256 entries, so the unchecked reads stay inside it.
        ref sbyte t = ref MemoryMarshal.GetReference(table);
        int n = y.Length, i = vbmi && n >= 64 ? Map512(x, ref t, y) : 0;
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
