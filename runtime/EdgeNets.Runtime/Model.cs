using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime;

/// <summary>A validated, immutable model loaded from a .enet file. Create one <see cref="Session"/> per thread of use.</summary>
public sealed class Model
{
    private Model(ModelGraph graph, byte[] fileBytes)
    {
        Graph = graph;
        FileBytes = fileBytes;
    }

    public ModelGraph Graph { get; }
    /// <summary>The file as loaded; constants are read from it in place.</summary>
    public byte[] FileBytes { get; }

    public IReadOnlyList<TensorInfo> Inputs => Graph.Inputs.Select(i => Graph.Tensors[i]).ToArray();
    public IReadOnlyList<TensorInfo> Outputs => Graph.Outputs.Select(i => Graph.Tensors[i]).ToArray();
    public long ArenaBytes => Graph.ArenaBytes;
    public long WeightBytes => Graph.Tensors.Where(t => t.IsConstant).Sum(t => (long)t.ByteLength);

    /// <summary>Parses and validates a model; throws <see cref="ModelFormatException"/> on any inconsistency.</summary>
    public static Model Load(byte[] fileBytes)
    {
        ArgumentNullException.ThrowIfNull(fileBytes);
        var graph = EnetReader.Read(fileBytes);
        var model = new Model(graph, fileBytes);
        // Preparing every kernel once checks operator-specific shapes and attributes now, not at the first Run.
        using (model.CreateSession(new SessionOptions { LogKernelChoice = false })) { }
        return model;
    }

    public static Model Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException($"{path}: cannot read model file: {e.Message}", e);
        }
        try { return Load(bytes); }
        catch (ModelFormatException e) { throw new ModelFormatException($"{path}: {e.Message}", e); }
    }

    public Session CreateSession(SessionOptions? options = null) => new(this, options ?? new SessionOptions());

    /// <summary>A session that feeds a sequence model one time step at a time (see <see cref="StreamingSession"/>).</summary>
    public StreamingSession CreateStreamingSession(SessionOptions? options = null) => new(this, options ?? new SessionOptions());

    /// <summary>A model over a graph derived from a loaded one (constants still in <paramref name="fileBytes"/>).</summary>
    internal static Model ForGraph(ModelGraph graph, byte[] fileBytes) => new(graph, fileBytes);
}
