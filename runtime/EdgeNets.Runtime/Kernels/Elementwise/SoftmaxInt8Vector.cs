using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 Softmax along the last axis (each slice contiguous) with the reference's float arithmetic: the maximum on
/// vectors, the table weights gathered and summed in index order (float addition does not reassociate), then each
/// weight divided by the sum and the output scale, rounded half away from zero, offset and clamped on vector lanes
/// (256-bit: 8, 128-bit: 4), each lane the reference's operations in its order.
/// </summary>
internal sealed class SoftmaxInt8Vector : OpKernel
{
    private readonly string _name;
    private readonly Isa _isa;
    private readonly int _x, _y, _outer, _length, _outputZeroPoint;
    private readonly float _outputScale;
    private readonly float[] _table, _weights;

    /// <summary>Slices along the last axis only (one after another in memory).</summary>
    public static bool CanHandle(KernelSetup s) => SoftmaxKernels.Slices.Of(s, s.Input(0), s.Output(0)).Inner == 1;

    public SoftmaxInt8Vector(KernelSetup s, Isa isa, string name)
    {
        var (slices, outputScale, outputZeroPoint) = SoftmaxKernels.CheckInt8(s);
        (_outer, _length, _outputScale, _outputZeroPoint) = (slices.Outer, slices.Length, outputScale, outputZeroPoint);
        _table = s.ConstantInput<float>(1).ToArray();
        _weights = new float[_length];
        _x = s.InputId(0);
        _y = s.OutputId(0);
        _isa = isa;
        _name = name;
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        for (int o = 0; o < _outer; o++)
        {
            var slice = x.Slice(o * _length, _length);
            int max = Max(slice);
            float sum = 0;
            for (int k = 0; k < _length; k++)
            {
                float e = _table[max - slice[k]];
                _weights[k] = e;
                sum += e;
            }
            var output = y.Slice(o * _length, _length);
            int i = _isa == Isa.Avx2 ? Normalize256(output, sum) : Normalize128(output, sum);
            for (; i < _length; i++)
                output[i] = (sbyte)Math.Clamp(MathF.Round(_weights[i] / sum / _outputScale, MidpointRounding.AwayFromZero) + _outputZeroPoint, -128f, 127f);
        }
    }

    private static int Max(ReadOnlySpan<sbyte> slice)
    {
        int i = 0, max = -128;
        if (slice.Length >= 16)
        {
            var m = Vector128.Create(sbyte.MinValue);
            for (; i + 16 <= slice.Length; i += 16) m = Vector128.Max(m, Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(slice), (nuint)i));
            for (int t = 0; t < 16; t++) max = Math.Max(max, m.GetElement(t));
        }
        for (; i < slice.Length; i++) max = Math.Max(max, slice[i]);
        return max;
    }

    private int Normalize256(Span<sbyte> output, float sum)
    {
        var total = Vector256.Create(sum);
        var sy = Vector256.Create(_outputScale);
        var zy = Vector256.Create((float)_outputZeroPoint);
        ref float w = ref MemoryMarshal.GetArrayDataReference(_weights);
        int i = 0;
        for (; i + 8 <= _length; i += 8)
        {
            // NaN gives 0, as the reference's cast does.
            var ints = QuantizeVector.RoundToInt8(Vector256.LoadUnsafe(ref w, (nuint)i) / total / sy, zy, Vector256<int>.Zero);
            var s = Vector128.Narrow(ints.GetLower(), ints.GetUpper());
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref output[i]), Vector128.Narrow(s, s).AsInt64().ToScalar());
        }
        return i;
    }

    private int Normalize128(Span<sbyte> output, float sum)
    {
        var total = Vector128.Create(sum);
        var sy = Vector128.Create(_outputScale);
        var zy = Vector128.Create((float)_outputZeroPoint);
        ref float w = ref MemoryMarshal.GetArrayDataReference(_weights);
        int i = 0;
        for (; i + 4 <= _length; i += 4)
        {
            var ints = QuantizeVector.RoundToInt8(Vector128.LoadUnsafe(ref w, (nuint)i) / total / sy, zy, Vector128<int>.Zero);
            var s = Vector128.Narrow(ints, ints);
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref output[i]), Vector128.Narrow(s, s).AsInt32().ToScalar());
        }
        return i;
    }
}
