using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Registers the optimized variants: name, operator, instruction set, and what each computes exactly. Each must produce
/// the reference kernel's bytes for every node it accepts (the variant bit-exactness test and <see cref="KernelSelfTest"/>
/// hold them to it). Which one a node gets is its operator's policy in <c>Kernels/Selection/</c>.
/// </summary>
public static class OptimizedKernels
{
    public static void Register(List<KernelEntry> list)
    {
        Int16.Int16Kernels.RegisterOptimized(list);
        foreach (var isa in new[] { Isa.Avx512Vbmi, Isa.Avx512, Isa.Avx2, Isa.Vector128 })
        {
            AddBinaryInt8(list, $"AddInt8_{isa}", OpType.Add, isa, s => new AddInt8Operator(s));
            AddBinaryInt8(list, $"MulInt8_{isa}", OpType.Mul, isa, s => new MulInt8Operator(s));
        }
        foreach (var isa in new[] { Isa.Avx2, Isa.Vector128 })
        {
            AddBinaryFloat(list, $"AddFloat32_{isa}", OpType.Add, isa, (min, max) => new AddFloat32Operator(min, max));
            AddBinaryFloat(list, $"MulFloat32_{isa}", OpType.Mul, isa, (min, max) => new MulFloat32Operator(min, max));
            AddUnaryFloat(list, $"ReluFloat32_{isa}", OpType.Relu, isa, _ => new ReluFloat32Operator());
            AddUnaryFloat(list, $"ClipFloat32_{isa}", OpType.Clip, isa, ClipOperator);
        }

        foreach (var isa in new[] { Isa.Avx512, Isa.AvxVnni, Isa.Avx2, Isa.Vector128, Isa.AdvSimdDot, Isa.AdvSimd })
        {
            string conv = $"Conv2dInt8_{isa}";
            list.Add(KernelEntry.Variant(conv, OpType.Conv, DataType.Int8, isa, s => new ConvInt8Gemm(s, isa, conv), s => ConvInt8Gemm.CanHandle(s, depthwise: false)));
            if (isa == Isa.Avx512) continue;
            string gemm = $"GemmInt8_{isa}";
            list.Add(KernelEntry.Variant(gemm, OpType.Gemm, DataType.Int8, isa, s => new GemmInt8Vector(s, isa, gemm), GemmInt8Vector.CanHandle));
        }
        foreach (var isa in new[] { Isa.Avx2, Isa.AdvSimdDot })
        {
            string name = $"BroadcastGemmInt8_{isa}";
            list.Add(KernelEntry.Variant(name, OpType.Gemm, DataType.Int8, isa, s => new GemmInt8BroadcastRows(s, isa, name), GemmInt8BroadcastRows.CanHandle));
        }
        list.Add(KernelEntry.Variant("Conv2dInt8_ChannelLanes_Avx512", OpType.Conv, DataType.Int8, Isa.Avx512,
            s => new ConvInt8Gemm(s, Isa.Avx512, "Conv2dInt8_ChannelLanes_Avx512", channelLanes: true), s => ConvInt8Gemm.CanHandle(s, depthwise: false)));
        foreach (var isa in new[] { Isa.Avx512, Isa.Avx2, Isa.AdvSimdDot, Isa.AdvSimd })
        {
            string name = $"MatMulInt8_{isa}";
            list.Add(KernelEntry.Variant(name, OpType.MatMul, DataType.Int8, isa, s => new MatMulInt8Vector(s, isa, name), MatMulInt8Vector.CanHandle));
        }
        list.Add(KernelEntry.Variant("Conv2dInt8_MatrixVector_Avx512", OpType.Conv, DataType.Int8, Isa.Avx512,
            s => new ConvInt8MatrixVector(s, "Conv2dInt8_MatrixVector_Avx512"), ConvInt8MatrixVector.CanHandle));
        list.Add(KernelEntry.Variant("DirectConvInt8_AvxVnni", OpType.Conv, DataType.Int8, Isa.AvxVnni, s => new ConvInt8DirectVnni(s, null, "DirectConvInt8_AvxVnni"),
            ConvInt8DirectVnni.IsValid));
        foreach (var isa in new[] { Isa.Avx512, Isa.Avx2, Isa.Vector128 })
        {
            string name = $"WinogradConv3x3Int8_{isa}";
            list.Add(KernelEntry.Variant(name, OpType.Conv, DataType.Int8, isa, s => new ConvInt8Winograd(s, isa, name), ConvInt8Winograd.IsValid));
        }
        foreach (var isa in new[] { Isa.Avx512, Isa.Avx2, Isa.Vector128 })
        {
            string name = $"DepthwiseConv2dInt8_{isa}";
            list.Add(KernelEntry.Variant(name, OpType.Conv, DataType.Int8, isa, s => new DepthwiseConvInt8(s, isa, name),
                s => ConvInt8Gemm.CanHandle(s, depthwise: true)));
        }

        list.Add(KernelEntry.Variant("DepthwiseConv2dInt8_ChannelLanes_Avx512", OpType.Conv, DataType.Int8, Isa.Avx512,
            s => new DepthwiseConvInt8ChannelLanesAvx512(s, "DepthwiseConv2dInt8_ChannelLanes_Avx512"), DepthwiseConvInt8ChannelLanesAvx512.CanHandle));
        list.Add(KernelEntry.Variant("DepthwiseConv2dInt8_AdvSimd", OpType.Conv, DataType.Int8, Isa.AdvSimd,
            s => new DepthwiseConvInt8AdvSimd(s, "DepthwiseConv2dInt8_AdvSimd"), DepthwiseConvInt8AdvSimd.CanHandle));
        list.Add(KernelEntry.Variant("DepthwiseConv2dInt8_ChannelLanes_AdvSimd", OpType.Conv, DataType.Int8, Isa.AdvSimd,
            s => new DepthwiseConvInt8ChannelLanes(s, "DepthwiseConv2dInt8_ChannelLanes_AdvSimd"), DepthwiseConvInt8ChannelLanes.CanHandle));

        foreach (var isa in new[] { Isa.Avx2, Isa.Vector128 })
        {
            string maxPool = $"MaxPool2dInt8_{isa}", averagePool = $"AveragePool2dInt8_{isa}";
            string globalAverage = $"GlobalAveragePoolInt8_{isa}", globalMax = $"GlobalMaxPoolInt8_{isa}";
            list.Add(KernelEntry.Variant(maxPool, OpType.MaxPool, DataType.Int8, isa, s => new MaxPoolInt8(s, isa, maxPool), MaxPoolInt8.CanHandle));
            list.Add(KernelEntry.Variant(averagePool, OpType.AveragePool, DataType.Int8, isa, s => new AveragePoolInt8(s, isa, averagePool), AveragePoolInt8.CanHandle));
            list.Add(KernelEntry.Variant(globalAverage, OpType.GlobalAveragePool, DataType.Int8, isa, s => new GlobalPoolInt8(s, average: true, isa, globalAverage),
                GlobalPoolInt8.CanHandle));
            list.Add(KernelEntry.Variant(globalMax, OpType.GlobalMaxPool, DataType.Int8, isa, s => new GlobalPoolInt8(s, average: false, isa, globalMax),
                GlobalPoolInt8.CanHandle));

            string conv = $"Conv2dFloat32_{isa}", gemm = $"GemmFloat32_{isa}";
            list.Add(KernelEntry.Variant(conv, OpType.Conv, DataType.Float32, isa, s => new ConvFloat32Gemm(s, isa, conv), ConvFloat32Gemm.CanHandle));
            string depthwise = $"DepthwiseConv2dFloat32_{isa}";
            list.Add(KernelEntry.Variant(depthwise, OpType.Conv, DataType.Float32, isa, s => new DepthwiseConvFloat32(s, isa, depthwise), DepthwiseConvFloat32.CanHandle));
            list.Add(KernelEntry.Variant(gemm, OpType.Gemm, DataType.Float32, isa, s => new GemmFloat32Vector(s, isa, gemm), GemmFloat32Vector.CanHandle));
        }

        foreach (var op in new[] { OpType.Lstm, OpType.Gru, OpType.Rnn })
        {
            foreach (var isa in new[] { Isa.Avx512, Isa.AvxVnni, Isa.Avx2, Isa.Vector128, Isa.AdvSimdDot, Isa.AdvSimd })
                if (op != OpType.Rnn || isa != Isa.Avx512) AddRecurrent(list, op, quantized: true, isa);
            foreach (var isa in new[] { Isa.Avx512, Isa.Avx2, Isa.Vector128 })
                if (op != OpType.Rnn || isa != Isa.Avx512) AddRecurrent(list, op, quantized: false, isa);
        }
        list.Add(KernelEntry.Variant("MaxPool2dInt8_AdvSimd", OpType.MaxPool, DataType.Int8, Isa.AdvSimd, s => new MaxPoolInt8(s, Isa.AdvSimd, "MaxPool2dInt8_AdvSimd"),
            MaxPoolInt8.CanHandle));
        foreach (var isa in new[] { Isa.Avx2, Isa.AdvSimd, Isa.Vector128 })
        {
            string concat = $"ConcatInt8_{isa}";
            list.Add(KernelEntry.Variant(concat, OpType.Concat, DataType.Int8, isa, s => new ConcatInt8(s, isa, concat)));
        }
        foreach (var isa in new[] { Isa.Avx512, Isa.Avx2, Isa.Vector128 })
        {
            string layerNorm = $"LayerNormInt8_{isa}", softmax = $"SoftmaxInt8_{isa}";
            list.Add(KernelEntry.Variant(layerNorm, OpType.LayerNorm, DataType.Int8, isa, s => new LayerNormInt8Vector(s, isa, layerNorm)));
            list.Add(KernelEntry.Variant(softmax, OpType.Softmax, DataType.Int8, isa, s => new SoftmaxInt8Vector(s, isa, softmax), SoftmaxInt8Vector.CanHandle));
        }
        list.Add(KernelEntry.Variant("TransposeInt8_Vector128", OpType.Transpose, DataType.Int8, Isa.Vector128, s => new TransposeInt8Tiled(s), TransposeInt8Tiled.CanHandle));

        list.Add(KernelEntry.Variant("LookupTableInt8_AdvSimd", OpType.LookupTable, DataType.Int8, Isa.AdvSimd, s => new LookupTableInt8AdvSimd(s)));
        list.Add(KernelEntry.Variant("LookupTableInt8_Unrolled", OpType.LookupTable, DataType.Int8, Isa.Scalar, s => new LookupTableInt8UnrolledKernel(s, Isa.Scalar, "LookupTableInt8_Unrolled")));
        list.Add(KernelEntry.Variant("LookupTableInt8_Avx512Vbmi", OpType.LookupTable, DataType.Int8, Isa.Avx512Vbmi, s => new LookupTableInt8UnrolledKernel(s, Isa.Avx512Vbmi, "LookupTableInt8_Avx512Vbmi")));

        RegisterUpsampling(list);
    }

    /// <summary>The decoder side of U-Nets and FPNs: ConvTranspose (int8: GEMM + col2im; float32: kernel = stride by phases) and Upsample (nearest by rows, bilinear by separated passes).</summary>
    private static void RegisterUpsampling(List<KernelEntry> list)
    {
        foreach (var isa in new[] { Isa.Avx512, Isa.Avx2, Isa.Vector128, Isa.AdvSimd })
        {
            string name = $"ConvTranspose2dInt8_{isa}";
            list.Add(KernelEntry.Variant(name, OpType.ConvTranspose, DataType.Int8, isa, s => new ConvTransposeInt8Gemm(s, isa, name), ConvTransposeInt8Gemm.CanHandle));
        }
        foreach (var isa in new[] { Isa.Avx2, Isa.Vector128 })
        {
            string name = $"ConvTranspose2dFloat32_{isa}";
            list.Add(KernelEntry.Variant(name, OpType.ConvTranspose, DataType.Float32, isa, s => new ConvTransposeFloat32Phases(s, isa, name), ConvTransposeFloat32Phases.CanHandle));
        }
        foreach (var type in new[] { DataType.Int8, DataType.Float32 })
        {
            string suffix = type == DataType.Int8 ? "Int8" : "Float32";
            foreach (var isa in new[] { Isa.Avx2, Isa.Vector128 })
            {
                string name = $"BilinearUpsample{suffix}_{isa}";
                list.Add(KernelEntry.Variant(name, OpType.Upsample, type, isa, s => new UpsampleLinearVector(s, type, isa, name), UpsampleLinearVector.CanHandle));
            }
            string nearest = $"NearestUpsample{suffix}_Rows";
            list.Add(KernelEntry.Variant(nearest, OpType.Upsample, type, Isa.Scalar, s => new UpsampleNearestRows(s, type, nearest), UpsampleNearestRows.CanHandle));
        }
    }

    /// <summary>Conv + MaxPool 2x2/2 variants (<see cref="ConvPoolFusion"/>); <see cref="Selection.ConvSelection"/> ranks them with the plain ones.</summary>
    internal static FusedConvPoolEntry[] RegisterFused() =>
    [
        new("DirectConv3x3MaxPool2x2Int8_AvxVnni", Isa.AvxVnni, (conv, pool) => new ConvInt8DirectVnni(conv, pool, "DirectConv3x3MaxPool2x2Int8_AvxVnni"),
            ConvInt8DirectVnni.IsValidPooled, readsImageBeforeWriting: true),
        FusedWinograd(Isa.Avx512),
        FusedWinograd(Isa.Avx2),
        FusedWinograd(Isa.Vector128),
    ];

    /// <summary>
    /// Conv GEMM variants with a LookupTable or residual Add in the epilogue (<see cref="ConvEpilogueFusion"/>);
    /// <see cref="Selection.ConvSelection"/> ranks them with the plain ones.
    /// </summary>
    internal static FusedConvPoolEntry[] RegisterEpilogueFused() =>
        [.. new[] { Isa.Avx512, Isa.AvxVnni, Isa.Avx2, Isa.Vector128, Isa.AdvSimdDot, Isa.AdvSimd }.Select(FusedGemm)];

    private static FusedConvPoolEntry FusedGemm(Isa isa)
    {
        string name = $"Conv2dEpilogueInt8_{isa}";
        return new(name, isa, (conv, consumer) => new ConvInt8Gemm(conv, isa, name, consumer: consumer), ConvInt8Gemm.CanFuse,
            readsImageBeforeWriting: true, epilogue: true);
    }

    private static FusedConvPoolEntry FusedWinograd(Isa isa)
    {
        string name = $"WinogradConv3x3MaxPool2x2Int8_{isa}";
        return new(name, isa, (conv, pool) => new ConvInt8Winograd(conv, isa, name, pool), ConvInt8Winograd.IsValid, readsImageBeforeWriting: true);
    }

    /// <summary>
    /// LSTM/GRU/RNN on one instruction set for the matrix-vector products (the gate math uses Vector&lt;float&gt;, as
    /// wide as this CPU's vectors; the Avx512 variants use Vector512 for the default-activation step). They accept
    /// every operator the reference accepts.
    /// </summary>
    private static void AddRecurrent(List<KernelEntry> list, OpType op, bool quantized, Isa isa)
    {
        string name = $"{op}{(quantized ? "Int8" : "Float32")}_{isa}";
        list.Add(KernelEntry.Variant(name, op, quantized ? DataType.Int8 : DataType.Float32, isa, s => new RecurrentVectorKernel(s, op, quantized, isa, name),
            s => RecurrentVectorKernel.CanHandle(s, op, quantized)));
    }

    private static ClipFloat32Operator ClipOperator(KernelSetup s)
    {
        var (min, max) = ElementwiseKernels.FloatClamp(s);
        return new ClipFloat32Operator(min, max);
    }

    private static void AddBinaryInt8<TOp>(List<KernelEntry> list, string name, OpType op, Isa isa, Func<KernelSetup, TOp> createOperator)
        where TOp : struct, IBinaryInt8Operator
    {
        list.Add(KernelEntry.Variant(name, op, DataType.Int8, isa, s =>
        {
            var plan = ElementwiseKernels.PlanBinary(s, DataType.Int8);
            return new BinaryInt8Kernel<TOp>(s, createOperator(s), plan, isa, name);
        }, s => IsBinary(s, DataType.Int8)));
    }

    private static void AddBinaryFloat<TOp>(List<KernelEntry> list, string name, OpType op, Isa isa, Func<float, float, TOp> createOperator)
        where TOp : struct, IBinaryFloatOperator
    {
        list.Add(KernelEntry.Variant(name, op, DataType.Float32, isa, s =>
        {
            var plan = ElementwiseKernels.PlanBinary(s, DataType.Float32);
            var (min, max) = ElementwiseKernels.FloatClamp(s);
            return new BinaryFloat32Kernel<TOp>(s, createOperator(min, max), plan, isa, name);
        }, s => IsBinary(s, DataType.Float32)));
    }

    private static void AddUnaryFloat<TOp>(List<KernelEntry> list, string name, OpType op, Isa isa, Func<KernelSetup, TOp> createOperator)
        where TOp : struct, IUnaryFloatOperator
    {
        list.Add(KernelEntry.Variant(name, op, DataType.Float32, isa, s =>
        {
            s.ExpectUnary(DataType.Float32);
            return new UnaryFloat32Kernel<TOp>(s, createOperator(s), isa, name);
        }));
    }

    /// <summary>A binary op of <paramref name="type"/> whose operands broadcast to its output.</summary>
    private static bool IsBinary(KernelSetup s, DataType type)
    {
        if (s.InputCount != 2 || s.OutputCount != 1 || !s.HasInput(0) || !s.HasInput(1)) return false;
        var a = s.Input(0);
        var b = s.Input(1);
        var y = s.Output(0);
        if (a.Type != type || b.Type != type || y.Type != type) return false;
        return BroadcastPlan.Create(a.Shape, b.Shape, y.Shape) != null;
    }
}
