using System.Globalization;
using System.Text;
using EdgeNets.Cli.Terminal;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Cli.Commands;

/// <summary>
/// `edgenets eval MODEL.onnx MODEL.enet --input X.npy [--labels Y.npy]`: the float model in ONNX Runtime and the
/// converted model side by side: top-1 agreement, accuracy, output error and a per-layer SQNR table.
/// </summary>
public static class EvalCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments("eval", args, new HashSet<string> { "input", "labels", "limit" }, new HashSet<string> { "json" });
        string onnxPath = a.Positional(0, "float model (MODEL.onnx)");
        string enetPath = a.Positional(1, "converted model (MODEL.enet)");
        a.ExpectPositionals(2);
        string inputPath = a.Require("input");
        string? labelsPath = a.Option("labels");
        int limit = a.IntOption("limit", int.MaxValue, 1);
        bool json = a.Flag("json");
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

        // Every activation of ours that ONNX Runtime can also expose by name gets a per-layer comparison.
        var activations = Enumerable.Range(0, g.Tensors.Count).Where(t => !g.Tensors[t].IsConstant && !g.Inputs.Contains(t)).ToList();
        using var reference = new OnnxRuntimeModel(onnxPath, inputTensor.Shape, threads: 1, extraOutputs: activations.Select(t => g.Tensors[t].Name));
        using var session = model.CreateSession(new SessionOptions { KeepAllActivations = true });
        string floatOutputName = reference.OutputNames[0];
        var layers = activations.Where(t => reference.OutputNames.Contains(g.Tensors[t].Name)).ToList();
        var signal = new double[g.Tensors.Count];
        var noise = new double[g.Tensors.Count];

        int classes = outputTensor.ElementCount;
        int agree = 0, floatCorrect = 0, quantCorrect = 0;
        double maxAbs = 0, sumAbs = 0;
        long countAbs = 0;
        var ours = new float[classes];
        using (var progress = new ProgressBar("evaluating", samples.Count, stderr))
        {
            for (int s = 0; s < samples.Count; s++)
            {
                var expected = reference.Run(samples[s]);
                session.SetInput(0, samples[s]);
                session.Invoke();
                session.GetOutput(0, ours);
                var floatOut = expected[floatOutputName];
                if (floatOut.Length != classes) throw new CliException($"output '{floatOutputName}' has {floatOut.Length} values in ONNX Runtime, {classes} in {enetPath}");
                for (int i = 0; i < classes; i++)
                {
                    double e = Math.Abs(floatOut[i] - ours[i]);
                    maxAbs = Math.Max(maxAbs, e);
                    sumAbs += e;
                    countAbs++;
                }
                int fTop = ArgMax(floatOut), qTop = ArgMax(ours);
                if (fTop == qTop) agree++;
                if (labels != null)
                {
                    if (fTop == labels[s]) floatCorrect++;
                    if (qTop == labels[s]) quantCorrect++;
                }
                foreach (int t in layers)
                {
                    var f = expected[g.Tensors[t].Name];
                    if (f.Length != g.Tensors[t].ElementCount) continue;
                    var q = new float[f.Length];
                    session.ReadTensorAsFloat(t, q);
                    for (int i = 0; i < f.Length; i++)
                    {
                        signal[t] += (double)f[i] * f[i];
                        noise[t] += (double)(f[i] - q[i]) * (f[i] - q[i]);
                    }
                }
                progress.Report(s + 1);
            }
        }

        int n = samples.Count;
        var inv = CultureInfo.InvariantCulture;
        double agreement = (double)agree / n;
        double? floatAcc = labels != null ? (double)floatCorrect / n : null;
        double? quantAcc = labels != null ? (double)quantCorrect / n : null;
        double meanAbs = sumAbs / Math.Max(countAbs, 1);
        string precision = g.Metadata.TryGetValue("precision", out var p) ? p : "?";

        if (json)
        {
            var sb = new StringBuilder("{");
            sb.Append(inv, $"\"samples\": {n}, \"precision\": \"{precision}\", \"top1_agreement\": {agreement:R}, ");
            if (floatAcc != null) sb.Append(inv, $"\"float_accuracy\": {floatAcc:R}, \"quantized_accuracy\": {quantAcc:R}, ");
            sb.Append(inv, $"\"max_abs_error\": {maxAbs:R}, \"mean_abs_error\": {meanAbs:R}, \"layers\": [");
            for (int i = 0; i < layers.Count; i++)
            {
                int t = layers[i];
                sb.Append(inv, $"{(i > 0 ? ", " : "")}{{\"tensor\": \"{Escape(g.Tensors[t].Name)}\", \"sqnr_db\": {JsonNumber(Sqnr(signal[t], noise[t]))}}}");
            }
            sb.Append("]}");
            stdout.WriteLine(sb.ToString());
            return 0;
        }

        stdout.WriteLine($"samples: {n} ({precision} model {enetPath} vs ONNX Runtime float32 {onnxPath})");
        stdout.WriteLine($"top-1 agreement: {agreement * 100:F2}%");
        if (floatAcc != null)
        {
            stdout.WriteLine($"float accuracy (ONNX Runtime): {floatAcc * 100:F2}%");
            stdout.WriteLine($"{precision} accuracy (EdgeNets):  {quantAcc * 100:F2}%  (delta {(quantAcc - floatAcc) * 100:+0.00;-0.00} points)");
        }
        stdout.WriteLine($"output error: max abs {maxAbs.ToString("G4", inv)}, mean abs {meanAbs.ToString("G4", inv)}");
        stdout.WriteLine();
        stdout.WriteLine("per-layer SQNR against ONNX Runtime (higher is better; 20 dB ~ 10% noise, 40 dB ~ 1%):");
        stdout.WriteLine($"  {"tensor",-40} {"op",-18} {"shape",-16} {"SQNR dB",8}");
        foreach (int t in layers)
        {
            var producer = g.Ops.FirstOrDefault(o => o.Outputs.Contains(t));
            stdout.WriteLine($"  {Trim(g.Tensors[t].Name, 40),-40} {producer?.Type.ToString() ?? "",-18} {string.Join('x', g.Tensors[t].Shape),-16} {FormatDb(Sqnr(signal[t], noise[t])),8}");
        }
        if (layers.Count == 0) stdout.WriteLine("  (no intermediate tensor names match the ONNX graph)");
        return 0;
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
