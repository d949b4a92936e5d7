using EdgeNets.Cli.Terminal;
using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;

namespace EdgeNets.Cli.Commands;

/// <summary>`edgenets run MODEL.enet --input X.npy --output Y.npy`: runs every stacked sample, stacks the outputs (`--stream`: one sequence, step by step).</summary>
public static class RunCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments("run", args, new HashSet<string> { "input", "output", "threads" }, new HashSet<string> { "stream" });
        string modelPath = a.Positional(0, "model file (MODEL.enet)");
        a.ExpectPositionals(1);
        int threads = a.IntOption("threads", 1, 1, 256);
        var model = Model.Load(modelPath);
        if (a.Flag("stream")) return Stream(model, a, stdout);
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
            InputSaturation.Report(g.Tensors[g.Inputs[i]], samples[i], "run", stderr);
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
            DataFiles.CreateFolderFor(outputs[o]);
            NpyFile.WriteFloat32(outputs[o], stacked, results[o]);
            stdout.WriteLine($"wrote {outputs[o]}: {g.Tensors[g.Outputs[o]].Name} ({string.Join(", ", stacked)}) float32");
        }
        return 0;
    }

    /// <summary>
    /// `--stream`: the input file is one sequence [T, ...one step] fed one step at a time through a
    /// <see cref="StreamingSession"/>; the output file stacks output 0 after each step, [T, ...]. Steps that produce
    /// no output (a window over time still filling, or between strided outputs) are rows of NaN.
    /// </summary>
    private static int Stream(Model model, Arguments a, TextWriter stdout)
    {
        var inputs = a.OptionList("input");
        var outputs = a.OptionList("output");
        if (inputs.Count != 1 || outputs.Count != 1) throw new CliException("run --stream: give one --input X.npy (shape [T, ...one step]) and one --output Y.npy", 2);
        StreamingSession stream;
        try { stream = model.CreateStreamingSession(); }
        catch (EdgeNets.Runtime.Format.ModelFormatException e) { throw new CliException($"{e.Message}"); }
        using (stream)
        {
            var array = DataFiles.Read(inputs[0]);
            int stepSize = stream.StepInputSize;
            if (array.Shape.Length < 1 || array.SampleSize != stepSize)
                throw new CliException($"{inputs[0]}: shape ({string.Join(", ", array.Shape)}) is not (T, ...) with {stepSize} values per step " +
                                       $"(step input [{string.Join('x', stream.StepGraph.Tensors[stream.StepGraph.Inputs[0]].Shape)}])");
            if (array.Type is not (NpyType.Float32 or NpyType.Float64 or NpyType.Int8 or NpyType.UInt8))
                throw new CliException($"{inputs[0]}: stream data must be float32, found {array.Type}");
            var values = array.ToFloat32();
            int steps = array.SampleCount, outputSize = stream.StepOutputSize();
            var result = new float[steps * outputSize];
            int produced = 0;
            for (int t = 0; t < steps; t++)
            {
                var row = result.AsSpan(t * outputSize, outputSize);
                if (stream.Step(values.AsSpan(t * stepSize, stepSize), row)) produced++;
                else row.Fill(float.NaN);
            }
            var outputShape = stream.StepGraph.Tensors[stream.StepGraph.Outputs[0]].Shape;
            int[] stepShape = outputShape.Where(d => d != 1).ToArray();
            if (stepShape.Length == 0) stepShape = [1];
            int[] stacked = [steps, .. stepShape];
            DataFiles.CreateFolderFor(outputs[0]);
            NpyFile.WriteFloat32(outputs[0], stacked, result);
            if (produced < steps)
                stdout.WriteLine($"{steps - produced} of {steps} steps produced no output (rows of NaN): the model's windows over time " +
                                 $"need {stream.StepsToFirstOutput} steps before the first output, then output every {stream.OutputPeriod} step(s)");
            stdout.WriteLine($"streamed {steps} steps; wrote {outputs[0]}: {stream.StepGraph.Tensors[stream.StepGraph.Outputs[0]].Name} ({string.Join(", ", stacked)}) float32");
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
