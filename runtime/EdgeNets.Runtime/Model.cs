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
    /// <summary>The model's own copy of the file; constants are read from it in place, so it must not be written.</summary>
    public byte[] FileBytes { get; }

    public IReadOnlyList<TensorInfo> Inputs => Graph.Inputs.Select(i => Graph.Tensors[i]).ToArray();
    public IReadOnlyList<TensorInfo> Outputs => Graph.Outputs.Select(i => Graph.Tensors[i]).ToArray();
    public long ArenaBytes => Graph.ArenaBytes;
    public long WeightBytes => Graph.Tensors.Where(t => t.IsConstant).Sum(t => (long)t.ByteLength);

    /// <summary>
    /// Parses and validates a model; throws <see cref="ModelFormatException"/> on any inconsistency. The model keeps a
    /// copy of <paramref name="fileBytes"/> (its constants are read from it in place), so writing into the caller's
    /// array afterwards cannot change weights that were already validated.
    /// </summary>
    public static Model Load(byte[] fileBytes)
    {
        ArgumentNullException.ThrowIfNull(fileBytes);
        return LoadOwned((byte[])fileBytes.Clone());
    }

    /// <summary>
    /// Reads and validates a model file: a regular file of at most <see cref="EnetFormat.MaxFileBytes"/> bytes (a
    /// directory, device or pipe is refused before reading). Every error is a <see cref="ModelFormatException"/> whose
    /// message starts with the path.
    /// </summary>
    public static Model Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try { bytes = IO.RegularFile.ReadAllBytes(path, EnetFormat.MaxFileBytes); }
        catch (InvalidDataException e) { throw new ModelFormatException($"{path}: not a model file: it {e.Message}", e); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException($"{path}: cannot read model file: {e.Message}", e);
        }
        try { return LoadOwned(bytes); }
        catch (ModelFormatException e) { throw new ModelFormatException($"{path}: {e.Message}", e); }
    }

    /// <summary>Loads from an array nobody else writes to (a fresh copy or a file just read).</summary>
    private static Model LoadOwned(byte[] fileBytes)
    {
        var graph = EnetReader.Read(fileBytes);
        var model = new Model(graph, fileBytes);
        // Preparing every kernel once checks operator-specific shapes and attributes now, not at the first Run.
        using (model.CreateSession(new SessionOptions { LogKernelChoice = false })) { }
        return model;
    }

    public Session CreateSession(SessionOptions? options = null) => new(this, options ?? new SessionOptions());

    /// <summary>A session that feeds a sequence model one time step at a time (see <see cref="StreamingSession"/>).</summary>
    public StreamingSession CreateStreamingSession(SessionOptions? options = null) => new(this, options ?? new SessionOptions());

    /// <summary>A model over a graph derived from a loaded one (constants still in <paramref name="fileBytes"/>).</summary>
    internal static Model ForGraph(ModelGraph graph, byte[] fileBytes) => new(graph, fileBytes);
}
