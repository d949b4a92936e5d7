using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// LookupTable int8, y = Table[c][x + 128], 64 elements at a time (<see cref="ByteTable512"/>). Tails (under 64
/// elements of a channel's block) are looked up one by one. Same checks as the reference.
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
            var lookup = new ByteTable512(ref t);
            for (; i <= n - 64; i += 64) lookup.Lookup(Vector512.LoadUnsafe(ref xs, (nuint)i)).StoreUnsafe(ref ys, (nuint)i);
        }
        // x + 128 is in [0, 255] for every sbyte and the table slice has 256 entries.
        for (; i < n; i++) Unsafe.Add(ref ys, i) = Unsafe.Add(ref t, (sbyte)Unsafe.Add(ref xs, i) + 128);
    }
}
