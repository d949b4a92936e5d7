namespace EdgeNets.Cli.Terminal;

/// <summary>A user error (bad argument, missing or malformed file): printed as one line on stderr, exit code 1 or 2.</summary>
public sealed class CliException : Exception
{
    public CliException(string message, int exitCode = 1) : base(message) { ExitCode = exitCode; }
    public int ExitCode { get; }
}
