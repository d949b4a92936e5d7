using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Tests.Support;

namespace EdgeNets.Tests.Fuzzing;

/// <summary>What became of one input.</summary>
public enum LoaderFuzzOutcome
{
    /// <summary>Model.Load refused it with a <see cref="ModelFormatException"/>: the expected end of a hostile file.</summary>
    Refused,
    /// <summary>Loaded and run with the optimized kernels (one and two threads) and the scalar reference: the same bytes.</summary>
    Identical,
    /// <summary>Loaded, but its arena is larger than the fuzzer runs (loading it was the test).</summary>
    LoadedNotRun,
    /// <summary>Defect: an exception other than ModelFormatException from Model.Load.</summary>
    LoadCrash,
    /// <summary>Defect: an exception from a session of a loaded model.</summary>
    RunCrash,
    /// <summary>Defect: the optimized kernels and the scalar reference gave different output bytes.</summary>
    Mismatch,
}

/// <summary>Counts of a fuzzing run, and the inputs that showed a defect.</summary>
public sealed class FuzzReport
{
    public int Tried { get; set; }
    public Dictionary<LoaderFuzzOutcome, int> Outcomes { get; } = Enum.GetValues<LoaderFuzzOutcome>().ToDictionary(o => o, _ => 0);
    /// <summary>Refusals by the class of their message (names and numbers blanked).</summary>
    public Dictionary<string, int> RefusalClasses { get; } = new(StringComparer.Ordinal);
    public List<(string Name, byte[] File, string Detail)> Defects { get; } = new();

    private const int MaxClassesShown = 40;

    public int DefectCount => Outcomes[LoaderFuzzOutcome.LoadCrash] + Outcomes[LoaderFuzzOutcome.RunCrash] + Outcomes[LoaderFuzzOutcome.Mismatch];

    public override string ToString()
    {
        var lines = new List<string>
        {
            $"{Tried} inputs: {Outcomes[LoaderFuzzOutcome.Refused]} refused, {Outcomes[LoaderFuzzOutcome.Identical]} accepted and identical on optimized and reference kernels, " +
            $"{Outcomes[LoaderFuzzOutcome.LoadedNotRun]} accepted (arena too large to run here), {Outcomes[LoaderFuzzOutcome.LoadCrash]} load crashes, " +
            $"{Outcomes[LoaderFuzzOutcome.RunCrash]} run crashes, {Outcomes[LoaderFuzzOutcome.Mismatch]} mismatches",
            "refusals by message class:",
        };
        var classes = RefusalClasses.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        foreach (var (cls, n) in classes.Take(MaxClassesShown)) lines.Add($"  {n,7}  {cls}");
        if (classes.Length > MaxClassesShown)
            lines.Add($"  {classes.Skip(MaxClassesShown).Sum(kv => kv.Value),7}  in {classes.Length - MaxClassesShown} other classes");
        foreach (var (name, _, detail) in Defects) lines.Add($"DEFECT {name}: {detail}");
        return string.Join(Environment.NewLine, lines);
    }
}

/// <summary>
/// In-process, seeded, structure-aware mutation fuzzer of the model loader: mutates real .enet files (the example models
/// and generated one-operator models of every kernel family) with <see cref="EnetMutator"/>, loads each mutant, and runs
/// every accepted one on the optimized kernels (one and two threads) and on the scalar reference
/// (<see cref="SessionOptions.ReferenceKernelsOnly"/>), requiring the same output bytes. The same seed and iteration
/// count always try the same inputs.
/// </summary>
public sealed class LoaderFuzzer
{
    /// <summary>Mutants whose arena is larger than this are loaded but not run (their run time, not their safety, is the issue).</summary>
    public const long MaxRunArenaBytes = 4 << 20;

    private readonly IReadOnlyList<(string Name, byte[] File)> _seeds;

    public LoaderFuzzer(IReadOnlyList<(string Name, byte[] File)> seeds) => _seeds = seeds;

    /// <summary>The example models' files and a few small generated models per operator family and element type.</summary>
    public static IReadOnlyList<(string Name, byte[] File)> DefaultSeeds()
    {
        var seeds = new List<(string, byte[])>();
        foreach (string dir in Directory.GetDirectories(RepoPaths.Models).Order(StringComparer.Ordinal))
        {
            string path = Path.Combine(dir, "model.enet");
            if (File.Exists(path)) seeds.Add((Path.GetFileName(dir), File.ReadAllBytes(path)));
        }
        foreach (var op in Enum.GetValues<OpType>())
            foreach (var type in new[] { DataType.Int8, DataType.Float32 })
            {
                if (!KernelCases.Covers(op, type)) continue;
                // The two smallest cases: fast to run, and enough to reach the operator's setup and kernels.
                var files = KernelCases.For(op, type).Select(c => (c.Description, File: EnetWriter.Write(c.Graph)))
                    .OrderBy(f => f.File.Length).Take(2);
                foreach (var (description, file) in files) seeds.Add(($"{op}-{type}: {description}", file));
            }
        return seeds;
    }

    /// <summary>Tries <paramref name="iterations"/> mutants from <paramref name="seed"/>.</summary>
    public FuzzReport Run(int iterations, int seed)
    {
        var report = new FuzzReport();
        var rng = new Random(seed);
        var mutator = new EnetMutator(rng);
        for (int i = 0; i < iterations; i++)
        {
            var (name, original) = _seeds[rng.Next(_seeds.Count)];
            var file = mutator.Mutate(original);
            var (outcome, detail) = Check(file, inputSeed: i);
            Record(report, outcome, detail, $"seed{seed}-{i:D6}-{Slug(name)}", file);
        }
        return report;
    }

    public static void Record(FuzzReport report, LoaderFuzzOutcome outcome, string detail, string name, byte[] file)
    {
        report.Tried++;
        report.Outcomes[outcome]++;
        if (outcome == LoaderFuzzOutcome.Refused)
        {
            string cls = MessageClass(detail);
            report.RefusalClasses[cls] = report.RefusalClasses.GetValueOrDefault(cls) + 1;
        }
        else if (outcome is LoaderFuzzOutcome.LoadCrash or LoaderFuzzOutcome.RunCrash or LoaderFuzzOutcome.Mismatch)
        {
            report.Defects.Add((name, file, $"{outcome}: {detail}"));
        }
    }

    /// <summary>Loads one input and, when accepted, runs it on every kernel set; the outcome and its message.</summary>
    public static (LoaderFuzzOutcome Outcome, string Detail) Check(byte[] file, int inputSeed = 0)
    {
        Model model;
        try { model = Model.Load(file); }
        catch (ModelFormatException e) { return (LoaderFuzzOutcome.Refused, e.Message); }
        catch (Exception e) { return (LoaderFuzzOutcome.LoadCrash, OneLine(e)); }
        if (model.ArenaBytes > MaxRunArenaBytes) return (LoaderFuzzOutcome.LoadedNotRun, $"arena {model.ArenaBytes} bytes");
        try
        {
            var reference = RunOnce(model, new SessionOptions { ReferenceKernelsOnly = true }, inputSeed);
            foreach (int threads in new[] { 1, 2 })
            {
                var optimized = RunOnce(model, new SessionOptions { Threads = threads }, inputSeed);
                for (int o = 0; o < reference.Length; o++)
                {
                    if (optimized[o].AsSpan().SequenceEqual(reference[o])) continue;
                    int at = optimized[o].AsSpan().CommonPrefixLength(reference[o]);
                    var tensor = model.Graph.Tensors[model.Graph.Outputs[o]];
                    return (LoaderFuzzOutcome.Mismatch, $"output '{tensor.Name}' differs at byte {at} with {threads} thread(s) " +
                        $"(optimized {string.Join(", ", OpKernels(model, threads))})");
                }
            }
        }
        catch (Exception e) { return (LoaderFuzzOutcome.RunCrash, OneLine(e)); }
        return (LoaderFuzzOutcome.Identical, "");
    }

    /// <summary>Every graph output's bytes after one run on inputs drawn from <paramref name="inputSeed"/> (finite floats, any int8).</summary>
    private static byte[][] RunOnce(Model model, SessionOptions options, int inputSeed)
    {
        using var session = model.CreateSession(options);
        var g = model.Graph;
        var rng = new Random(inputSeed);
        for (int i = 0; i < g.Inputs.Count; i++)
        {
            var bytes = session.GetInputBytes(i);
            if (g.Tensors[g.Inputs[i]].Type == DataType.Float32)
            {
                var floats = MemoryMarshal.Cast<byte, float>(bytes);
                for (int k = 0; k < floats.Length; k++) floats[k] = (float)(rng.NextDouble() * 8 - 4);
            }
            else rng.NextBytes(bytes);
        }
        session.Invoke();
        return g.Outputs.Select(o => session.GetTensorBytes(o).ToArray()).ToArray();
    }

    private static IEnumerable<string> OpKernels(Model model, int threads)
    {
        using var session = model.CreateSession(new SessionOptions { Threads = threads });
        return session.KernelNames.Distinct().ToArray();
    }

    /// <summary>A refusal message with names, numbers and shapes blanked, so refusals of one kind count together.</summary>
    public static string MessageClass(string message)
    {
        string s = Regex.Replace(message, "'[^']*'", "'*'");
        s = Regex.Replace(s, @"^[A-Z][A-Za-z]+ '\*'", "<op>");
        s = Regex.Replace(s, @"\[[^\]]*\]", "[*]");
        s = Regex.Replace(s, @"-?\d+(\.\d+)?([eE][+-]?\d+)?|-?∞|NaN|[0-9a-f]{16}", "#");
        return s.Length > 100 ? s[..100] : s;
    }

    private static string OneLine(Exception e)
    {
        var frame = e.StackTrace?.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("EdgeNets.", StringComparison.Ordinal)) ?? "";
        return $"{e.GetType().Name}: {e.Message} {frame}";
    }

    private static string Slug(string name)
    {
        string s = Regex.Replace(name, "[^A-Za-z0-9]+", "-").Trim('-');
        return s.Length > 40 ? s[..40] : s;
    }
}
