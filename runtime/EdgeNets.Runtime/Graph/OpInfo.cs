namespace EdgeNets.Runtime.Graph;

/// <summary>One operator of the model: its type, tensors (by index; -1 for an absent optional input) and attributes.</summary>
public sealed class OpInfo
{
    public OpInfo(OpType type, string name, int[] inputs, int[] outputs, OpAttributes? attributes = null)
    {
        Type = type;
        Name = name;
        Inputs = inputs;
        Outputs = outputs;
        Attributes = attributes ?? new OpAttributes();
    }

    public OpType Type { get; }
    public string Name { get; }
    public int[] Inputs { get; }
    public int[] Outputs { get; }
    public OpAttributes Attributes { get; }

    public override string ToString() => $"{Type} '{Name}'";
}

/// <summary>Integer-list and float-list attributes of an operator, keyed by <see cref="AttributeKey"/>.</summary>
public sealed class OpAttributes
{
    private readonly SortedDictionary<AttributeKey, int[]> _ints = new();
    private readonly SortedDictionary<AttributeKey, float[]> _floats = new();

    public IReadOnlyDictionary<AttributeKey, int[]> Ints => _ints;
    public IReadOnlyDictionary<AttributeKey, float[]> Floats => _floats;

    public OpAttributes Set(AttributeKey key, params int[] values) { _floats.Remove(key); _ints[key] = values; return this; }
    public OpAttributes Set(AttributeKey key, params float[] values) { _ints.Remove(key); _floats[key] = values; return this; }
    public bool Remove(AttributeKey key) => _ints.Remove(key) | _floats.Remove(key);
    public bool Has(AttributeKey key) => _ints.ContainsKey(key) || _floats.ContainsKey(key);

    public int[]? GetInts(AttributeKey key) => _ints.TryGetValue(key, out var v) ? v : null;
    public float[]? GetFloats(AttributeKey key) => _floats.TryGetValue(key, out var v) ? v : null;
    public int GetInt(AttributeKey key, int defaultValue) => _ints.TryGetValue(key, out var v) && v.Length > 0 ? v[0] : defaultValue;
    public float GetFloat(AttributeKey key, float defaultValue) => _floats.TryGetValue(key, out var v) && v.Length > 0 ? v[0] : defaultValue;

    public OpAttributes Clone()
    {
        var copy = new OpAttributes();
        foreach (var (k, v) in _ints) copy._ints[k] = (int[])v.Clone();
        foreach (var (k, v) in _floats) copy._floats[k] = (float[])v.Clone();
        return copy;
    }
}
