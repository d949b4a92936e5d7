using System.Diagnostics;
using System.Globalization;
using EdgeNets.Cli.Terminal;
using EdgeNets.Converter;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;

namespace EdgeNets.Cli.Commands;

/// <summary>
/// `convert --accuracy-target`: the options of the precision search, and its report: what it changed and what that
/// costs in file size and latency (a short interleaved bench of the model with and without the raised layers).
/// </summary>
internal static class AccuracyDoctor
{
    public static readonly string[] Options = ["accuracy-target", "accuracy-data", "accuracy-labels", "accuracy-precisions"];

    /// <summary>The search's options, or null without --accuracy-target; the data default to the calibration samples.</summary>
    public static PrecisionSearchOptions? Parse(Arguments a, TensorInfo input, NpySampleReader? calibration, TextWriter stderr, List<IDisposable> owned)
    {
        string? targetText = a.Option("accuracy-target");
        if (targetText == null)
        {
            foreach (var o in Options[1..])
                if (a.Option(o) != null) throw new CliException($"--{o} is for --accuracy-target", 2);
            return null;
        }
        var targets = AccuracyTarget.ParseAll(targetText)
            ?? throw new CliException($"--accuracy-target must be sqnr>=DB, top1-drop<=POINTS or top1-agreement>=PERCENT (several separated by commas), got '{targetText}'", 2);
        string? dataPath = a.Option("accuracy-data");
        NpySampleReader data;
        if (dataPath != null)
        {
            data = DataFiles.OpenSamples(dataPath, input, "accuracy data");
            owned.Add(data);
        }
        else data = calibration ?? throw new CliException("--accuracy-target needs sample inputs: --accuracy-data X.npy (or --calibration)", 2);
        string? labelsPath = a.Option("accuracy-labels");
        int[]? labels = null;
        if (labelsPath != null)
        {
            labels = DataFiles.Read(labelsPath).ToInt32();
            if (labels.Length != data.SampleCount)
                throw new CliException($"{labelsPath}: {labels.Length} labels for {data.SampleCount} accuracy samples", 2);
        }
        if (targets.FirstOrDefault(t => t.NeedsLabels) is { } labelled && labels == null)
            throw new CliException($"--accuracy-target {labelled} needs --accuracy-labels Y.npy", 2);
        return new PrecisionSearchOptions
        {
            RaiseTo = RaiseTo(a.Option("accuracy-precisions")),
            Targets = targets,
            Data = CalibrationData.FromNpy(data),
            Labels = labels,
            Progress = (label, total) => new ProgressBar(label, total, stderr),
        };
    }

    /// <summary>`--accuracy-precisions int16,float32` (the default): the precisions layers may be raised to, cheapest first.</summary>
    private static Precision[] RaiseTo(string? text)
    {
        if (text == null) return [Precision.Int16, Precision.Float32];
        var list = new List<Precision>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var p = part switch
            {
                "int16" => Precision.Int16,
                "float32" => Precision.Float32,
                _ => throw new CliException($"--accuracy-precisions takes int16 and float32 (comma-separated, cheapest first), got '{part}'", 2),
            };
            if (!list.Contains(p)) list.Add(p);
        }
        return [.. list];
    }

    /// <summary>What the search changed, and its cost against the model without the raised layers.</summary>
    public static void Report(PrecisionSearchResult r, Model chosen, long fileBytes, float[] sample, TextWriter stdout)
    {
        var inv = CultureInfo.InvariantCulture;
        stdout.WriteLine($"accuracy target {string.Join(',', r.Targets)}: {(r.Met ? "met" : "NOT met")} ({r.Evaluations} models measured)");
        stdout.WriteLine($"  all int8:  {r.Before}");
        if (r.RaisedLayers.Count == 0)
        {
            stdout.WriteLine("  no layer raised: int8 meets the target");
            return;
        }
        stdout.WriteLine($"  raised:    {r.After}");
        var gain = r.Sensitivities.ToDictionary(s => s.Name, s => s);
        int int16 = r.Raised.Count(p => p.Value == Precision.Int16);
        stdout.WriteLine($"  {r.Raised.Count} of {r.Sensitivities.Count} layers raised ({int16} to int16, {r.Raised.Count - int16} to float32; output SQNR with that layer alone int8):");
        foreach (var (name, precision) in r.Raised)
            stdout.WriteLine(string.Format(inv, "    {0,-12} -> {1,-8} {2,7:F1} dB  {3}", gain[name].Type, precision.ToString().ToLowerInvariant(), gain[name].AloneSqnrDb, name));
        if (!r.Met) stdout.WriteLine("  the target is not met even with every layer raised: this file keeps them all raised; try another --calibration-method");

        long baseBytes = EnetWriter.Write(r.Baseline).Length;
        var baseline = Model.Load(EnetWriter.Write(r.Baseline));
        var (baseUs, chosenUs) = Latency(baseline, chosen, sample);
        stdout.WriteLine(string.Format(inv, "  cost: file {0} -> {1} bytes ({2:+0.0;-0.0}%), latency median {3:F1} -> {4:F1} us ({5:+0.0;-0.0}%; quick bench, this CPU)",
            baseBytes, fileBytes, 100.0 * (fileBytes - baseBytes) / baseBytes, baseUs, chosenUs, 100 * (chosenUs - baseUs) / baseUs));
    }

    /// <summary>Median latency of two models, measured interleaved on the same sample so both see the same machine load.</summary>
    private static (double A, double B) Latency(Model a, Model b, float[] sample)
    {
        using var sa = a.CreateSession();
        using var sb = b.CreateSession();
        var ya = new float[a.Outputs[0].ElementCount];
        var yb = new float[b.Outputs[0].ElementCount];
        BenchCommand.WarmUp(() => { sa.Run(sample, ya); sb.Run(sample, yb); }, 10);
        const int runs = 100;
        var ta = new double[runs];
        var tb = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            sa.Run(sample, ya);
            ta[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            start = Stopwatch.GetTimestamp();
            sb.Run(sample, yb);
            tb[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        return (BenchCommand.Summarize(ta).Median, BenchCommand.Summarize(tb).Median);
    }
}
