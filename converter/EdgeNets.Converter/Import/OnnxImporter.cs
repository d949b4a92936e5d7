using System.Runtime.InteropServices;
using EdgeNets.Converter.Passes;
using EdgeNets.Runtime.Graph;
using Google.Protobuf;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>
/// Reads an ONNX model and turns it into a float32 <see cref="ModelGraph"/> of the runtime's operators
/// (docs/operators.md): static shapes, shape computations folded away, Identity/Dropout dropped, BatchNormalization
/// folded or lowered, Relu/Clip fused. Activation offsets are left 0 for the arena planner.
/// </summary>
public static class OnnxImporter
{
    /// <summary>Opsets of the default ONNX domain this importer understands (PyTorch 1.13 exports 11 to 17).</summary>
    public const int MinOpset = 11, MaxOpset = 17;

    public static ModelGraph Import(string onnxPath, ImportOptions? options = null) => ImportModel(onnxPath, options).Graph;

    /// <param name="displayName">Names the model in error messages and in the "source" metadata.</param>
    public static ModelGraph Import(byte[] onnxBytes, string displayName, ImportOptions? options = null) =>
        ImportModel(onnxBytes, displayName, options).Graph;

    /// <summary>The float graph and the quantization a pre-quantized (QDQ) model gives its tensors (empty for a float model).</summary>
    public static ImportedModel ImportModel(string onnxPath, ImportOptions? options = null)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(onnxPath); }
        catch (FileNotFoundException) { throw new ConversionException($"{onnxPath}: file not found"); }
        catch (DirectoryNotFoundException) { throw new ConversionException($"{onnxPath}: file not found (no such directory)"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConversionException($"{onnxPath}: cannot read file: {e.Message}", e);
        }
        return ImportModel(bytes, Path.GetFileName(onnxPath), options);
    }

    public static ImportedModel ImportModel(byte[] onnxBytes, string displayName, ImportOptions? options = null)
    {
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(onnxBytes); }
        catch (InvalidProtocolBufferException e) { throw new ConversionException($"{displayName} is not an ONNX model ({e.Message})", e); }
        if (model.IrVersion <= 0 || model.Graph == null)
            throw new ConversionException($"{displayName} is not an ONNX model (no IR version or no graph)");
        var importer = new GraphImporter(model, displayName, options ?? new ImportOptions());
        var graph = importer.Run();
        return new ImportedModel(graph, importer.Given);
    }
}

/// <summary>An imported ONNX model: the float graph, and the quantization the model itself gives (QDQ), by tensor name.</summary>
public sealed record ImportedModel(ModelGraph Graph, Quantization.GivenQuantization Given);

/// <summary>One import: ONNX nodes lowered in order into an <see cref="IrGraph"/>, then the passes, then the model graph.</summary>
internal sealed partial class GraphImporter
{
    private readonly ModelProto _model;
    private readonly string _source;
    private readonly ImportOptions _options;
    private readonly IrGraph _g = new();
    /// <summary>Names made equal to another value by a dropped Identity or Dropout.</summary>
    private readonly Dictionary<string, string> _alias = new(StringComparer.Ordinal);
    /// <summary>ONNX values read by some node or listed as graph outputs.</summary>
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private int _opset;

    public GraphImporter(ModelProto model, string source, ImportOptions options)
    {
        _model = model;
        _source = source;
        _options = options;
    }

    public ModelGraph Run()
    {
        var graph = _model.Graph;
        _opset = ReadOpset();
        QOperatorExpansion.Run(graph, _source);
        if (OnnxSupport.Unsupported(graph, _source) is { } unsupported) throw new ConversionException(unsupported);
        NameQuantizedValues();
        foreach (var n in graph.Node)
        {
            foreach (var o in n.Output) _g.ReserveName(o);
            foreach (var i in n.Input) _used.Add(i);
            _g.ReserveName(n.Name);
        }
        foreach (var o in graph.Output) _used.Add(o.Name);

        foreach (var init in graph.Initializer)
            _g.AddConstant(init.Name, ConstTensor.FromProto(init, $"{_source}: initializer"));
        foreach (var input in graph.Input)
        {
            if (_g.Values.ContainsKey(input.Name)) continue; // older exporters list initializers as inputs too
            var shape = InputShape(input);
            try { _g.AddActivation(input.Name, shape); }
            catch (ConversionDetailException e) { throw new ConversionException($"{_source}: graph input '{input.Name}': {e.Message}", e); }
            _g.Inputs.Add(input.Name);
        }
        if (_g.Inputs.Count == 0) throw new ConversionException($"{_source}: the model has no non-constant inputs");

        foreach (var n in graph.Node)
        {
            foreach (var o in n.Output)
                if (o != "" && (_g.Values.ContainsKey(o) || _alias.ContainsKey(o)))
                    throw Fail(n, $"output '{o}' is already produced by an earlier node, initializer or graph input");
            // Helpers below the node (shape arithmetic, attributes, constants) do not know it: it is named here.
            try { ImportNode(n); }
            catch (ConversionDetailException e) { throw Fail(n, e.Message); }
        }

        try
        {
            ResolveOutputs(graph);
            BatchNormFolding.Run(_g);
            ConstantEvaluation.Run(_g, _source);
            GeluFusion.Run(_g);
            SelfGateFusion.Run(_g);
            PadFusion.Run(_g);
            GemmBiasFusion.Run(_g);
            ActivationFusion.Run(_g);
            DeadCodeElimination.Run(_g);
            NameDequantizedConstants();
            CollectGiven();
            return Emit();
        }
        catch (ConversionDetailException e) { throw new ConversionException($"{_source}: {e.Message}", e); }
    }

    private int ReadOpset()
    {
        foreach (var o in _model.OpsetImport)
        {
            if (o.Domain is not ("" or "ai.onnx")) continue;
            if ((o.Version < OnnxImporter.MinOpset && !(_options.AcceptOlderOpsets && o.Version >= 1)) || o.Version > OnnxImporter.MaxOpset)
                throw new ConversionException($"{_source}: opset {o.Version} of the default ONNX domain is not supported (supported: {OnnxImporter.MinOpset} to {OnnxImporter.MaxOpset}); re-export the model with an opset in that range");
            return (int)o.Version;
        }
        throw new ConversionException($"{_source}: the model imports no opset of the default ONNX domain");
    }

    private int[] InputShape(ValueInfoProto input)
    {
        var type = input.Type?.TensorType;
        if (type == null) throw new ConversionException($"{_source}: graph input '{input.Name}' is not a tensor");
        if (type.ElemType != ConstTensor.Float)
            throw new ConversionException($"{_source}: graph input '{input.Name}' has element type {ConstTensor.TypeName(type.ElemType)}; only float32 inputs are supported");
        var dims = type.Shape?.Dim;
        if (_options.InputShapes.TryGetValue(input.Name, out var fixedShape))
        {
            if (dims != null && dims.Count != fixedShape.Length)
                throw new ConversionException($"{_source}: the shape given for graph input '{input.Name}' has rank {fixedShape.Length}, the model declares rank {dims.Count}");
            for (int d = 0; d < fixedShape.Length; d++)
            {
                if (fixedShape[d] <= 0) throw new ConversionException($"{_source}: the shape given for graph input '{input.Name}' has invalid dimension {fixedShape[d]}");
                if (dims != null && dims[d].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && dims[d].DimValue != fixedShape[d])
                    throw new ConversionException($"{_source}: the shape given for graph input '{input.Name}' has {fixedShape[d]} at dimension {d}, the model declares {dims[d].DimValue}");
            }
            return (int[])fixedShape.Clone();
        }
        if (dims == null) throw new ConversionException($"{_source}: graph input '{input.Name}' has no declared shape; give its shape in the import options");
        var shape = new int[dims.Count];
        for (int d = 0; d < shape.Length; d++)
        {
            var dim = dims[d];
            if (dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && dim.DimValue > 0 && dim.DimValue <= int.MaxValue)
                shape[d] = (int)dim.DimValue;
            else if (dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue)
                throw new ConversionException($"{_source}: graph input '{input.Name}' has dimension {d} of size {dim.DimValue}; empty tensors are not supported");
            else if (d == 0 && dim.ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue)
                shape[d] = _options.BatchSize; // the dynamic batch dimension
            else
            {
                string what = dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? $"'{dim.DimParam}'" : dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? dim.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown";
                throw new ConversionException($"{_source}: graph input '{input.Name}' has dynamic dimension {d} ({what}); give a fixed shape for '{input.Name}' in the import options");
            }
        }
        return shape;
    }

    // ---- node import ----

    private string Resolve(string name)
    {
        while (_alias.TryGetValue(name, out var target)) name = target;
        return name;
    }

    private static string NodeLabel(NodeProto n) => n.Name != "" ? n.Name : (n.Output.Count > 0 ? n.Output[0] : "?");

    private ConversionException Fail(NodeProto n, string message) =>
        new($"{_source}: node '{NodeLabel(n)}' ({n.OpType}): {message}");

    private bool HasInput(NodeProto n, int i) => i < n.Input.Count && n.Input[i] != "";

    private IrValue Input(NodeProto n, int i)
    {
        if (!HasInput(n, i)) throw Fail(n, $"input {i} is required but absent");
        string name = Resolve(n.Input[i]);
        return _g.Values.TryGetValue(name, out var v) ? v : throw Fail(n, $"input '{n.Input[i]}' is not produced by any earlier node, initializer or graph input");
    }

    private ConstTensor ConstInput(NodeProto n, int i, string role)
    {
        var v = Input(n, i);
        return v.Constant ?? throw Fail(n, $"{role} input '{n.Input[i]}' must be a constant (initializer or computable from constants); it is computed at run time");
    }

    private ConstTensor FloatConstInput(NodeProto n, int i, string role)
    {
        var c = ConstInput(n, i, role);
        if (!c.IsFloat) throw Fail(n, $"{role} input '{n.Input[i]}' is {ConstTensor.TypeName(c.OnnxType)}; a float tensor is required");
        return c;
    }

    private bool IsOutputUsed(NodeProto n, int i) => i < n.Output.Count && n.Output[i] != "" && _used.Contains(n.Output[i]);

    private void ImportNode(NodeProto n)
    {
        if (n.Domain is not ("" or "ai.onnx")) throw Fail(n, $"operator domain '{n.Domain}' is not supported");
        if (n.Output.Count == 0) return;
        switch (n.OpType)
        {
            case "Constant": ImportConstant(n); return;
            case "Identity": _alias[n.Output[0]] = Input(n, 0).Name; return;
            case "Dropout":
                if (IsOutputUsed(n, 1)) throw Fail(n, $"the mask output '{n.Output[1]}' is used; only inference-mode Dropout without mask is supported");
                _alias[n.Output[0]] = Input(n, 0).Name;
                return;
            case "Shape": ImportShape(n); return;
            case "Size":
                _g.AddConstant(n.Output[0], ConstTensor.FromLongs([], [ConstantFolder.Count(Input(n, 0).Shape)]));
                return;
            case "QuantizeLinear": ImportQuantize(n); return;
            case "DequantizeLinear": ImportDequantize(n); return;
        }
        if (TryImportQuantizedCast(n)) return;
        foreach (var i in n.Input)
            if (i != "" && _quantized.ContainsKey(Resolve(i)))
                throw Fail(n, $"reads the quantized (integer) tensor '{i}'; integer tensors are supported only between QuantizeLinear and DequantizeLinear");

        var inputs = new ConstTensor?[n.Input.Count];
        bool allConstant = true;
        for (int i = 0; i < inputs.Length; i++)
        {
            if (n.Input[i] == "") continue;
            inputs[i] = Input(n, i).Constant;
            allConstant &= inputs[i] != null;
        }
        if (allConstant && n.Input.Count > 0)
        {
            var results = ConstantFolder.TryEvaluate(n, inputs, _opset, m => Fail(n, m));
            if (results != null)
            {
                for (int o = 0; o < results.Length && o < n.Output.Count; o++) _g.AddConstant(n.Output[o], results[o]);
                return;
            }
        }
        Lower(n);
    }

    private void ImportConstant(NodeProto n)
    {
        var a = n.Attribute.Count == 1 ? n.Attribute[0] : throw Fail(n, "expects exactly one attribute");
        ConstTensor value = a.Name switch
        {
            "value" => ConstTensor.FromProto(OnnxNodeAttributes.Tensor(n, a.Name)!, $"{_source}: node '{NodeLabel(n)}' (Constant)"),
            "value_float" => ConstTensor.FromFloats([], [OnnxNodeAttributes.Float(n, a.Name, 0)]),
            "value_floats" => ConstTensor.FromFloats([a.Floats.Count], OnnxNodeAttributes.Floats(n, a.Name)!),
            "value_int" => ConstTensor.FromLongs([], [OnnxNodeAttributes.Int(n, a.Name, 0)]),
            "value_ints" => ConstTensor.FromLongs([a.Ints.Count], OnnxNodeAttributes.Ints(n, a.Name)!),
            _ => throw Fail(n, $"attribute '{a.Name}' is not supported"),
        };
        _g.AddConstant(n.Output[0], value);
    }

    private void ImportShape(NodeProto n)
    {
        var shape = Input(n, 0).Shape;
        int rank = shape.Length;
        long start = OnnxNodeAttributes.Int(n, "start", 0), end = OnnxNodeAttributes.Int(n, "end", rank);
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = Math.Clamp(start, 0, rank);
        end = Math.Clamp(end, start, rank);
        var dims = shape[(int)start..(int)end].Select(d => (long)d).ToArray();
        _g.AddConstant(n.Output[0], ConstTensor.FromLongs([dims.Length], dims));
    }

    // ---- lowering to runtime operators ----

    private string NodeName(NodeProto n) => n.Name != "" ? n.Name : n.Output[0];

    /// <summary>Adds a runtime operator writing the node's first output.</summary>
    private IrNode Emit(NodeProto n, OpType op, IEnumerable<string> inputs, int[] outputShape, OpAttributes? attributes = null) =>
        EmitTo(n, op, inputs, n.Output[0], outputShape, attributes);

    private IrNode EmitTo(NodeProto n, OpType op, IEnumerable<string> inputs, string output, int[] outputShape, OpAttributes? attributes = null)
    {
        _g.AddActivation(output, outputShape);
        var node = new IrNode(op, output == n.Output[0] ? NodeName(n) : _g.UniqueName(NodeName(n) + "_" + op), inputs, [output], attributes);
        _g.Nodes.Add(node);
        return node;
    }

    /// <summary>A name for an intermediate value of a node lowered into several operators.</summary>
    private string Temp(NodeProto n, string suffix) => _g.UniqueName(n.Output[0] + "_" + suffix);

    private string Constant(NodeProto n, string suffix, int[] shape, float[] values) =>
        _g.NewConstant(n.Output[0] + "_" + suffix, ConstTensor.FromFloats(shape, values));

    /// <summary>How one ONNX operator reading run-time tensors becomes runtime operators; <paramref name="IntegerConstants"/>: it reads integer constants (shapes, axes, indices).</summary>
    private sealed record Lowering(string OnnxOperator, Action<GraphImporter, NodeProto> Lower, bool IntegerConstants = false);

    /// <summary>Every ONNX operator the importer lowers, from the family files (<c>*Lowering.cs</c>); <see cref="OnnxSupport.Lowered"/> lists them.</summary>
    private static readonly Dictionary<string, Lowering> Lowerings =
        new[] { ConvLowerings, GemmLowerings, ElementwiseLowerings, NormalizationLowerings, ShapeLowerings, RecurrentLowerings }
            .SelectMany(family => family).ToDictionary(l => l.OnnxOperator, StringComparer.Ordinal);

    internal static IEnumerable<string> LoweredOperators => Lowerings.Keys;

    private void Lower(NodeProto n)
    {
        if (n.OpType is "Expand" or "ConstantOfShape" or "Range" or "Equal" or "Where")
            throw Fail(n, "the operator is supported only on constant inputs (shape computations), here it reads a run-time tensor");
        var lowering = Lowerings.GetValueOrDefault(n.OpType);
        for (int i = 0; i < n.Input.Count; i++)
        {
            if (n.Input[i] == "") continue;
            var v = Input(n, i);
            if (v.Constant != null && !v.Constant.IsFloat && lowering?.IntegerConstants != true)
                throw Fail(n, $"input '{n.Input[i]}' is a {ConstTensor.TypeName(v.Constant.OnnxType)} tensor; only float tensors are supported");
        }
        if (lowering == null) throw Fail(n, "operator is not supported");
        lowering.Lower(this, n);
    }

    // ---- outputs and emission ----

    private void ResolveOutputs(GraphProto graph)
    {
        var claimed = new Dictionary<string, string>(StringComparer.Ordinal);
        var outputNames = graph.Output.Select(o => o.Name).ToList();
        foreach (var name in outputNames)
        {
            string source = Resolve(name);
            if (_quantized.ContainsKey(source))
                throw new ConversionException($"{_source}: graph output '{name}' is the integer output of QuantizeLinear; EdgeNets' model outputs are float (end the model with DequantizeLinear)");
            if (!_g.Values.TryGetValue(claimed.GetValueOrDefault(source, source), out var value))
                throw new ConversionException($"{_source}: graph output '{name}' is not produced by any node");
            if (value.IsConstant)
                throw new ConversionException($"{_source}: graph output '{name}' is a constant (it does not depend on the graph inputs)");
            if (source == name) { _g.Outputs.Add(name); continue; }
            // An output reached through Identity/Dropout: the producer takes the output's name when nothing else is
            // called by it; otherwise a copy (a Reshape to the same shape) writes the output.
            if (!claimed.ContainsKey(source) && !_g.Inputs.Contains(source) && !outputNames.Contains(source))
            {
                claimed[source] = name;
                _g.Rename(source, name);
                _alias.Remove(name);
                foreach (var key in _alias.Keys.ToList()) if (_alias[key] == source) _alias[key] = name;
            }
            else
            {
                _g.AddActivation(name, value.Shape);
                _g.Nodes.Add(new IrNode(OpType.Reshape, _g.UniqueName(name + "_copy"), [value.Name], [name]));
            }
            _g.Outputs.Add(name);
        }
    }

    private ModelGraph Emit()
    {
        var mg = new ModelGraph();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        int Id(string name)
        {
            if (name == "") return -1;
            if (ids.TryGetValue(name, out int id)) return id;
            var v = _g.Value(name);
            TensorInfo t;
            if (v.Constant != null)
            {
                if (!v.Constant.IsFloat)
                    throw new ConversionException($"{_source}: {ConstTensor.TypeName(v.Constant.OnnxType)} tensor '{name}' would reach the model; only float tensors are supported there");
                int bad = Array.FindIndex(v.Constant.Floats!, f => !float.IsFinite(f));
                if (bad >= 0)
                    throw new ConversionException($"{_source}: constant '{name}' [{ShapeUtil.Format(v.Shape)}] has value {v.Constant.Floats![bad]} at index {bad}; weights must be finite");
                t = new TensorInfo(name, DataType.Float32, v.Shape, TensorKind.Constant) { Data = MemoryMarshal.AsBytes(v.Constant.Floats.AsSpan()).ToArray() };
            }
            else t = new TensorInfo(name, DataType.Float32, v.Shape, TensorKind.Activation);
            id = mg.AddTensor(t);
            ids[name] = id;
            return id;
        }
        foreach (var name in _g.Inputs) mg.Inputs.Add(Id(name));
        foreach (var node in _g.Nodes)
        {
            if (node.Op.IsNeverInFile()) throw new ConversionException($"{_source}: node '{node.Name}' ({node.Op}) was not lowered");
            foreach (var (key, values) in node.Attributes.Floats)
                if (Array.FindIndex(values, f => !float.IsFinite(f)) is int i and >= 0)
                    throw new ConversionException($"{_source}: node '{node.Name}' ({node.Op}): attribute {key} = {values[i]} is not finite");
            mg.Ops.Add(new OpInfo(node.Op, node.Name, node.Inputs.Select(Id).ToArray(), node.Outputs.Select(Id).ToArray(), node.Attributes));
        }
        foreach (var name in _g.Outputs) mg.Outputs.Add(Id(name));

        mg.Metadata["source"] = _source;
        mg.Metadata["opset"] = _opset.ToString(System.Globalization.CultureInfo.InvariantCulture);
        mg.Metadata["producer"] = (_model.ProducerName + " " + _model.ProducerVersion).Trim();
        mg.Metadata["precision"] = "float32";
        return mg;
    }
}
