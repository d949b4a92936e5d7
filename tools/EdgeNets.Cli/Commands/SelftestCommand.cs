using EdgeNets.Cli.Terminal;
using EdgeNets.Runtime.Kernels;

namespace EdgeNets.Cli.Commands;

/// <summary>`edgenets selftest`: every kernel variant this CPU supports against the scalar reference; non-zero exit on any mismatch.</summary>
public static class SelftestCommand
{
    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new Arguments("selftest", args, new HashSet<string>(), new HashSet<string>());
        a.ExpectPositionals(0);
        var result = KernelSelfTest.Run(stdout);
        return result.Failed == 0 ? 0 : 1;
    }
}
