using EdgeNets.Converter.Import;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Passes;

/// <summary>A named value of the working graph: a float activation with a static shape, or a constant.</summary>
internal sealed class IrValue
{
    public IrValue(string name, int[] shape, ConstTensor? constant)
    {
        Name = name;
        Shape = shape;
        Constant = constant;
    }

    public string Name { get; set; }
    public int[] Shape { get; }
    public ConstTensor? Constant { get; set; }
    public bool IsConstant => Constant != null;
    /// <summary>The int8 quantization the source model gives this value (QuantizeLinear/DequantizeLinear), null when it gives none.</summary>
    public QuantizationInfo? Given { get; set; }
    /// <summary>The name a dequantized constant takes at the end of import when it is free: its int8 initializer's name without "_quantized".</summary>
    public string? PreferredName { get; set; }
}

/// <summary>
/// One operator of the working graph: a runtime <see cref="OpType"/>, or <see cref="OpType.BatchNormalization"/>, which
/// the batch-norm pass removes before the graph is written.
/// </summary>
internal sealed class IrNode
{
    public IrNode(OpType op, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, OpAttributes? attributes = null)
    {
        Op = op;
        Name = name;
        Inputs = inputs.ToList();
        Outputs = outputs.ToList();
        Attributes = attributes ?? new OpAttributes();
    }

    public OpType Op { get; set; }
    public string Name { get; }
    /// <summary>Value names; "" marks an absent optional input.</summary>
    public List<string> Inputs { get; }
    public List<string> Outputs { get; }
    public OpAttributes Attributes { get; }

    public override string ToString() => $"{Op} '{Name}'";
}

/// <summary>The graph between ONNX import and the model graph: nodes in execution order over named values.</summary>
internal sealed class IrGraph
{
    private readonly HashSet<string> _usedNames = new(StringComparer.Ordinal);

    public Dictionary<string, IrValue> Values { get; } = new(StringComparer.Ordinal);
    public List<IrNode> Nodes { get; } = new();
    public List<string> Inputs { get; } = new();
    public List<string> Outputs { get; } = new();

    /// <summary>Marks names taken by the source model so generated names never collide with them.</summary>
    public void ReserveName(string name) => _usedNames.Add(name);

    public bool IsNameFree(string name) => !_usedNames.Contains(name);

    /// <summary>A fresh value or node name derived from <paramref name="baseName"/>.</summary>
    public string UniqueName(string baseName)
    {
        string name = baseName;
        for (int i = 1; !_usedNames.Add(name); i++) name = $"{baseName}_{i}";
        return name;
    }

    /// <summary>A run-time value; its shape is refused when a dimension is negative or it is over <see cref="ConversionLimits.MaxTensorElements"/>.</summary>
    public IrValue AddActivation(string name, int[] shape)
    {
        ConversionLimits.CheckedElementCount(shape);
        _usedNames.Add(name);
        var v = new IrValue(name, shape, null);
        Values[name] = v;
        return v;
    }

    public IrValue AddConstant(string name, ConstTensor constant)
    {
        ConversionLimits.CheckedElementCount(constant.Shape);
        _usedNames.Add(name);
        var v = new IrValue(name, constant.Shape, constant);
        Values[name] = v;
        return v;
    }

    /// <summary>A new constant value with a generated name.</summary>
    public string NewConstant(string baseName, ConstTensor constant) => AddConstant(UniqueName(baseName), constant).Name;

    public IrValue Value(string name) => Values[name];

    public bool IsGraphOutput(string name) => Outputs.Contains(name);

    public int ConsumerCount(string name)
    {
        int count = 0;
        foreach (var node in Nodes) foreach (var input in node.Inputs) if (input == name) count++;
        return count;
    }

    public IrNode? Producer(string name)
    {
        foreach (var node in Nodes) if (node.Outputs.Contains(name)) return node;
        return null;
    }

    /// <summary>Renames a value everywhere it appears; <paramref name="newName"/> must not name another value.</summary>
    public void Rename(string oldName, string newName)
    {
        if (oldName == newName) return;
        var v = Values[oldName];
        Values.Remove(oldName);
        v.Name = newName;
        Values[newName] = v;
        _usedNames.Add(newName);
        foreach (var node in Nodes)
        {
            for (int i = 0; i < node.Inputs.Count; i++) if (node.Inputs[i] == oldName) node.Inputs[i] = newName;
            for (int i = 0; i < node.Outputs.Count; i++) if (node.Outputs[i] == oldName) node.Outputs[i] = newName;
        }
        for (int i = 0; i < Inputs.Count; i++) if (Inputs[i] == oldName) Inputs[i] = newName;
        for (int i = 0; i < Outputs.Count; i++) if (Outputs[i] == oldName) Outputs[i] = newName;
    }
}
