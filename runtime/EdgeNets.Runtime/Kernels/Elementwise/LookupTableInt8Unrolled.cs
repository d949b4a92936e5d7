using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// LookupTable int8, y = Table[c][x + 128]: the channel walk is hoisted out of the element loop (no division per
/// element) and the lookup is unrolled by four. Same checks as the reference.
/// </summary>
internal sealed class LookupTableInt8UnrolledKernel : OpKernel
{
    private readonly int _input, _table, _output;
    private readonly int _channels, _inner;

    public LookupTableInt8UnrolledKernel(KernelSetup s)
    {
        (_channels, _inner) = ActivationKernels.LookupTableLayout(s);
        _input = s.InputId(0);
        _table = s.InputId(1);
        _output = s.OutputId(0);
    }

    public override string Name => "LookupTableInt8_Unrolled";

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
