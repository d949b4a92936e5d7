using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// int8 Add: a' = MBQM((a - za) &lt;&lt; LeftShift, ma, sa), b' likewise, y = clamp(MBQM(a' + b', my, sy) + zy).
/// The scalar Invoke is the reference formula; the vector ones use <see cref="Requantization"/>, proven identical.
/// </summary>
internal readonly struct AddInt8Operator : IBinaryInt8Operator
{
    private readonly int _za, _zb, _zy, _leftShift, _ma, _sa, _mb, _sb, _my, _sy, _qmin, _qmax;
    private readonly QuantizedMultiplier512 _rescaleA, _rescaleB, _rescaleY;

    public AddInt8Operator(KernelSetup s)
    {
        _za = ElementwiseKernels.PerTensorQuant(s, s.Input(0)).ZeroPoint;
        _zb = ElementwiseKernels.PerTensorQuant(s, s.Input(1)).ZeroPoint;
        _zy = ElementwiseKernels.PerTensorQuant(s, s.Output(0)).ZeroPoint;
        _leftShift = s.RequireInts(AttributeKey.LeftShift, 1)[0];
        if (_leftShift < 0 || _leftShift > 22) throw s.Fail($"attribute LeftShift = {_leftShift} is outside [0, 22]");
        (_ma, _sa) = ElementwiseKernels.RequireMultiplier(s, AttributeKey.InputMultiplier, AttributeKey.InputShift, 2, 0);
        (_mb, _sb) = ElementwiseKernels.RequireMultiplier(s, AttributeKey.InputMultiplier, AttributeKey.InputShift, 2, 1);
        (_my, _sy) = ElementwiseKernels.RequireMultiplier(s, AttributeKey.OutputMultiplier, AttributeKey.OutputShift, 1, 0);
        (_qmin, _qmax) = ElementwiseKernels.QuantizedClamp(s);
        _rescaleA = new QuantizedMultiplier512(_ma, _sa);
        _rescaleB = new QuantizedMultiplier512(_mb, _sb);
        _rescaleY = new QuantizedMultiplier512(_my, _sy);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Invoke(int a, int b)
    {
        int va = FixedPoint.MultiplyByQuantizedMultiplier((a - _za) << _leftShift, _ma, _sa);
        int vb = FixedPoint.MultiplyByQuantizedMultiplier((b - _zb) << _leftShift, _mb, _sb);
        return FixedPoint.Requantize(va + vb, _my, _sy, _zy, _qmin, _qmax);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<int> Invoke(Vector128<int> a, Vector128<int> b)
    {
        var va = Requantization.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(a - Vector128.Create(_za), _leftShift), _ma, _sa);
        var vb = Requantization.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(b - Vector128.Create(_zb), _leftShift), _mb, _sb);
        return Requantization.Requantize(va + vb, _my, _sy, Vector128.Create(_zy), Vector128.Create(_qmin), Vector128.Create(_qmax));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<int> Invoke(Vector256<int> a, Vector256<int> b)
    {
        var va = Requantization.MultiplyByQuantizedMultiplier(Vector256.ShiftLeft(a - Vector256.Create(_za), _leftShift), _ma, _sa);
        var vb = Requantization.MultiplyByQuantizedMultiplier(Vector256.ShiftLeft(b - Vector256.Create(_zb), _leftShift), _mb, _sb);
        return Requantization.Requantize(va + vb, _my, _sy, Vector256.Create(_zy), Vector256.Create(_qmin), Vector256.Create(_qmax));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<int> Invoke(Vector512<int> a, Vector512<int> b)
    {
        var va = _rescaleA.Apply(Vector512.ShiftLeft(a - Vector512.Create(_za), _leftShift));
        var vb = _rescaleB.Apply(Vector512.ShiftLeft(b - Vector512.Create(_zb), _leftShift));
        return Requantization.ToOutputRange(_rescaleY.Apply(va + vb), Vector512.Create(_zy), Vector512.Create(_qmin), Vector512.Create(_qmax));
    }

    /// <summary>
    /// x − z widened by SSUBL, the input left shift and a positive input shift in one SSHL (the product of the two
    /// powers of two wraps like the scalar's two shifts; 2^32 and beyond give 0 either way), then the branch-free
    /// <see cref="Requantization.Rescale(Vector128{int}, Vector128{int}, Vector128{int}, Vector128{int}, Vector128{int})"/>.
    /// A splatted operand is rescaled once, by the scalar routine.
    /// </summary>
    public int RowAdvSimd(ReadOnlySpan<sbyte> a, bool splatA, ReadOnlySpan<sbyte> b, bool splatB, Span<sbyte> y)
    {
        int n = y.Length, i = 0;
        ref sbyte ra = ref MemoryMarshal.GetReference(a);
        ref sbyte rb = ref MemoryMarshal.GetReference(b);
        ref sbyte ry = ref MemoryMarshal.GetReference(y);
        var za = Vector64.Create((sbyte)_za);
        var zb = Vector64.Create((sbyte)_zb);
        var ma = Vector128.Create(_ma);
        var leftA = Vector128.Create(_leftShift + Math.Max(_sa, 0));
        var rightA = Vector128.Create(Math.Min(_sa, 0));
        var maskA = Vector128.Create(_sa < 0 ? int.MinValue : 0);
        var mb = Vector128.Create(_mb);
        var leftB = Vector128.Create(_leftShift + Math.Max(_sb, 0));
        var rightB = Vector128.Create(Math.Min(_sb, 0));
        var maskB = Vector128.Create(_sb < 0 ? int.MinValue : 0);
        var my = Vector128.Create(_my);
        var leftY = Vector128.Create(Math.Max(_sy, 0));
        var rightY = Vector128.Create(Math.Min(_sy, 0));
        var maskY = Vector128.Create(_sy < 0 ? int.MinValue : 0);
        var zy = Vector128.Create(_zy);
        var min = Vector128.Create((sbyte)_qmin);
        var max = Vector128.Create((sbyte)_qmax);
        var sa = splatA ? Vector128.Create(FixedPoint.MultiplyByQuantizedMultiplier((ra - _za) << _leftShift, _ma, _sa)) : default;
        var sb = splatB ? Vector128.Create(FixedPoint.MultiplyByQuantizedMultiplier((rb - _zb) << _leftShift, _mb, _sb)) : default;
        for (; i <= n - 16; i += 16)
        {
            Vector128<int> a0 = sa, a1 = sa, a2 = sa, a3 = sa, b0 = sb, b1 = sb, b2 = sb, b3 = sb;
            if (!splatA)
            {
                var lo = AdvSimd.SubtractWideningLower(Vector64.LoadUnsafe(ref ra, (nuint)i), za);
                var hi = AdvSimd.SubtractWideningLower(Vector64.LoadUnsafe(ref ra, (nuint)(i + 8)), za);
                a1 = Requantization.Rescale(AdvSimd.SignExtendWideningUpper(lo), ma, leftA, rightA, maskA);
                a0 = Requantization.Rescale(AdvSimd.SignExtendWideningLower(lo.GetLower()), ma, leftA, rightA, maskA);
                a3 = Requantization.Rescale(AdvSimd.SignExtendWideningUpper(hi), ma, leftA, rightA, maskA);
                a2 = Requantization.Rescale(AdvSimd.SignExtendWideningLower(hi.GetLower()), ma, leftA, rightA, maskA);
            }
            if (!splatB)
            {
                var lo = AdvSimd.SubtractWideningLower(Vector64.LoadUnsafe(ref rb, (nuint)i), zb);
                var hi = AdvSimd.SubtractWideningLower(Vector64.LoadUnsafe(ref rb, (nuint)(i + 8)), zb);
                b1 = Requantization.Rescale(AdvSimd.SignExtendWideningUpper(lo), mb, leftB, rightB, maskB);
                b0 = Requantization.Rescale(AdvSimd.SignExtendWideningLower(lo.GetLower()), mb, leftB, rightB, maskB);
                b3 = Requantization.Rescale(AdvSimd.SignExtendWideningUpper(hi), mb, leftB, rightB, maskB);
                b2 = Requantization.Rescale(AdvSimd.SignExtendWideningLower(hi.GetLower()), mb, leftB, rightB, maskB);
            }
            Requantization.NarrowClamp(
                Requantization.Rescale(a0 + b0, my, leftY, rightY, maskY) + zy, Requantization.Rescale(a1 + b1, my, leftY, rightY, maskY) + zy,
                Requantization.Rescale(a2 + b2, my, leftY, rightY, maskY) + zy, Requantization.Rescale(a3 + b3, my, leftY, rightY, maskY) + zy,
                min, max).StoreUnsafe(ref ry, (nuint)i);
        }
        return i;
    }
}

/// <summary>int8 Mul: y = clamp(MBQM((a - za)(b - zb), my, sy) + zy). The product of two 9-bit values is exact in int32.</summary>
internal readonly struct MulInt8Operator : IBinaryInt8Operator
{
    private readonly int _za, _zb, _zy, _my, _sy, _qmin, _qmax;
    private readonly QuantizedMultiplier512 _rescaleY;

    public MulInt8Operator(KernelSetup s)
    {
        _za = ElementwiseKernels.PerTensorQuant(s, s.Input(0)).ZeroPoint;
        _zb = ElementwiseKernels.PerTensorQuant(s, s.Input(1)).ZeroPoint;
        _zy = ElementwiseKernels.PerTensorQuant(s, s.Output(0)).ZeroPoint;
        (_my, _sy) = ElementwiseKernels.RequireMultiplier(s, AttributeKey.OutputMultiplier, AttributeKey.OutputShift, 1, 0);
        (_qmin, _qmax) = ElementwiseKernels.QuantizedClamp(s);
        _rescaleY = new QuantizedMultiplier512(_my, _sy);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Invoke(int a, int b) => FixedPoint.Requantize((a - _za) * (b - _zb), _my, _sy, _zy, _qmin, _qmax);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<int> Invoke(Vector128<int> a, Vector128<int> b)
    {
        var product = (a - Vector128.Create(_za)) * (b - Vector128.Create(_zb));
        return Requantization.Requantize(product, _my, _sy, Vector128.Create(_zy), Vector128.Create(_qmin), Vector128.Create(_qmax));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<int> Invoke(Vector256<int> a, Vector256<int> b)
    {
        var product = (a - Vector256.Create(_za)) * (b - Vector256.Create(_zb));
        return Requantization.Requantize(product, _my, _sy, Vector256.Create(_zy), Vector256.Create(_qmin), Vector256.Create(_qmax));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<int> Invoke(Vector512<int> a, Vector512<int> b)
    {
        var product = (a - Vector512.Create(_za)) * (b - Vector512.Create(_zb));
        return Requantization.ToOutputRange(_rescaleY.Apply(product), Vector512.Create(_zy), Vector512.Create(_qmin), Vector512.Create(_qmax));
    }

    /// <summary>x − z widened to int16 by SSUBL, the exact products by SMULL, then the branch-free rescale.</summary>
    public int RowAdvSimd(ReadOnlySpan<sbyte> a, bool splatA, ReadOnlySpan<sbyte> b, bool splatB, Span<sbyte> y)
    {
        int n = y.Length, i = 0;
        ref sbyte ra = ref MemoryMarshal.GetReference(a);
        ref sbyte rb = ref MemoryMarshal.GetReference(b);
        ref sbyte ry = ref MemoryMarshal.GetReference(y);
        var za = Vector64.Create((sbyte)_za);
        var zb = Vector64.Create((sbyte)_zb);
        var my = Vector128.Create(_my);
        var leftY = Vector128.Create(Math.Max(_sy, 0));
        var rightY = Vector128.Create(Math.Min(_sy, 0));
        var maskY = Vector128.Create(_sy < 0 ? int.MinValue : 0);
        var zy = Vector128.Create(_zy);
        var min = Vector128.Create((sbyte)_qmin);
        var max = Vector128.Create((sbyte)_qmax);
        var sa = splatA ? Vector128.Create((short)(ra - _za)) : default;
        var sb = splatB ? Vector128.Create((short)(rb - _zb)) : default;
        for (; i <= n - 16; i += 16)
        {
            Vector128<short> aLo = sa, aHi = sa, bLo = sb, bHi = sb;
            if (!splatA)
            {
                aLo = AdvSimd.SubtractWideningLower(Vector64.LoadUnsafe(ref ra, (nuint)i), za);
                aHi = AdvSimd.SubtractWideningLower(Vector64.LoadUnsafe(ref ra, (nuint)(i + 8)), za);
            }
            if (!splatB)
            {
                bLo = AdvSimd.SubtractWideningLower(Vector64.LoadUnsafe(ref rb, (nuint)i), zb);
                bHi = AdvSimd.SubtractWideningLower(Vector64.LoadUnsafe(ref rb, (nuint)(i + 8)), zb);
            }
            var p1 = AdvSimd.MultiplyWideningUpper(aLo, bLo);
            var p0 = AdvSimd.MultiplyWideningLower(aLo.GetLower(), bLo.GetLower());
            var p3 = AdvSimd.MultiplyWideningUpper(aHi, bHi);
            var p2 = AdvSimd.MultiplyWideningLower(aHi.GetLower(), bHi.GetLower());
            Requantization.NarrowClamp(
                Requantization.Rescale(p0, my, leftY, rightY, maskY) + zy, Requantization.Rescale(p1, my, leftY, rightY, maskY) + zy,
                Requantization.Rescale(p2, my, leftY, rightY, maskY) + zy, Requantization.Rescale(p3, my, leftY, rightY, maskY) + zy,
                min, max).StoreUnsafe(ref ry, (nuint)i);
        }
        return i;
    }
}

/// <summary>An int8 binary kernel variant: the reference's checks and broadcast plan, the shared vector driver.</summary>
internal sealed class BinaryInt8Kernel<TOp> : OpKernel, IParallelWork where TOp : struct, IBinaryInt8Operator
{
    /// <summary>Below this many outputs a layer runs on the calling thread: a dispatch costs about as much as a few thousand.</summary>
    private const int MinParallelElements = 16_384;
    /// <summary>Part boundaries fall on whole 64-element vectors, so only the last part has a tail.</summary>
    private const int PartAlignment = 64;

    private readonly int _a, _b, _y;
    private readonly TOp _op;
    private readonly BroadcastPlan _plan;
    private readonly Isa _width;
    private readonly int _elements;
    private WorkerPool? _workers;
    private int _chunks;
    /// <summary>The run that <see cref="RunChunk"/> serves (set only while the workers run).</summary>
    private TensorMemory? _memory;

    public BinaryInt8Kernel(KernelSetup s, TOp op, BroadcastPlan plan, Isa width, string name)
    {
        _op = op;
        _plan = plan;
        _width = width;
        _a = s.InputId(0);
        _b = s.InputId(1);
        _y = s.OutputId(0);
        _elements = s.Output(0).ElementCount;
        Name = name;
    }

    public override string Name { get; }

    internal override bool IsParallel => _workers != null;

    internal override void UseWorkers(WorkerPool workers)
    {
        if (_elements < MinParallelElements) return;
        _workers = workers;
        _chunks = Math.Min(workers.Parts, _elements / PartAlignment);
    }

    public override void Run(TensorMemory memory)
    {
        if (_workers == null)
        {
            ElementwiseDriver.Binary(_op, _plan, memory.Read<sbyte>(_a), memory.Read<sbyte>(_b), memory.Write<sbyte>(_y), _width);
            return;
        }
        _memory = memory;
        _workers.Run(this, _chunks);
        _memory = null;
    }

    public void RunChunk(int chunk, int chunks)
    {
        int vectors = (_elements + PartAlignment - 1) / PartAlignment;
        int begin = (int)((long)vectors * chunk / chunks) * PartAlignment;
        int end = Math.Min(_elements, (int)((long)vectors * (chunk + 1) / chunks) * PartAlignment);
        var memory = _memory!;
        ElementwiseDriver.Binary(_op, _plan, memory.Read<sbyte>(_a), memory.Read<sbyte>(_b), memory.Write<sbyte>(_y), _width, begin, end);
    }
}

/// <summary>A float32 binary kernel variant: the reference's checks and broadcast plan, the shared vector driver.</summary>
internal sealed class BinaryFloat32Kernel<TOp> : OpKernel where TOp : struct, IBinaryFloatOperator
{
    private readonly int _a, _b, _y;
    private readonly TOp _op;
    private readonly BroadcastPlan _plan;
    private readonly Isa _width;

    public BinaryFloat32Kernel(KernelSetup s, TOp op, BroadcastPlan plan, Isa width, string name)
    {
        _op = op;
        _plan = plan;
        _width = width;
        _a = s.InputId(0);
        _b = s.InputId(1);
        _y = s.OutputId(0);
        Name = name;
    }

    public override string Name { get; }

    public override void Run(TensorMemory memory) =>
        ElementwiseDriver.Binary(_op, _plan, memory.Read<float>(_a), memory.Read<float>(_b), memory.Write<float>(_y), _width);
}
