using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels;

/// <summary>
/// Runs every kernel variant this CPU supports against the scalar reference of the same operator and type on the
/// seeded cases of <see cref="KernelCases"/>, requiring identical output bytes (float32: any NaN matches any NaN). Used by `edgenets selftest` and the host.
/// </summary>
public static class KernelSelfTest
{
    /// <summary>Variants that matched the reference on every case, variants that did not, variants this CPU cannot run.</summary>
    public readonly record struct Result(int Passed, int Failed, int Skipped);

    public static Result Run(TextWriter log)
    {
        log.WriteLine($"CPU features: {CpuFeatures.Describe()}");
        int passed = 0, failed = 0, skipped = 0;
        foreach (var variant in KernelRegistry.All)
        {
            if (!variant.IsReference) Report(variant.Name, variant.IsSupported(), () => Check(variant));
        }
        foreach (var variant in ConvPoolFusion.All.Concat(ConvEpilogueFusion.All)) Report(variant.Name, variant.IsSupported(), () => CheckFused(variant));
        log.WriteLine($"{passed} passed, {failed} failed");
        return new Result(passed, failed, skipped);

        void Report(string name, bool supported, Func<VariantOutcome> check)
        {
            if (!supported)
            {
                log.WriteLine($"  {name}: skipped (not supported on this CPU)");
                skipped++;
                return;
            }
            var outcome = check();
            if (outcome.Failure == null)
            {
                string split = outcome.SplitCases > 0 ? $" ({outcome.SplitCases} also split across threads)" : "";
                log.WriteLine($"  {name}: {outcome.Cases} cases identical to {outcome.Reference}{split}");
                passed++;
            }
            else
            {
                log.WriteLine($"  {name}: FAILED {outcome.Failure}");
                failed++;
            }
        }
    }

    /// <summary>Outcome of one variant: the reference it was held to, how many cases it took, the first mismatch if any.</summary>
    public readonly record struct VariantOutcome(string Reference, int Cases, string? Failure, int SplitCases = 0);

    /// <summary>Compares <paramref name="variant"/> with its reference on every case it accepts (<see cref="KernelEntry.IsExact"/>: every node it computes exactly, not only those its policy prefers it for).</summary>
    public static VariantOutcome Check(KernelEntry variant)
    {
        using var workers = new WorkerPool(SelfTestWorkers);
        var reference = ReferenceFor(variant);
        if (reference == null) return new VariantOutcome("-", 0, $"no reference kernel for {variant.Op} {variant.Type}");
        if (!KernelCases.Covers(variant.Op, variant.Type))
            return new VariantOutcome(reference.Name, 0, $"no test cases for {variant.Op} {variant.Type}");
        int count = 0, split = 0;
        foreach (var c in KernelCases.For(variant.Op, variant.Type))
        {
            if (!variant.IsExact(new KernelSetup(c.Graph, c.Op))) continue;
            count++;
            bool wasSplit = false;
            string? mismatch = Compare(variant, reference, c) ?? Compare(variant, reference, c, workers, out wasSplit);
            if (mismatch != null) return new VariantOutcome(reference.Name, count, $"{c.Description}: {mismatch}");
            if (wasSplit) split++;
        }
        if (count == 0) return new VariantOutcome(reference.Name, 0, "accepted none of the test cases");
        return new VariantOutcome(reference.Name, count, null, split);
    }

    /// <summary>
    /// Compares a fused Conv variant with the reference Conv followed by the reference of the operator it fuses on every
    /// pair it computes (<see cref="FusedConvPoolEntry.IsExact"/>): <see cref="KernelCases.ConvPoolPairs"/> for a
    /// Conv + MaxPool, <see cref="KernelCases.ConvEpiloguePairs"/> for a Conv + epilogue.
    /// </summary>
    public static VariantOutcome CheckFused(FusedConvPoolEntry variant)
    {
        bool pool = variant.Fuses(OpType.MaxPool);
        var conv = KernelRegistry.Reference(OpType.Conv, DataType.Int8);
        string reference = pool ? $"{conv.Name} + MaxPool2dInt8_Reference" : $"{conv.Name} + LookupTable/Add reference";
        int count = 0;
        foreach (var c in pool ? KernelCases.ConvPoolPairs() : KernelCases.ConvEpiloguePairs())
        {
            var convSetup = new KernelSetup(c.Graph, c.Graph.Ops[0]);
            var second = new KernelSetup(c.Graph, c.Graph.Ops[1]);
            if (pool ? !ConvPoolFusion.TilesConvOutput(convSetup, second, out _, out _) : !ConvEpilogueFusion.Fuses(convSetup, second))
                return new VariantOutcome(reference, count, $"{c.Description}: the pattern does not hold");
            if (!variant.IsExact(convSetup)) continue;
            count++;
            string? mismatch = CompareFused(variant, conv, KernelRegistry.Reference(second.Op.Type, DataType.Int8), c);
            if (mismatch != null) return new VariantOutcome(reference, count, $"{c.Description}: {mismatch}");
        }
        if (count == 0) return new VariantOutcome(reference, 0, "accepted none of the test cases");
        return new VariantOutcome(reference, count, null);
    }

    /// <summary>Runs the two reference kernels and the fused variant on a Conv + MaxPool (or + epilogue operator) pair; null when the second operator's output bytes are identical.</summary>
    public static string? CompareFused(FusedConvPoolEntry variant, KernelEntry convReference, KernelEntry poolReference, KernelCase c)
    {
        var graph = c.Graph;
        var offsets = new long[graph.Tensors.Count];
        for (int i = 0; i < offsets.Length; i++) offsets[i] = graph.Tensors[i].IsConstant ? -1 : graph.Tensors[i].Offset;
        var memory = new TensorMemory(graph, offsets, graph.ArenaBytes);
        foreach (var (tensor, bytes) in c.Inputs) bytes.CopyTo(memory.Bytes(tensor));
        var convSetup = new KernelSetup(graph, graph.Ops[0]);
        var poolSetup = new KernelSetup(graph, graph.Ops[1]);
        OpKernel convKernel, poolKernel, fused;
        try
        {
            convKernel = convReference.Create(convSetup);
            poolKernel = poolReference.Create(poolSetup);
        }
        catch (Exception e)
        {
            return $"reference rejected the case: {e.Message}";
        }
        try
        {
            fused = variant.Create(convSetup, poolSetup);
        }
        catch (Exception e)
        {
            return $"variant rejected a case it accepts: {e.Message}";
        }
        if (fused.Name != variant.Name) return $"kernel reports name {fused.Name}, registered as {variant.Name}";
        int output = graph.Ops[1].Outputs[0], intermediate = graph.Ops[0].Outputs[0];
        memory.Bytes(output).Fill(0xA5);
        convKernel.Run(memory);
        poolKernel.Run(memory);
        var expected = memory.Bytes(output).ToArray();
        // The fused kernel neither reads nor needs the Conv's output.
        memory.Bytes(intermediate).Fill(0x33);
        memory.Bytes(output).Fill(0x5A);
        fused.Run(memory);
        return CompareBytes(expected, memory.Bytes(output), graph.Tensors[output]);
    }

    /// <summary>Worker threads besides the caller for the split runs: an odd part count splits unevenly.</summary>
    private const int SelfTestWorkers = 2;

    public static KernelEntry? ReferenceFor(KernelEntry variant) => KernelRegistry.FindReference(variant.Op, variant.Type);

    /// <summary>
    /// Runs reference and variant on the case; null when the output bytes are identical, else what differed.
    /// The output is prefilled with a different sentinel for each, so an element the variant skips shows as a mismatch.
    /// With <paramref name="workers"/>, the variant runs split across them when it takes them for this case (null when it
    /// does not: the one-thread run covered it).
    /// </summary>
    public static string? Compare(KernelEntry variant, KernelEntry reference, KernelCase c) => Compare(variant, reference, c, null, out _);

    internal static string? Compare(KernelEntry variant, KernelEntry reference, KernelCase c, WorkerPool? workers, out bool split)
    {
        split = false;
        var graph = c.Graph;
        var offsets = new long[graph.Tensors.Count];
        for (int i = 0; i < offsets.Length; i++) offsets[i] = graph.Tensors[i].IsConstant ? -1 : graph.Tensors[i].Offset;
        var memory = new TensorMemory(graph, offsets, graph.ArenaBytes);
        foreach (var (tensor, bytes) in c.Inputs) bytes.CopyTo(memory.Bytes(tensor));

        OpKernel expectedKernel, actualKernel;
        try
        {
            expectedKernel = reference.Create(new KernelSetup(graph, c.Op));
        }
        catch (Exception e)
        {
            return $"reference rejected the case: {e.Message}";
        }
        try
        {
            actualKernel = variant.Create(new KernelSetup(graph, c.Op));
        }
        catch (Exception e)
        {
            return $"variant rejected a case it accepts: {e.Message}";
        }
        if (actualKernel.Name != variant.Name) return $"kernel reports name {actualKernel.Name}, registered as {variant.Name}";
        if (workers != null)
        {
            actualKernel.UseWorkers(workers);
            if (!actualKernel.IsParallel) return null;
            split = true;
        }

        // Every output; a stateful kernel (LSTM/GRU/RNN) also a second run that continues from the first one's state.
        var outputs = c.Op.Outputs;
        var expectedStateful = expectedKernel as Reference.IStatefulKernel;
        var actualStateful = actualKernel as Reference.IStatefulKernel;
        int runs = expectedStateful != null && actualStateful != null ? 2 : 1;
        for (int run = 0; run < runs; run++)
        {
            if (run == 1) expectedStateful!.CarryState = actualStateful!.CarryState = true;
            foreach (int output in outputs) memory.Bytes(output).Fill(0xA5);
            expectedKernel.Run(memory);
            var expected = new byte[outputs.Length][];
            for (int o = 0; o < outputs.Length; o++) expected[o] = memory.Bytes(outputs[o]).ToArray();
            foreach (int output in outputs) memory.Bytes(output).Fill(0x5A);
            actualKernel.Run(memory);
            for (int o = 0; o < outputs.Length; o++)
            {
                string? mismatch = CompareBytes(expected[o], memory.Bytes(outputs[o]), graph.Tensors[outputs[o]]);
                if (mismatch == null) continue;
                string where = outputs.Length > 1 ? $"output {o} '{graph.Tensors[outputs[o]].Name}', " : "";
                return $"{(workers != null ? $"split across {workers.Parts} threads, " : "")}{(run == 1 ? "run with carried state, " : "")}{where}{mismatch}";
            }
        }
        return null;
    }

    private static string? CompareBytes(byte[] expected, ReadOnlySpan<byte> actual, TensorInfo tensor)
    {
        int size = tensor.Type.SizeInBytes(), count = expected.Length / size;
        for (int element = 0; element < count; element++)
        {
            var e = expected.AsSpan(element * size, size);
            var a = actual.Slice(element * size, size);
            if (e.SequenceEqual(a)) continue;
            // A float NaN's sign and payload follow operand order, which the JIT may swap for a commutative add or
            // multiply (x64 and arm64 then propagate different NaNs): any NaN matches any NaN.
            if (tensor.Type == DataType.Float32 && float.IsNaN(BitConverter.ToSingle(e)) && float.IsNaN(BitConverter.ToSingle(a))) continue;
            return $"element {element} of {count}: reference {Format(e, tensor.Type)}, variant {Format(a, tensor.Type)}";
        }
        return null;
    }

    private static string Format(ReadOnlySpan<byte> element, DataType type) => type switch
    {
        DataType.Int8 => ((sbyte)element[0]).ToString(),
        DataType.Float32 => $"{BitConverter.ToSingle(element)} (0x{BitConverter.ToUInt32(element):X8})",
        _ => Convert.ToHexString(element),
    };
}
