using System.Text.Encodings.Web;
using System.Text.Json;
using EdgeNets.Host.Rollout;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Host;

/// <summary>Taking a model rollout's outcomes between two frames.</summary>
public sealed partial class HostPipeline
{
    // Error lines carry the file and the reason; the rest of the line needs far less than this.
    private const int MaxRolloutErrorChars = 600;

    /// <summary>Reloads of the model file, taken before the next frame (see <see cref="ModelRollout"/>); null = none.</summary>
    public ModelRollout? Rollout { get; set; }
    /// <summary>Models swapped in by the rollout.</summary>
    public long ModelReloads { get; private set; }
    /// <summary>Replacement files refused (unreadable, corrupt or incompatible); the running model kept going.</summary>
    public long ModelRejections { get; private set; }

    private void ApplyRollout(ModelRollout rollout)
    {
        while (rollout.TryTakeResult(out var result))
        {
            if (result.Error != null)
            {
                ModelRejections++;
                WriteRolloutError(result);
                continue;
            }
            // Everything the next frame touches is replaced here, on the loop's thread, so no frame sees a mix.
            var (oldSession, oldStreaming) = (_session, _streaming);
            _session = result.Session!;
            _streaming = result.Streaming;
            _preprocessor = result.Preprocessor!;
            var graph = result.Model!.Graph;
            _outputIsProbability = graph.Ops.Count > 0 && graph.Ops[^1].Type == OpType.Softmax;
            if (_streaming != null)
            {
                _contextLength = result.Model.Inputs[0].Shape[_streaming.InputTimeAxis];
                _streamed = 0;
            }
            if (oldStreaming != null) oldStreaming.Dispose(); else oldSession.Dispose();
            ModelReloads++;
            WriteModelLine(result);
        }
    }

    private void WriteModelLine(RolloutResult result)
    {
        _json.Begin();
        _json.Field("type"u8, "model"u8);
        _json.Field("timestamp"u8, UnixSeconds(), "F3");
        _json.Field("file"u8, Text(result.Path));
        _json.Field("xxhash64"u8, System.Text.Encoding.ASCII.GetBytes(result.FileHash!));
        _json.Field("frame"u8, Frames);
        _json.Field("reloads"u8, ModelReloads);
        _json.End();
    }

    private void WriteRolloutError(RolloutResult result)
    {
        string error = result.Error!;
        if (error.Length > MaxRolloutErrorChars) error = error[..MaxRolloutErrorChars] + "...";
        _json.Begin();
        _json.Field("type"u8, "error"u8);
        _json.Field("timestamp"u8, UnixSeconds(), "F3");
        _json.Field("file"u8, Text(result.Path));
        _json.Field("error"u8, Text("model refused, the running model continues: " + error));
        _json.Field("frame"u8, Frames);
        _json.End();
    }

    // Escapes only what JSON requires, so quotes in messages stay readable in the journal.
    private static ReadOnlySpan<byte> Text(string value) =>
        JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes;

    private void WriteRolloutCounts()
    {
        if (Rollout == null) return;
        _json.Field("model_reloads"u8, ModelReloads);
        _json.Field("model_rejections"u8, ModelRejections);
    }
}
