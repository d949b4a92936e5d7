using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Fuzzing;

/// <summary>
/// The loader fuzzer (<see cref="LoaderFuzzer"/>) as tests: a bounded run with fixed seeds (bounded by iterations, so
/// every run tries the same inputs), a longer local run by environment variable, and the replay of every input that
/// ever showed a defect (Fuzzing/Regressions/loader/). Longer run, whose defects are written to that folder:
/// <c>EDGENETS_FUZZ_ITERATIONS=200000 EDGENETS_FUZZ_SEED=1 dotnet test tests/EdgeNets.Tests -c Release --filter LoaderFuzzTests</c>.
/// </summary>
public class LoaderFuzzTests
{
    private const int CiIterations = 15_000;

    public static string RegressionFolder => Path.Combine(RepoPaths.Root, "tests", "EdgeNets.Tests", "Fuzzing", "Regressions", "loader");

    private static readonly Lazy<LoaderFuzzer> Fuzzer = new(() => new LoaderFuzzer(LoaderFuzzer.DefaultSeeds()));

    [TestCase(1)]
    [TestCase(2)]
    public void MutantsAreRefusedOrRunIdenticallyOnEveryKernelSet(int seed)
    {
        string? requested = Environment.GetEnvironmentVariable("EDGENETS_FUZZ_ITERATIONS");
        bool longRun = int.TryParse(requested, out int iterations) && iterations > 0;
        if (!longRun) iterations = CiIterations;
        // A long run's seed is EDGENETS_FUZZ_SEED combined with the case's, so the two cases try different inputs.
        if (longRun && int.TryParse(Environment.GetEnvironmentVariable("EDGENETS_FUZZ_SEED"), out int chosen)) seed = chosen * 1000 + seed;

        var report = Fuzzer.Value.Run(iterations, seed);
        TestContext.Out.WriteLine(report);
        string folder = longRun ? RegressionFolder : Path.Combine(TestContext.CurrentContext.WorkDirectory, "fuzz-defects");
        Directory.CreateDirectory(folder);
        foreach (var (name, file, _) in report.Defects) File.WriteAllBytes(Path.Combine(folder, name + ".enet"), file);

        Assert.That(report.Defects.Select(d => $"{d.Name}: {d.Detail}"), Is.Empty, $"defective inputs written to {folder}");
        // The mutations reach past the checksum into every check, and enough mutants load to compare kernels on.
        Assert.That(report.Outcomes[LoaderFuzzOutcome.Refused], Is.GreaterThan(iterations / 4));
        Assert.That(report.Outcomes[LoaderFuzzOutcome.Identical], Is.GreaterThan(iterations / 20));
    }

    public static IEnumerable<string> RegressionFiles() =>
        Directory.Exists(RegressionFolder)
            ? Directory.GetFiles(RegressionFolder, "*.enet").Select(Path.GetFileName).Order(StringComparer.Ordinal)!
            : [];

    /// <summary>Every input that once crashed the loader or made the kernel sets disagree: refused now, or identical.</summary>
    [TestCaseSource(nameof(RegressionFiles))]
    public void RegressionInputIsRefusedOrRunsIdentically(string name)
    {
        var (outcome, detail) = LoaderFuzzer.Check(File.ReadAllBytes(Path.Combine(RegressionFolder, name)));
        Assert.That(outcome, Is.AnyOf(LoaderFuzzOutcome.Refused, LoaderFuzzOutcome.Identical), detail);
        if (outcome == LoaderFuzzOutcome.Refused) Assert.That(detail, Does.Not.Contain(Environment.NewLine), "one line");
    }
}
