namespace EdgeNets.Tests.Support;

/// <summary>Locates the repository (and the shared data sets beside it) from the test binaries.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Models => Path.Combine(Root, "models");
    public static string TestData => Path.Combine(Root, "tests", "data");
    public static string GestureModel => Path.Combine(Models, "gesture-digits");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EdgeNets.sln"))) return dir.FullName;
        throw new InvalidOperationException($"cannot find EdgeNets.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>A fresh temporary directory for one test's files.</summary>
    public static string TempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "edgenets-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
