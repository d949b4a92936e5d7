using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 Gemm for many rows (a transformer's projections over a sequence), Y[r, j] = requant(B[j] + Σ_k (A[r, k] − za)·W[j, k]),
/// on <see cref="MatMulInt8Vector.RowPairsAvx2"/>: W as int16 pairs [k/2][j][2] once at prepare time, each row of
/// A − za broadcast a pair at a time against 8 outputs, so there are no horizontal sums (which
/// <see cref="GemmInt8Vector"/>'s dot products along K pay per 8 outputs). Bias and per-output requantization per lane.
/// The sums wrap in int32 like the reference's.
/// </summary>
internal sealed class GemmInt8BroadcastRows : OpKernel
{
    private readonly string _name;
    private readonly int _a, _y, _rows, _n, _k, _paddedK, _paddedN;
    private readonly int _inputZeroPoint, _outputZeroPoint, _min, _max;
    private readonly int[] _bias, _multipliers, _leftShifts, _rightShifts, _masks;
    private readonly short[] _packed, _row;

    public static bool CanHandle(KernelSetup s) => GemmInt8Vector.CanHandle(s);

    public GemmInt8BroadcastRows(KernelSetup s, string name)
    {
        _name = name;
        var shape = new GemmKernels.GemmShape(s, DataType.Int8, DataType.Int32);
        (_inputZeroPoint, _outputZeroPoint, var multipliers, var shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, shape.N);
        (_rows, _n, _k) = (shape.Rows, shape.N, shape.K);
        _a = s.InputId(0);
        _y = s.OutputId(0);
        _paddedK = (_k + 1) & ~1;
        _paddedN = (_n + 7) & ~7;
        var weights = s.ConstantInput<sbyte>(1);
        _packed = new short[_paddedK * _paddedN];
        for (int j = 0; j < _n; j++)
            for (int p = 0; p < _k; p++) _packed[(p & ~1) * _paddedN + 2 * j + (p & 1)] = weights[j * _k + p];
        _row = new short[_paddedK];
        _bias = new int[_paddedN];
        if (s.HasInput(2)) s.ConstantInput<int>(2).CopyTo(_bias);
        _multipliers = new int[_paddedN];
        _leftShifts = new int[_paddedN];
        _rightShifts = new int[_paddedN];
        _masks = new int[_paddedN];
        for (int j = 0; j < _n; j++)
        {
            _multipliers[j] = multipliers[j];
            _leftShifts[j] = Math.Max(0, shifts[j]);
            _rightShifts[j] = Math.Max(0, -shifts[j]);
            _masks[j] = (int)((1L << _rightShifts[j]) - 1);
        }
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var a = memory.Read<sbyte>(_a);
        var y = memory.Write<sbyte>(_y);
        for (int r = 0; r < _rows; r++)
        {
            GemmInt8Vector.Widen(a.Slice(r * _k, _k), _row, _inputZeroPoint);
            MatMulInt8Vector.RowPairsAvx2(_row, _packed, _paddedK, _paddedN, y.Slice(r * _n, _n), new ChannelRequantization(this));
        }
    }

    /// <summary>Bias and each output's own (multiplier, shift), lane by lane.</summary>
    private readonly struct ChannelRequantization(GemmInt8BroadcastRows kernel) : MatMulInt8Vector.IStore8
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(Vector256<int> sums, Span<sbyte> output, int j)
        {
            var k = kernel;
            var rounded = Requantization.MultiplyByQuantizedMultiplier(sums + Vector256.LoadUnsafe(ref k._bias[j]), Vector256.LoadUnsafe(ref k._multipliers[j]),
                Vector256.LoadUnsafe(ref k._leftShifts[j]), Vector256.LoadUnsafe(ref k._rightShifts[j]), Vector256.LoadUnsafe(ref k._masks[j]));
            var r = Requantization.ToOutputRange(rounded, Vector256.Create(k._outputZeroPoint), Vector256.Create(k._min), Vector256.Create(k._max));
            var s = Vector128.Narrow(r.GetLower(), r.GetUpper());
            MatMulInt8Vector.StoreBytes(Vector128.Narrow(s, s).AsInt64().ToScalar(), output, j, 8);
        }
    }
}
