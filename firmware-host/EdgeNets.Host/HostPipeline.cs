using EdgeNets.Host.Output;
using EdgeNets.Host.Preprocessing;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Host;

/// <summary>How sensor samples reach the model.</summary>
public enum HostMode
{
    /// <summary>The model runs on a sliding window of its input length, every hop samples (and on every image or tensor).</summary>
    Window,
    /// <summary>The model's recurrent state is stepped one sample at a time, with a prediction per sample (<see cref="StreamingSession"/>).</summary>
    Stream,
}

/// <summary>Which label a window of samples is scored against.</summary>
public enum WindowLabel
{
    /// <summary>The label of the newest sample.</summary>
    Last,
    /// <summary>The label shared by every sample of the window; windows that span a label change are unlabelled.</summary>
    Uniform,
}

/// <summary>How the model's output is reported.</summary>
public enum OutputKind
{
    /// <summary><see cref="Value"/> when the output has a single element, else <see cref="Class"/>.</summary>
    Auto,
    /// <summary>Top class and its probability; labels give accuracy; events and GPIO.</summary>
    Class,
    /// <summary>The output values themselves (regression, forecasting).</summary>
    Value,
}

public sealed class HostOptions
{
    public PreprocessOptions Preprocess { get; set; } = new();

    public HostMode Mode { get; set; } = HostMode.Window;

    /// <summary>Stream mode: samples between resets of the recurrent state; 0 = never.</summary>
    public long ResetEvery { get; set; }

    /// <summary>Subtracted from every label (e.g. 1 for activity ids 1..N of classes 0..N-1); results outside the model's classes are unlabelled.</summary>
    public int LabelOffset { get; set; }

    public WindowLabel WindowLabel { get; set; } = WindowLabel.Last;

    public OutputKind Output { get; set; } = OutputKind.Auto;

    /// <summary>Value outputs are reported as output * OutputStd + OutputMean (per output element, or one for all), undoing a target normalization.</summary>
    public float[]? OutputMean { get; set; }
    public float[]? OutputStd { get; set; }

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
/// The host loop: source → preprocessing into the model input → model → top class or values → JSON lines, smoothing,
/// GPIO and metrics. Everything is allocated in the constructor; <see cref="Step"/> allocates nothing for sources that
/// don't. In <see cref="HostMode.Stream"/> the model's one-step graph runs on every sample and keeps its recurrent state.
/// An output with NaN or infinite values is reported as an error line instead of a prediction (no event, no GPIO
/// change). Times (latency, metrics periods, timestamps) come from the given <see cref="TimeProvider"/>.
/// </summary>
public sealed partial class HostPipeline : IDisposable
{
    private readonly ISource _source;
    // Replaced between frames by a model rollout (HostPipeline.Rollout.cs).
    private Session _session;
    private StreamingSession? _streaming;
    private FramePreprocessor _preprocessor;
    private readonly HostOptions _options;
    private readonly JsonLineWriter _json;
    private readonly EventSmoother _smoother;
    private readonly ClassPins? _pins;
    private readonly LatencyStats _latency = new();
    private readonly TimeProvider _time;
    private readonly float[] _output, _values;
    private readonly bool _isClassifier;
    private bool _outputIsProbability;
    private int _contextLength;
    private readonly long _metricsIntervalTicks;
    private long _lastMetricsTicks, _framesAtLastMetrics, _streamed;
    private float _lastTarget = float.NaN;
    private double _absoluteErrorSum;
    private int _runLabel = -1, _runLength;

    public HostPipeline(Model model, ISource source, Stream output, HostOptions? options = null, ClassPins? pins = null,
        TimeProvider? time = null)
    {
        _options = options ?? new HostOptions();
        _time = time ?? TimeProvider.System;
        _source = source;
        var graph = model.Graph;
        if (graph.Outputs.Count < 1) throw new InvalidDataException("the model has no outputs");
        int outputCount;
        if (_options.Mode == HostMode.Stream)
        {
            if (_options.Preprocess.Hop > 1) throw new ArgumentException("--hop is for window mode; stream mode runs the model on every sample");
            _streaming = model.CreateStreamingSession();
            _session = _streaming.Session;
            outputCount = _streaming.StepOutputSize();
            // Samples behind one whole-sequence output: the model input's time length (more than the recurrent
            // layer's steps when convolutions over time come first).
            _contextLength = model.Inputs[0].Shape[_streaming.InputTimeAxis];
        }
        else
        {
            if (_options.ResetEvery > 0) throw new ArgumentException("--reset is for stream mode");
            _session = model.CreateSession();
            outputCount = graph.Tensors[graph.Outputs[0]].ElementCount;
        }
        _isClassifier = _options.Output switch
        {
            OutputKind.Class => true,
            OutputKind.Value => false,
            _ => outputCount > 1,
        };
        try
        {
            if (!_isClassifier && pins != null) throw new ArgumentException("--gpio needs a classification output (class pins)");
            if (_isClassifier && (_options.OutputMean != null || _options.OutputStd != null))
                throw new ArgumentException("--output-mean/--output-std apply to value outputs");
            CheckPerElement(_options.OutputMean, outputCount, "--output-mean");
            CheckPerElement(_options.OutputStd, outputCount, "--output-std");
            _preprocessor = new FramePreprocessor(new ModelInput(_session), _options.Preprocess);
        }
        catch
        {
            if (_streaming != null) _streaming.Dispose(); else _session.Dispose();
            throw;
        }
        _json = new JsonLineWriter(output, 1024 + 32 * outputCount);
        _smoother = new EventSmoother(_options.HoldFrames);
        _output = new float[outputCount];
        _values = new float[outputCount];
        _pins = pins;
        // Scores are probabilities: taken as they are when the model ends in Softmax, else softmax of the logits.
        _outputIsProbability = graph.Ops.Count > 0 && graph.Ops[^1].Type == OpType.Softmax;
        _metricsIntervalTicks = (long)(_options.MetricsIntervalSeconds * _time.TimestampFrequency);
        _lastMetricsTicks = _time.GetTimestamp();
    }

    private static void CheckPerElement(float[]? values, int count, string what)
    {
        if (values != null && values.Length != 1 && values.Length != count)
            throw new ArgumentException($"{what} has {values.Length} values; the model output has {count} (give 1 or {count})");
    }

    /// <summary>The session that runs per prediction (in stream mode the one-step session).</summary>
    public Session Session => _session;
    /// <summary>The streaming session in <see cref="HostMode.Stream"/>, else null.</summary>
    public StreamingSession? Streaming => _streaming;
    public FramePreprocessor Preprocessor => _preprocessor;
    /// <summary>Also gets every line printed (e.g. an MQTT publisher); metrics and the summary then count its drops.</summary>
    public ILineSink? LineSink { get => _json.Sink; set => _json.Sink = value; }
    /// <summary>The longest line in bytes.</summary>
    public int LineCapacity => _json.Capacity;
    public long Frames { get; private set; }
    public long Predictions { get; private set; }
    public long Labelled { get; private set; }
    public long Correct { get; private set; }
    public int LastClass { get; private set; } = -1;
    public float LastScore { get; private set; }
    /// <summary>The label the last prediction was scored against, -1 when unlabelled.</summary>
    public int LastLabel { get; private set; } = -1;
    public ReadOnlySpan<float> LastOutput => _output;
    /// <summary>The last value output, denormalized with <see cref="HostOptions.OutputMean"/>/<see cref="HostOptions.OutputStd"/>.</summary>
    public ReadOnlySpan<float> LastValues => _values;
    public bool IsClassifier => _isClassifier;
    public double Accuracy => Labelled == 0 ? double.NaN : (double)Correct / Labelled;
    /// <summary>Value predictions made after a sample that carried a target (replay with targets).</summary>
    public long Targeted { get; private set; }
    /// <summary>Mean absolute error of those predictions, in the units of the reported value.</summary>
    public double MeanAbsoluteError => Targeted == 0 ? double.NaN : _absoluteErrorSum / Targeted;
    /// <summary>Model runs whose output had NaN or infinite values: reported as errors, not predictions.</summary>
    public long NonFiniteOutputs { get; private set; }
    /// <summary>Model inputs in which at least one value saturated the int8 input (see <see cref="FramePreprocessor.LastSaturated"/>).</summary>
    public long SaturatedInputs { get; private set; }
    /// <summary>Input values that saturated, over all model inputs.</summary>
    public long SaturatedValues { get; private set; }

    /// <summary>Reads one frame and, when the model input is complete, runs the model and reports. False at end of stream.</summary>
    public bool Step()
    {
        if (Rollout != null && Rollout.HasResult) ApplyRollout(Rollout);
        if (_source.Read(out var frame) == ReadStatus.EndOfStream) return false;
        Frames++;
        TrackLabel(frame.Label);
        _lastTarget = frame.Target;
        long start = _time.GetTimestamp();
        if (_streaming != null)
        {
            // The state restarts every ResetEvery samples, so the prediction after each block's last sample is the
            // whole-sequence output for that block.
            if (_options.ResetEvery > 0 && _streamed > 0 && _streamed % _options.ResetEvery == 0) _streaming.Reset();
            _streamed++;
        }
        if (!_preprocessor.Process(frame)) { StatusCounters(); return true; }
        CountSaturation(_preprocessor.LastSaturated);
        Status?.CaptureInput(_session.GetInputBytes(0), start);
        if (_streaming != null)
        {
            // A window over time (Conv1d front end) still filling: nothing new to report for this sample.
            if (!_streaming.AdvanceWithInputSet()) { StatusCounters(); return true; }
        }
        else _session.Invoke();
        _session.GetOutput(0, _output);
        long end = _time.GetTimestamp();
        double latencyUs = (end - start) * 1e6 / _time.TimestampFrequency;
        _latency.Add(latencyUs);
        if (!IsFinite(_output))
        {
            // A NaN would read as class 0 (ArgMax) and drive its pin: report what happened and act on nothing.
            NonFiniteOutputs++;
            StatusCounters();
            WriteOutputError();
            MaybeWriteMetrics(end);
            return true;
        }

        if (_isClassifier) Classify();
        else
        {
            Denormalize();
            if (_values.Length == 1 && float.IsFinite(_lastTarget))
            {
                Targeted++;
                _absoluteErrorSum += Math.Abs((double)_values[0] - _lastTarget);
            }
        }
        if (_options.PrintPredictions) WritePrediction(latencyUs, _preprocessor.LastSaturated);
        if (_isClassifier && _smoother.Update(LastClass))
        {
            _pins?.Show(LastClass);
            WriteEvent();
        }
        StatusCounters();
        StatusPrediction(latencyUs, end);
        Predictions++;
        MaybeWriteMetrics(end);
        return true;
    }

    private void MaybeWriteMetrics(long now)
    {
        if (_metricsIntervalTicks > 0 && now - _lastMetricsTicks >= _metricsIntervalTicks) WriteMetrics(now);
    }

    private void CountSaturation(int saturated)
    {
        if (saturated == 0) return;
        SaturatedInputs++;
        SaturatedValues += saturated;
    }

    private static bool IsFinite(ReadOnlySpan<float> values)
    {
        foreach (float v in values) if (!float.IsFinite(v)) return false;
        return true;
    }

    /// <summary>Keeps the current label and how many consecutive frames have carried it (for <see cref="WindowLabel.Uniform"/>).</summary>
    private void TrackLabel(int rawLabel)
    {
        int label = -1;
        if (_isClassifier && rawLabel >= 0)
        {
            long shifted = (long)rawLabel - _options.LabelOffset;
            if (shifted >= 0 && shifted < _output.Length) label = (int)shifted;
        }
        if (label == _runLabel) { if (_runLength < int.MaxValue) _runLength++; }
        else { _runLabel = label; _runLength = 1; }
    }

    /// <summary>Samples one prediction sees: the window length, or in stream mode the model's sequence length.</summary>
    private int ContextLength => _streaming != null ? _contextLength : _preprocessor.WindowLength;

    private void Classify()
    {
        int top = ArgMax(_output);
        LastClass = top;
        LastScore = _outputIsProbability ? _output[top] : SoftmaxOf(_output, top);
        LastLabel = _options.WindowLabel == WindowLabel.Uniform && _runLength < ContextLength ? -1 : _runLabel;
        if (LastLabel >= 0)
        {
            Labelled++;
            if (LastLabel == top) Correct++;
        }
    }

    private void Denormalize()
    {
        var mean = _options.OutputMean;
        var std = _options.OutputStd;
        for (int i = 0; i < _output.Length; i++)
        {
            float v = _output[i];
            if (std != null) v *= std[std.Length == 1 ? 0 : i];
            if (mean != null) v += mean[mean.Length == 1 ? 0 : i];
            _values[i] = v;
        }
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

    private double UnixSeconds() => (_time.GetUtcNow().UtcDateTime - DateTime.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond;

    private void WritePrediction(double latencyUs, int saturated)
    {
        _json.Begin();
        _json.Field("type"u8, "prediction"u8);
        _json.Field("timestamp"u8, UnixSeconds(), "F3");
        _json.Field("index"u8, Predictions);
        if (_isClassifier)
        {
            _json.Field("class"u8, LastClass);
            _json.Field("score"u8, LastScore, "F4");
        }
        else if (_values.Length == 1)
        {
            _json.Field("value"u8, _values[0]);
            if (float.IsFinite(_lastTarget)) _json.Field("target"u8, _lastTarget);
        }
        else _json.Field("values"u8, _values);
        _json.Field("latency_us"u8, latencyUs, "F1");
        if (saturated > 0) _json.Field("saturated"u8, saturated);
        if (_isClassifier && LastLabel >= 0) _json.Field("label"u8, LastLabel);
        _json.End();
    }

    private void WriteOutputError()
    {
        int nan = 0, infinite = 0;
        foreach (float v in _output)
        {
            if (float.IsNaN(v)) nan++;
            else if (float.IsInfinity(v)) infinite++;
        }
        _json.Begin();
        _json.Field("type"u8, "error"u8);
        _json.Field("timestamp"u8, UnixSeconds(), "F3");
        _json.Field("frame"u8, Frames - 1);
        _json.Field("error"u8, "model output is not finite; no prediction, event or GPIO change"u8);
        _json.Field("nan"u8, nan);
        _json.Field("infinite"u8, infinite);
        _json.Field("outputs"u8, _output.Length);
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
        double seconds = (now - _lastMetricsTicks) / (double)_time.TimestampFrequency;
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
        _json.Field("non_finite_outputs"u8, NonFiniteOutputs);
        _json.Field("saturated_inputs"u8, SaturatedInputs);
        _json.Field("saturated_values"u8, SaturatedValues);
        if (LineSink != null) _json.Field("mqtt_dropped"u8, LineSink.Dropped);
        WriteRolloutCounts();
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
        if (NonFiniteOutputs > 0) _json.Field("non_finite_outputs"u8, NonFiniteOutputs);
        if (SaturatedInputs > 0)
        {
            _json.Field("saturated_inputs"u8, SaturatedInputs);
            _json.Field("saturated_values"u8, SaturatedValues);
        }
        if (Labelled > 0)
        {
            _json.Field("labelled"u8, Labelled);
            _json.Field("correct"u8, Correct);
            _json.Field("accuracy"u8, Accuracy, "F6");
        }
        if (Targeted > 0)
        {
            _json.Field("targets"u8, Targeted);
            _json.Field("mae"u8, MeanAbsoluteError, "R");
        }
        if (LineSink != null) _json.Field("mqtt_dropped"u8, LineSink.Dropped);
        WriteRolloutCounts();
        _json.End();
    }

    public void Dispose()
    {
        _pins?.Dispose();
        if (_streaming != null) _streaming.Dispose(); else _session.Dispose();
    }
}
