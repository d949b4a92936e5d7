using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 LayerNormalization with the reference's double arithmetic: the row sum in integers, the sum of squared
/// deviations in index order (double addition does not reassociate), then the normalization, affine step, rounding
/// half away from zero, zero point and clamp on vector lanes of doubles (256-bit: 4, 128-bit: 2), each lane the
/// reference's operations in its order. Scale and bias are widened to double once, as the reference's float operands
/// are in each expression.
/// </summary>
internal sealed class LayerNormInt8Vector : OpKernel
{
    private readonly string _name;
    private readonly Isa _isa;
    private readonly int _x, _y, _rows, _length, _outputZeroPoint;
    private readonly double _epsilon, _inputScale, _outputScale;
    private readonly double[] _scale, _bias;

        public LayerNormInt8Vector(KernelSetup s, Isa isa, string name)
    {
        var p = LayerNormKernels.Parameters.Read(s, DataType.Int8);
        (_rows, _length, _epsilon, _inputScale, _outputScale, _outputZeroPoint) = (p.Rows, p.Length, p.Epsilon, p.InputScale, p.OutputScale, p.OutputZeroPoint);
        _scale = Array.ConvertAll(p.Scale, v => (double)v);
        _bias = Array.ConvertAll(p.Bias, v => (double)v);
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
        for (int r = 0; r < _rows; r++)
        {
            var row = x.Slice(r * _length, _length);
            int sum = 0;
            foreach (sbyte v in row) sum += v;
            double mean = (double)sum / _length, squares = 0;
            foreach (sbyte v in row) squares += (v - mean) * (v - mean);
            double inverse = _inputScale / Math.Sqrt(_inputScale * _inputScale * squares / _length + _epsilon);
            var output = y.Slice(r * _length, _length);
            int i = _isa == Isa.Avx2 ? Normalize256(row, output, mean, inverse) : Normalize128(row, output, mean, inverse);
            for (; i < _length; i++) output[i] = LayerNormKernels.Parameters.Quantize((row[i] - mean) * inverse * _scale[i] + _bias[i], _outputScale, _outputZeroPoint);
        }
    }

    /// <summary>Whole groups of 4 from the start of the row; returns how many were written.</summary>
    private int Normalize256(ReadOnlySpan<sbyte> row, Span<sbyte> output, double mean, double inverse)
    {
        var m = Vector256.Create(mean);
        var inv = Vector256.Create(inverse);
        var sy = Vector256.Create(_outputScale);
        var zy = Vector256.Create((double)_outputZeroPoint);
        ref double scale = ref MemoryMarshal.GetArrayDataReference(_scale);
        ref double bias = ref MemoryMarshal.GetArrayDataReference(_bias);
        int i = 0;
        for (; i + 4 <= _length; i += 4)
        {
            var q = Vector256.Create((double)row[i], row[i + 1], row[i + 2], row[i + 3]);
            var t = ((q - m) * inv * Vector256.LoadUnsafe(ref scale, (nuint)i) + Vector256.LoadUnsafe(ref bias, (nuint)i)) / sy;
            var whole = Vector256.Truncate(t);
            var away = Vector256.GreaterThanOrEqual(Vector256.Abs(t - whole), Vector256.Create(0.5));
            var value = Vector256.ConditionalSelect(away, whole + Vector256.CopySign(Vector256.Create(1.0), t), whole) + zy;
            var clamped = Vector256.ConditionalSelect(Vector256.Equals(value, value), Vector256.Min(Vector256.Max(value, Vector256.Create(-128.0)), Vector256.Create(127.0)), zy);
            var ints = Vector256.ConvertToInt64(clamped);
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref output[i]),
                (uint)((byte)ints.GetElement(0) | (byte)ints.GetElement(1) << 8 | (byte)ints.GetElement(2) << 16 | (byte)ints.GetElement(3) << 24));
        }
        return i;
    }

    /// <summary>Whole pairs from the start of the row; returns how many were written.</summary>
    private int Normalize128(ReadOnlySpan<sbyte> row, Span<sbyte> output, double mean, double inverse)
    {
        var m = Vector128.Create(mean);
        var inv = Vector128.Create(inverse);
        var sy = Vector128.Create(_outputScale);
        var zy = Vector128.Create((double)_outputZeroPoint);
        ref double scale = ref MemoryMarshal.GetArrayDataReference(_scale);
        ref double bias = ref MemoryMarshal.GetArrayDataReference(_bias);
        int i = 0;
        for (; i + 2 <= _length; i += 2)
        {
            var q = Vector128.Create((double)row[i], row[i + 1]);
            var t = ((q - m) * inv * Vector128.LoadUnsafe(ref scale, (nuint)i) + Vector128.LoadUnsafe(ref bias, (nuint)i)) / sy;
            var whole = Vector128.Truncate(t);
            var away = Vector128.GreaterThanOrEqual(Vector128.Abs(t - whole), Vector128.Create(0.5));
            var value = Vector128.ConditionalSelect(away, whole + Vector128.CopySign(Vector128.Create(1.0), t), whole) + zy;
            var clamped = Vector128.ConditionalSelect(Vector128.Equals(value, value), Vector128.Min(Vector128.Max(value, Vector128.Create(-128.0)), Vector128.Create(127.0)), zy);
            var ints = Vector128.ConvertToInt64(clamped);
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref output[i]), (ushort)((byte)ints.GetElement(0) | (byte)ints.GetElement(1) << 8));
        }
        return i;
    }
}
