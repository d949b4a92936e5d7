using System.Diagnostics;
using EdgeNets.Host.Output;
using EdgeNets.Host.Preprocessing;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Host;

public sealed class HostOptions
{
    public PreprocessOptions Preprocess { get; set; } = new();

    /// <summary>Frames a class must hold before an event is reported (and GPIO pins switch).</summary>
    public int HoldFrames { get; set; } = 1;

    /// <summary>Seconds between metrics lines; 0 = none.</summary>
    public double MetricsIntervalSeconds { get; set; }

    /// <summary>Stop after this many predictions; 0 = until the source ends or the host is stopped.</summary>
    public long MaxPredictions { get; set; }

    /// <summary>Print one line per prediction (events, metrics and the summary are printed regardless).</summary>
    public bool PrintPredictions { get; set; } = true;
}

/// <summary>
/// The host loop: source → preprocessing into the model input → model → top class → JSON lines, smoothing, GPIO and
/// metrics. Everything is allocated in the constructor; <see cref="Step"/> allocates nothing for sources that don't.
/// </summary>
public sealed class HostPipeline : IDisposable
{
    private readonly ISource _source;
    private readonly Session _session;
    private readonly FramePreprocessor _preprocessor;
    private readonly HostOptions _options;
    private readonly JsonLineWriter _json;
    private readonly EventSmoother _smoother;
    private readonly ClassPins? _pins;
    private readonly LatencyStats _latency = new();
    private readonly float[] _output;
    private readonly bool _outputIsProbability;
    private readonly long _metricsIntervalTicks;
    private long _lastMetricsTicks, _framesAtLastMetrics;

    public HostPipeline(Model model, ISource source, Stream output, HostOptions? options = null, ClassPins? pins = null)
    {
        _options = options ?? new HostOptions();
        _source = source;
        _session = model.CreateSession();
        _preprocessor = new FramePreprocessor(new ModelInput(_session), _options.Preprocess);
        _json = new JsonLineWriter(output);
        _smoother = new EventSmoother(_options.HoldFrames);
        _pins = pins;
        var graph = model.Graph;
        if (graph.Outputs.Count < 1) throw new InvalidDataException("the model has no outputs");
        _output = new float[graph.Tensors[graph.Outputs[0]].ElementCount];
        // Scores are probabilities: taken as they are when the model ends in Softmax, else softmax of the logits.
        _outputIsProbability = graph.Ops.Count > 0 && graph.Ops[^1].Type == OpType.Softmax;
        _metricsIntervalTicks = (long)(_options.MetricsIntervalSeconds * Stopwatch.Frequency);
        _lastMetricsTicks = Stopwatch.GetTimestamp();
    }

    public Session Session => _session;
    public FramePreprocessor Preprocessor => _preprocessor;
    public long Frames { get; private set; }
    public long Predictions { get; private set; }
    public long Labelled { get; private set; }
    public long Correct { get; private set; }
    public int LastClass { get; private set; } = -1;
    public float LastScore { get; private set; }
    public ReadOnlySpan<float> LastOutput => _output;
    public double Accuracy => Labelled == 0 ? double.NaN : (double)Correct / Labelled;

    /// <summary>Reads one frame and, when the model input is complete, runs the model and reports. False at end of stream.</summary>
    public bool Step()
    {
        if (_source.Read(out var frame) == ReadStatus.EndOfStream) return false;
        Frames++;
        long start = Stopwatch.GetTimestamp();
        if (!_preprocessor.Process(frame)) return true;
        _session.Invoke();
        _session.GetOutput(0, _output);
        long end = Stopwatch.GetTimestamp();
        double latencyUs = (end - start) * 1e6 / Stopwatch.Frequency;
        _latency.Add(latencyUs);

        int top = ArgMax(_output);
        LastClass = top;
        LastScore = _outputIsProbability ? _output[top] : SoftmaxOf(_output, top);
        if (frame.Label >= 0)
        {
            Labelled++;
            if (frame.Label == top) Correct++;
        }
        if (_options.PrintPredictions) WritePrediction(frame.Label, latencyUs);
        if (_smoother.Update(top))
        {
            _pins?.Show(top);
            WriteEvent();
        }
        Predictions++;
        if (_metricsIntervalTicks > 0 && end - _lastMetricsTicks >= _metricsIntervalTicks) WriteMetrics(end);
        return true;
    }

    /// <summary>Runs until the source ends, <see cref="HostOptions.MaxPredictions"/> is reached or cancellation; then prints the summary.</summary>
    public void Run(CancellationToken cancel = default)
    {
        while (!cancel.IsCancellationRequested)
        {
            if (!Step()) break;
            if (_options.MaxPredictions > 0 && Predictions >= _options.MaxPredictions) break;
        }
        WriteSummary();
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int top = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[top]) top = i;
        return top;
    }

    private static float SoftmaxOf(ReadOnlySpan<float> logits, int index)
    {
        float max = logits[index];
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += Math.Exp(logits[i] - max);
        return (float)(1.0 / sum);
    }

    private static double UnixSeconds() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond;

    private void WritePrediction(int label, double latencyUs)
    {
        _json.Begin();
        _json.Field("type"u8, "prediction"u8);
        _json.Field("timestamp"u8, UnixSeconds(), "F3");
        _json.Field("index"u8, Predictions);
        _json.Field("class"u8, LastClass);
        _json.Field("score"u8, LastScore, "F4");
        _json.Field("latency_us"u8, latencyUs, "F1");
        if (label >= 0) _json.Field("label"u8, label);
        _json.End();
    }

    private void WriteEvent()
    {
        _json.Begin();
        _json.Field("type"u8, "event"u8);
        _json.Field("timestamp"u8, UnixSeconds(), "F3");
        _json.Field("index"u8, Predictions);
        _json.Field("class"u8, LastClass);
        _json.Field("score"u8, LastScore, "F4");
        _json.Field("held_frames"u8, _smoother.HoldFrames);
        _json.End();
    }

    private void WriteMetrics(long now)
    {
        double seconds = (now - _lastMetricsTicks) / (double)Stopwatch.Frequency;
        _latency.TakePercentiles(out double p50, out double p99);
        _json.Begin();
        _json.Field("type"u8, "metrics"u8);
        _json.Field("timestamp"u8, UnixSeconds(), "F3");
        _json.Field("frames"u8, Frames);
        _json.Field("predictions"u8, Predictions);
        _json.Field("fps"u8, (Frames - _framesAtLastMetrics) / seconds, "F2");
        _json.Field("latency_p50_us"u8, p50, "F1");
        _json.Field("latency_p99_us"u8, p99, "F1");
        _json.Field("dropped"u8, _source.DroppedFrames);
        _json.End();
        _lastMetricsTicks = now;
        _framesAtLastMetrics = Frames;
    }

    public void WriteSummary()
    {
        _json.Begin();
        _json.Field("type"u8, "summary"u8);
        _json.Field("frames"u8, Frames);
        _json.Field("predictions"u8, Predictions);
        _json.Field("dropped"u8, _source.DroppedFrames);
        if (Labelled > 0)
        {
            _json.Field("labelled"u8, Labelled);
            _json.Field("correct"u8, Correct);
            _json.Field("accuracy"u8, Accuracy, "F6");
        }
        _json.End();
    }

    public void Dispose()
    {
        _pins?.Dispose();
        _session.Dispose();
    }
}
