using EdgeNets.Host.Status;

namespace EdgeNets.Host;

/// <summary>Feeding the status page's board from the frame loop (copies into preallocated buffers only).</summary>
public sealed partial class HostPipeline
{
    /// <summary>Gets the model inputs, predictions and counters the status page shows; null = no status page.</summary>
    public StatusBoard? Status { get; set; }

    private void StatusCounters() =>
        Status?.SetCounters(Frames, _source.DroppedFrames, NonFiniteOutputs, SaturatedInputs, ModelReloads, ModelRejections);

    private void StatusPrediction(double latencyUs, long timestamp) =>
        Status?.Record(Predictions, _isClassifier ? LastClass : -1, _isClassifier ? LastScore : _values[0], _output, latencyUs, timestamp);
}
