using EdgeNets.Cli.Terminal;
using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;

namespace EdgeNets.Cli.Commands;

/// <summary>`edgenets run MODEL.enet --input X.npy --output Y.npy`: runs every stacked sample, stacks the outputs.</summary>
public static class RunCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments("run", args, new HashSet<string> { "input", "output", "threads" }, new HashSet<string>());
        string modelPath = a.Positional(0, "model file (MODEL.enet)");
        a.ExpectPositionals(1);
        int threads = a.IntOption("threads", 1, 1, 256);
        var model = Model.Load(modelPath);
        var g = model.Graph;

        var inputs = Bind(a.OptionList("input"), g.Inputs.Select(i => g.Tensors[i].Name).ToList(), "input");
        var outputs = Bind(a.OptionList("output"), g.Outputs.Select(i => g.Tensors[i].Name).ToList(), "output");

        var samples = new List<float[]>[g.Inputs.Count];
        int n = -1;
        for (int i = 0; i < g.Inputs.Count; i++)
        {
            samples[i] = DataFiles.SplitSamples(inputs[i], g.Tensors[g.Inputs[i]], "input");
            if (n >= 0 && samples[i].Count != n) throw new CliException($"{inputs[i]}: holds {samples[i].Count} samples, other inputs hold {n}");
            n = samples[i].Count;
        }

        using var session = model.CreateSession(new SessionOptions { Threads = threads });
        var results = new float[g.Outputs.Count][];
        for (int o = 0; o < results.Length; o++) results[o] = new float[n * g.Tensors[g.Outputs[o]].ElementCount];
        using var progress = n >= 200 ? new ProgressBar("running", n, stderr) : null;
        for (int s = 0; s < n; s++)
        {
            for (int i = 0; i < g.Inputs.Count; i++) session.SetInput(i, samples[i][s]);
            session.Invoke();
            for (int o = 0; o < results.Length; o++)
            {
                int size = g.Tensors[g.Outputs[o]].ElementCount;
                session.GetOutput(o, results[o].AsSpan(s * size, size));
            }
            progress?.Report(s + 1);
        }
        for (int o = 0; o < results.Length; o++)
        {
            var shape = g.Tensors[g.Outputs[o]].Shape;
            int[] stacked = [n, .. (shape.Length > 0 && shape[0] == 1 ? shape[1..] : shape)];
            NpyFile.WriteFloat32(outputs[o], stacked, results[o]);
            stdout.WriteLine($"wrote {outputs[o]}: {g.Tensors[g.Outputs[o]].Name} ({string.Join(", ", stacked)}) float32");
        }
        return 0;
    }

    /// <summary>Maps `FILE` or `NAME=FILE` arguments onto the model's inputs or outputs, in order.</summary>
    private static string[] Bind(IReadOnlyList<string> given, List<string> names, string role)
    {
        if (given.Count == 0) throw new CliException($"missing --{role} FILE.npy (model {role}s: {string.Join(", ", names)})", 2);
        var files = new string[names.Count];
        if (given.Count == 1 && names.Count == 1 && !given[0].Contains('=', StringComparison.Ordinal)) { files[0] = given[0]; return files; }
        foreach (var g in given)
        {
            int eq = g.IndexOf('=');
            if (eq <= 0) throw new CliException($"--{role} '{g}': this model has {names.Count} {role}s ({string.Join(", ", names)}); use --{role} NAME=FILE.npy", 2);
            int index = names.IndexOf(g[..eq]);
            if (index < 0) throw new CliException($"--{role} '{g}': the model has no {role} named '{g[..eq]}' ({string.Join(", ", names)})", 2);
            files[index] = g[(eq + 1)..];
        }
        for (int i = 0; i < files.Length; i++)
            if (files[i] == null) throw new CliException($"no --{role} given for '{names[i]}'", 2);
        return files;
    }
}
