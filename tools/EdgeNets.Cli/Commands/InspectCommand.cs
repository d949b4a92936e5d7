using System.Globalization;
using EdgeNets.Cli.Terminal;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;

namespace EdgeNets.Cli.Commands;

/// <summary>`edgenets inspect MODEL.enet`: operators, shapes, quantization, weight and arena bytes, chosen kernels.</summary>
public static class InspectCommand
{
    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new Arguments("inspect", args, new HashSet<string>(), new HashSet<string> { "verbose" });
        string path = a.Positional(0, "model file (MODEL.enet)");
        a.ExpectPositionals(1);
        bool verbose = a.Flag("verbose");
        var model = Model.Load(path);
        using var session = model.CreateSession();
        var g = model.Graph;
        var inv = CultureInfo.InvariantCulture;

        var summary = new List<(string Key, string Value)> { ("model", path) };
        // Auto calibration's per-tensor choices are listed by operator with --verbose.
        var choices = CalibrationStats.ParseChoices(g);
        foreach (var (k, v) in g.Metadata)
            summary.Add(("  " + k, k == CalibrationStats.ChoicesKey ? $"{choices.Count} tensors{(verbose ? ", by operator below" : " (--verbose: by operator)")}" : v));
        summary.Add(("file bytes", new FileInfo(path).Length.ToString(inv)));
        summary.Add(("weight bytes", model.WeightBytes.ToString(inv)));
        summary.Add(("arena bytes", model.ArenaBytes.ToString(inv)));
        // An upper bound from the shapes (every kernel variant stays within it), checked before the kernels allocate.
        summary.Add(("scratch bytes", $"{session.ScratchBytes.ToString(inv)} at most (kernel buffers and packed weights)"));
        summary.Add(("cpu features", CpuFeatures.Describe()));
        foreach (int i in g.Inputs) summary.Add(("input", Describe(g.Tensors[i])));
        foreach (int o in g.Outputs) summary.Add(("output", Describe(g.Tensors[o])));
        // Plain integers: scripts read them (tools/zoo/run.sh takes the arena bytes).
        int keyWidth = summary.Max(p => p.Key.Length) + 1;
        foreach (var (key, value) in summary) stdout.WriteLine($"{(key + ":").PadRight(keyWidth)} {value}");
        stdout.WriteLine();

        // Columns as wide as their widest cell, so long kernel names or shapes do not shift the rest.
        var rows = new List<string[]> { new[] { "#", "op", "precision", "kernel", "output", "weights", "name" } };
        var kernels = session.KernelNames;
        for (int i = 0; i < g.Ops.Count; i++)
        {
            var op = g.Ops[i];
            long weights = op.Inputs.Where(t => t >= 0 && g.Tensors[t].IsConstant).Sum(t => (long)g.Tensors[t].ByteLength);
            rows.Add([i.ToString(inv), op.Type.ToString(), Report.Precisions.OfLayer(g, op), kernels[i], Describe(g.Tensors[op.Outputs[0]]), weights.ToString("N0", inv) + " B", op.Name]);
        }
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var reasons = session.KernelChoiceReasons;
        for (int r = 0; r < rows.Count; r++)
        {
            var cells = rows[r];
            string line = cells[0].PadLeft(widths[0]) + "  " + string.Join("  ", cells[1..^1].Select((c, k) => k == 4 ? c.PadLeft(widths[k + 1]) : c.PadRight(widths[k + 1]))) + "  " + cells[^1];
            stdout.WriteLine(line.TrimEnd());
            if (!verbose || r == 0) continue;
            var op = g.Ops[r - 1];
            string indent = new(' ', widths[0] + 2);
            stdout.WriteLine($"{indent}kernel chosen: {reasons[r - 1]}");
            if (choices.TryGetValue(op.Outputs[0], out var method)) stdout.WriteLine($"{indent}calibration: {method}");
            foreach (var (key, values) in op.Attributes.Ints)
                stdout.WriteLine($"{indent}{key} = [{Abbreviate(values.Select(v => v.ToString(inv)))}]");
            foreach (var (key, values) in op.Attributes.Floats)
                stdout.WriteLine($"{indent}{key} = [{Abbreviate(values.Select(v => v.ToString("G6", inv)))}]");
        }
        if (!verbose) stdout.WriteLine("(--verbose: why each kernel was chosen, and every operator's attributes and requantization multipliers)");
        return 0;
    }

    private static string Describe(TensorInfo t)
    {
        string s = $"{t.Type.ToShortName()}[{string.Join('x', t.Shape)}]";
        if (t.Quantization is { } q)
        {
            var inv = CultureInfo.InvariantCulture;
            s += q.IsPerChannel
                ? $" q(per-channel axis {q.Axis})"
                : $" q(s={q.Scale.ToString("G4", inv)}, zp={q.ZeroPoint})";
        }
        return s;
    }

    private static string Abbreviate(IEnumerable<string> values)
    {
        var list = values.Take(9).ToList();
        string joined = string.Join(", ", list.Take(8));
        return list.Count > 8 ? joined + ", ..." : joined;
    }
}
