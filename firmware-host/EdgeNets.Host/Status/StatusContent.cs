using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeNets.Host.Output;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Host.Status;

/// <summary>The status page's resources, built on request from the board (off the frame loop).</summary>
public sealed class StatusContent
{
    private readonly StatusBoard _board;
    private readonly Func<Model> _model;
    private readonly string _modelPath;
    private readonly float[]? _mean, _std;
    // Latency percentiles and fps cover the predictions of the last few seconds.
    private readonly double _windowSeconds;

    /// <param name="model">The running model (it changes with a model rollout).</param>
    /// <param name="mean">The input normalization the host applies (see <see cref="InputImage"/>).</param>
    public StatusContent(StatusBoard board, Func<Model> model, string modelPath, float[]? mean, float[]? std, double windowSeconds = 5)
    {
        _board = board;
        _model = model;
        _mean = mean;
        _std = std;
        _modelPath = modelPath;
        _windowSeconds = windowSeconds;
    }

    /// <summary>Figures of the recent predictions: fps (frames per second), latency p50/p99 in microseconds (NaN when none).</summary>
    public (double Fps, double P50, double P99) Recent(PredictionRecord[] history)
    {
        if (history.Length == 0) return (double.NaN, double.NaN, double.NaN);
        long last = history[^1].Timestamp, window = (long)(_windowSeconds * _board.TimestampFrequency);
        int first = history.Length - 1;
        while (first > 0 && last - history[first - 1].Timestamp <= window) first--;
        var recent = history.AsSpan(first);
        var latencies = new double[recent.Length];
        for (int i = 0; i < recent.Length; i++) latencies[i] = recent[i].LatencyUs;
        Array.Sort(latencies);
        double seconds = (last - recent[0].Timestamp) / (double)_board.TimestampFrequency;
        double fps = recent.Length > 1 && seconds > 0 ? (recent[^1].Frames - recent[0].Frames) / seconds : double.NaN;
        return (fps, latencies[LatencyStats.NearestRank(50, latencies.Length)], latencies[LatencyStats.NearestRank(99, latencies.Length)]);
    }

    /// <summary>The newest model input as a BMP; null before the first prediction.</summary>
    public byte[]? InputBmp()
    {
        var snapshot = _board.NewSnapshot();
        if (!_board.CopyLatestInput(snapshot)) return null;
        // The running model's input quantization: a replacement model may have another scale.
        var model = _model();
        return new InputImage(model.Graph.Tensors[model.Graph.Inputs[0]], _mean, _std).ToBmp(snapshot.Bytes);
    }

    /// <summary>/status.json: the current prediction, the counters, recent figures and the score history.</summary>
    public byte[] StatusJson()
    {
        var history = _board.History();
        var (fps, p50, p99) = Recent(history);
        var snapshot = _board.NewSnapshot();
        bool hasInput = _board.CopyLatestInput(snapshot);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("frames", _board.Frames);
            json.WriteNumber("predictions", _board.Predictions);
            json.WriteNumber("dropped", _board.Dropped);
            json.WriteNumber("non_finite_outputs", _board.NonFiniteOutputs);
            json.WriteNumber("model_reloads", _board.ModelReloads);
            Number(json, "fps", fps);
            Number(json, "latency_p50_us", p50);
            Number(json, "latency_p99_us", p99);
            if (history.Length > 0)
            {
                var last = history[^1];
                json.WriteNumber("index", last.Index);
                json.WriteNumber("class", last.Class);
                Number(json, "score", last.Score);
            }
            json.WriteNumber("input_prediction", hasInput ? snapshot.Prediction : -1);
            json.WriteStartArray("outputs");
            if (hasInput) foreach (float v in snapshot.Outputs) json.WriteNumberValue(float.IsFinite(v) ? v : 0);
            json.WriteEndArray();
            // [index, class, score] per prediction, oldest first.
            json.WriteStartArray("history");
            foreach (var r in history)
            {
                json.WriteStartArray();
                json.WriteNumberValue(r.Index);
                json.WriteNumberValue(r.Class);
                json.WriteNumberValue(float.IsFinite(r.Score) ? r.Score : 0);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void Number(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(name, Math.Round(value, 3));
        else json.WriteNull(name);
    }

    /// <summary>/model.json: the running model's card: file, inputs, outputs and the metadata stored in it.</summary>
    public byte[] ModelJson()
    {
        var model = _model();
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("file", _modelPath);
            json.WriteNumber("ops", model.Graph.Ops.Count);
            json.WriteNumber("weight_bytes", model.WeightBytes);
            json.WriteNumber("arena_bytes", model.ArenaBytes);
            Tensors(json, "inputs", model.Inputs);
            Tensors(json, "outputs", model.Outputs);
            json.WriteStartObject("metadata");
            foreach (var (key, value) in model.Graph.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) json.WriteString(key, value);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void Tensors(Utf8JsonWriter json, string name, IReadOnlyList<TensorInfo> tensors)
    {
        json.WriteStartArray(name);
        foreach (var t in tensors)
        {
            json.WriteStartObject();
            json.WriteString("name", t.Name);
            json.WriteString("type", t.Type.ToShortName());
            json.WriteStartArray("shape");
            foreach (int d in t.Shape) json.WriteNumberValue(d);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary>/metrics: the Prometheus text exposition format (version 0.0.4).</summary>
    public byte[] Metrics()
    {
        var history = _board.History();
        var (fps, p50, p99) = Recent(history);
        var text = new StringBuilder();
        void Metric(string name, string type, string help, double value, string labels = "")
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            text.Append(name).Append(labels).Append(' ').Append(Format(value)).Append('\n');
        }
        Metric("edgenets_frames_total", "counter", "Frames (images, samples or tensors) read from the source.", _board.Frames);
        Metric("edgenets_predictions_total", "counter", "Model runs reported as predictions.", _board.Predictions);
        Metric("edgenets_dropped_frames_total", "counter", "Frames the source dropped (older frames replaced by fresher ones, unreadable lines).", _board.Dropped);
        Metric("edgenets_non_finite_outputs_total", "counter", "Model runs whose output had NaN or infinite values.", _board.NonFiniteOutputs);
        Metric("edgenets_saturated_inputs_total", "counter", "Model inputs with at least one value clamped by int8 quantization.", _board.SaturatedInputs);
        Metric("edgenets_model_reloads_total", "counter", "Replacement model files swapped in.", _board.ModelReloads);
        Metric("edgenets_model_rejections_total", "counter", "Replacement model files refused.", _board.ModelRejections);
        Metric("edgenets_fps", "gauge", $"Frames per second over the last {_windowSeconds.ToString(CultureInfo.InvariantCulture)} s.", fps);
        Metric("edgenets_class", "gauge", "Top class of the last prediction (-1: none, or a value output).", history.Length > 0 ? history[^1].Class : -1);
        Metric("edgenets_score", "gauge", "Probability of the top class (or the value) of the last prediction.", history.Length > 0 ? history[^1].Score : double.NaN);
        text.Append("# HELP edgenets_latency_microseconds Preprocessing and model run per prediction (quantiles over the last ")
            .Append(_windowSeconds.ToString(CultureInfo.InvariantCulture)).Append(" s).\n");
        text.Append("# TYPE edgenets_latency_microseconds summary\n");
        text.Append("edgenets_latency_microseconds{quantile=\"0.5\"} ").Append(Format(p50)).Append('\n');
        text.Append("edgenets_latency_microseconds{quantile=\"0.99\"} ").Append(Format(p99)).Append('\n');
        text.Append("edgenets_latency_microseconds_sum ").Append(Format(_board.LatencySumUs)).Append('\n');
        text.Append("edgenets_latency_microseconds_count ").Append(Format(_board.Predictions)).Append('\n');
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string Format(double value) =>
        double.IsNaN(value) ? "NaN" : double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf"
        : value.ToString("R", CultureInfo.InvariantCulture);
}
