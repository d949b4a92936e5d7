namespace EdgeNets.Cli.Terminal;

/// <summary>
/// Minimal command-line parsing: positional arguments plus `--name value`, `--name=value` and boolean `--flag`.
/// Options may repeat (`--input a=x.npy --input b=y.npy`). Unknown options are errors. Messages do not name the
/// command: <see cref="Program"/> prefixes every error with `edgenets COMMAND:`. Kept by hand rather than System.CommandLine
/// (NativeAOT-clean too): that library adds megabytes to the AOT binary, takes an unknown `--flag` as a positional
/// value and prints multi-line errors with exit code 1, where this contract is one line and exit code 2.
/// </summary>
public sealed class Arguments
{
    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public Arguments(string command, IReadOnlyList<string> args, IReadOnlySet<string> valueOptions, IReadOnlySet<string> flagOptions)
    {
        Command = command;
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)
            {
                string name = a[2..];
                string? value = null;
                int eq = name.IndexOf('=');
                if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
                if (flagOptions.Contains(name))
                {
                    if (value != null) throw new CliException($"option --{name} takes no value", 2);
                    _flags.Add(name);
                }
                else if (valueOptions.Contains(name))
                {
                    if (value == null)
                    {
                        if (i + 1 >= args.Count) throw new CliException($"option --{name} needs a value", 2);
                        value = args[++i];
                    }
                    if (!_options.TryGetValue(name, out var list)) _options[name] = list = new List<string>();
                    list.Add(value);
                }
                else throw UnknownOption(a);
            }
            else if (a == "-o")
            {
                if (i + 1 >= args.Count) throw new CliException("option -o needs a value", 2);
                if (!_options.TryGetValue("output", out var list)) _options["output"] = list = new List<string>();
                list.Add(args[++i]);
            }
            else if (a.Length > 1 && a[0] == '-' && !double.TryParse(a, System.Globalization.CultureInfo.InvariantCulture, out _)) throw UnknownOption(a);
            else Positionals.Add(a);
        }
    }

    private CliException UnknownOption(string option) => new($"unknown option {option} (see 'edgenets {Command} --help')", 2);

    public string Command { get; }
    public List<string> Positionals { get; } = new();

    public bool Flag(string name) => _flags.Contains(name);

    public string? Option(string name)
    {
        if (!_options.TryGetValue(name, out var list)) return null;
        if (list.Count > 1) throw new CliException($"option --{name} given {list.Count} times", 2);
        return list[0];
    }

    public IReadOnlyList<string> OptionList(string name) => _options.TryGetValue(name, out var list) ? list : Array.Empty<string>();

    public string Require(string name) => Option(name) ?? throw new CliException($"missing required option --{name}", 2);

    public int IntOption(string name, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        string? v = Option(name);
        if (v == null) return defaultValue;
        if (!int.TryParse(v, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int n) || n < min || n > max)
            throw new CliException($"--{name} must be an integer in [{min}, {max}], got '{v}'", 2);
        return n;
    }

    public double DoubleOption(string name, double defaultValue, double min, double max)
    {
        string? v = Option(name);
        if (v == null) return defaultValue;
        if (!double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double d) || d < min || d > max)
            throw new CliException($"--{name} must be a number in [{min}, {max}], got '{v}'", 2);
        return d;
    }

    public string Positional(int index, string what)
    {
        if (index >= Positionals.Count) throw new CliException($"missing {what} (see 'edgenets {Command} --help')", 2);
        return Positionals[index];
    }

    public void ExpectPositionals(int count)
    {
        if (Positionals.Count > count) throw new CliException($"unexpected argument '{Positionals[count]}'", 2);
    }
}
