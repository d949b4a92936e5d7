using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeNets.Runtime.Kernels.Optimized;

// Vector128/256.Min and Max follow the same IEEE 754:2019 rules as Math.Min/Max (NaN propagates, -0 < +0), so the
// clamps below give the reference's bits; Add and Mul are single correctly rounded operations on every path.

/// <summary>y = min(max(a + b, min), max).</summary>
internal readonly struct AddFloat32Operator(float min, float max) : IBinaryFloatOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Invoke(float a, float b) => Math.Min(Math.Max(a + b, min), max);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> Invoke(Vector128<float> a, Vector128<float> b) => Vector128.Min(Vector128.Max(a + b, Vector128.Create(min)), Vector128.Create(max));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Invoke(Vector256<float> a, Vector256<float> b) => Vector256.Min(Vector256.Max(a + b, Vector256.Create(min)), Vector256.Create(max));
}

/// <summary>y = min(max(a * b, min), max).</summary>
internal readonly struct MulFloat32Operator(float min, float max) : IBinaryFloatOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Invoke(float a, float b) => Math.Min(Math.Max(a * b, min), max);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> Invoke(Vector128<float> a, Vector128<float> b) => Vector128.Min(Vector128.Max(a * b, Vector128.Create(min)), Vector128.Create(max));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Invoke(Vector256<float> a, Vector256<float> b) => Vector256.Min(Vector256.Max(a * b, Vector256.Create(min)), Vector256.Create(max));
}

/// <summary>Relu: y = max(x, 0).</summary>
internal readonly struct ReluFloat32Operator : IUnaryFloatOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Invoke(float x) => Math.Max(x, 0f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> Invoke(Vector128<float> x) => Vector128.Max(x, Vector128<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.Max(x, Vector256<float>.Zero);
}

/// <summary>Clip: y = min(max(x, min), max).</summary>
internal readonly struct ClipFloat32Operator(float min, float max) : IUnaryFloatOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Invoke(float x) => Math.Min(Math.Max(x, min), max);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<float> Invoke(Vector128<float> x) => Vector128.Min(Vector128.Max(x, Vector128.Create(min)), Vector128.Create(max));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.Min(Vector256.Max(x, Vector256.Create(min)), Vector256.Create(max));
}

/// <summary>A float32 unary kernel variant over a same-shape input and output.</summary>
internal sealed class UnaryFloat32Kernel<TOp>(KernelSetup s, TOp op, Isa width, string name) : OpKernel
    where TOp : struct, IUnaryFloatOperator
{
    private readonly int _x = s.InputId(0), _y = s.OutputId(0);
    private readonly TOp _op = op;

    public override string Name { get; } = name;

    public override void Run(TensorMemory memory) => ElementwiseDriver.Unary(_op, memory.Read<float>(_x), memory.Write<float>(_y), width);
}
