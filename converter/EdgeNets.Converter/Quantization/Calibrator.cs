using EdgeNets.Converter.Planning;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Quantization;

/// <summary>
/// Runs calibration samples through a float graph with the real runtime (writer, loader, session, kernels) and
/// records the values of every activation tensor, graph inputs included.
/// </summary>
public static class Calibrator
{
    /// <summary>Calibrates a single-input graph: one float array per sample.</summary>
    public static CalibrationStats Calibrate(ModelGraph floatGraph, IReadOnlyList<float[]> samples,
        CalibrationOptions? options = null, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var perInput = new float[samples.Count][][];
        for (int i = 0; i < samples.Count; i++) perInput[i] = [samples[i]];
        return Calibrate(floatGraph, perInput, options, progress);
    }

    /// <summary>Calibrates a graph with any number of inputs: per sample, one float array per graph input.</summary>
    public static CalibrationStats Calibrate(ModelGraph floatGraph, IReadOnlyList<float[][]> samples,
        CalibrationOptions? options = null, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        return Calibrate(floatGraph, CalibrationData.FromSamples(samples), options, progress);
    }

    /// <summary>How many times calibration runs the samples through the model: twice for auto (statistics, then each candidate's error).</summary>
    public static int Passes(CalibrationMethod method) => method == CalibrationMethod.Auto ? 2 : 1;

    /// <summary>
    /// Calibrates a graph on samples read one at a time. Reports the number of sample runs done to
    /// <paramref name="progress"/> after each one (<see cref="Passes"/> times the sample count in all).
    /// </summary>
    public static CalibrationStats Calibrate(ModelGraph floatGraph, CalibrationData data,
        CalibrationOptions? options = null, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(floatGraph);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new CalibrationOptions();
        if (data.Count == 0) throw new ConversionException("calibration needs at least one sample");
        foreach (int id in floatGraph.Inputs)
        {
            if (floatGraph.Tensors[id].Type != DataType.Float32)
                throw new ConversionException($"calibration needs a float32 graph; input '{floatGraph.Tensors[id].Name}' is {floatGraph.Tensors[id].Type}");
        }

        // Offsets only matter to the loader's checks: the session keeps every activation in its own slot.
        ArenaPlanner.Plan(floatGraph);
        long kept = ArenaPlanner.UnsharedBytes(floatGraph);
        if (kept > ConversionLimits.MaxArenaBytes)
            throw new ConversionException($"calibration keeps every activation, {kept} bytes in all, over the limit of {ConversionLimits.MaxArenaBytes >> 20} MB");
        Model model;
        try { model = Model.Load(EnetWriter.Write(floatGraph)); }
        catch (ModelFormatException e) { throw new ConversionException($"the float graph fails the model checks: {e.Message}", e); }
        using var session = model.CreateSession(new SessionOptions { KeepAllActivations = true });
        var graph = model.Graph;

        var activations = new List<int>();
        for (int t = 0; t < graph.Tensors.Count; t++)
            if (!graph.Tensors[t].IsConstant && graph.Tensors[t].Type == DataType.Float32) activations.Add(t);
        var stats = new Dictionary<string, TensorStats>(StringComparer.Ordinal);
        foreach (int t in activations) stats[graph.Tensors[t].Name] = new TensorStats(graph.Tensors[t].Name);
        var buffer = new float[activations.Count == 0 ? 0 : activations.Max(t => graph.Tensors[t].ElementCount)];

        // Pass 1: every activation's statistics, built up one sample at a time.
        for (int s = 0; s < data.Count; s++)
        {
            Run(session, graph, data, s);
            foreach (int t in activations)
            {
                var values = buffer.AsSpan(0, graph.Tensors[t].ElementCount);
                session.ReadTensorAsFloat(t, values);
                RequireFinite(values, s, $"tensor '{graph.Tensors[t].Name}'", "the float model is not finite on this sample");
                stats[graph.Tensors[t].Name].Add(values);
            }
            progress?.Report(s + 1);
        }

        // Pass 2 (auto): each candidate range's squared error on the same values, then the best one per tensor.
        if (options.Method == CalibrationMethod.Auto)
        {
            var candidates = activations.Select(t => new RangeCandidates(stats[graph.Tensors[t].Name], options)).ToArray();
            for (int s = 0; s < data.Count; s++)
            {
                Run(session, graph, data, s);
                for (int i = 0; i < activations.Count; i++)
                {
                    var values = buffer.AsSpan(0, graph.Tensors[activations[i]].ElementCount);
                    session.ReadTensorAsFloat(activations[i], values);
                    candidates[i].Add(values);
                }
                progress?.Report(data.Count + s + 1);
            }
            foreach (var c in candidates) c.Choose();
        }
        return new CalibrationStats(options, data.Count, stats);
    }

    private static void Run(Session session, ModelGraph graph, CalibrationData data, int s)
    {
        var sample = data.Read(s);
        if (sample.Count != graph.Inputs.Count)
            throw new ConversionException($"calibration sample {s} has {sample.Count} inputs, the model has {graph.Inputs.Count}");
        for (int i = 0; i < sample.Count; i++)
        {
            var input = graph.Tensors[graph.Inputs[i]];
            if (sample[i].Length != input.ElementCount)
                throw new ConversionException($"calibration sample {s}: input '{input.Name}' expects {input.ElementCount} values (shape [{ShapeUtil.Format(input.Shape)}]), got {sample[i].Length}");
            RequireFinite(sample[i], s, $"input '{input.Name}'", "the calibration data must be finite");
            session.SetInput(i, sample[i]);
        }
        session.Invoke();
    }

    /// <summary>A NaN or infinity would give a tensor no usable range (or a default one, silently): refused by where it is.</summary>
    private static void RequireFinite(ReadOnlySpan<float> values, int sample, string where, string why)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new ConversionException($"calibration sample {sample}: {where} has value {values[i]} at index {i}; {why}");
    }
}
