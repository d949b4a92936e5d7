using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Cli.Terminal;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Kernels.Selection;

namespace EdgeNets.Cli.Commands;

/// <summary>
/// `edgenets bench --kernels [MODEL.enet]`: GMAC/s of every int8 Conv/Gemm variant this CPU supports on a 64-channel
/// 3x3 layer, a 128-channel 1x1 layer and a 1024x128 Gemm on 1 and 8 rows, beside the int8 multiply-add peak of this core measured in
/// the same run (a register-only loop of the widest exact int8/int16 multiply-add instruction; a one-row Gemm, which
/// uses each weight once, also beside the rate this core reads a buffer the size of its weights); then Conv 3x3 + MaxPool
/// 2x2/2 pairs with each fused variant and with each Conv variant followed by the MaxPool. With a model, also the time
/// of every operator with its dispatched kernel and with the reference (each operator alone, unfused).
/// </summary>
public static class KernelBenchCommand
{
    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new Arguments("bench", args, new HashSet<string>(), new HashSet<string> { "kernels" });
        var inv = CultureInfo.InvariantCulture;
        var (peak, instruction) = MeasurePeak();
        stdout.WriteLine($"CPU features: {CpuFeatures.Describe()}");
        stdout.WriteLine(string.Format(inv, "int8 peak (one core, {0}): {1:F1} GMAC/s", instruction, peak));

        var layers = new (string Name, KernelCase Case)[]
        {
            ("Conv 64->64 3x3 on 16x16", KernelCases.Conv2dInt8([1, 64, 16, 16], 64, 3)),
            ("Conv 128->128 1x1 on 16x16", KernelCases.Conv2dInt8([1, 128, 16, 16], 128, 1)),
            ("Conv 128->128 3x3 on 12x12", KernelCases.Conv2dInt8([1, 128, 12, 12], 128, 3)),
            ("Conv 256->256 3x3 on 8x8", KernelCases.Conv2dInt8([1, 256, 8, 8], 256, 3)),
            ("Conv 256->256 3x3 on 6x6", KernelCases.Conv2dInt8([1, 256, 6, 6], 256, 3)),
            ("Conv 512->512 3x3 on 3x3", KernelCases.Conv2dInt8([1, 512, 3, 3], 512, 3)),
            ("Conv 1024->256 1x1 on 8x8", KernelCases.Conv2dInt8([1, 1024, 8, 8], 256, 1)),
            ("Conv 512->2048 1x1 on 4x4", KernelCases.Conv2dInt8([1, 512, 4, 4], 2048, 1)),
            ("Gemm 1x1024 x 1024x128", KernelCases.GemmInt8(1, 1024, 128)),
            ("Gemm 8x1024 x 1024x128", KernelCases.GemmInt8(8, 1024, 128)),
            ("int16 Conv 64->64 3x3 on 16x16", KernelCases.Conv2dInt16([1, 64, 16, 16], 64, 3)),
            ("int16 Conv 128->128 1x1 on 16x16", KernelCases.Conv2dInt16([1, 128, 16, 16], 128, 1)),
            ("int16 depthwise Conv 96 3x3 on 24x24", KernelCases.Conv2dInt16([1, 96, 24, 24], 96, 3, group: 96)),
            ("int16 Gemm 1x1024 x 1024x128", KernelCases.GemmInt16(1, 1024, 128)),
        };
        foreach (var (name, c) in layers)
        {
            long macs = KernelBenchmark.MultiplyAccumulates(c.Graph, c.Op);
            stdout.WriteLine($"{name} ({macs / 1e6:F2} M MAC):");
            // A one-row Gemm uses each weight once: its bound is how fast the core can read them, not multiply them.
            bool weightStreaming = c.Op.Type == OpType.Gemm && c.Graph.Tensors[c.Op.Inputs[0]].Shape[0] == 1;
            long weightBytes = c.Graph.Tensors[c.Op.Inputs[1]].ElementCount;
            double bandwidth = weightStreaming ? MeasureReadBandwidth(weightBytes) : 0;
            if (weightStreaming)
                stdout.WriteLine(string.Format(inv, "  (each weight used once: {0} KiB read per run; this core reads a buffer that size at {1:F1} GB/s)", weightBytes / 1024, bandwidth / 1e9));
            string choice = KernelRegistry.Choose(new KernelSetup(c.Graph, c.Op), referenceOnly: false, fusion: null).Name;
            foreach (var variant in KernelRegistry.Variants(c.Op.Type, c.Graph.Tensors[c.Op.Outputs[0]].Type))
            {
                if (!variant.IsSupported() || !variant.IsExact(new KernelSetup(c.Graph, c.Op))) continue;
                double seconds = KernelBenchmark.SecondsPerRun(variant, c.Graph, c.Op, c.Inputs);
                double gmacs = macs / seconds / 1e9;
                string roofline = weightStreaming ? string.Format(inv, "  {0,5:F1}% of read bandwidth", 100 * weightBytes / seconds / bandwidth) : "";
                string chosen = variant.Name == choice ? "  (chosen)" : "";
                stdout.WriteLine(string.Format(inv, "  {0,-28} {1,10:F1} us  {2,7:F2} GMAC/s  {3,5:F1}% of peak{4}{5}", variant.Name, seconds * 1e6, gmacs, 100 * gmacs / peak, roofline, chosen));
            }
        }

        // Conv 3x3 + MaxPool 2x2/2: each fused variant beside every plain Conv variant followed by the chosen MaxPool kernel.
        var pairs = new (string Name, KernelCase Case)[]
        {
            ("Conv 3->16 3x3 + MaxPool on 32x32", KernelCases.Conv3x3MaxPoolInt8([1, 3, 32, 32], 16)),
            ("Conv 1->8 3x3 + MaxPool on 32x32", KernelCases.Conv3x3MaxPoolInt8([1, 1, 32, 32], 8)),
            ("Conv 16->32 3x3 + MaxPool on 16x16", KernelCases.Conv3x3MaxPoolInt8([1, 16, 16, 16], 32)),
            ("Conv 32->64 3x3 + MaxPool on 8x8", KernelCases.Conv3x3MaxPoolInt8([1, 32, 8, 8], 64)),
            ("Conv 16->16 3x3 + MaxPool on 6x6", KernelCases.Conv3x3MaxPoolInt8([1, 16, 6, 6], 16)),
            ("Conv 32->32 3x3 + MaxPool on 4x4", KernelCases.Conv3x3MaxPoolInt8([1, 32, 4, 4], 32)),
            ("Conv 64->64 3x3 + MaxPool on 2x2", KernelCases.Conv3x3MaxPoolInt8([1, 64, 2, 2], 64)),
            ("Conv 2->16 3x3 + MaxPool on 64x64", KernelCases.Conv3x3MaxPoolInt8([1, 2, 64, 64], 16)),
        };
        foreach (var (name, c) in pairs)
        {
            var graph = c.Graph;
            var convSetup = new KernelSetup(graph, graph.Ops[0]);
            var poolSetup = new KernelSetup(graph, graph.Ops[1]);
            var pool = KernelRegistry.Select(graph.Ops[1], graph);
            stdout.WriteLine($"{name}:");
            string choice = KernelRegistry.Choose(convSetup, referenceOnly: false, new FusionSite(poolSetup, SharesInput: false)).Name;
            foreach (var fused in ConvPoolFusion.All)
            {
                if (!fused.IsSupported() || !fused.IsExact(convSetup)) continue;
                double seconds = KernelBenchmark.SecondsPerRun([fused.Create(convSetup, poolSetup)], graph, c.Inputs);
                string chosen = fused.Name == choice ? "  (chosen)" : "";
                stdout.WriteLine(string.Format(inv, "  {0,-46} {1,10:F2} us{2}", fused.Name, seconds * 1e6, chosen));
            }
            foreach (var variant in KernelRegistry.Variants(OpType.Conv, DataType.Int8))
            {
                if (variant.IsReference || !variant.IsSupported() || !variant.IsExact(convSetup)) continue;
                double seconds = KernelBenchmark.SecondsPerRun([variant.Create(convSetup), pool.Create(poolSetup)], graph, c.Inputs);
                string chosen = variant.Name == choice ? "  (chosen)" : "";
                stdout.WriteLine(string.Format(inv, "  {0,-46} {1,10:F2} us{2}", $"{variant.Name} + {pool.Name}", seconds * 1e6, chosen));
            }
        }

        if (a.Positionals.Count > 0)
        {
            a.ExpectPositionals(1);
            var model = Model.Load(a.Positionals[0]);
            var graph = model.Graph;
            stdout.WriteLine($"{a.Positionals[0]}: per operator, dispatched kernel vs reference");
            double total = 0, totalReference = 0;
            foreach (var op in graph.Ops)
            {
                var selected = KernelRegistry.Select(op, graph);
                var reference = KernelRegistry.Select(op, graph, referenceOnly: true);
                double t = KernelBenchmark.SecondsPerRun(selected, graph, op);
                double r = selected == reference ? t : KernelBenchmark.SecondsPerRun(reference, graph, op);
                total += t;
                totalReference += r;
                long macs = KernelBenchmark.MultiplyAccumulates(graph, op);
                string rate = macs > 0 ? string.Format(inv, "{0,7:F2} GMAC/s", macs / t / 1e9) : "";
                stdout.WriteLine(string.Format(inv, "  {0,-10} {1,-30} {2,9:F1} us   reference {3,9:F1} us  {4}", op.Type, selected.Name, t * 1e6, r * 1e6, rate));
            }
            stdout.WriteLine(string.Format(inv, "  total                                     {0,9:F1} us   reference {1,9:F1} us", total * 1e6, totalReference * 1e6));
        }
        return 0;
    }

    /// <summary>
    /// Best of many short timings of the peak loop, in GMAC/s, and the instruction it used: short runs, like the
    /// kernels' batches, so some fall in moments when the core (and its SMT sibling) is free. With AVX-512 the 256-bit
    /// loop is timed too: a core that splits 512-bit operations in two may run the 256-bit one as fast or faster; with
    /// AVX-VNNI its 256-bit vpdpbusd (4 products per lane) too.
    /// </summary>
    private static (double Gmacs, string Instruction) MeasurePeak()
    {
        const long iterations = 500_000;
        double best = 0;
        string instruction = "scalar";
        for (int attempt = 0; attempt < 60; attempt++)
        {
            long start = Stopwatch.GetTimestamp();
            var (sum, macsPerIteration, name) = PeakLoop(iterations, attempt + 1, use512: attempt % 3 == 0, useVnni: attempt % 3 == 1);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            GC.KeepAlive(sum);
            double gmacs = iterations * macsPerIteration / seconds / 1e9;
            if (gmacs > best) (best, instruction) = (gmacs, name);
        }
        return (best, instruction);
    }

    /// <summary>
    /// Bytes per second this core reads from a warm buffer of <paramref name="bytes"/> bytes (the cache level a weight
    /// matrix that size lives in): the best of many passes summing it in 8 independent 256-bit (else 128-bit) chains.
    /// </summary>
    private static double MeasureReadBandwidth(long bytes)
    {
        var buffer = new byte[(bytes + 255) & ~255L];
        Random.Shared.NextBytes(buffer);
        int passes = (int)Math.Max(1, (1L << 22) / buffer.Length);
        double best = 0;
        for (int attempt = 0; attempt < 200; attempt++)
        {
            long start = Stopwatch.GetTimestamp();
            int sum = 0;
            for (int p = 0; p < passes; p++) sum += SumBytes(buffer);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            GC.KeepAlive(sum);
            best = Math.Max(best, (double)buffer.Length * passes / seconds);
        }
        return best;
    }

    // Optimized from the first call: the measurement is over before the JIT's tiering would replace quick code.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int SumBytes(byte[] buffer)
    {
        ref byte b = ref MemoryMarshal.GetArrayDataReference(buffer);
        nuint length = (nuint)buffer.Length;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            for (nuint i = 0; i < length; i += 256)
            {
                s0 += Vector256.LoadUnsafe(ref b, i).AsInt32(); s1 += Vector256.LoadUnsafe(ref b, i + 32).AsInt32();
                s2 += Vector256.LoadUnsafe(ref b, i + 64).AsInt32(); s3 += Vector256.LoadUnsafe(ref b, i + 96).AsInt32();
                s4 += Vector256.LoadUnsafe(ref b, i + 128).AsInt32(); s5 += Vector256.LoadUnsafe(ref b, i + 160).AsInt32();
                s6 += Vector256.LoadUnsafe(ref b, i + 192).AsInt32(); s7 += Vector256.LoadUnsafe(ref b, i + 224).AsInt32();
            }
            return Vector256.Sum(s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7);
        }
        Vector128<int> t0 = default, t1 = default, t2 = default, t3 = default;
        for (nuint i = 0; i < length; i += 64)
        {
            t0 += Vector128.LoadUnsafe(ref b, i).AsInt32(); t1 += Vector128.LoadUnsafe(ref b, i + 16).AsInt32();
            t2 += Vector128.LoadUnsafe(ref b, i + 32).AsInt32(); t3 += Vector128.LoadUnsafe(ref b, i + 48).AsInt32();
        }
        return Vector128.Sum(t0 + t1 + t2 + t3);
    }

    /// <summary>
    /// 8 independent accumulator chains of the widest exact int8 multiply-add (no loads, so only the multiply-add
    /// throughput limits it): vpmaddwd zmm (32 MAC) or ymm (16), vpdpbusd ymm (32), pmaddwd xmm (8), SDOT (16) or smlal (4). Every
    /// multiply-add has its own operand pair (2 inputs × 4 weights) and the inputs change each iteration: with one
    /// pair the JIT computes the product once and the loop measures additions instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (long Sum, int MacsPerIteration, string Name) PeakLoop(long iterations, int seed, bool use512, bool useVnni)
    {
        if (useVnni && AvxVnni.IsSupported)
        {
            var x0 = Vector256.Create((byte)seed);
            var x1 = Vector256.Create((byte)(seed + 1));
            var w0 = Vector256.Create((sbyte)(seed + 2));
            var w1 = Vector256.Create((sbyte)(seed + 3));
            var w2 = Vector256.Create((sbyte)(seed + 4));
            var w3 = Vector256.Create((sbyte)(seed + 5));
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < iterations; i++)
            {
                a0 = AvxVnni.MultiplyWideningAndAdd(a0, x0, w0); a1 = AvxVnni.MultiplyWideningAndAdd(a1, x0, w1);
                a2 = AvxVnni.MultiplyWideningAndAdd(a2, x0, w2); a3 = AvxVnni.MultiplyWideningAndAdd(a3, x0, w3);
                a4 = AvxVnni.MultiplyWideningAndAdd(a4, x1, w0); a5 = AvxVnni.MultiplyWideningAndAdd(a5, x1, w1);
                a6 = AvxVnni.MultiplyWideningAndAdd(a6, x1, w2); a7 = AvxVnni.MultiplyWideningAndAdd(a7, x1, w3);
                x0 += Vector256<byte>.One;
                x1 += Vector256<byte>.One;
            }
            return (Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7), 8 * 32, "vpdpbusd ymm");
        }
        if (use512 && Avx512BW.IsSupported)
        {
            var x0 = Vector512.Create((short)seed);
            var x1 = Vector512.Create((short)(seed + 1));
            var w0 = Vector512.Create((short)(seed + 2));
            var w1 = Vector512.Create((short)(seed + 3));
            var w2 = Vector512.Create((short)(seed + 4));
            var w3 = Vector512.Create((short)(seed + 5));
            Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < iterations; i++)
            {
                a0 += Avx512BW.MultiplyAddAdjacent(x0, w0); a1 += Avx512BW.MultiplyAddAdjacent(x0, w1);
                a2 += Avx512BW.MultiplyAddAdjacent(x0, w2); a3 += Avx512BW.MultiplyAddAdjacent(x0, w3);
                a4 += Avx512BW.MultiplyAddAdjacent(x1, w0); a5 += Avx512BW.MultiplyAddAdjacent(x1, w1);
                a6 += Avx512BW.MultiplyAddAdjacent(x1, w2); a7 += Avx512BW.MultiplyAddAdjacent(x1, w3);
                x0 += Vector512<short>.One;
                x1 += Vector512<short>.One;
            }
            return (Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7), 8 * 32, "vpmaddwd zmm");
        }
        if (Avx2.IsSupported)
        {
            var x0 = Vector256.Create((short)seed);
            var x1 = Vector256.Create((short)(seed + 1));
            var w0 = Vector256.Create((short)(seed + 2));
            var w1 = Vector256.Create((short)(seed + 3));
            var w2 = Vector256.Create((short)(seed + 4));
            var w3 = Vector256.Create((short)(seed + 5));
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < iterations; i++)
            {
                a0 += Avx2.MultiplyAddAdjacent(x0, w0); a1 += Avx2.MultiplyAddAdjacent(x0, w1);
                a2 += Avx2.MultiplyAddAdjacent(x0, w2); a3 += Avx2.MultiplyAddAdjacent(x0, w3);
                a4 += Avx2.MultiplyAddAdjacent(x1, w0); a5 += Avx2.MultiplyAddAdjacent(x1, w1);
                a6 += Avx2.MultiplyAddAdjacent(x1, w2); a7 += Avx2.MultiplyAddAdjacent(x1, w3);
                x0 += Vector256<short>.One;
                x1 += Vector256<short>.One;
            }
            return (Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7), 8 * 16, "vpmaddwd ymm");
        }
        if (Sse2.IsSupported)
        {
            var x0 = Vector128.Create((short)seed);
            var x1 = Vector128.Create((short)(seed + 1));
            var w0 = Vector128.Create((short)(seed + 2));
            var w1 = Vector128.Create((short)(seed + 3));
            var w2 = Vector128.Create((short)(seed + 4));
            var w3 = Vector128.Create((short)(seed + 5));
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < iterations; i++)
            {
                a0 += Sse2.MultiplyAddAdjacent(x0, w0); a1 += Sse2.MultiplyAddAdjacent(x0, w1);
                a2 += Sse2.MultiplyAddAdjacent(x0, w2); a3 += Sse2.MultiplyAddAdjacent(x0, w3);
                a4 += Sse2.MultiplyAddAdjacent(x1, w0); a5 += Sse2.MultiplyAddAdjacent(x1, w1);
                a6 += Sse2.MultiplyAddAdjacent(x1, w2); a7 += Sse2.MultiplyAddAdjacent(x1, w3);
                x0 += Vector128<short>.One;
                x1 += Vector128<short>.One;
            }
            return (Vector128.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7), 8 * 8, "pmaddwd xmm");
        }
        if (Dp.IsSupported)
        {
            var x0 = Vector128.Create((sbyte)seed);
            var x1 = Vector128.Create((sbyte)(seed + 1));
            var w0 = Vector128.Create((sbyte)(seed + 2));
            var w1 = Vector128.Create((sbyte)(seed + 3));
            var w2 = Vector128.Create((sbyte)(seed + 4));
            var w3 = Vector128.Create((sbyte)(seed + 5));
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < iterations; i++)
            {
                a0 = Dp.DotProduct(a0, x0, w0); a1 = Dp.DotProduct(a1, x0, w1); a2 = Dp.DotProduct(a2, x0, w2); a3 = Dp.DotProduct(a3, x0, w3);
                a4 = Dp.DotProduct(a4, x1, w0); a5 = Dp.DotProduct(a5, x1, w1); a6 = Dp.DotProduct(a6, x1, w2); a7 = Dp.DotProduct(a7, x1, w3);
                x0 += Vector128<sbyte>.One;
                x1 += Vector128<sbyte>.One;
            }
            return (Vector128.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7), 8 * 16, "sdot");
        }
        if (AdvSimd.IsSupported)
        {
            var x0 = Vector64.Create((short)seed);
            var x1 = Vector64.Create((short)(seed + 1));
            var w0 = Vector64.Create((short)(seed + 2));
            var w1 = Vector64.Create((short)(seed + 3));
            var w2 = Vector64.Create((short)(seed + 4));
            var w3 = Vector64.Create((short)(seed + 5));
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < iterations; i++)
            {
                a0 = AdvSimd.MultiplyWideningLowerAndAdd(a0, x0, w0); a1 = AdvSimd.MultiplyWideningLowerAndAdd(a1, x0, w1);
                a2 = AdvSimd.MultiplyWideningLowerAndAdd(a2, x0, w2); a3 = AdvSimd.MultiplyWideningLowerAndAdd(a3, x0, w3);
                a4 = AdvSimd.MultiplyWideningLowerAndAdd(a4, x1, w0); a5 = AdvSimd.MultiplyWideningLowerAndAdd(a5, x1, w1);
                a6 = AdvSimd.MultiplyWideningLowerAndAdd(a6, x1, w2); a7 = AdvSimd.MultiplyWideningLowerAndAdd(a7, x1, w3);
                x0 += Vector64<short>.One;
                x1 += Vector64<short>.One;
            }
            return (Vector128.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7), 8 * 4, "smlal");
        }
        long acc = 0;
        for (long i = 0; i < iterations; i++) acc += i * seed;
        return (acc, 1, "scalar");
    }
}
