using System.Diagnostics;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels;

/// <summary>Times one kernel variant on one operator of a graph, outside a session, so variants can be compared on the same op.</summary>
public static class KernelBenchmark
{
    /// <summary>Shortest warm-up: long enough for the JIT's tiering to reach the optimized code (NativeAOT needs none).</summary>
    private static readonly TimeSpan MinimumWarmUp = TimeSpan.FromMilliseconds(400);

    /// <summary>
    /// Seconds per <see cref="OpKernel.Run"/> of <paramref name="variant"/> on <paramref name="op"/>: the fastest of
    /// <paramref name="batches"/> batches of runs lasting about <paramref name="batchSeconds"/> each (the minimum, as
    /// other processes only ever add time). Activations get the given bytes (or stay zero).
    /// </summary>
    public static double SecondsPerRun(KernelEntry variant, ModelGraph graph, OpInfo op, IReadOnlyList<(int Tensor, byte[] Bytes)>? inputs = null,
        double batchSeconds = 0.005, int batches = 21) =>
        SecondsPerRun([variant.Create(new KernelSetup(graph, op))], graph, inputs, batchSeconds, batches);

    /// <summary>As above for prepared kernels run one after another (e.g. a Conv and the MaxPool reading its output).</summary>
    public static double SecondsPerRun(IReadOnlyList<OpKernel> kernels, ModelGraph graph, IReadOnlyList<(int Tensor, byte[] Bytes)>? inputs = null,
        double batchSeconds = 0.005, int batches = 21)
    {
        var offsets = new long[graph.Tensors.Count];
        for (int i = 0; i < offsets.Length; i++) offsets[i] = graph.Tensors[i].IsConstant ? -1 : graph.Tensors[i].Offset;
        var memory = new TensorMemory(graph, offsets, graph.ArenaBytes);
        if (inputs != null)
            foreach (var (tensor, bytes) in inputs) bytes.CopyTo(memory.Bytes(tensor));
        void RunAll()
        {
            for (int k = 0; k < kernels.Count; k++) kernels[k].Run(memory);
        }

        // Warm up and size the batches. Under the JIT, code called once per run (the im2col, the loops around the
        // micro-kernels) is recompiled fully optimized only after 30 calls and a background delay of 100 ms or more,
        // so slow variants would otherwise be timed in their quickly compiled form.
        var warmUp = Stopwatch.StartNew();
        for (int i = 0; i < 60 || warmUp.Elapsed < MinimumWarmUp; i++) RunAll();
        int runs = 1;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < runs; i++) RunAll();
            if (Stopwatch.GetElapsedTime(start).TotalSeconds >= batchSeconds / 4 || runs >= 1 << 24) break;
            runs *= 2;
        }
        runs = Math.Max(1, runs * 4);
        var times = new double[batches];
        for (int b = 0; b < batches; b++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < runs; i++) RunAll();
            times[b] = Stopwatch.GetElapsedTime(start).TotalSeconds / runs;
        }
        return times.Min();
    }

    /// <summary>Multiply-accumulates of a Conv or Gemm operator (0 for others).</summary>
    public static long MultiplyAccumulates(ModelGraph graph, OpInfo op)
    {
        if ((op.Type != OpType.Conv && op.Type != OpType.Gemm) || op.Inputs.Length < 2) return 0;
        var y = graph.Tensors[op.Outputs[0]];
        var w = graph.Tensors[op.Inputs[1]];
        // Every output element sums over one filter (Conv: C/group · kernel taps; Gemm: K).
        return w.Shape[0] == 0 ? 0 : (long)y.ElementCount * (w.ElementCount / w.Shape[0]);
    }
}
