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

    public int FindTensor(string name)
    {
        for (int i = 0; i < Tensors.Count; i++) if (Tensors[i].Name == name) return i;
        return -1;
    }
}
