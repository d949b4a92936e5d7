using System.Reflection;
using EdgeNets.Cli.Commands;
using EdgeNets.Cli.Terminal;
using EdgeNets.Converter;
using EdgeNets.Runtime.Format;

namespace EdgeNets.Cli;

public static class Program
{
    /// <summary>One verb of the command line: its name, its help text and what runs it.</summary>
    private sealed record Verb(string Name, string Help, Func<string[], TextWriter, TextWriter, int> Run);

    private static readonly Verb[] Verbs =
    [
        new("convert", HelpText.Convert, ConvertCommand.Run),
        new("run", HelpText.Run, RunCommand.Run),
        new("inspect", HelpText.Inspect, (args, stdout, _) => InspectCommand.Run(args, stdout)),
        new("eval", HelpText.Eval, EvalCommand.Run),
        new("bench", HelpText.Bench, BenchCommand.Run),
        new("selftest", HelpText.Selftest, (args, stdout, _) => SelftestCommand.Run(args, stdout)),
    ];

    /// <summary>The informational version the build stamps into the assembly (the package version, and the commit when known).</summary>
    public static string Version =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
        {
            stderr.WriteLine(HelpText.Overview);
            return 2;
        }
        if (args[0] is "--help" or "-h" or "help")
        {
            // `edgenets help COMMAND` as well as `edgenets COMMAND --help`.
            var topic = args.Length > 1 ? Verbs.FirstOrDefault(v => v.Name == args[1]) : null;
            stdout.WriteLine(topic?.Help ?? HelpText.Overview);
            return 0;
        }
        if (args[0] == "--version")
        {
            stdout.WriteLine($"edgenets {Version}");
            return 0;
        }
        string command = args[0];
        var rest = args[1..];
        try
        {
            var verb = Verbs.FirstOrDefault(v => v.Name == command)
                ?? throw new CliException($"unknown command (commands: {string.Join(", ", Verbs.Select(v => v.Name))}; see 'edgenets --help')", 2);
            if (rest.Any(a => a is "--help" or "-h"))
            {
                stdout.WriteLine(verb.Help);
                return 0;
            }
            return verb.Run(rest, stdout, stderr);
        }
        catch (CliException e)
        {
            stderr.WriteLine($"edgenets {command}: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (e is ModelFormatException or ConversionException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
                                      or IOException or UnauthorizedAccessException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            stderr.WriteLine($"edgenets {command}: {FirstLine(e.Message)}");
            return 1;
        }
    }

    /// <summary>ONNX Runtime's messages can span lines (a stack of its own); an error stays one line.</summary>
    private static string FirstLine(string message)
    {
        int end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
