using EdgeNets.Converter.Planning;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Ops;

namespace EdgeNets.Converter.Quantization;

/// <summary>What <see cref="PrecisionSearch"/> measures on and aims for.</summary>
public sealed class PrecisionSearchOptions
{
    /// <summary>Every one of them must hold.</summary>
    public required IReadOnlyList<AccuracyTarget> Targets { get; init; }

    internal bool AreMet(AccuracyScore score) => Targets.All(t => t.IsMet(score));
    /// <summary>The samples the converted models are compared with the float model on (the calibration data by default).</summary>
    public required CalibrationData Data { get; init; }
    /// <summary>The true class of each sample (needed by <see cref="AccuracyMetric.Top1Drop"/>).</summary>
    public int[]? Labels { get; init; }
    /// <summary>
    /// The precisions a layer may be raised to, cheapest first: int16 activations (Conv and Gemm layers; TFLite's 16x8)
    /// where it meets the target, float32 where it does not. Without int16, the search raises to float32 only.
    /// </summary>
    public IReadOnlyList<Precision> RaiseTo { get; init; } = [Precision.Int16, Precision.Float32];
    /// <summary>A progress counter per phase (label, number of model evaluations it takes); disposed at the phase's end when it is IDisposable.</summary>
    public Func<string, int, IProgress<int>>? Progress { get; init; }
}

/// <summary>A layer's sensitivity: the output SQNR when it alone is int8 and every other candidate layer float32.</summary>
public sealed record LayerSensitivity(string Name, OpType Type, double AloneSqnrDb);

/// <summary>
/// What the search found: the layers raised and the precision each was raised to (in execution order), the score
/// before and after, whether the target is met, and the model without raised layers (<see cref="Baseline"/>) to compare
/// costs with.
/// </summary>
public sealed record PrecisionSearchResult(
    IReadOnlyList<AccuracyTarget> Targets,
    AccuracyScore Before,
    AccuracyScore After,
    bool Met,
    IReadOnlyList<KeyValuePair<string, Precision>> Raised,
    IReadOnlyList<LayerSensitivity> Sensitivities,
    int Evaluations,
    ModelGraph Baseline)
{
    public IReadOnlyList<string> RaisedLayers => Raised.Select(p => p.Key).ToList();

    public IReadOnlyDictionary<string, Precision> LayerPrecisions => Raised.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
}

/// <summary>
/// The accuracy doctor (<c>convert --accuracy-target</c>): measures each layer's sensitivity (the output SQNR when that
/// layer alone is int8, the others float32), raises layers from the most sensitive on to their cheapest allowed higher
/// precision (<see cref="PrecisionSearchOptions.RaiseTo"/>: int16 for Conv and Gemm, float32 for the others) until the
/// target holds; if it does not with every layer raised, moves the int16 ones to float32, most sensitive first, until it
/// does; then lowers every raised layer the target does not need (least sensitive first: float32 to int16, int16 to int8).
/// Every score comes from running the converted model on the data against the float model's outputs, with the runtime's
/// kernels, so the same model and data give the same choice.
/// </summary>
public static class PrecisionSearch
{
    public static PrecisionSearchResult Search(ModelGraph floatGraph, CalibrationStats? stats, GivenQuantization? given,
        QuantizerOptions quantizer, PrecisionSearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(floatGraph);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Targets.FirstOrDefault(t => t.NeedsLabels) is { } labelled && options.Labels == null)
            throw new ConversionException($"accuracy target {labelled} needs labels");
        if (options.Labels != null && options.Labels.Length != options.Data.Count)
            throw new ConversionException($"{options.Labels.Length} labels for {options.Data.Count} accuracy samples");
        var candidates = floatGraph.Ops.Where(Raisable).Select(o => o.Name)
            .Where(n => quantizer.LayerPrecisions.GetValueOrDefault(n, Precision.Int8) == Precision.Int8).Distinct(StringComparer.Ordinal).ToList();
        var scorer = new Scorer(floatGraph, stats, given, quantizer, options);
        int evaluations = 0;
        AccuracyScore Evaluate(IReadOnlyDictionary<string, Precision> raised, IProgress<int>? progress, ref int done)
        {
            evaluations++;
            var score = scorer.Score(raised);
            progress?.Report(++done);
            return score;
        }

        // Sensitivity of every layer: quantized alone, in a float32 model, so the noise it adds is measured as the layers
        // after it amplify it (raising one layer alone in an int8 model shows little: the others' noise drowns its gain).
        var phase = options.Progress?.Invoke("measuring layer sensitivity", candidates.Count + 1);
        int step = 0;
        var before = Evaluate(new Dictionary<string, Precision>(), phase, ref step);
        var sensitivities = new List<LayerSensitivity>(candidates.Count);
        foreach (var name in candidates)
        {
            var score = Evaluate(candidates.Where(c => c != name).ToDictionary(c => c, _ => Precision.Float32, StringComparer.Ordinal), phase, ref step);
            sensitivities.Add(new LayerSensitivity(name, floatGraph.Ops.First(o => o.Name == name).Type, score.SqnrDb));
        }
        (phase as IDisposable)?.Dispose();
        if (options.AreMet(before)) return new(options.Targets, before, before, true, [], sensitivities, evaluations, scorer.Baseline!);

        // Raise the most sensitive first (ties: execution order), each to its cheapest allowed precision, until the target holds.
        var order = sensitivities.Select((s, i) => (s, i)).OrderBy(p => p.s.AloneSqnrDb).ThenBy(p => p.i).Select(p => p.s).ToList();
        var steps = order.ToDictionary(s => s.Name, s => Steps(s.Type, options.RaiseTo), StringComparer.Ordinal);
        var raised = new List<string>();
        var level = new Dictionary<string, int>(StringComparer.Ordinal);
        // A level of -1: lowered back to int8.
        Dictionary<string, Precision> Chosen() => raised.Where(n => level[n] >= 0).ToDictionary(n => n, n => steps[n][level[n]], StringComparer.Ordinal);
        var current = before;
        phase = options.Progress?.Invoke($"raising layers to {string.Join(" or ", options.RaiseTo.Select(Describe))}", order.Count);
        step = 0;
        foreach (var s in order)
        {
            if (steps[s.Name].Length == 0) continue;
            raised.Add(s.Name);
            level[s.Name] = 0;
            current = Evaluate(Chosen(), phase, ref step);
            if (options.AreMet(current)) break;
        }
        (phase as IDisposable)?.Dispose();

        // Not met with every layer at its cheapest raise: the next precision (float32 after int16), most sensitive first.
        if (!options.AreMet(current))
        {
            var higher = raised.Where(n => level[n] + 1 < steps[n].Length).ToList();
            phase = options.Progress?.Invoke("raising int16 layers to float32", higher.Count);
            step = 0;
            foreach (var name in higher)
            {
                level[name]++;
                current = Evaluate(Chosen(), phase, ref step);
                if (options.AreMet(current)) break;
            }
            (phase as IDisposable)?.Dispose();
        }
        bool met = options.AreMet(current);

        // Lower what the target does not need, least sensitive first, one precision at a time (float32 to int16 to int8).
        if (met && raised.Count > 0)
        {
            phase = options.Progress?.Invoke("lowering layers the target does not need", raised.Sum(n => level[n] + 1));
            step = 0;
            for (int k = raised.Count - 1; k >= 0; k--)
            {
                string name = raised[k];
                while (level[name] >= 0)
                {
                    level[name]--;
                    var score = Evaluate(Chosen(), phase, ref step);
                    if (!options.AreMet(score)) { level[name]++; break; }
                    current = score;
                }
                if (level[name] < 0) { raised.RemoveAt(k); level.Remove(name); }
            }
            (phase as IDisposable)?.Dispose();
        }
        // Execution order, as inspect lists them.
        var position = floatGraph.Ops.Select((o, i) => (o.Name, i)).GroupBy(p => p.Name).ToDictionary(g => g.Key, g => g.First().i);
        var result = Chosen().OrderBy(p => position[p.Key]).ToList();
        return new(options.Targets, before, current, met, result, sensitivities, evaluations, scorer.Baseline!);
    }

    /// <summary>The precisions a layer of <paramref name="type"/> can be raised to, in the order allowed (int16 only for Conv and Gemm).</summary>
    private static Precision[] Steps(OpType type, IReadOnlyList<Precision> allowed) =>
        allowed.Where(p => p == Precision.Float32 || (p == Precision.Int16 && Quantizer.HasInt16Form(type))).Distinct().ToArray();

    private static string Describe(Precision p) => p.ToString().ToLowerInvariant();

    /// <summary>Layers whose int8 form rounds: everything but the operators that only move values (their float form gains nothing).</summary>
    private static bool Raisable(OpInfo op) => OperatorSchemas.For(op.Type).Quantization is not (QuantizationRule.None or QuantizationRule.SameScale);

    /// <summary>Scores converted models against the float model's outputs, computed once.</summary>
    private sealed class Scorer
    {
        private readonly ModelGraph _floatGraph;
        private readonly CalibrationStats? _stats;
        private readonly GivenQuantization? _given;
        private readonly QuantizerOptions _quantizer;
        private readonly PrecisionSearchOptions _options;
        private readonly float[][] _reference;
        private readonly int[] _referenceTop1;
        private readonly double? _floatAccuracy;

        public Scorer(ModelGraph floatGraph, CalibrationStats? stats, GivenQuantization? given, QuantizerOptions quantizer, PrecisionSearchOptions options)
        {
            _floatGraph = floatGraph;
            _stats = stats;
            _given = given;
            _quantizer = quantizer;
            _options = options;
            var floatModel = Load(floatGraph);
            _reference = new float[options.Data.Count][];
            _referenceTop1 = new int[options.Data.Count];
            using var session = floatModel.CreateSession();
            for (int s = 0; s < _reference.Length; s++)
            {
                _reference[s] = Run(session, s);
                _referenceTop1[s] = Top1(_reference[s], floatModel.Outputs[0].ElementCount);
            }
            if (options.Labels != null) _floatAccuracy = Percent(_referenceTop1.Where((t, s) => t == options.Labels[s]).Count(), _reference.Length);
        }

        /// <summary>The planned graph of the first score (the model without raised layers), for comparing costs.</summary>
        public ModelGraph? Baseline { get; private set; }

        public AccuracyScore Score(IReadOnlyDictionary<string, Precision> raised)
        {
            // The layers the caller already set, and those raised.
            var precisions = new Dictionary<string, Precision>(_quantizer.LayerPrecisions, StringComparer.Ordinal);
            foreach (var (name, precision) in raised) precisions[name] = precision;
            var graph = Quantizer.Quantize(_floatGraph, _stats, _given, new QuantizerOptions { AddLeftShift = _quantizer.AddLeftShift, LayerPrecisions = precisions });
            var model = Load(graph);
            Baseline ??= graph;
            using var session = model.CreateSession();
            int first = model.Outputs[0].ElementCount;
            double signal = 0, noise = 0;
            int agree = 0, correct = 0;
            for (int s = 0; s < _reference.Length; s++)
            {
                var y = Run(session, s);
                var r = _reference[s];
                for (int i = 0; i < y.Length; i++)
                {
                    double d = (double)y[i] - r[i];
                    signal += (double)r[i] * r[i];
                    noise += d * d;
                }
                int top1 = Top1(y, first);
                if (top1 == _referenceTop1[s]) agree++;
                if (_options.Labels != null && top1 == _options.Labels[s]) correct++;
            }
            return new AccuracyScore(PerLayerError.Sqnr(signal, noise), Percent(agree, _reference.Length), _floatAccuracy,
                _options.Labels == null ? null : Percent(correct, _reference.Length));
        }

        /// <summary>Every output of sample <paramref name="s"/>, one after another.</summary>
        private float[] Run(Session session, int s)
        {
            var sample = _options.Data.Read(s);
            var model = session.Model;
            if (sample.Count != model.Inputs.Count)
                throw new ConversionException($"accuracy sample {s} has {sample.Count} inputs, the model has {model.Inputs.Count}");
            for (int i = 0; i < sample.Count; i++) session.SetInput(i, sample[i]);
            session.Invoke();
            var y = new float[model.Outputs.Sum(o => o.ElementCount)];
            int offset = 0;
            for (int o = 0; o < model.Outputs.Count; o++)
            {
                int n = model.Outputs[o].ElementCount;
                session.GetOutput(o, y.AsSpan(offset, n));
                offset += n;
            }
            return y;
        }

        private static Model Load(ModelGraph graph)
        {
            ArenaPlanner.Plan(graph);
            return Model.Load(EnetWriter.Write(graph));
        }

        private static int Top1(float[] y, int count)
        {
            int best = 0;
            for (int i = 1; i < count; i++) if (y[i] > y[best]) best = i;
            return best;
        }

        private static double Percent(int count, int total) => total == 0 ? 0 : 100.0 * count / total;
    }
}
