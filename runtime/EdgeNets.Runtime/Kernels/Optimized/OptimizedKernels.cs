using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Registers the optimized variants. Each must produce the reference kernel's bytes for every operator it accepts
/// (the variant bit-exactness test and <see cref="KernelSelfTest"/> hold them to it). Priorities: the AVX-512 direct
/// Conv and int8 recurrent kernels 4; AdvSimd SDOT, AVX-VNNI and the other AVX-512 kernels 3; AVX2 and the AdvSimd
/// int8 recurrent kernels 2; Vector128 and portable scalar variants 1; the Winograd 3x3 Convs one above the direct kernels of their width (AVX-512 5, AVX2 4,
/// Vector128 2, below SDOT), and the direct AVX-VNNI Convs without im2col above all (6), each taking only the operators
/// where they measured faster. No two variants an operator may get share a priority.
/// </summary>
public static class OptimizedKernels
{
    /// <summary>
    /// Elementwise variants decline operators whose broadcast walk is many rows shorter than this: their vector loops
    /// would never run and the per-row setup costs more than the reference's plain loop.
    /// </summary>
    private const int MinInt8Row = 16, MinFloatRow = 4;

    private static bool HasAvx2() => Avx2.IsSupported;
    private static bool HasAvx512() => Avx512F.IsSupported && Avx2.IsSupported;
    private static bool HasVector128() => Sse41.IsSupported || AdvSimd.IsSupported;
    private static bool HasInt8Vector128() => Sse41.IsSupported || AdvSimd.Arm64.IsSupported;
    private static bool HasDot() => Dp.IsSupported && AdvSimd.Arm64.IsSupported;

    public static void Register(List<KernelEntry> list)
    {
        AddBinaryInt8(list, "AddInt8_Avx512", OpType.Add, VectorWidth.V512, HasAvx512, 3, s => new AddInt8Operator(s));
        AddBinaryInt8(list, "AddInt8_Avx2", OpType.Add, VectorWidth.V256, HasAvx2, 2, s => new AddInt8Operator(s));
        AddBinaryInt8(list, "AddInt8_Vector128", OpType.Add, VectorWidth.V128, HasVector128, 1, s => new AddInt8Operator(s));
        AddBinaryInt8(list, "MulInt8_Avx512", OpType.Mul, VectorWidth.V512, HasAvx512, 3, s => new MulInt8Operator(s));
        AddBinaryInt8(list, "MulInt8_Avx2", OpType.Mul, VectorWidth.V256, HasAvx2, 2, s => new MulInt8Operator(s));
        AddBinaryInt8(list, "MulInt8_Vector128", OpType.Mul, VectorWidth.V128, HasVector128, 1, s => new MulInt8Operator(s));

        AddBinaryFloat(list, "AddFloat32_Avx2", OpType.Add, VectorWidth.V256, HasAvx2, 2, (min, max) => new AddFloat32Operator(min, max));
        AddBinaryFloat(list, "AddFloat32_Vector128", OpType.Add, VectorWidth.V128, HasVector128, 1, (min, max) => new AddFloat32Operator(min, max));
        AddBinaryFloat(list, "MulFloat32_Avx2", OpType.Mul, VectorWidth.V256, HasAvx2, 2, (min, max) => new MulFloat32Operator(min, max));
        AddBinaryFloat(list, "MulFloat32_Vector128", OpType.Mul, VectorWidth.V128, HasVector128, 1, (min, max) => new MulFloat32Operator(min, max));

        AddUnaryFloat(list, "ReluFloat32_Avx2", OpType.Relu, VectorWidth.V256, HasAvx2, 2, _ => new ReluFloat32Operator());
        AddUnaryFloat(list, "ReluFloat32_Vector128", OpType.Relu, VectorWidth.V128, HasVector128, 1, _ => new ReluFloat32Operator());
        AddUnaryFloat(list, "ClipFloat32_Avx2", OpType.Clip, VectorWidth.V256, HasAvx2, 2, ClipOperator);
        AddUnaryFloat(list, "ClipFloat32_Vector128", OpType.Clip, VectorWidth.V128, HasVector128, 1, ClipOperator);

        AddInt8Gemms(list, "_Avx2", Int8Isa.Avx2, HasAvx2, 2);
        AddInt8Gemms(list, "_Vector128", Int8Isa.Vector128, HasInt8Vector128, 1);
        AddInt8Gemms(list, "_AdvSimdDot", Int8Isa.AdvSimdDot, HasDot, 3);
        list.Add(new KernelEntry("Conv2dInt8_Avx512", OpType.Conv, DataType.Int8, s => new ConvInt8Gemm(s, Int8Isa.Avx512, "Conv2dInt8_Avx512"),
            () => Avx512BW.IsSupported, 4, s => ConvInt8Gemm.CanHandle(s, depthwise: false)));
        // AVX-VNNI's 256-bit vpdpbusd does 4 products per lane and instruction where vpmaddwd does 2, about twice the
        // AVX2 kernels' rate; the AVX-512 Conv (twice the lanes) measured as fast or faster, so the VNNI Conv ranks
        // between them: it serves CPUs with AVX-VNNI but no AVX-512, and x86-64-v3 NativeAOT builds, which check
        // AVX-VNNI at run time but cannot use AVX-512. The VNNI Gemm is the best Gemm wherever it runs.
        AddInt8Gemms(list, "_AvxVnni", Int8Isa.AvxVnni, () => AvxVnni.IsSupported, 3);
        // Direct vpdpbusd products without an im2col matrix, first where they measured faster (1-D Convs, 2-D ones on
        // few channels and wide maps).
        list.Add(new KernelEntry("DirectConvInt8_AvxVnni", OpType.Conv, DataType.Int8, s => new ConvInt8DirectVnni(s, null, "DirectConvInt8_AvxVnni"),
            () => AvxVnni.IsSupported, 6, ConvInt8DirectVnni.CanHandle));
        // Winograd F(2x2, 3x3) ranks above every direct variant of its instruction width where it takes the operator
        // (ConvInt8Winograd.CanHandle: only where it measured faster); on arm64 with SDOT the direct kernel (4 products
        // per lane and instruction) stays first.
        AddWinograd(list, "WinogradConv3x3Int8_Avx512", Int8Isa.Avx512, () => Avx512BW.IsSupported, 5);
        AddWinograd(list, "WinogradConv3x3Int8_Avx2", Int8Isa.Avx2, HasAvx2, 4);
        AddWinograd(list, "WinogradConv3x3Int8_Vector128", Int8Isa.Vector128, HasInt8Vector128, 2);
        list.Add(new KernelEntry("DepthwiseConv2dInt8_Avx512", OpType.Conv, DataType.Int8, s => new DepthwiseConvInt8(s, wide: true, "DepthwiseConv2dInt8_Avx512", avx512: true),
            () => Avx512BW.IsSupported, 3, s => ConvInt8Gemm.CanHandle(s, depthwise: true)));
        list.Add(new KernelEntry("DepthwiseConv2dInt8_Avx2", OpType.Conv, DataType.Int8, s => new DepthwiseConvInt8(s, wide: true, "DepthwiseConv2dInt8_Avx2"),
            HasAvx2, 2, s => ConvInt8Gemm.CanHandle(s, depthwise: true)));
        list.Add(new KernelEntry("DepthwiseConv2dInt8_Vector128", OpType.Conv, DataType.Int8, s => new DepthwiseConvInt8(s, wide: false, "DepthwiseConv2dInt8_Vector128"),
            HasInt8Vector128, 1, s => ConvInt8Gemm.CanHandle(s, depthwise: true)));

        foreach (var (suffix, wide, isSupported, priority) in new (string, bool, Func<bool>, int)[] { ("_Avx2", true, HasAvx2, 2), ("_Vector128", false, HasInt8Vector128, 1) })
        {
            string maxPool = "MaxPool2dInt8" + suffix, globalAverage = "GlobalAveragePoolInt8" + suffix, globalMax = "GlobalMaxPoolInt8" + suffix;
            list.Add(new KernelEntry(maxPool, OpType.MaxPool, DataType.Int8, s => new MaxPoolInt8(s, wide, maxPool), isSupported, priority, MaxPoolInt8.CanHandle));
            string averagePool = "AveragePool2dInt8" + suffix;
            list.Add(new KernelEntry(averagePool, OpType.AveragePool, DataType.Int8, s => new AveragePoolInt8(s, wide, averagePool), isSupported, priority, AveragePoolInt8.CanHandle));
            list.Add(new KernelEntry(globalAverage, OpType.GlobalAveragePool, DataType.Int8, s => new GlobalPoolInt8(s, average: true, wide, globalAverage),
                isSupported, priority, GlobalPoolInt8.CanHandle));
            list.Add(new KernelEntry(globalMax, OpType.GlobalMaxPool, DataType.Int8, s => new GlobalPoolInt8(s, average: false, wide, globalMax),
                isSupported, priority, GlobalPoolInt8.CanHandle));
        }

        foreach (var (suffix, wide, isSupported, priority) in new (string, bool, Func<bool>, int)[] { ("_Avx2", true, HasAvx2, 2), ("_Vector128", false, HasVector128, 1) })
        {
            string conv = "Conv2dFloat32" + suffix, gemm = "GemmFloat32" + suffix;
            list.Add(new KernelEntry(conv, OpType.Conv, DataType.Float32, s => new ConvFloat32Gemm(s, wide, conv), isSupported, priority, ConvFloat32Gemm.CanHandle));
            list.Add(new KernelEntry(gemm, OpType.Gemm, DataType.Float32, s => new GemmFloat32Vector(s, wide, gemm), isSupported, priority, GemmFloat32Vector.CanHandle));
        }

        foreach (var op in new[] { OpType.Lstm, OpType.Gru, OpType.Rnn })
        {
            if (op != OpType.Rnn)
            {
                AddRecurrent(list, op, quantized: true, "_Avx512", RecurrentIsa.Avx512, () => HasAvx512() && Avx512BW.IsSupported, 4);
                AddRecurrent(list, op, quantized: false, "_Avx512", RecurrentIsa.Avx512, HasAvx512, 3);
            }
            // AVX-VNNI products (4 products per lane and instruction) measured faster than AVX2's, slower than the
            // AVX-512 variant's 16-row vpmaddwd zmm blocks and staged GRU step (activity-hapt 48 / 55 / 34 us).
            AddRecurrent(list, op, quantized: true, "_AvxVnni", RecurrentIsa.AvxVnni, () => AvxVnni.IsSupported, 3);
            AddRecurrent(list, op, quantized: true, "_Avx2", RecurrentIsa.Avx2, HasAvx2, 2);
            AddRecurrent(list, op, quantized: true, "_Vector128", RecurrentIsa.Vector128, HasInt8Vector128, 1);
            AddRecurrent(list, op, quantized: true, "_AdvSimdDot", RecurrentIsa.AdvSimdDot, HasDot, 3);
            // Without SDOT: int8 row products with SMULL2/SMLAL + SADALP (8 products per multiply, twice the Vector128
            // variant's int16 SMLAL).
            AddRecurrent(list, op, quantized: true, "_AdvSimd", RecurrentIsa.AdvSimd, () => AdvSimd.Arm64.IsSupported, 2);
            AddRecurrent(list, op, quantized: false, "_Avx2", RecurrentIsa.Avx2, HasAvx2, 2);
            AddRecurrent(list, op, quantized: false, "_Vector128", RecurrentIsa.Vector128, HasInt8Vector128, 1);
        }
        list.Add(new KernelEntry("TransposeInt8_Vector128", OpType.Transpose, DataType.Int8, s => new TransposeInt8Tiled(s), HasInt8Vector128, 1,
            TransposeInt8Tiled.CanHandle));

        list.Add(new KernelEntry("LookupTableInt8_Unrolled", OpType.LookupTable, DataType.Int8, s => new LookupTableInt8UnrolledKernel(s), priority: 1));
    }

    /// <summary>Conv (all but depthwise) and Gemm int8 variants on one instruction set.</summary>
    private static void AddInt8Gemms(List<KernelEntry> list, string suffix, Int8Isa isa, Func<bool> isSupported, int priority)
    {
        string conv = "Conv2dInt8" + suffix, gemm = "GemmInt8" + suffix;
        list.Add(new KernelEntry(conv, OpType.Conv, DataType.Int8, s => new ConvInt8Gemm(s, isa, conv), isSupported, priority,
            s => ConvInt8Gemm.CanHandle(s, depthwise: false)));
        list.Add(new KernelEntry(gemm, OpType.Gemm, DataType.Int8, s => new GemmInt8Vector(s, isa, gemm), isSupported, priority, GemmInt8Vector.CanHandle));
    }

    /// <summary>
    /// Conv + MaxPool 2x2/2 variants (<see cref="ConvPoolFusion"/>): the Winograd kernels at the priorities of their plain
    /// forms, so a fusion never replaces a Conv kernel that ranks higher (the SDOT direct kernel on arm64).
    /// </summary>
    internal static FusedConvPoolEntry[] RegisterFused() =>
    [
        // First layers (up to 8 input channels, wide maps): direct vpdpbusd products, above Winograd where they apply
        // (measured faster).
        new("DirectConv3x3MaxPool2x2Int8_AvxVnni", (conv, pool) => new ConvInt8DirectVnni(conv, pool, "DirectConv3x3MaxPool2x2Int8_AvxVnni"),
            () => AvxVnni.IsSupported, 6, ConvInt8DirectVnni.CanHandlePooled, readsImageBeforeWriting: true, isValid: ConvInt8DirectVnni.IsValidPooled),
        FusedWinograd("WinogradConv3x3MaxPool2x2Int8_Avx512", Int8Isa.Avx512, () => Avx512BW.IsSupported, 5),
        FusedWinograd("WinogradConv3x3MaxPool2x2Int8_Avx2", Int8Isa.Avx2, HasAvx2, 4),
        FusedWinograd("WinogradConv3x3MaxPool2x2Int8_Vector128", Int8Isa.Vector128, HasInt8Vector128, 2),
    ];

    private static FusedConvPoolEntry FusedWinograd(string name, Int8Isa isa, Func<bool> isSupported, int priority) =>
        new(name, (conv, pool) => new ConvInt8Winograd(conv, isa, name, pool), isSupported, priority, ConvInt8Winograd.CanHandlePooled,
            readsImageBeforeWriting: true, isValid: ConvInt8Winograd.IsValid);

    private static void AddWinograd(List<KernelEntry> list, string name, Int8Isa isa, Func<bool> isSupported, int priority) =>
        list.Add(new KernelEntry(name, OpType.Conv, DataType.Int8, s => new ConvInt8Winograd(s, isa, name), isSupported, priority, ConvInt8Winograd.CanHandle));

    /// <summary>
    /// LSTM/GRU/RNN on one instruction set for the matrix-vector products (the gate math uses Vector&lt;float&gt;, as
    /// wide as this CPU's vectors; the Avx512 variants use Vector512 for the default-activation step). They accept
    /// every operator the reference accepts.
    /// </summary>
    private static void AddRecurrent(List<KernelEntry> list, OpType op, bool quantized, string suffix, RecurrentIsa isa, Func<bool> isSupported, int priority)
    {
        string name = $"{op}{(quantized ? "Int8" : "Float32")}{suffix}";
        list.Add(new KernelEntry(name, op, quantized ? DataType.Int8 : DataType.Float32, s => new RecurrentVectorKernel(s, op, quantized, isa, name),
            isSupported, priority, s => RecurrentVectorKernel.CanHandle(s, op, quantized)));
    }

    private static ClipFloat32Operator ClipOperator(KernelSetup s)
    {
        var (min, max) = ElementwiseKernels.FloatClamp(s);
        return new ClipFloat32Operator(min, max);
    }

    private static void AddBinaryInt8<TOp>(List<KernelEntry> list, string name, OpType op, VectorWidth width, Func<bool> isSupported, int priority,
        Func<KernelSetup, TOp> createOperator) where TOp : struct, IBinaryInt8Operator
    {
        list.Add(new KernelEntry(name, op, DataType.Int8, s =>
        {
            var plan = ElementwiseKernels.PlanBinary(s, DataType.Int8);
            return new BinaryInt8Kernel<TOp>(s, createOperator(s), plan, width, name);
        }, isSupported, priority, s => CanHandleBinary(s, DataType.Int8, MinInt8Row)));
    }

    private static void AddBinaryFloat<TOp>(List<KernelEntry> list, string name, OpType op, VectorWidth width, Func<bool> isSupported, int priority,
        Func<float, float, TOp> createOperator) where TOp : struct, IBinaryFloatOperator
    {
        list.Add(new KernelEntry(name, op, DataType.Float32, s =>
        {
            var plan = ElementwiseKernels.PlanBinary(s, DataType.Float32);
            var (min, max) = ElementwiseKernels.FloatClamp(s);
            return new BinaryFloat32Kernel<TOp>(s, createOperator(min, max), plan, width, name);
        }, isSupported, priority, s => CanHandleBinary(s, DataType.Float32, MinFloatRow)));
    }

    private static void AddUnaryFloat<TOp>(List<KernelEntry> list, string name, OpType op, VectorWidth width, Func<bool> isSupported, int priority,
        Func<KernelSetup, TOp> createOperator) where TOp : struct, IUnaryFloatOperator
    {
        list.Add(new KernelEntry(name, op, DataType.Float32, s =>
        {
            s.ExpectUnary(DataType.Float32);
            return new UnaryFloat32Kernel<TOp>(s, createOperator(s), width, name);
        }, isSupported, priority));
    }

    /// <summary>
    /// A binary op whose operands broadcast to its output and whose walk is one row or rows of at least
    /// <paramref name="minRow"/> elements: same shapes, scalars, per-channel operands with a spatial inner extent.
    /// </summary>
    private static bool CanHandleBinary(KernelSetup s, DataType type, int minRow)
    {
        if (s.InputCount != 2 || s.OutputCount != 1 || !s.HasInput(0) || !s.HasInput(1)) return false;
        var a = s.Input(0);
        var b = s.Input(1);
        var y = s.Output(0);
        if (a.Type != type || b.Type != type || y.Type != type) return false;
        var plan = BroadcastPlan.Create(a.Shape, b.Shape, y.Shape);
        return plan != null && (plan.OuterCount <= 1 || plan.InnerCount >= minRow);
    }
}
