using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using EdgeNets.Tests.Support;
using Google.Protobuf;
using NUnit.Framework;

namespace EdgeNets.Tests.Fuzzing;

/// <summary>
/// The importer fuzzer (<see cref="OnnxMutator"/>, <see cref="ImporterFuzzer"/>) over the repository's ONNX models.
/// By default a fixed number of iterations from fixed seeds (deterministic); <c>EDGENETS_FUZZ_SECONDS=600</c> runs
/// for that long instead, and <c>EDGENETS_FUZZ_SEED</c> starts elsewhere. Every input that ends in a bug is written to
/// Regressions/importer/ (named by its hash), where <see cref="Regression_IsRefusedOrConverted"/> replays it forever.
/// </summary>
[TestFixture]
public class ImporterFuzzTests
{
    private const int DefaultIterations = 3000;

    private static string RegressionFolder => Path.Combine(RepoPaths.Root, "tests", "EdgeNets.Tests", "Fuzzing", "Regressions", "importer");

    [Test]
    public void MutatedModels_AreRefusedWithOneLineOrConverted()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("EDGENETS_FUZZ_SEED"), out int s) ? s : 1;
        double seconds = double.TryParse(Environment.GetEnvironmentVariable("EDGENETS_FUZZ_SECONDS"), CultureInfo.InvariantCulture, out double t) ? t : 0;
        var corpus = ImporterFuzzer.Corpus();
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var bugs = new Dictionary<string, (string Input, string Message, byte[] Bytes)>(StringComparer.Ordinal);
        int tried = 0, converted = 0, refused = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; seconds > 0 ? clock.Elapsed.TotalSeconds < seconds : i < DefaultIterations; i++)
        {
            // One generator per iteration: any input is rebuilt from (seed, i) alone.
            var rng = new Random(unchecked(seed * 1_000_003 + i)); // not HashCode.Combine: it is salted per process
            var (name, model) = corpus[rng.Next(corpus.Count)];
            var mutant = OnnxMutator.Mutate(model, rng, out string applied);
            byte[] bytes = mutant.ToByteArray();
            var outcome = ImporterFuzzer.Run(bytes, "mutant.onnx");
            tried++;
            string key = $"{outcome.Verdict.ToString().ToLowerInvariant()}: {outcome.Class}";
            counts[key] = counts.GetValueOrDefault(key) + 1;
            if (outcome.Verdict == FuzzVerdict.Converted) converted++;
            else if (outcome.Verdict == FuzzVerdict.Refused) refused++;
            else if (!bugs.TryGetValue(outcome.Class, out var known) || bytes.Length < known.Bytes.Length)
                bugs[outcome.Class] = ($"seed {seed} iteration {i}: {name} ({applied})", outcome.Message, bytes);
        }

        TestContext.Out.WriteLine($"importer fuzzing, seed {seed}: {tried} inputs tried, {refused} refused, {converted} converted, {tried - refused - converted} bugs");
        foreach (var (key, count) in counts) TestContext.Out.WriteLine($"  {count,6}  {key}");
        foreach (var (cls, bug) in bugs)
        {
            string path = Save(bug.Bytes);
            TestContext.Out.WriteLine($"bug {cls}: {bug.Input}: {bug.Message} -> {Path.GetRelativePath(RepoPaths.Root, path)}");
        }
        Assert.That(bugs.Keys, Is.Empty, "inputs that ended in something other than a one-line refusal or a conversion (kept in Regressions/importer/)");
    }

    public static IEnumerable<TestCaseData> Regressions() =>
        Directory.Exists(RegressionFolder)
            ? Directory.GetFiles(RegressionFolder, "*.onnx").Order(StringComparer.Ordinal).Select(p => new TestCaseData(Path.GetFileName(p)).SetName($"Regression({Path.GetFileName(p)})"))
            : [];

    [TestCaseSource(nameof(Regressions))]
    public void Regression_IsRefusedOrConverted(string file)
    {
        var outcome = ImporterFuzzer.Run(File.ReadAllBytes(Path.Combine(RegressionFolder, file)), file);
        TestContext.Out.WriteLine($"{outcome.Verdict}: {outcome.Class}: {outcome.Message}");
        Assert.That(outcome.Verdict, Is.Not.EqualTo(FuzzVerdict.Bug), $"{outcome.Class}: {outcome.Message}");
    }

    private static string Save(byte[] bytes)
    {
        Directory.CreateDirectory(RegressionFolder);
        string path = Path.Combine(RegressionFolder, Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + ".onnx");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
