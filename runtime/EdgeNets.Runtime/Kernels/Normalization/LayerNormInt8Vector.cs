using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 LayerNormalization with the reference's double arithmetic, written once over the vector width
/// (<see cref="IDoubleVector{TVec}"/>: 128, 256 or 512 bits). The mean and the squared deviations:
/// <list type="bullet">
/// <item>rows of 2^m ≤ 4096 values: from the integer sums Σq and Σq² on vectors. The mean Σq / 2^m is exact in double,
/// so is every (q − mean)² and every partial sum of them (multiples of 2^-2m below 2^53), so the reference's sum in index
/// order is exactly (2^m·Σq² − (Σq)²) / 2^m, whatever the order;</item>
/// <item>other rows: the squared deviations summed in index order, as the reference (double addition does not reassociate).</item>
/// </list>
/// Then the normalization, affine step, rounding half away from zero, zero point and clamp on lanes of doubles, each lane
/// the reference's operations in its order. Scale and bias are widened to double once, as the reference's float
/// operands are in each expression.
/// </summary>
internal sealed class LayerNormInt8Vector : OpKernel
{
    /// <summary>The longest power-of-two row whose squared deviations sum exactly in double.</summary>
    private const int ExactSumsMaxLength = 4096;

    private readonly string _name;
    private readonly Isa _isa;
    private readonly int _x, _y, _rows, _length, _outputZeroPoint;
    private readonly bool _exactSums;
    private readonly double _epsilon, _inputScale, _outputScale;
    private readonly double[] _scale, _bias;

    public LayerNormInt8Vector(KernelSetup s, Isa isa, string name)
    {
        var p = LayerNormKernels.Parameters.Read(s, DataType.Int8);
        (_rows, _length, _epsilon, _inputScale, _outputScale, _outputZeroPoint) = (p.Rows, p.Length, p.Epsilon, p.InputScale, p.OutputScale, p.OutputZeroPoint);
        _exactSums = BitOperations.IsPow2(_length) && _length <= ExactSumsMaxLength;
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
        switch (_isa)
        {
            case Isa.Avx512: Run<Vector512<double>, Double512>(memory); break;
            case Isa.Avx2: Run<Vector256<double>, Double256>(memory); break;
            default: Run<Vector128<double>, Double128>(memory); break;
        }
    }

    private void Run<TVec, TOps>(TensorMemory memory) where TVec : struct where TOps : struct, IDoubleVector<TVec>
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        for (int r = 0; r < _rows; r++)
        {
            var row = x.Slice(r * _length, _length);
            double mean, squares;
            if (_exactSums)
            {
                var (sum, sumOfSquares) = IntegerSums(row);
                mean = (double)sum / _length;
                squares = (double)((long)_length * sumOfSquares - (long)sum * sum) / _length;
            }
            else
            {
                long sum = 0;
                foreach (sbyte v in row) sum += v;
                mean = (double)sum / _length;
                squares = 0;
                foreach (sbyte v in row) squares += (v - mean) * (v - mean);
            }
            double inverse = _inputScale / Math.Sqrt(_inputScale * _inputScale * squares / _length + _epsilon);
            var output = y.Slice(r * _length, _length);
            int i = Normalize<TVec, TOps>(row, output, mean, inverse);
            for (; i < _length; i++) output[i] = LayerNormKernels.Parameters.Quantize((row[i] - mean) * inverse * _scale[i] + _bias[i], _outputScale, _outputZeroPoint);
        }
    }

    /// <summary>Σq and Σq² of a row, 16 values per step: q² ≤ 2^14, so two of them add without overflow in uint16.</summary>
    private static (int Sum, int SumOfSquares) IntegerSums(ReadOnlySpan<sbyte> row)
    {
        ref sbyte src = ref MemoryMarshal.GetReference(row);
        var sums = Vector128<int>.Zero;
        var squares = Vector128<uint>.Zero;
        int i = 0;
        for (; i + 16 <= row.Length; i += 16)
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
            var (s0, s1) = Vector128.Widen(lo + hi);
            var (q0, q1) = Vector128.Widen((lo * lo + hi * hi).AsUInt16());
            sums += s0 + s1;
            squares += q0 + q1;
        }
        int sum = Vector128.Sum(sums), sumOfSquares = (int)Vector128.Sum(squares);
        for (; i < row.Length; i++)
        {
            int v = Unsafe.Add(ref src, i);
            sum += v;
            sumOfSquares += v * v;
        }
        return (sum, sumOfSquares);
    }

    /// <summary>Whole vectors from the start of the row; returns how many values were written.</summary>
    private int Normalize<TVec, TOps>(ReadOnlySpan<sbyte> row, Span<sbyte> output, double mean, double inverse)
        where TVec : struct where TOps : struct, IDoubleVector<TVec>
    {
        var m = TOps.Splat(mean);
        var inv = TOps.Splat(inverse);
        var sy = TOps.Splat(_outputScale);
        var zy = TOps.Splat(_outputZeroPoint);
        ref sbyte src = ref MemoryMarshal.GetReference(row);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        ref double scale = ref MemoryMarshal.GetArrayDataReference(_scale);
        ref double bias = ref MemoryMarshal.GetArrayDataReference(_bias);
        int i = 0;
        for (; i + TOps.Count <= _length; i += TOps.Count)
        {
            var q = TOps.LoadInt8(ref src, (nuint)i);
            var t = TOps.Divide(TOps.Add(TOps.Multiply(TOps.Multiply(TOps.Subtract(q, m), inv), TOps.Load(ref scale, (nuint)i)), TOps.Load(ref bias, (nuint)i)), sy);
            TOps.StoreRoundedInt8(t, zy, ref dst, (nuint)i);
        }
        return i;
    }
}
