namespace EdgeNets.Runtime.Graph;

/// <summary>
/// The content of a model file: tensors, operators in execution order, graph inputs and outputs,
/// the planned arena size and free-form metadata. The converter builds one and writes it;
/// <see cref="Model.Load(byte[])"/> reads and validates one.
/// </summary>
public sealed class ModelGraph
{
    public List<TensorInfo> Tensors { get; } = new();
    public List<OpInfo> Ops { get; } = new();
    public List<int> Inputs { get; } = new();
    public List<int> Outputs { get; } = new();
    /// <summary>Bytes of the activation arena; every activation lies within it.</summary>
    public long ArenaBytes { get; set; }
    /// <summary>Producer, source model, precision, input normalization and the like.</summary>
    public SortedDictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    public int AddTensor(TensorInfo tensor)
    {
        Tensors.Add(tensor);
        return Tensors.Count - 1;
    }

    /// <summary>
    /// Offsets that give every activation its own 64-byte-aligned slot in tensor order (-1 for constants), without the
    /// reuse the converter's planner finds: for small or temporary graphs and for keeping every intermediate readable.
    /// </summary>
    public long[] UnsharedOffsets(out long arenaBytes)
    {
        var offsets = new long[Tensors.Count];
        long cursor = 0;
        for (int i = 0; i < offsets.Length; i++)
        {
            if (Tensors[i].IsConstant) { offsets[i] = -1; continue; }
            offsets[i] = cursor;
            cursor = Format.EnetFormat.AlignUp(cursor + Tensors[i].ByteLength);
        }
        arenaBytes = cursor;
        return offsets;
    }

    /// <summary>Places every activation at its <see cref="UnsharedOffsets"/> slot and sets <see cref="ArenaBytes"/>.</summary>
    public void PlaceUnshared()
    {
        var offsets = UnsharedOffsets(out long arenaBytes);
        for (int i = 0; i < offsets.Length; i++) if (offsets[i] >= 0) Tensors[i].Offset = offsets[i];
        ArenaBytes = arenaBytes;
    }

    public int FindTensor(string name)
    {
        for (int i = 0; i < Tensors.Count; i++) if (Tensors[i].Name == name) return i;
        return -1;
    }
}
