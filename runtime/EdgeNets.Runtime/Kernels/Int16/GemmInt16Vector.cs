using System.Runtime.InteropServices;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Int16;

/// <summary>
/// Gemm with int16 activations and int8 weights (widened to int16 once, when prepared): one exact dot product per
/// output (<see cref="Int16Dot"/>: vpmaddwd on AVX2, SMLAL/SMLAL2 on AdvSimd), requantized as the reference does.
/// </summary>
internal sealed class GemmInt16Vector : OpKernel
{
    private readonly string _name;
    private readonly Isa _isa;
    private readonly int _a, _y, _rows, _n, _k;
    private readonly short[] _weights;
    private readonly long[] _bias;
    private readonly Int16Requantization _q;

    public GemmInt16Vector(KernelSetup s, Isa isa, string name)
    {
        var shape = new GemmKernels.GemmShape(s, DataType.Int16, DataType.Int64, DataType.Int8);
        _q = Int16Requantization.Read(s, shape.N, shape.K);
        (_rows, _n, _k) = (shape.Rows, shape.N, shape.K);
        _weights = Widen(s.ConstantInput<sbyte>(1));
        _bias = s.HasInput(2) ? s.ConstantInput<long>(2).ToArray() : new long[_n];
        _isa = isa;
        _name = name;
        _a = s.InputId(0);
        _y = s.OutputId(0);
    }

    /// <summary>Every Gemm the reference takes.</summary>
    public static bool CanHandle(KernelSetup s)
    {
        try { _ = new GemmKernels.GemmShape(s, DataType.Int16, DataType.Int64, DataType.Int8); return true; }
        catch (Format.ModelFormatException) { return false; }
    }

    internal static short[] Widen(ReadOnlySpan<sbyte> weights)
    {
        var w = new short[weights.Length];
        for (int i = 0; i < w.Length; i++) w[i] = weights[i];
        return w;
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var a = memory.Read<short>(_a);
        var y = memory.Write<short>(_y);
        int n = _n, k = _k;
        for (int r = 0; r < _rows; r++)
        {
            ref short row = ref MemoryMarshal.GetReference(a.Slice(r * k, k));
            for (int j = 0; j < n; j++)
            {
                long acc = _bias[j] + Int16Dot.Dot(ref row, ref _weights[j * k], k, _isa);
                y[r * n + j] = FixedPoint.RequantizeInt16(acc, _q.Multipliers[j], _q.Shifts[j], _q.Min, _q.Max);
            }
        }
    }
}
