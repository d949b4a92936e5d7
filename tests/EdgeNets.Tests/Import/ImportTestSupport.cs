using EdgeNets.Converter.Import;
using EdgeNets.Converter.Planning;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;

using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Import;

/// <summary>Paths of the repository and the path a converted model takes to a session: plan, write, load.</summary>
public static class ImportTestSupport
{
    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "EdgeNets.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (EdgeNets.sln) not found above the test directory");
    }

    /// <summary>Plans the arena, writes the model file and loads it, as the converter's caller does.</summary>
    public static Model Load(ModelGraph graph)
    {
        ArenaPlanner.Plan(graph);
        return Model.Load(EnetWriter.Write(graph));
    }

    public static Model ImportAndLoad(byte[] onnx, string name, ImportOptions? options = null) => Load(OnnxImporter.Import(onnx, name, options));

    /// <summary>Relative agreement: |actual - expected| &lt;= rel * |expected| + abs, element by element.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float rel, float abs, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: element count");
        int bad = -1;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            double excess = Math.Abs(a - e) - (rel * Math.Abs(e) + abs);
            if (double.IsNaN(a) != double.IsNaN(e) || excess > worst) { worst = double.IsNaN(excess) ? double.PositiveInfinity : excess; bad = i; }
        }
        if (bad >= 0)
            Assert.Fail($"{what}: element {bad} is {actual[bad]}, expected {expected[bad]} (tolerance {rel} relative + {abs})");
    }
}
