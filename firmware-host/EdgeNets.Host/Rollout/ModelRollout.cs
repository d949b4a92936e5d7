using System.Collections.Concurrent;
using EdgeNets.Host.Preprocessing;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Host.Rollout;

/// <summary>
/// Replaces the running model with a new version of its file. <see cref="Reload"/> loads and checks the file on the
/// calling thread (never the frame loop's): it must load, open its sessions, and match the running model's inputs and
/// outputs (count, shape, type) and its input normalization metadata, since the preprocessing and the output handling
/// are built for them. The outcome is queued; the pipeline takes it between two frames (<see cref="HostPipeline"/>),
/// swaps or reports the refusal, and disposes the old sessions. The file watcher and SIGHUP call
/// <see cref="RequestReload"/>, which runs <see cref="Reload"/> on the thread pool.
/// </summary>
public sealed class ModelRollout : IDisposable
{
    private static readonly string[] NormalizationKeys = ["input_mean", "input_std"];
    private readonly object _gate = new();
    private readonly ConcurrentQueue<RolloutResult> _results = new();
    private readonly HostOptions _options;
    private Model _current;
    private string _currentHash;
    private ModelFileWatcher? _watcher;
    private bool _disposed;

    public ModelRollout(string path, Model running, HostOptions options)
    {
        Path = path;
        _current = running;
        _options = options;
        _currentHash = FileHash(running);
    }

    /// <summary>The model file that is watched and reloaded.</summary>
    public string Path { get; }

    /// <summary>True when a reload outcome waits for the pipeline (read on every frame; allocates nothing).</summary>
    public bool HasResult => !_results.IsEmpty;

    /// <summary>Takes the next reload outcome, if any.</summary>
    public bool TryTakeResult(out RolloutResult result)
    {
        if (_results.TryDequeue(out var r)) { result = r; return true; }
        result = null!;
        return false;
    }

    /// <summary>Lowercase hex SHA-256 of a model's file bytes.</summary>
    /// <summary>
    /// XxHash64 of the file: managed, because .NET's SHA-256 calls OpenSSL, which a minimal device image (and the arm64
    /// sysroot under qemu) may not have.
    /// </summary>
    public static string FileHash(Model model) => Convert.ToHexStringLower(System.IO.Hashing.XxHash64.Hash(model.FileBytes));

    /// <summary>Watches the file for replacement (<see cref="ModelFileWatcher"/>) and reloads when it changes.</summary>
    public void Watch(TimeSpan settle, TimeSpan poll)
    {
        lock (_gate) _watcher ??= new ModelFileWatcher(Path, RequestReload, settle, poll);
    }

    /// <summary>Runs <see cref="Reload"/> off the calling thread (signal handlers, watcher callbacks).</summary>
    public void RequestReload() => ThreadPool.QueueUserWorkItem(static r => r.Reload(), this, preferLocal: false);

    /// <summary>
    /// Loads and checks the file now and queues the outcome; returns false when the file holds the running (or already
    /// accepted) model, which needs no swap.
    /// </summary>
    public bool Reload()
    {
        lock (_gate)
        {
            if (_disposed) return false;
            Model model;
            try { model = Model.Load(Path); }
            // Whatever a bad file makes the loader throw is a refusal: a replacement must never end the host.
            catch (Exception e)
            {
                // Model.Load's format errors start with the path; others get it here.
                string message = e.Message.StartsWith(Path, StringComparison.Ordinal) ? e.Message : $"{Path}: {e.Message}";
                _results.Enqueue(RolloutResult.Refused(Path, message));
                return true;
            }
            string hash = FileHash(model);
            if (hash == _currentHash) return false;
            string? mismatch = Mismatch(_current, model);
            if (mismatch != null)
            {
                _results.Enqueue(RolloutResult.Refused(Path, $"{Path}: {mismatch}"));
                return true;
            }
            Session? session = null;
            StreamingSession? streaming = null;
            try
            {
                if (_options.Mode == HostMode.Stream)
                {
                    streaming = model.CreateStreamingSession();
                    session = streaming.Session;
                }
                else session = model.CreateSession();
                var preprocessor = new FramePreprocessor(new ModelInput(session), _options.Preprocess);
                _results.Enqueue(new RolloutResult(Path, hash, null, model, session, streaming, preprocessor));
            }
            catch (Exception e)
            {
                if (streaming != null) streaming.Dispose(); else session?.Dispose();
                _results.Enqueue(RolloutResult.Refused(Path, $"{Path}: {e.Message}"));
                return true;
            }
            _current = model;
            _currentHash = hash;
            return true;
        }
    }

    /// <summary>What makes <paramref name="next"/> unable to replace <paramref name="running"/>, or null.</summary>
    public static string? Mismatch(Model running, Model next)
    {
        var a = running.Graph;
        var b = next.Graph;
        return Mismatch("input", a, a.Inputs, b, b.Inputs) ?? Mismatch("output", a, a.Outputs, b, b.Outputs) ?? MetadataMismatch(a, b);
    }

    private static string? Mismatch(string what, ModelGraph a, IReadOnlyList<int> aIds, ModelGraph b, IReadOnlyList<int> bIds)
    {
        if (aIds.Count != bIds.Count) return $"has {bIds.Count} {what}s; the running model has {aIds.Count}";
        for (int i = 0; i < aIds.Count; i++)
        {
            var x = a.Tensors[aIds[i]];
            var y = b.Tensors[bIds[i]];
            if (!x.Shape.AsSpan().SequenceEqual(y.Shape))
                return $"{what} {i} '{y.Name}' has shape [{string.Join(", ", y.Shape)}]; the running model's is [{string.Join(", ", x.Shape)}]";
            if (x.Type != y.Type) return $"{what} {i} '{y.Name}' is {y.Type}; the running model's is {x.Type}";
        }
        return null;
    }

    private static string? MetadataMismatch(ModelGraph a, ModelGraph b)
    {
        foreach (var key in NormalizationKeys)
        {
            a.Metadata.TryGetValue(key, out var x);
            b.Metadata.TryGetValue(key, out var y);
            if (x != y) return $"metadata {key} is '{y ?? "(none)"}'; the running model's is '{x ?? "(none)"}' (the input normalization would change)";
        }
        return null;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _watcher?.Dispose();
            while (_results.TryDequeue(out var r)) r.DisposeSessions();
        }
    }
}

/// <summary>One reload's outcome: a validated model with its sessions and preprocessing, or why the file was refused.</summary>
public sealed class RolloutResult(string path, string? fileHash, string? error, Model? model, Session? session,
    StreamingSession? streaming, FramePreprocessor? preprocessor)
{
    public static RolloutResult Refused(string path, string error) => new(path, null, error, null, null, null, null);

    public string Path => path;
    public string? FileHash => fileHash;
    /// <summary>Why the file was refused (starts with its path); null when accepted.</summary>
    public string? Error => error;
    public Model? Model => model;
    public Session? Session => session;
    public StreamingSession? Streaming => streaming;
    public FramePreprocessor? Preprocessor => preprocessor;

    internal void DisposeSessions()
    {
        if (streaming != null) streaming.Dispose(); else session?.Dispose();
    }
}
