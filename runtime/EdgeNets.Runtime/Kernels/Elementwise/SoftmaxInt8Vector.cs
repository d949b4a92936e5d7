using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Int8 Softmax along the last axis (each slice contiguous) with the reference's float arithmetic: the maximum on
/// vectors; the table weights gathered and summed in index order (float addition does not reassociate), four slices at
/// a time so that four independent sums overlap; then each weight divided by the sum and the output scale, rounded half
/// away from zero, offset and clamped on vector lanes, written once over the width (<see cref="IFloatVector{TVec}"/>:
/// 128, 256 or 512 bits), each lane the reference's operations in its order.
/// </summary>
internal sealed class SoftmaxInt8Vector : OpKernel
{
    /// <summary>Slices whose sums run side by side.</summary>
    private const int Group = 4;

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
        _weights = new float[Group * _length];
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
            case Isa.Avx512: Run<Vector512<float>, Float512>(memory); break;
            case Isa.Avx2: Run<Vector256<float>, Float256>(memory); break;
            default: Run<Vector128<float>, Float128>(memory); break;
        }
    }

    private void Run<TVec, TOps>(TensorMemory memory) where TVec : struct where TOps : struct, IFloatVector<TVec>
    {
        var x = memory.Read<sbyte>(_x);
        var y = memory.Write<sbyte>(_y);
        int n = _length;
        ref float table = ref MemoryMarshal.GetArrayDataReference(_table);
        ref float weights = ref MemoryMarshal.GetArrayDataReference(_weights);
        int o = 0;
        for (; o + Group <= _outer; o += Group)
        {
            ref sbyte s0 = ref MemoryMarshal.GetReference(x.Slice(o * n, Group * n));
            ref sbyte s1 = ref Unsafe.Add(ref s0, n);
            ref sbyte s2 = ref Unsafe.Add(ref s0, 2 * n);
            ref sbyte s3 = ref Unsafe.Add(ref s0, 3 * n);
            int m0 = Max(ref s0, n), m1 = Max(ref s1, n), m2 = Max(ref s2, n), m3 = Max(ref s3, n);
            ref float w1 = ref Unsafe.Add(ref weights, n);
            ref float w2 = ref Unsafe.Add(ref weights, 2 * n);
            ref float w3 = ref Unsafe.Add(ref weights, 3 * n);
            float sum0 = 0, sum1 = 0, sum2 = 0, sum3 = 0;
            for (nint k = 0; k < n; k++)
            {
                // max − q is in [0, 255]: the table has 256 entries.
                float e0 = Unsafe.Add(ref table, m0 - Unsafe.Add(ref s0, k));
                float e1 = Unsafe.Add(ref table, m1 - Unsafe.Add(ref s1, k));
                float e2 = Unsafe.Add(ref table, m2 - Unsafe.Add(ref s2, k));
                float e3 = Unsafe.Add(ref table, m3 - Unsafe.Add(ref s3, k));
                Unsafe.Add(ref weights, k) = e0;
                Unsafe.Add(ref w1, k) = e1;
                Unsafe.Add(ref w2, k) = e2;
                Unsafe.Add(ref w3, k) = e3;
                sum0 += e0;
                sum1 += e1;
                sum2 += e2;
                sum3 += e3;
            }
            Normalize<TVec, TOps>(ref weights, sum0, y.Slice(o * n, n));
            Normalize<TVec, TOps>(ref w1, sum1, y.Slice((o + 1) * n, n));
            Normalize<TVec, TOps>(ref w2, sum2, y.Slice((o + 2) * n, n));
            Normalize<TVec, TOps>(ref w3, sum3, y.Slice((o + 3) * n, n));
        }
        for (; o < _outer; o++)
        {
            ref sbyte slice = ref MemoryMarshal.GetReference(x.Slice(o * n, n));
            int max = Max(ref slice, n);
            float sum = 0;
            for (nint k = 0; k < n; k++)
            {
                float e = Unsafe.Add(ref table, max - Unsafe.Add(ref slice, k));
                Unsafe.Add(ref weights, k) = e;
                sum += e;
            }
            Normalize<TVec, TOps>(ref weights, sum, y.Slice(o * n, n));
        }
    }

    private static int Max(ref sbyte slice, int length)
    {
        int i = 0, max = -128;
        if (length >= 16)
        {
            var m = Vector128.LoadUnsafe(ref slice);
            for (i = 16; i + 16 <= length; i += 16) m = Vector128.Max(m, Vector128.LoadUnsafe(ref slice, (nuint)i));
            max = MaxAcross(m);
        }
        for (; i < length; i++) max = Math.Max(max, Unsafe.Add(ref slice, i));
        return max;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MaxAcross(Vector128<sbyte> m)
    {
        if (AdvSimd.Arm64.IsSupported) return AdvSimd.Arm64.MaxAcross(m).ToScalar();
        m = Vector128.Max(m, Vector128.Shuffle(m.AsInt64(), Vector128.Create(1L, 0)).AsSByte());
        m = Vector128.Max(m, Vector128.Shuffle(m.AsInt32(), Vector128.Create(1, 0, 3, 2)).AsSByte());
        m = Vector128.Max(m, Vector128.Shuffle(m.AsInt16(), Vector128.Create(1, 0, 3, 2, 5, 4, 7, 6)).AsSByte());
        return Math.Max(m.GetElement(0), m.GetElement(1));
    }

    /// <summary>One slice's output from its weights and their sum: whole vectors, then the reference's scalar expression.</summary>
    private void Normalize<TVec, TOps>(ref float weights, float sum, Span<sbyte> output) where TVec : struct where TOps : struct, IFloatVector<TVec>
    {
        var total = TOps.Splat(sum);
        var sy = TOps.Splat(_outputScale);
        var zy = TOps.Splat(_outputZeroPoint);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        int i = 0;
        for (; i + TOps.Count <= output.Length; i += TOps.Count)
            TOps.StoreRoundedInt8(TOps.Divide(TOps.Divide(TOps.Load(ref weights, (nuint)i), total), sy), zy, ref dst, (nuint)i);
        for (; i < output.Length; i++)
            output[i] = (sbyte)Math.Clamp(MathF.Round(Unsafe.Add(ref weights, i) / sum / _outputScale, MidpointRounding.AwayFromZero) + _outputZeroPoint, -128f, 127f);
    }
}
