using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// What the optimized LookupTable int8 variants share, y = Table[c][x + 128]: the reference's checks, and the walk over
/// the input as blocks of elements that share one channel's table (no division per element). A variant maps one block.
/// </summary>
internal abstract class LookupTableInt8Kernel : OpKernel
{
    private readonly int _input, _table, _output;
    private readonly int _channels, _inner;

    protected LookupTableInt8Kernel(KernelSetup s)
    {
        (_channels, _inner) = ActivationKernels.LookupTableLayout(s);
        _input = s.InputId(0);
        _table = s.InputId(1);
        _output = s.OutputId(0);
    }

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_input);
        var table = memory.Read<sbyte>(_table);
        var y = memory.Write<sbyte>(_output);
        int n = y.Length;
        if (n == 0 || _inner == 0) return;
        // Blocks of _inner elements share one channel's table, channels repeating.
        for (int start = 0, c = 0; start < n; start += _inner, c = c + 1 == _channels ? 0 : c + 1)
            Map(x.Slice(start, _inner), table.Slice(c * 256, 256), y.Slice(start, _inner));
    }

    /// <summary>y[i] = table[x[i] + 128] for one block (<paramref name="table"/>: its channel's 256 entries).</summary>
    protected abstract void Map(ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> table, Span<sbyte> y);
}
