using System.Globalization;
using System.Text;
using EdgeNets.Cli.Report;
using EdgeNets.Cli.Terminal;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Cli.Commands;

/// <summary>
/// `edgenets eval MODEL.onnx MODEL.enet --input X.npy [--labels Y.npy | --targets T.npy]`: the float model in ONNX Runtime
/// and the converted model side by side: top-1 agreement, accuracy (class labels) or mean absolute error (regression
/// targets), output error and a per-layer SQNR table. Every output is compared under its name; top-1 agreement only for
/// outputs that hold one score vector per sample (a classifier's), and labels or targets apply to the first output.
/// With --report, also one self-contained HTML page of charts (<see cref="HtmlReportWriter"/>).
/// </summary>
public static class EvalCommand
{
    /// <summary>Profiled runs behind the report's latency chart: a short run (the report is about accuracy; `bench --profile` times at length).</summary>
    private const int ReportProfileRuns = 50;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments("eval", args, new HashSet<string> { "input", "labels", "targets", "limit", "report" }, new HashSet<string> { "json" });
        string onnxPath = a.Positional(0, "float model (MODEL.onnx)");
        string enetPath = a.Positional(1, "converted model (MODEL.enet)");
        a.ExpectPositionals(2);
        string inputPath = a.Require("input");
        string? labelsPath = a.Option("labels");
        string? targetsPath = a.Option("targets");
        if (labelsPath != null && targetsPath != null) throw new CliException("give --labels (classification) or --targets (regression), not both", 2);
        int limit = a.IntOption("limit", int.MaxValue, 1);
        bool json = a.Flag("json");
        string? reportPath = a.Option("report");
        if (!File.Exists(onnxPath)) throw new CliException($"{onnxPath}: file not found");

        var model = Model.Load(enetPath);
        var g = model.Graph;
        var inputTensor = g.Tensors[g.Inputs[0]];
        var outputTensor = g.Tensors[g.Outputs[0]];
        var samples = DataFiles.SplitSamples(inputPath, inputTensor, "input");
        if (samples.Count > limit) samples = samples.GetRange(0, limit);
        int[]? labels = null;
        if (labelsPath != null)
        {
            labels = DataFiles.Read(labelsPath).ToInt32();
            if (labels.Length < samples.Count) throw new CliException($"{labelsPath}: {labels.Length} labels for {samples.Count} samples");
        }
        float[]? targets = null;
        if (targetsPath != null)
        {
            targets = DataFiles.Read(targetsPath).ToFloat32();
            if (targets.Length < samples.Count * outputTensor.ElementCount)
                throw new CliException($"{targetsPath}: {targets.Length} target values for {samples.Count} samples of {outputTensor.ElementCount} outputs");
        }
        double floatTargetError = 0, quantTargetError = 0;

        // Every activation of ours that ONNX Runtime can also expose by name gets a per-layer comparison.
        var activations = Enumerable.Range(0, g.Tensors.Count).Where(t => !g.Tensors[t].IsConstant && !g.Inputs.Contains(t)).ToList();
        using var reference = new OnnxRuntimeModel(onnxPath, inputTensor.Shape, threads: 1, extraOutputs: activations.Select(t => g.Tensors[t].Name));
        ModelMatch.RequireSameInterface(reference, onnxPath, model, enetPath);
        if (ModelMatch.SourceWarning(onnxPath, model, enetPath) is { } warning) stderr.WriteLine($"edgenets eval: warning: {warning}");
        InputSaturation.Report(inputTensor, samples, "eval", stderr);
        using var session = model.CreateSession(new SessionOptions { KeepAllActivations = true });
        var outputs = g.Outputs.Select(o => new OutputStats(g.Tensors[o], Array.IndexOf(g.Outputs.ToArray(), o))).ToList();
        foreach (var o in outputs)
            if (!reference.OutputNames.Contains(o.Name)) throw new CliException($"{onnxPath}: has no output named '{o.Name}' (outputs of {enetPath}: {string.Join(", ", outputs.Select(x => x.Name))})");
        string floatOutputName = outputs[0].Name;
        var layers = activations.Where(t => reference.OutputNames.Contains(g.Tensors[t].Name)).ToList();
        var comparisons = layers.ToDictionary(t => t, _ => new LayerComparison());
        var collector = reportPath != null ? new EvalReportCollector(g, labels != null) : null;

        int classes = outputTensor.ElementCount;
        int floatCorrect = 0, quantCorrect = 0;
        using (var progress = new ProgressBar("evaluating", samples.Count, stderr))
        {
            for (int s = 0; s < samples.Count; s++)
            {
                var expected = reference.Run(samples[s]);
                session.SetInput(0, samples[s]);
                session.Invoke();
                foreach (var o in outputs)
                {
                    session.GetOutput(o.Index, o.Ours);
                    var f = expected[o.Name];
                    if (f.Length != o.Ours.Length) throw new CliException($"output '{o.Name}' has {f.Length} values in ONNX Runtime, {o.Ours.Length} in {enetPath}");
                    o.Add(f);
                    collector?.AddOutput(o.Index, f, o.Ours);
                }
                var floatOut = expected[floatOutputName];
                var ours = outputs[0].Ours;
                int fTop = ArgMax(floatOut), qTop = ArgMax(ours);
                if (targets != null)
                {
                    for (int i = 0; i < classes; i++)
                    {
                        float t = targets[s * classes + i];
                        floatTargetError += Math.Abs(floatOut[i] - t);
                        quantTargetError += Math.Abs(ours[i] - t);
                    }
                }
                if (labels != null)
                {
                    if (fTop == labels[s]) floatCorrect++;
                    if (qTop == labels[s]) quantCorrect++;
                    collector?.AddPrediction(labels[s], qTop);
                }
                foreach (int t in layers)
                {
                    var f = expected[g.Tensors[t].Name];
                    if (f.Length != g.Tensors[t].ElementCount) continue;
                    var q = new float[f.Length];
                    session.ReadTensorAsFloat(t, q);
                    comparisons[t].Add(f, q);
                    collector?.AddActivation(t, f);
                }
                progress.Report(s + 1);
            }
        }

        int n = samples.Count;
        var inv = CultureInfo.InvariantCulture;
        double? agreement = outputs[0].IsScores ? (double)outputs[0].Agree / n : null;
        double maxAbs = outputs.Max(o => o.MaxAbs);
        double? floatAcc = labels != null ? (double)floatCorrect / n : null;
        double? quantAcc = labels != null ? (double)quantCorrect / n : null;
        double meanAbs = outputs.Sum(o => o.SumAbs) / Math.Max(outputs.Sum(o => o.Count), 1);
        double? floatMae = targets != null ? floatTargetError / (n * classes) : null;
        double? quantMae = targets != null ? quantTargetError / (n * classes) : null;
        string precision = g.Metadata.TryGetValue("precision", out var p) ? p : "?";
        long nonFinite = outputs.Sum(o => o.NonFinite);

        if (collector != null)
        {
            var report = new EvalReport
            {
                OnnxPath = onnxPath, EnetPath = enetPath, InputPath = inputPath, Version = Program.Version, Precision = precision, Samples = n,
                Top1Agreement = agreement, FloatAccuracy = floatAcc, QuantizedAccuracy = quantAcc,
                Layers = layers.Select(t =>
                {
                    var producer = g.Ops.FirstOrDefault(o => o.Outputs.Contains(t));
                    // The SQNR its operator loses: from its noisiest compared input's (the error it was given) to its own.
                    var given = producer?.Inputs.Where(comparisons.ContainsKey).Select(i => comparisons[i].SqnrDb).ToList();
                    double? drop = given is { Count: > 0 } ? given.Min() - comparisons[t].SqnrDb : null;
                    return new ReportLayer(g.Tensors[t].Name, producer?.Type.ToString() ?? "", g.Tensors[t].Shape, Precisions.Of(g.Tensors[t]),
                        comparisons[t].SqnrDb, comparisons[t].Cosine, drop, collector.Activation(t));
                }).ToList(),
                Weights = g.Ops.SelectMany(op => ChannelRanges.Of(session, op)).ToList(),
                Outputs = outputs.Select(o =>
                {
                    var (errors, kept, total) = collector.OutputErrors(o.Index);
                    return new ReportOutput(o.Name, o.Shape, Precisions.Of(g.Tensors[g.Outputs[o.Index]]), Sqnr(o.Signal, o.Noise), o.MaxAbs,
                        o.SumAbs / Math.Max(o.Count, 1), o.IsScores ? (double)o.Agree / n : null, errors, kept, total);
                }).ToList(),
                Confusion = collector.Confusion,
                Timings = OperatorProfile.Measure(model, samples[0], ReportProfileRuns, warmup: 5, threads: 1),
                ProfileRuns = ReportProfileRuns,
            };
            HtmlReportWriter.Write(reportPath!, report);
        }

        if (json)
        {
            var sb = new StringBuilder("{");
            sb.Append(inv, $"\"samples\": {n}, \"precision\": \"{precision}\", \"top1_agreement\": {(agreement is { } ag ? JsonNumber(ag) : "null")}, ");
            if (floatAcc != null) sb.Append(inv, $"\"float_accuracy\": {floatAcc:R}, \"quantized_accuracy\": {quantAcc:R}, ");
            if (floatMae != null) sb.Append(inv, $"\"float_mae\": {floatMae:R}, \"quantized_mae\": {quantMae:R}, ");
            sb.Append(inv, $"\"max_abs_error\": {maxAbs:R}, \"mean_abs_error\": {meanAbs:R}, \"non_finite_values\": {nonFinite}, \"outputs\": [");
            for (int i = 0; i < outputs.Count; i++)
            {
                var o = outputs[i];
                sb.Append(inv, $"{(i > 0 ? ", " : "")}{{\"name\": \"{Escape(o.Name)}\", \"max_abs_error\": {JsonNumber(o.MaxAbs)}, \"mean_abs_error\": {JsonNumber(o.SumAbs / Math.Max(o.Count, 1))}, \"sqnr_db\": {JsonNumber(Sqnr(o.Signal, o.Noise))}");
                if (o.IsScores) sb.Append(inv, $", \"top1_agreement\": {JsonNumber((double)o.Agree / n)}");
                sb.Append('}');
            }
            sb.Append("], \"layers\": [");
            for (int i = 0; i < layers.Count; i++)
            {
                int t = layers[i];
                sb.Append(inv, $"{(i > 0 ? ", " : "")}{{\"tensor\": \"{Escape(g.Tensors[t].Name)}\", \"sqnr_db\": {JsonNumber(comparisons[t].SqnrDb)}, \"cosine\": {JsonNumber(comparisons[t].Cosine)}}}");
            }
            sb.Append("]}");
            stdout.WriteLine(sb.ToString());
            return nonFinite > 0 ? 1 : 0;
        }

        stdout.WriteLine($"samples: {n} ({precision} model {enetPath} vs ONNX Runtime float32 {onnxPath})");
        foreach (var o in outputs.Where(o => o.NonFinite + o.ReferenceNonFinite > 0))
            stdout.WriteLine($"NOT FINITE: output '{o.Name}' has {o.NonFinite} NaN or infinite values of {n * (long)o.Ours.Length} from {enetPath}, {o.ReferenceNonFinite} from ONNX Runtime; they are left out of the errors and top-1 agreement below");
        if (agreement != null) stdout.WriteLine($"top-1 agreement: {agreement * 100:F2}%");
        if (floatAcc != null)
        {
            stdout.WriteLine($"float accuracy (ONNX Runtime): {floatAcc * 100:F2}%");
            stdout.WriteLine($"{precision} accuracy (EdgeNets):  {quantAcc * 100:F2}%  (delta {(quantAcc - floatAcc) * 100:+0.00;-0.00} points)");
        }
        if (floatMae != null)
        {
            stdout.WriteLine($"float MAE vs targets (ONNX Runtime): {floatMae.Value.ToString("G5", inv)}");
            stdout.WriteLine($"{precision} MAE vs targets (EdgeNets):  {quantMae!.Value.ToString("G5", inv)}  ({(quantMae / floatMae - 1) * 100:+0.0;-0.0}%)");
        }
        foreach (var o in outputs)
        {
            string top1 = o.IsScores ? $", top-1 agreement {(double)o.Agree / n * 100:F2}%" : "";
            stdout.WriteLine($"output '{o.Name}' [{string.Join('x', o.Shape)}]: max abs error {o.MaxAbs.ToString("G4", inv)}, mean abs {(o.SumAbs / Math.Max(o.Count, 1)).ToString("G4", inv)}, SQNR {FormatDb(Sqnr(o.Signal, o.Noise))} dB{top1}");
        }
        stdout.WriteLine();
        stdout.WriteLine("per-layer SQNR against ONNX Runtime (higher is better; 20 dB ~ 10% noise, 40 dB ~ 1%):");
        stdout.WriteLine($"  {"tensor",-40} {"op",-18} {"shape",-16} {"SQNR dB",8} {"cosine",9}");
        foreach (int t in layers)
        {
            var producer = g.Ops.FirstOrDefault(o => o.Outputs.Contains(t));
            stdout.WriteLine($"  {Trim(g.Tensors[t].Name, 40),-40} {producer?.Type.ToString() ?? "",-18} {string.Join('x', g.Tensors[t].Shape),-16} {FormatDb(comparisons[t].SqnrDb),8} {comparisons[t].Cosine.ToString("F6", inv),9}");
        }
        if (layers.Count == 0) stdout.WriteLine("  (no intermediate tensor names match the ONNX graph)");
        if (reportPath != null) stdout.WriteLine($"report: {reportPath}");
        return nonFinite > 0 ? 1 : 0;
    }

    /// <summary>One output's running comparison with ONNX Runtime.</summary>
    private sealed class OutputStats(TensorInfo tensor, int index)
    {
        public string Name { get; } = tensor.Name;
        public int Index { get; } = index;
        public int[] Shape { get; } = tensor.Shape;
        public float[] Ours { get; } = new float[tensor.ElementCount];
        /// <summary>One vector of two or more scores per sample ([C] or [1, C]): a classifier's, where top-1 means something.</summary>
        public bool IsScores { get; } = tensor.ElementCount >= 2 && (tensor.Rank == 1 || (tensor.Rank == 2 && tensor.Shape[0] == 1));
        public double MaxAbs, SumAbs, Signal, Noise;
        public long Count;
        public int Agree;
        /// <summary>NaN or infinite values, ours and ONNX Runtime's: left out of the errors, and their samples out of the agreement.</summary>
        public long NonFinite, ReferenceNonFinite;

        public void Add(float[] expected)
        {
            bool finite = true;
            for (int i = 0; i < expected.Length; i++)
            {
                if (!float.IsFinite(Ours[i]) || !float.IsFinite(expected[i]))
                {
                    if (!float.IsFinite(Ours[i])) NonFinite++;
                    if (!float.IsFinite(expected[i])) ReferenceNonFinite++;
                    finite = false;
                    continue;
                }
                double e = Math.Abs(expected[i] - Ours[i]);
                MaxAbs = Math.Max(MaxAbs, e);
                SumAbs += e;
                Signal += (double)expected[i] * expected[i];
                Noise += e * e;
            }
            Count += expected.Length;
            if (IsScores && finite && ArgMax(expected) == ArgMax(Ours)) Agree++;
        }
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static double Sqnr(double signal, double noise) => noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);
    private static string FormatDb(double db) => double.IsPositiveInfinity(db) ? "exact" : db.ToString("F1", CultureInfo.InvariantCulture);
    private static string JsonNumber(double v) => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "null";
    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
    private static string Trim(string s, int width) => s.Length <= width ? s : "..." + s[^(width - 3)..];
}
