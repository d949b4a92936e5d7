using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>Binary arithmetic with broadcasting (Add, Mul) and MatMul, float32 and int8 (docs/operators.md).</summary>
public static class ElementwiseKernels
{
    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry("AddFloat32_Reference", OpType.Add, DataType.Float32, s => new BinaryFloat32Kernel(s, isAdd: true)));
        list.Add(new KernelEntry("MulFloat32_Reference", OpType.Mul, DataType.Float32, s => new BinaryFloat32Kernel(s, isAdd: false)));
        list.Add(new KernelEntry("AddInt8_Reference", OpType.Add, DataType.Int8, s => new AddInt8Kernel(s)));
        list.Add(new KernelEntry("MulInt8_Reference", OpType.Mul, DataType.Int8, s => new MulInt8Kernel(s)));
        list.Add(new KernelEntry("MatMulFloat32_Reference", OpType.MatMul, DataType.Float32, s => new MatMulFloat32Kernel(s)));
        list.Add(new KernelEntry("MatMulInt8_Reference", OpType.MatMul, DataType.Int8, s => new MatMulInt8Kernel(s)));
    }

    /// <summary>Checks types and the broadcast of a two-input elementwise op and plans its element walk.</summary>
    internal static BroadcastPlan PlanBinary(KernelSetup s, DataType type)
    {
        s.ExpectCounts(2, 2, 1);
        var a = s.Input(0);
        var b = s.Input(1);
        var y = s.Output(0);
        s.ExpectType(a, type);
        s.ExpectType(b, type);
        s.ExpectType(y, type);
        return BroadcastPlan.Create(a.Shape, b.Shape, y.Shape)
            ?? throw s.Fail($"inputs [{ShapeUtil.Format(a.Shape)}] and [{ShapeUtil.Format(b.Shape)}] do not broadcast to output [{ShapeUtil.Format(y.Shape)}]");
    }

    /// <summary>Fused clamp of a float op; absent bounds are infinite.</summary>
    internal static (float Min, float Max) FloatClamp(KernelSetup s)
    {
        float min = s.Attributes.GetFloat(AttributeKey.ActivationMin, float.NegativeInfinity);
        float max = s.Attributes.GetFloat(AttributeKey.ActivationMax, float.PositiveInfinity);
        if (float.IsNaN(min) || float.IsNaN(max) || min > max) throw s.Fail($"fused clamp [{min}, {max}] is empty or NaN");
        return (min, max);
    }

    /// <summary>Output clamp of an int8 op (fused activation included); defaults to the whole int8 range.</summary>
    internal static (int Min, int Max) QuantizedClamp(KernelSetup s)
    {
        int min = s.Attributes.GetInt(AttributeKey.QuantizedMin, -128);
        int max = s.Attributes.GetInt(AttributeKey.QuantizedMax, 127);
        if (min < -128 || max > 127 || min > max) throw s.Fail($"quantized clamp [{min}, {max}] is not a non-empty int8 range");
        return (min, max);
    }

    /// <summary>A per-tensor int8 quantization (one scale, zero point in int8 range).</summary>
    internal static QuantizationInfo PerTensorQuant(KernelSetup s, TensorInfo t)
    {
        var q = s.Quant(t);
        if (q.IsPerChannel || q.Scales.Length != 1) throw s.Fail($"int8 tensor '{t.Name}' must be quantized per tensor");
        if (q.ZeroPoint < -128 || q.ZeroPoint > 127) throw s.Fail($"int8 tensor '{t.Name}' has zero point {q.ZeroPoint} outside int8");
        return q;
    }

    /// <summary>Reads one (multiplier, shift) pair at <paramref name="index"/> from a multiplier/shift attribute pair.</summary>
    internal static (int Multiplier, int Shift) RequireMultiplier(KernelSetup s, AttributeKey multiplierKey, AttributeKey shiftKey, int count, int index)
    {
        var m = s.RequireInts(multiplierKey, count);
        var sh = s.RequireInts(shiftKey, count);
        if (m[index] < 0) throw s.Fail($"attribute {multiplierKey}[{index}] = {m[index]} is negative");
        if (sh[index] > 30 || sh[index] < -31) throw s.Fail($"attribute {shiftKey}[{index}] = {sh[index]} is out of range");
        return (m[index], sh[index]);
    }

    private sealed class BinaryFloat32Kernel : OpKernel
    {
        private readonly int _a, _b, _y;
        private readonly bool _isAdd;
        private readonly float _min, _max;
        private readonly BroadcastPlan _plan;

        public BinaryFloat32Kernel(KernelSetup s, bool isAdd)
        {
            _plan = PlanBinary(s, DataType.Float32);
            (_min, _max) = FloatClamp(s);
            _isAdd = isAdd;
            _a = s.InputId(0);
            _b = s.InputId(1);
            _y = s.OutputId(0);
            Name = isAdd ? "AddFloat32_Reference" : "MulFloat32_Reference";
        }

        public override string Name { get; }

        public override void Run(TensorMemory memory)
        {
            var a = memory.Read<float>(_a);
            var b = memory.Read<float>(_b);
            var y = memory.Write<float>(_y);
            var plan = _plan;
            int inner = plan.InnerCount, sa = plan.InnerStrideA, sb = plan.InnerStrideB;
            float min = _min, max = _max;
            for (int row = 0; row < plan.OuterCount; row++)
            {
                plan.RowOffsets(row, out int ia, out int ib);
                int o = row * inner;
                for (int i = 0; i < inner; i++, ia += sa, ib += sb)
                {
                    float v = _isAdd ? a[ia] + b[ib] : a[ia] * b[ib];
                    y[o + i] = Math.Min(Math.Max(v, min), max);
                }
            }
        }
    }

    /// <summary>
    /// int8 Add: both inputs are brought to a common fixed-point scale (after a left shift that keeps precision),
    /// summed, and requantized to the output.
    /// </summary>
    private sealed class AddInt8Kernel : OpKernel
    {
        private readonly int _a, _b, _y;
        private readonly int _za, _zb, _zy, _leftShift, _qmin, _qmax;
        private readonly int _ma, _sa, _mb, _sb, _my, _sy;
        private readonly BroadcastPlan _plan;

        public AddInt8Kernel(KernelSetup s)
        {
            _plan = PlanBinary(s, DataType.Int8);
            _za = PerTensorQuant(s, s.Input(0)).ZeroPoint;
            _zb = PerTensorQuant(s, s.Input(1)).ZeroPoint;
            _zy = PerTensorQuant(s, s.Output(0)).ZeroPoint;
            _leftShift = s.RequireInts(AttributeKey.LeftShift, 1)[0];
            // (x - zx) spans 9 bits, so up to 22 bits of shift stay well inside int32 before rescaling.
            if (_leftShift < 0 || _leftShift > 22) throw s.Fail($"attribute LeftShift = {_leftShift} is outside [0, 22]");
            (_ma, _sa) = RequireMultiplier(s, AttributeKey.InputMultiplier, AttributeKey.InputShift, 2, 0);
            (_mb, _sb) = RequireMultiplier(s, AttributeKey.InputMultiplier, AttributeKey.InputShift, 2, 1);
            (_my, _sy) = RequireMultiplier(s, AttributeKey.OutputMultiplier, AttributeKey.OutputShift, 1, 0);
            (_qmin, _qmax) = QuantizedClamp(s);
            _a = s.InputId(0);
            _b = s.InputId(1);
            _y = s.OutputId(0);
        }

        public override string Name => "AddInt8_Reference";

        public override void Run(TensorMemory memory)
        {
            var a = memory.Read<sbyte>(_a);
            var b = memory.Read<sbyte>(_b);
            var y = memory.Write<sbyte>(_y);
            var plan = _plan;
            int inner = plan.InnerCount, stepA = plan.InnerStrideA, stepB = plan.InnerStrideB;
            for (int row = 0; row < plan.OuterCount; row++)
            {
                plan.RowOffsets(row, out int ia, out int ib);
                int o = row * inner;
                for (int i = 0; i < inner; i++, ia += stepA, ib += stepB)
                {
                    int va = FixedPoint.MultiplyByQuantizedMultiplier((a[ia] - _za) << _leftShift, _ma, _sa);
                    int vb = FixedPoint.MultiplyByQuantizedMultiplier((b[ib] - _zb) << _leftShift, _mb, _sb);
                    y[o + i] = FixedPoint.Requantize(va + vb, _my, _sy, _zy, _qmin, _qmax);
                }
            }
        }
    }

    private sealed class MulInt8Kernel : OpKernel
    {
        private readonly int _a, _b, _y;
        private readonly int _za, _zb, _zy, _qmin, _qmax, _my, _sy;
        private readonly BroadcastPlan _plan;

        public MulInt8Kernel(KernelSetup s)
        {
            _plan = PlanBinary(s, DataType.Int8);
            _za = PerTensorQuant(s, s.Input(0)).ZeroPoint;
            _zb = PerTensorQuant(s, s.Input(1)).ZeroPoint;
            _zy = PerTensorQuant(s, s.Output(0)).ZeroPoint;
            (_my, _sy) = RequireMultiplier(s, AttributeKey.OutputMultiplier, AttributeKey.OutputShift, 1, 0);
            (_qmin, _qmax) = QuantizedClamp(s);
            _a = s.InputId(0);
            _b = s.InputId(1);
            _y = s.OutputId(0);
        }

        public override string Name => "MulInt8_Reference";

        public override void Run(TensorMemory memory)
        {
            var a = memory.Read<sbyte>(_a);
            var b = memory.Read<sbyte>(_b);
            var y = memory.Write<sbyte>(_y);
            var plan = _plan;
            int inner = plan.InnerCount, stepA = plan.InnerStrideA, stepB = plan.InnerStrideB;
            for (int row = 0; row < plan.OuterCount; row++)
            {
                plan.RowOffsets(row, out int ia, out int ib);
                int o = row * inner;
                for (int i = 0; i < inner; i++, ia += stepA, ib += stepB)
                    y[o + i] = FixedPoint.Requantize((a[ia] - _za) * (b[ib] - _zb), _my, _sy, _zy, _qmin, _qmax);
            }
        }
    }

    /// <summary>
    /// Shapes of an ONNX (numpy) matmul: rank-1 operands are promoted ([K] → [1,K] for A, [K] → [K,1] for B) and the
    /// promoted axis is dropped from the output; leading batch axes broadcast.
    /// </summary>
    internal sealed class MatMulShape
    {
        public int M, K, N;
        public BroadcastPlan Batches = null!;
        public int BatchCount;

        public MatMulShape(KernelSetup s, DataType type)
        {
            s.ExpectCounts(2, 2, 1);
            var a = s.Input(0);
            var b = s.Input(1);
            var y = s.Output(0);
            s.ExpectType(a, type);
            s.ExpectType(b, type);
            s.ExpectType(y, type);
            if (a.Rank < 1 || b.Rank < 1) throw s.Fail("inputs must have rank 1 or more");
            int[] sa = a.Rank == 1 ? [1, a.Shape[0]] : a.Shape;
            int[] sb = b.Rank == 1 ? [b.Shape[0], 1] : b.Shape;
            M = sa[^2];
            K = sa[^1];
            N = sb[^1];
            if (sb[^2] != K) throw s.Fail($"inner dimensions of [{ShapeUtil.Format(a.Shape)}] and [{ShapeUtil.Format(b.Shape)}] differ");

            int[] batchA = sa[..^2], batchB = sb[..^2];
            var batch = ShapeUtil.Broadcast(batchA, batchB)
                ?? throw s.Fail($"batch dimensions of [{ShapeUtil.Format(a.Shape)}] and [{ShapeUtil.Format(b.Shape)}] do not broadcast");
            var expected = new List<int>(batch);
            if (a.Rank != 1) expected.Add(M);
            if (b.Rank != 1) expected.Add(N);
            if (!ShapeUtil.SameShape(expected.ToArray(), y.Shape))
                throw s.Fail($"output [{ShapeUtil.Format(y.Shape)}] should be [{ShapeUtil.Format(expected.ToArray())}]");
            Batches = BroadcastPlan.Create(batchA, batchB, batch)!;
            BatchCount = ShapeUtil.ElementCount(batch);
        }

        /// <summary>Element offsets of the A and B matrices of output batch <paramref name="batch"/>.</summary>
        public void MatrixOffsets(int batch, out int offsetA, out int offsetB)
        {
            // The plan walks batch indices as rows of InnerCount; turn a flat batch index into that walk.
            var p = Batches;
            int row = batch / p.InnerCount, i = batch % p.InnerCount;
            p.RowOffsets(row, out int ia, out int ib);
            offsetA = (ia + i * p.InnerStrideA) * M * K;
            offsetB = (ib + i * p.InnerStrideB) * K * N;
        }
    }

    private sealed class MatMulFloat32Kernel : OpKernel
    {
        private readonly int _a, _b, _y;
        private readonly MatMulShape _shape;

        public MatMulFloat32Kernel(KernelSetup s)
        {
            _shape = new MatMulShape(s, DataType.Float32);
            _a = s.InputId(0);
            _b = s.InputId(1);
            _y = s.OutputId(0);
        }

        public override string Name => "MatMulFloat32_Reference";

        public override void Run(TensorMemory memory)
        {
            var a = memory.Read<float>(_a);
            var b = memory.Read<float>(_b);
            var y = memory.Write<float>(_y);
            var sh = _shape;
            int m = sh.M, k = sh.K, n = sh.N;
            for (int batch = 0; batch < sh.BatchCount; batch++)
            {
                sh.MatrixOffsets(batch, out int oa, out int ob);
                int oy = batch * m * n;
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        float acc = 0;
                        for (int p = 0; p < k; p++) acc += a[oa + i * k + p] * b[ob + p * n + j];
                        y[oy + i * n + j] = acc;
                    }
            }
        }
    }

    private sealed class MatMulInt8Kernel : OpKernel
    {
        private readonly int _a, _b, _y;
        private readonly int _za, _zb, _zy, _qmin, _qmax, _my, _sy;
        private readonly MatMulShape _shape;

        public MatMulInt8Kernel(KernelSetup s)
        {
            _shape = new MatMulShape(s, DataType.Int8);
            _za = PerTensorQuant(s, s.Input(0)).ZeroPoint;
            _zb = PerTensorQuant(s, s.Input(1)).ZeroPoint;
            _zy = PerTensorQuant(s, s.Output(0)).ZeroPoint;
            // Each product is at most 255^2 < 2^16, so K up to 2^15 keeps the int32 accumulator exact.
            if (_shape.K > 1 << 15) throw s.Fail($"inner dimension {_shape.K} is too large for an int32 accumulator");
            (_my, _sy) = RequireMultiplier(s, AttributeKey.OutputMultiplier, AttributeKey.OutputShift, 1, 0);
            (_qmin, _qmax) = QuantizedClamp(s);
            _a = s.InputId(0);
            _b = s.InputId(1);
            _y = s.OutputId(0);
        }

        public override string Name => "MatMulInt8_Reference";

        public override void Run(TensorMemory memory)
        {
            var a = memory.Read<sbyte>(_a);
            var b = memory.Read<sbyte>(_b);
            var y = memory.Write<sbyte>(_y);
            var sh = _shape;
            int m = sh.M, k = sh.K, n = sh.N;
            for (int batch = 0; batch < sh.BatchCount; batch++)
            {
                sh.MatrixOffsets(batch, out int oa, out int ob);
                int oy = batch * m * n;
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        int acc = 0;
                        for (int p = 0; p < k; p++) acc += (a[oa + i * k + p] - _za) * (b[ob + p * n + j] - _zb);
                        y[oy + i * n + j] = FixedPoint.Requantize(acc, _my, _sy, _zy, _qmin, _qmax);
                    }
            }
        }
    }
}
