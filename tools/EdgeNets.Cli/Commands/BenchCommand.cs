using System.Diagnostics;
using System.Globalization;
using EdgeNets.Cli.Terminal;
using EdgeNets.Converter;
using EdgeNets.Converter.Export;
using EdgeNets.Runtime;

namespace EdgeNets.Cli.Commands;

/// <summary>
/// `edgenets bench MODEL.enet [--onnx MODEL.onnx] [--onnx-int8 MODEL_QDQ.onnx] [--threads N] [--profile]`: latency (median, p99),
/// allocations per run and arena bytes; with --onnx the float model in ONNX Runtime is timed in the same process on the same
/// input, and the ratio printed; --onnx-int8 likewise times ONNX Runtime's own int8 (QuantizeLinear/DequantizeLinear) model.
/// Without --onnx-int8, an int8 MODEL.enet and MODEL.onnx give that QDQ model directly (<see cref="QdqExporter"/>: the same
/// int8 weights, scales and zero points), unless --no-onnx-int8.
/// </summary>
public static class BenchCommand
{
    /// <summary>
    /// Warm-up lasts at least this long as well as --warmup runs: under the JIT, hot loops start in quickly compiled
    /// code and are recompiled fully optimized only after a background delay (NativeAOT binaries need no warm-up).
    /// </summary>
    private static readonly TimeSpan MinimumWarmUp = TimeSpan.FromSeconds(1);

    internal static void WarmUp(Action run, int minimumRuns)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < minimumRuns || clock.Elapsed < MinimumWarmUp; i++) run();
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Contains("--kernels")) return KernelBenchCommand.Run(args, stdout);
        var a = new Arguments("bench", args, new HashSet<string> { "onnx", "onnx-int8", "threads", "runs", "warmup" }, new HashSet<string> { "json", "profile", "no-onnx-int8" });
        string enetPath = a.Positional(0, "model file (MODEL.enet)");
        a.ExpectPositionals(1);
        string? onnxPath = a.Option("onnx");
        string? onnxInt8Path = a.Option("onnx-int8");
        int threads = a.IntOption("threads", 1, 1, 256);
        int runs = a.IntOption("runs", 300, 10, 1_000_000);
        int warmup = a.IntOption("warmup", 30, 0, 100_000);
        bool json = a.Flag("json");
        bool profile = a.Flag("profile");
        bool noOnnxInt8 = a.Flag("no-onnx-int8");
        if (noOnnxInt8 && onnxInt8Path != null) throw new CliException("--no-onnx-int8 and --onnx-int8 exclude each other", 2);

        var model = Model.Load(enetPath);
        var input = model.Graph.Tensors[model.Graph.Inputs[0]];
        var output = model.Graph.Tensors[model.Graph.Outputs[0]];
        var sample = DeterministicInput(input.ElementCount);
        var result = new float[output.ElementCount];

        long workingSetBefore = Environment.WorkingSet;
        using var session = model.CreateSession(new SessionOptions { Threads = threads });
        long workingSetPeak = Environment.WorkingSet;
        WarmUp(() => session.Run(sample, result), warmup);
        workingSetPeak = Math.Max(workingSetPeak, Environment.WorkingSet);
        var times = new double[runs];
        // The calling thread's and the session's worker threads' own counts: the whole-process count would also see
        // unrelated threads (a test runner's, the JIT's).
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread() + session.WorkerAllocatedBytes;
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            session.Run(sample, result);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() + session.WorkerAllocatedBytes - allocatedBefore;
        long workingSetGrowth = Math.Max(workingSetPeak, Environment.WorkingSet) - workingSetBefore;
        var (median, p99) = Summarize(times);
        double allocPerRun = (double)allocated / runs;

        string precision = model.Graph.Metadata.TryGetValue("precision", out var pr) ? pr : "?";
        (double Median, double P99, long WorkingSetGrowth)? ort = null, ortInt8 = null;
        if (onnxPath != null)
        {
            if (!File.Exists(onnxPath)) throw new CliException($"{onnxPath}: file not found");
            ort = TimeOnnxRuntime(File.ReadAllBytes(onnxPath), onnxPath, model, enetPath, threads, sample, runs, warmup);
            if (ModelMatch.SourceWarning(onnxPath, model, enetPath) is { } warning) stderr.WriteLine($"edgenets bench: warning: {warning}");
        }
        if (onnxInt8Path != null)
        {
            if (!File.Exists(onnxInt8Path)) throw new CliException($"{onnxInt8Path}: file not found");
            ortInt8 = TimeOnnxRuntime(File.ReadAllBytes(onnxInt8Path), onnxInt8Path, model, enetPath, threads, sample, runs, warmup);
        }
        else if (onnxPath != null && !noOnnxInt8 && precision == "int8")
        {
            byte[]? qdqModel = null;
            try { qdqModel = QdqExporter.Export(File.ReadAllBytes(onnxPath), model.Graph); }
            catch (ConversionException e) { stderr.WriteLine($"onnxruntime int8 not timed: {e.Message}"); }
            if (qdqModel != null) ortInt8 = TimeOnnxRuntime(qdqModel, $"the int8 (QDQ) form of {onnxPath}", model, enetPath, threads, sample, runs, warmup);
        }
        double? ortMedian = ort?.Median, ortP99 = ort?.P99;

        var inv = CultureInfo.InvariantCulture;
        if (json)
        {
            string line = string.Format(inv, "{{\"model\": \"{0}\", \"precision\": \"{1}\", \"runs\": {2}, \"threads\": {3}, \"median_us\": {4:F2}, \"p99_us\": {5:F2}, \"allocated_bytes_per_run\": {6:F1}, \"arena_bytes\": {7}",
                enetPath.Replace("\\", "/", StringComparison.Ordinal), precision, runs, threads, median, p99, allocPerRun, model.ArenaBytes);
            if (ortMedian != null)
                line += string.Format(inv, ", \"onnxruntime_median_us\": {0:F2}, \"onnxruntime_p99_us\": {1:F2}, \"ratio_to_onnxruntime\": {2:F3}, \"onnxruntime_working_set_growth_bytes\": {3}",
                    ortMedian, ortP99, median / ortMedian, ort!.Value.WorkingSetGrowth);
            if (ortInt8 is { } q)
                line += string.Format(inv, ", \"onnxruntime_int8_median_us\": {0:F2}, \"onnxruntime_int8_p99_us\": {1:F2}, \"ratio_to_onnxruntime_int8\": {2:F3}, \"onnxruntime_int8_working_set_growth_bytes\": {3}",
                    q.Median, q.P99, median / q.Median, q.WorkingSetGrowth);
            line += string.Format(inv, ", \"working_set_growth_bytes\": {0}", workingSetGrowth);
            stdout.WriteLine(line + "}");
            return 0;
        }
        stdout.WriteLine($"model: {enetPath} ({precision}), {runs} runs after {warmup} warm-up, input [{string.Join('x', input.Shape)}]");
        stdout.WriteLine(string.Format(inv, "edgenets:     median {0,9:F1} us   p99 {1,9:F1} us   allocated/run {2:F1} B   arena {3} B   ({4} thread(s))", median, p99, allocPerRun, model.ArenaBytes, threads));
        if (ortMedian != null)
        {
            stdout.WriteLine(string.Format(inv, "onnxruntime:  median {0,9:F1} us   p99 {1,9:F1} us   (float32, {2} intra-op thread(s))", ortMedian, ortP99, threads));
            stdout.WriteLine(string.Format(inv, "ratio edgenets/onnxruntime (median): {0:F2}x", median / ortMedian));
        }
        if (ortInt8 is { } qdq)
        {
            stdout.WriteLine(string.Format(inv, "onnxruntime int8: median {0,9:F1} us   p99 {1,9:F1} us   (QDQ, {2} intra-op thread(s){3})",
                qdq.Median, qdq.P99, threads, onnxInt8Path == null ? ", made from MODEL.onnx and the .enet's scales" : ""));
            stdout.WriteLine(string.Format(inv, "ratio edgenets/onnxruntime int8 (median): {0:F2}x", median / qdq.Median));
        }
        // The growth is the arena, the code and the runtime's own start-up, once per session: none of it per run.
        stdout.WriteLine(string.Format(inv, "memory: arena {0:N0} B, all a run uses (0 B allocated per run); process working-set growth over session creation, " +
                                            "warm-up and runs (arena, code pages, runtime start-up; once, not per run): edgenets {1:N0} B{2}{3}",
            model.ArenaBytes, workingSetGrowth,
            ort is { } o ? string.Format(inv, ", onnxruntime {0:N0} B (library load included)", o.WorkingSetGrowth) : "",
            ortInt8 is { } o8 ? string.Format(inv, ", onnxruntime int8 {0:N0} B", o8.WorkingSetGrowth) : ""));
        if (profile) PrintProfile(model, sample, runs, warmup, threads, stdout);
        return 0;
    }

    /// <summary>Per-operator median time over <paramref name="runs"/> profiled runs, with each operator's share of the summed medians.</summary>
    private static void PrintProfile(Model model, float[] sample, int runs, int warmup, int threads, TextWriter stdout)
    {
        var timings = OperatorProfile.Measure(model, sample, runs, warmup, threads);
        double total = timings.Sum(t => t.MedianMicroseconds);
        var inv = CultureInfo.InvariantCulture;
        stdout.WriteLine($"per-operator profile (median of {runs} runs):");
        stdout.WriteLine("    #  op                 kernel                                   median us   share  why this kernel");
        foreach (var t in timings)
            stdout.WriteLine(string.Format(inv, "  {0,3}  {1,-18} {2,-40} {3,9:F2}  {4,5:F1}%  {5}", t.Slot, t.Op, t.Kernel, t.MedianMicroseconds, 100 * t.MedianMicroseconds / total, t.Reason));
        stdout.WriteLine(string.Format(inv, "  sum of medians: {0:F1} us", total));
    }

    /// <summary>
    /// Median and p99 of an ONNX model in ONNX Runtime on the same input, with the same run counts, and the growth of
    /// the process working set from before the session was created to its peak over creation, warm-up and runs.
    /// </summary>
    private static (double Median, double P99, long WorkingSetGrowth) TimeOnnxRuntime(byte[] onnx, string onnxName, Model model, string enetPath,
        int threads, float[] sample, int runs, int warmup)
    {
        long before = Environment.WorkingSet;
        using var ort = new OnnxRuntimeModel(onnx, model.Graph.Tensors[model.Graph.Inputs[0]].Shape, threads);
        ModelMatch.RequireSameInterface(ort, onnxName, model, enetPath);
        using var value = ort.CreateInput(sample);
        long peak = Environment.WorkingSet;
        WarmUp(() => ort.RunForTiming(value, ort.OutputNames), warmup);
        peak = Math.Max(peak, Environment.WorkingSet);
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            ort.RunForTiming(value, ort.OutputNames);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        peak = Math.Max(peak, Environment.WorkingSet);
        var (median, p99) = Summarize(times);
        return (median, p99, peak - before);
    }

    internal static (double Median, double P99) Summarize(double[] times)
    {
        var sorted = (double[])times.Clone();
        Array.Sort(sorted);
        return (sorted[sorted.Length / 2], sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(sorted.Length * 0.99) - 1)]);
    }

    /// <summary>Fixed pseudo-random input in [0, 1): timing must not depend on the data, and runs must be repeatable.</summary>
    private static float[] DeterministicInput(int count)
    {
        var rng = new Random(12345);
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float)rng.NextDouble();
        return v;
    }
}
