using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 Gemm for many rows (a transformer's projections over a sequence), Y[r, j] = requant(B[j] + Σ_k (A[r, k] − za)·W[j, k]),
/// with W packed once at prepare time and each row of A broadcast against whole vectors of outputs, so there are no
/// horizontal sums (which <see cref="GemmInt8Vector"/>'s dot products along K pay per block of outputs):
/// <list type="bullet">
/// <item>AVX2: <see cref="Int16Pairs.Row"/>, W as int16 pairs [k/2][j][2], the row widened as A − za (on 512 bits it
/// was no faster: tools/benchmarks/README.md, the transformer).</item>
/// <item>SDOT: <see cref="Int8Quads.Row"/>, W as int8 quadruplets [k/4][j][4], the raw row, and −za·Σ_k W[j, k] folded
/// into the bias.</item>
/// </list>
/// Bias and per-output requantization per lane. The sums wrap in int32 like the reference's.
/// </summary>
internal sealed class GemmInt8BroadcastRows : OpKernel
{
    private readonly string _name;
    private readonly Isa _isa;
    private readonly int _a, _y, _rows, _n, _k, _paddedK, _paddedN;
    private readonly int _inputZeroPoint, _outputZeroPoint, _min, _max;
    /// <summary>Per output, padded: x86 the right shift and its remainder mask; arm64 the right shift negated and int.MinValue where it is negative (<see cref="Requantization.Rescale(Vector128{int}, Vector128{int}, Vector128{int}, Vector128{int}, Vector128{int})"/>).</summary>
    private readonly int[] _bias, _multipliers, _leftShifts, _rightShifts, _masks;
    private readonly short[] _packed16 = [], _row16 = [];
    private readonly sbyte[] _packed8 = [], _row8 = [];

    public static bool CanHandle(KernelSetup s) => GemmInt8Vector.CanHandle(s);

    public GemmInt8BroadcastRows(KernelSetup s, Isa isa, string name)
    {
        _name = name;
        _isa = isa;
        var shape = new GemmKernels.GemmShape(s, DataType.Int8, DataType.Int32);
        (_inputZeroPoint, _outputZeroPoint, var multipliers, var shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, shape.N);
        (_rows, _n, _k) = (shape.Rows, shape.N, shape.K);
        _a = s.InputId(0);
        _y = s.OutputId(0);
        var weights = s.ConstantInput<sbyte>(1);
        _bias = new int[(_n + 15) & ~15];
        if (s.HasInput(2)) s.ConstantInput<int>(2).CopyTo(_bias);
        bool arm = isa == Isa.AdvSimdDot;
        if (arm)
        {
            _paddedK = (_k + 15) & ~15;
            _paddedN = (_n + 15) & ~15;
            _packed8 = Int8Quads.PackRowsAsQuads(weights, _n, _k, _paddedN, _paddedK);
            _row8 = new sbyte[_paddedK];
            for (int j = 0; j < _n; j++)
            {
                int sum = 0;
                for (int p = 0; p < _k; p++) sum += weights[j * _k + p];
                _bias[j] = unchecked(_bias[j] - _inputZeroPoint * sum);
            }
        }
        else
        {
            _paddedK = (_k + 1) & ~1;
            _paddedN = (_n + 7) & ~7;
            _packed16 = new short[_paddedK * _paddedN];
            for (int j = 0; j < _n; j++)
                for (int p = 0; p < _k; p++) _packed16[(p & ~1) * _paddedN + 2 * j + (p & 1)] = weights[j * _k + p];
            _row16 = new short[_paddedK];
        }
        _multipliers = new int[_paddedN];
        _leftShifts = new int[_paddedN];
        _rightShifts = new int[_paddedN];
        _masks = new int[_paddedN];
        for (int j = 0; j < _n; j++)
        {
            _multipliers[j] = multipliers[j];
            _leftShifts[j] = Math.Max(0, shifts[j]);
            _rightShifts[j] = arm ? Math.Min(0, shifts[j]) : Math.Max(0, -shifts[j]);
            _masks[j] = arm ? (shifts[j] < 0 ? int.MinValue : 0) : (int)((1L << _rightShifts[j]) - 1);
        }
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var a = memory.Read<sbyte>(_a);
        var y = memory.Write<sbyte>(_y);
        var store = new ChannelRequantization(this);
        for (int r = 0; r < _rows; r++)
        {
            var row = a.Slice(r * _k, _k);
            var output = y.Slice(r * _n, _n);
            switch (_isa)
            {
                case Isa.AdvSimdDot:
                    Int8Quads.Row(ref Int8Quads.PaddedRow(row, _row8), _packed8, _paddedK, _paddedN, output, store);
                    break;
                default:
                    GemmInt8Vector.Widen(row, _row16, _inputZeroPoint);
                    Int16Pairs.Row<Vector256<int>, Pairs256, ChannelRequantization>(_row16, _packed16, _paddedK, _paddedN, output, store);
                    break;
            }
        }
    }

    /// <summary>Bias and each output's own (multiplier, shift), lane by lane.</summary>
    private readonly struct ChannelRequantization(GemmInt8BroadcastRows kernel) : IPairStore<Vector256<int>>, IQuadStore
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

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(Vector128<int> s0, Vector128<int> s1, Vector128<int> s2, Vector128<int> s3, Span<sbyte> output, int j0)
        {
            var k = kernel;
            var zero = Vector128.Create(k._outputZeroPoint);
            var r0 = Rescale(s0, j0) + zero;
            var r1 = Rescale(s1, j0 + 4) + zero;
            var r2 = Rescale(s2, j0 + 8) + zero;
            var r3 = Rescale(s3, j0 + 12) + zero;
            MatMulInt8Vector.Store16(Requantization.NarrowClamp(r0, r1, r2, r3, Vector128.Create((sbyte)k._min), Vector128.Create((sbyte)k._max)), output, j0);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector128<int> Rescale(Vector128<int> sums, int j)
        {
            var k = kernel;
            nuint o = (nuint)j;
            return Requantization.Rescale(sums + Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(k._bias), o),
                Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(k._multipliers), o), Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(k._leftShifts), o),
                Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(k._rightShifts), o), Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(k._masks), o));
        }
    }
}
