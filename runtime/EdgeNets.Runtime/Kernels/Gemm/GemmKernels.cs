using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// Gemm as the converter writes it: Y[..., n] = B[n] + Σ_k A[..., k]·W[n, k], with W [N, K] constant (already transposed,
/// alpha and beta folded in) and the leading dimensions of A flattened into rows. Float with a fused clamp; int8 with
/// per-output-channel requantization, exactly like Conv.
/// </summary>
public static class GemmKernels
{
    public const string Float32Name = "GemmFloat32_Reference";
    public const string Int8Name = "GemmInt8_Reference";

    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry(Float32Name, OpType.Gemm, DataType.Float32, s => new GemmFloat32Kernel(s)));
        list.Add(new KernelEntry(Int8Name, OpType.Gemm, DataType.Int8, s => new GemmInt8Kernel(s)));
    }

    /// <summary>Checks the shapes: A [..., K], W [N, K], B [N], Y [..., N] with A's leading dimensions.</summary>
    internal readonly struct GemmShape
    {
        public readonly int Rows, N, K;

        /// <param name="weightType">The weights' type when it is not the activations' (int8 weights of int16 layers).</param>
        public GemmShape(KernelSetup s, DataType activationType, DataType biasType, DataType? weightType = null)
        {
            s.ExpectCounts(2, 3, 1);
            var a = s.Input(0);
            var w = s.Input(1);
            var y = s.Output(0);
            s.ExpectType(a, activationType);
            s.ExpectType(w, weightType ?? activationType);
            s.ExpectType(y, activationType);
            if (!w.IsConstant) throw s.Fail($"weight '{w.Name}' must be a constant");
            if (a.Rank < 1) throw s.Fail($"input '{a.Name}' must have rank 1 or more");
            if (w.Rank != 2) throw s.Fail($"weight '{w.Name}' has shape [{ShapeUtil.Format(w.Shape)}], expected [N, K]");
            N = w.Shape[0];
            K = w.Shape[1];
            if (a.Shape[^1] != K)
                throw s.Fail($"input '{a.Name}' [{ShapeUtil.Format(a.Shape)}] has last dimension {a.Shape[^1]}, weight '{w.Name}' [{ShapeUtil.Format(w.Shape)}] expects {K}");
            var expected = (int[])a.Shape.Clone();
            expected[^1] = N;
            if (!ShapeUtil.SameShape(y.Shape, expected))
                throw s.Fail($"output '{y.Name}' has shape [{ShapeUtil.Format(y.Shape)}], expected [{ShapeUtil.Format(expected)}]");
            Rows = ShapeUtil.ElementCount(a.Shape.AsSpan(0, a.Rank - 1));
            if (s.HasInput(2))
            {
                var b = s.Input(2);
                s.ExpectType(b, biasType);
                if (!b.IsConstant) throw s.Fail($"bias '{b.Name}' must be a constant");
                if (b.Rank != 1 || b.Shape[0] != N)
                    throw s.Fail($"bias '{b.Name}' has shape [{ShapeUtil.Format(b.Shape)}], expected [{N}]");
            }
        }
    }

    private sealed class GemmFloat32Kernel : OpKernel
    {
        private readonly int _a, _w, _b, _y;
        private readonly GemmShape _shape;
        private readonly float _min, _max;

        public GemmFloat32Kernel(KernelSetup s)
        {
            _shape = new GemmShape(s, DataType.Float32, DataType.Float32);
            (_min, _max) = ConvKernels.ReadFloatClamp(s);
            _a = s.InputId(0);
            _w = s.InputId(1);
            _b = s.InputId(2);
            _y = s.OutputId(0);
        }

        public override string Name => Float32Name;

        public override void Run(TensorMemory memory)
        {
            var a = memory.Read<float>(_a);
            var w = memory.Read<float>(_w);
            var bias = _b >= 0 ? memory.Read<float>(_b) : default;
            var y = memory.Write<float>(_y);
            int rows = _shape.Rows, n = _shape.N, k = _shape.K;
            for (int r = 0; r < rows; r++)
            {
                var row = a.Slice(r * k, k);
                for (int j = 0; j < n; j++)
                {
                    var weights = w.Slice(j * k, k);
                    float acc = _b >= 0 ? bias[j] : 0f;
                    for (int i = 0; i < k; i++) acc += row[i] * weights[i];
                    y[r * n + j] = Math.Clamp(acc, _min, _max);
                }
            }
        }
    }

    private sealed class GemmInt8Kernel : OpKernel
    {
        private readonly int _a, _w, _b, _y;
        private readonly GemmShape _shape;
        private readonly int _inputZeroPoint, _outputZeroPoint, _min, _max;
        private readonly int[] _multipliers, _shifts;

        public GemmInt8Kernel(KernelSetup s)
        {
            _shape = new GemmShape(s, DataType.Int8, DataType.Int32);
            (_inputZeroPoint, _outputZeroPoint, _multipliers, _shifts, _min, _max) = ConvKernels.Int8Requantization.Read(s, _shape.N);
            _a = s.InputId(0);
            _w = s.InputId(1);
            _b = s.InputId(2);
            _y = s.OutputId(0);
        }

        public override string Name => Int8Name;

        public override void Run(TensorMemory memory)
        {
            var a = memory.Read<sbyte>(_a);
            var w = memory.Read<sbyte>(_w);
            var bias = _b >= 0 ? memory.Read<int>(_b) : default;
            var y = memory.Write<sbyte>(_y);
            int rows = _shape.Rows, n = _shape.N, k = _shape.K, za = _inputZeroPoint;
            for (int r = 0; r < rows; r++)
            {
                var row = a.Slice(r * k, k);
                for (int j = 0; j < n; j++)
                {
                    var weights = w.Slice(j * k, k);
                    int acc = _b >= 0 ? bias[j] : 0;
                    for (int i = 0; i < k; i++) acc += (row[i] - za) * weights[i];
                    y[r * n + j] = FixedPoint.Requantize(acc, _multipliers[j], _shifts[j], _outputZeroPoint, _min, _max);
                }
            }
        }
    }
}
