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

    public static ModelGraph Import(string onnxPath, ImportOptions? options = null)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(onnxPath); }
        catch (FileNotFoundException) { throw new ConversionException($"{onnxPath}: file not found"); }
        catch (DirectoryNotFoundException) { throw new ConversionException($"{onnxPath}: file not found (no such directory)"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConversionException($"{onnxPath}: cannot read file: {e.Message}", e);
        }
        return Import(bytes, Path.GetFileName(onnxPath), options);
    }

    /// <param name="displayName">Names the model in error messages and in the "source" metadata.</param>
    public static ModelGraph Import(byte[] onnxBytes, string displayName, ImportOptions? options = null)
    {
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(onnxBytes); }
        catch (InvalidProtocolBufferException e) { throw new ConversionException($"{displayName} is not an ONNX model ({e.Message})", e); }
        if (model.IrVersion <= 0 || model.Graph == null)
            throw new ConversionException($"{displayName} is not an ONNX model (no IR version or no graph)");
        return new GraphImporter(model, displayName, options ?? new ImportOptions()).Run();
    }
}

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
        if (OnnxSupport.Unsupported(graph, _source) is { } unsupported) throw new ConversionException(unsupported);
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
            PadFusion.Run(_g);
            ActivationFusion.Run(_g);
            DeadCodeElimination.Run(_g);
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
        }

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

    private void Lower(NodeProto n)
    {
        for (int i = 0; i < n.Input.Count; i++)
        {
            if (n.Input[i] == "") continue;
            var v = Input(n, i);
            if (v.Constant != null && !v.Constant.IsFloat && n.OpType is not ("Reshape" or "Squeeze" or "Unsqueeze" or "Pad" or "Clip" or "Expand" or "Gather" or "Slice" or "LSTM" or "GRU" or "RNN" or "Resize"))
                throw Fail(n, $"input '{n.Input[i]}' is a {ConstTensor.TypeName(v.Constant.OnnxType)} tensor; only float tensors are supported");
        }
        switch (n.OpType)
        {
            case "Conv": LowerConv(n); break;
            case "MaxPool": LowerPool(n, OpType.MaxPool); break;
            case "AveragePool": LowerPool(n, OpType.AveragePool); break;
            case "GlobalAveragePool": LowerGlobalPool(n, OpType.GlobalAveragePool); break;
            case "GlobalMaxPool": LowerGlobalPool(n, OpType.GlobalMaxPool); break;
            case "ReduceMean": LowerReduce(n, OpType.GlobalAveragePool); break;
            case "ReduceMax": LowerReduce(n, OpType.GlobalMaxPool); break;
            case "Gemm": LowerGemm(n); break;
            case "MatMul": LowerMatMul(n); break;
            case "Add": LowerBinary(n, OpType.Add, Input(n, 0).Name, Input(n, 1).Name); break;
            case "Mul": LowerBinary(n, OpType.Mul, Input(n, 0).Name, Input(n, 1).Name); break;
            case "Sub": LowerSub(n); break;
            case "Div": LowerDiv(n); break;
            case "Concat": LowerConcat(n); break;
            case "Reshape":
            {
                var x = Input(n, 0);
                var target = ConstInput(n, 1, "shape").AsLongs();
                Emit(n, OpType.Reshape, [x.Name], ConstantFolder.ReshapeShape(x.Shape, target, OnnxNodeAttributes.Int(n, "allowzero", 0) != 0, m => Fail(n, m)));
                break;
            }
            case "Flatten":
            {
                var x = Input(n, 0);
                Emit(n, OpType.Reshape, [x.Name], ConstantFolder.FlattenShape(x.Shape, OnnxNodeAttributes.Int(n, "axis", 1), m => Fail(n, m)));
                break;
            }
            case "Squeeze":
            {
                var x = Input(n, 0);
                var axes = _opset >= 13 ? (HasInput(n, 1) ? ConstInput(n, 1, "axes").AsLongs() : null) : OnnxNodeAttributes.Ints(n, "axes");
                Emit(n, OpType.Reshape, [x.Name], ConstantFolder.SqueezeShape(x.Shape, axes, m => Fail(n, m)));
                break;
            }
            case "Unsqueeze":
            {
                var x = Input(n, 0);
                var axes = _opset >= 13 ? ConstInput(n, 1, "axes").AsLongs() : OnnxNodeAttributes.Ints(n, "axes") ?? throw Fail(n, "attribute 'axes' is required");
                Emit(n, OpType.Reshape, [x.Name], ConstantFolder.UnsqueezeShape(x.Shape, axes, m => Fail(n, m)));
                break;
            }
            case "Transpose":
            {
                var x = Input(n, 0);
                var perm = ConstantFolder.TransposePerm(x.Shape.Length, OnnxNodeAttributes.Ints(n, "perm"), m => Fail(n, m));
                Emit(n, OpType.Transpose, [x.Name], perm.Select(p => x.Shape[p]).ToArray(), new OpAttributes().Set(AttributeKey.Perm, perm));
                break;
            }
            case "Pad": LowerPad(n); break;
            case "Relu": LowerUnary(n, OpType.Relu); break;
            case "Sigmoid": LowerUnary(n, OpType.Sigmoid); break;
            case "Tanh": LowerUnary(n, OpType.Tanh); break;
            case "HardSwish": LowerUnary(n, OpType.HardSwish); break;
            case "Erf": LowerUnary(n, OpType.Erf); break;
            case "LeakyRelu":
                LowerUnary(n, OpType.LeakyRelu, new OpAttributes().Set(AttributeKey.Alpha, OnnxNodeAttributes.Float(n, "alpha", 0.01f)));
                break;
            case "HardSigmoid":
                LowerUnary(n, OpType.HardSigmoid, new OpAttributes()
                    .Set(AttributeKey.Alpha, OnnxNodeAttributes.Float(n, "alpha", 0.2f))
                    .Set(AttributeKey.Beta, OnnxNodeAttributes.Float(n, "beta", 0.5f)));
                break;
            case "Clip": LowerClip(n); break;
            case "PRelu":
            {
                var x = Input(n, 0);
                var slope = FloatConstInput(n, 1, "slope");
                string slopeName = Input(n, 1).Name;
                if (_opset < 7 && slope.Shape.Length == 1 && x.Shape.Length >= 2 && slope.Count == x.Shape[1] && slope.Count > 1)
                {
                    // Before opset 7 a 1-D slope is one value per channel (axis 1), not numpy-broadcast.
                    int[] channelShape = [slope.Count, .. Enumerable.Repeat(1, x.Shape.Length - 2)];
                    slopeName = _g.NewConstant(slopeName + "_per_channel", slope.WithShape(channelShape));
                    slope = slope.WithShape(channelShape);
                }
                var shape = ShapeUtil.Broadcast(x.Shape, slope.Shape);
                if (shape == null || !shape.SequenceEqual(x.Shape))
                    throw Fail(n, $"slope shape [{ShapeUtil.Format(slope.Shape)}] does not broadcast to input shape [{ShapeUtil.Format(x.Shape)}]");
                Emit(n, OpType.PRelu, [x.Name, slopeName], x.Shape);
                break;
            }
            case "Softmax": LowerSoftmax(n); break;
            case "LayerNormalization": LowerLayerNorm(n); break;
            case "Resize" or "Upsample": LowerResize(n); break;
            case "BatchNormalization": LowerBatchNorm(n); break;
            case "Cast":
            {
                long to = OnnxNodeAttributes.Int(n, "to", 0);
                if (to != ConstTensor.Float) throw Fail(n, $"attribute 'to' = {ConstTensor.TypeName((int)to)}: casting a run-time tensor to a non-float type is not supported");
                _alias[n.Output[0]] = Input(n, 0).Name;
                break;
            }
            case "LSTM": LowerRecurrent(n, OpType.Lstm); break;
            case "GRU": LowerRecurrent(n, OpType.Gru); break;
            case "RNN": LowerRecurrent(n, OpType.Rnn); break;
            case "Gather": LowerGather(n); break;
            case "Slice": LowerSlice(n); break;
            case "Expand" or "ConstantOfShape" or "Range" or "Equal" or "Where":
                throw Fail(n, "the operator is supported only on constant inputs (shape computations), here it reads a run-time tensor");
            default:
                throw Fail(n, "operator is not supported");
        }
    }

    private void LowerUnary(NodeProto n, OpType op, OpAttributes? attributes = null)
    {
        var x = Input(n, 0);
        Emit(n, op, [x.Name], x.Shape, attributes);
    }

    private int[] SpatialInts(NodeProto n, string attribute, int spatial, int defaultValue)
    {
        var values = OnnxNodeAttributes.Ints(n, attribute);
        if (values == null) return Enumerable.Repeat(defaultValue, spatial).ToArray();
        if (values.Length != spatial) throw Fail(n, $"attribute '{attribute}' = [{MessageText.List(values)}] must have {spatial} values");
        if (values.Any(v => v < 1 || v > int.MaxValue)) throw Fail(n, $"attribute '{attribute}' = [{MessageText.List(values)}] must be positive");
        return values.Select(v => (int)v).ToArray();
    }

    /// <summary>Explicit begin/end pads and output sizes of a sliding window, auto_pad and ceil_mode resolved.</summary>
    private (int[] Pads, int[] Output) Window(NodeProto n, int[] input, int[] kernel, int[] strides, int[] dilations, bool ceilMode)
    {
        int spatial = input.Length;
        var pads = new int[2 * spatial];
        var output = new int[spatial];
        string autoPad = OnnxNodeAttributes.String(n, "auto_pad", "NOTSET");
        switch (autoPad)
        {
            case "NOTSET" or "":
            {
                var p = OnnxNodeAttributes.Ints(n, "pads");
                if (p != null)
                {
                    if (p.Length != 2 * spatial) throw Fail(n, $"attribute 'pads' = [{MessageText.List(p)}] must have {2 * spatial} values");
                    if (p.Any(v => v < 0 || v > int.MaxValue)) throw Fail(n, $"attribute 'pads' = [{MessageText.List(p)}] has a negative value");
                    for (int i = 0; i < p.Length; i++) pads[i] = (int)p[i];
                }
                break;
            }
            case "VALID": break;
            case "SAME_UPPER" or "SAME_LOWER":
                for (int d = 0; d < spatial; d++)
                {
                    int o = (input[d] + strides[d] - 1) / strides[d];
                    int extent = (kernel[d] - 1) * dilations[d] + 1;
                    int total = Math.Max(0, (o - 1) * strides[d] + extent - input[d]);
                    pads[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                    pads[d + spatial] = total - pads[d];
                }
                break;
            default: throw Fail(n, $"attribute 'auto_pad' = '{autoPad}' is not supported");
        }
        for (int d = 0; d < spatial; d++)
        {
            int extent = (kernel[d] - 1) * dilations[d] + 1;
            int span = input[d] + pads[d] + pads[d + spatial] - extent;
            if (span < 0) throw Fail(n, $"kernel extent {extent} is larger than the padded input ({input[d] + pads[d] + pads[d + spatial]}) on spatial axis {d}");
            int o = (ceilMode ? (span + strides[d] - 1) / strides[d] : span / strides[d]) + 1;
            // With ceil_mode the last window must still start inside the input or its begin padding.
            if (ceilMode && (o - 1) * strides[d] >= input[d] + pads[d]) o--;
            output[d] = o;
        }
        return (pads, output);
    }

    private IrValue SpatialInput(NodeProto n)
    {
        var x = Input(n, 0);
        if (x.Shape.Length is not (3 or 4))
            throw Fail(n, $"input '{x.Name}' has shape [{ShapeUtil.Format(x.Shape)}]; only 1-D and 2-D (rank 3 or 4) inputs are supported");
        return x;
    }

    private void LowerConv(NodeProto n)
    {
        var x = SpatialInput(n);
        int spatial = x.Shape.Length - 2;
        var w = Input(n, 1);
        if (w.Constant == null) throw Fail(n, $"weights input '{n.Input[1]}' must be a constant initializer; run-time weights are not supported");
        if (w.Shape.Length != x.Shape.Length) throw Fail(n, $"weights shape [{ShapeUtil.Format(w.Shape)}] does not match input rank {x.Shape.Length}");
        long group = OnnxNodeAttributes.Int(n, "group", 1);
        int channels = x.Shape[1], m = w.Shape[0];
        if (group < 1 || channels % group != 0 || w.Shape[1] * group != channels || m % group != 0)
            throw Fail(n, $"attribute 'group' = {group} does not fit input channels {channels} and weights [{ShapeUtil.Format(w.Shape)}]");
        var kernel = w.Shape[2..];
        var kernelAttr = OnnxNodeAttributes.Ints(n, "kernel_shape");
        if (kernelAttr != null && !kernelAttr.Select(k => (int)k).SequenceEqual(kernel))
            throw Fail(n, $"attribute 'kernel_shape' = [{MessageText.List(kernelAttr)}] does not match weights [{ShapeUtil.Format(w.Shape)}]");
        var strides = SpatialInts(n, "strides", spatial, 1);
        var dilations = SpatialInts(n, "dilations", spatial, 1);
        var (pads, output) = Window(n, x.Shape[2..], kernel, strides, dilations, false);
        var inputs = new List<string> { x.Name, w.Name };
        if (HasInput(n, 2))
        {
            var b = FloatConstInput(n, 2, "bias");
            if (b.Count != m) throw Fail(n, $"bias '{n.Input[2]}' has {b.Count} values, expected {m}");
            inputs.Add(Input(n, 2).Name);
        }
        var attributes = new OpAttributes().Set(AttributeKey.Strides, strides).Set(AttributeKey.Pads, pads)
            .Set(AttributeKey.Dilations, dilations).Set(AttributeKey.Group, (int)group);
        Emit(n, OpType.Conv, inputs, [x.Shape[0], m, .. output], attributes);
    }

    private void LowerPool(NodeProto n, OpType op)
    {
        var x = SpatialInput(n);
        int spatial = x.Shape.Length - 2;
        if (IsOutputUsed(n, 1)) throw Fail(n, $"the Indices output '{n.Output[1]}' is used; MaxPool indices are not supported");
        var kernel = SpatialInts(n, "kernel_shape", spatial, 0);
        if (OnnxNodeAttributes.Ints(n, "kernel_shape") == null) throw Fail(n, "attribute 'kernel_shape' is required");
        var strides = SpatialInts(n, "strides", spatial, 1);
        var dilations = SpatialInts(n, "dilations", spatial, 1);
        if (op == OpType.AveragePool && dilations.Any(d => d != 1)) throw Fail(n, $"attribute 'dilations' = [{MessageText.List(dilations)}] is not supported for AveragePool");
        long ceil = OnnxNodeAttributes.Int(n, "ceil_mode", 0);
        var (pads, output) = Window(n, x.Shape[2..], kernel, strides, dilations, ceil != 0);
        var attributes = new OpAttributes().Set(AttributeKey.KernelShape, kernel).Set(AttributeKey.Strides, strides).Set(AttributeKey.Pads, pads);
        if (op == OpType.MaxPool) attributes.Set(AttributeKey.Dilations, dilations);
        else attributes.Set(AttributeKey.CountIncludePad, (int)OnnxNodeAttributes.Int(n, "count_include_pad", 0));
        Emit(n, op, [x.Name], [x.Shape[0], x.Shape[1], .. output], attributes);
    }

    private void LowerGlobalPool(NodeProto n, OpType op)
    {
        var x = Input(n, 0);
        if (x.Shape.Length < 3) throw Fail(n, $"input shape [{ShapeUtil.Format(x.Shape)}] must have rank 3 or more");
        var shape = x.Shape.Select((d, i) => i < 2 ? d : 1).ToArray();
        Emit(n, op, [x.Name], shape);
    }

    /// <summary>
    /// ReduceMean / ReduceMax over any axes as a global pool: the reduced axes moved last (a Transpose, when they are
    /// not last already), the kept ones and the reduced ones each flattened (Reshape to [1, kept, reduced]), the pool over
    /// the last axis, and a Reshape to the output shape. Mean pooling over time, squeeze-excite's mean and spatial means
    /// all run on the pool kernels.
    /// </summary>
    /// <summary>
    /// Resize (and the older Upsample) in nearest mode by whole factors: the Upsample operator. Other modes and
    /// fractional scales are rejected by name; for whole factors every nearest rounding and coordinate mode but
    /// align_corners picks input ⌊i / factor⌋.
    /// </summary>
    private void LowerResize(NodeProto n)
    {
        var x = Input(n, 0);
        int rank = x.Shape.Length;
        string mode = OnnxNodeAttributes.String(n, "mode", "nearest");
        if (mode != "nearest") throw Fail(n, $"mode '{mode}' is not supported; only nearest-neighbour upsampling by whole factors is");
        string coordinates = OnnxNodeAttributes.String(n, "coordinate_transformation_mode", n.OpType == "Upsample" ? "asymmetric" : "half_pixel");
        if (coordinates is "align_corners" or "tf_crop_and_resize")
            throw Fail(n, $"coordinate_transformation_mode '{coordinates}' is not supported");
        int[] output;
        int scalesInput = n.OpType == "Upsample" ? 1 : _opset >= 11 ? 2 : 1;
        if (n.OpType == "Resize" && _opset >= 11 && HasInput(n, 3))
        {
            var sizes = ConstInput(n, 3, "sizes").AsLongs();
            if (sizes.Length != rank) throw Fail(n, $"sizes has {sizes.Length} values for rank {rank}");
            output = sizes.Select(v => v is > 0 and <= int.MaxValue ? (int)v : throw Fail(n, $"size {v} is out of range")).ToArray();
        }
        else
        {
            var scales = FloatConstInput(n, scalesInput, "scales").Floats!;
            if (scales.Length != rank) throw Fail(n, $"scales has {scales.Length} values for rank {rank}");
            output = new int[rank];
            for (int d = 0; d < rank; d++)
            {
                double size = Math.Floor(x.Shape[d] * (double)scales[d]);
                if (!(size >= 1) || size > int.MaxValue) throw Fail(n, $"scale {scales[d]} of axis {d} gives no valid size");
                output[d] = (int)size;
            }
        }
        for (int d = 0; d < rank; d++)
            if (output[d] < x.Shape[d] || output[d] % x.Shape[d] != 0)
                throw Fail(n, $"axis {d} resizes {x.Shape[d]} to {output[d]}; only upsampling by whole factors is supported");
        Emit(n, OpType.Upsample, [x.Name], output);
    }

    private void LowerLayerNorm(NodeProto n)
    {
        var x = Input(n, 0);
        int rank = x.Shape.Length;
        long axis = OnnxNodeAttributes.Int(n, "axis", -1);
        if (axis < -rank || axis >= rank) throw Fail(n, $"axis {axis} is out of range for rank {rank}");
        if (axis < 0) axis += rank;
        for (int o = 1; o < n.Output.Count; o++)
            if (IsOutputUsed(n, o)) throw Fail(n, $"output {o} '{n.Output[o]}' (mean or inverse deviation) is used; only the normalized output is supported");
        int length = x.Shape.Skip((int)axis).Aggregate(1, (p, d) => p * d);
        string Parameter(int index, string role)
        {
            var c = FloatConstInput(n, index, role);
            if (c.Count != length) throw Fail(n, $"{role} has {c.Count} values, the normalized axes [{ShapeUtil.Format(x.Shape[(int)axis..])}] {length}");
            return Input(n, index).Name;
        }
        var inputs = new List<string> { x.Name, Parameter(1, "Scale") };
        if (HasInput(n, 2)) inputs.Add(Parameter(2, "B"));
        var attributes = new OpAttributes().Set(AttributeKey.Axis, (int)axis).Set(AttributeKey.Alpha, OnnxNodeAttributes.Float(n, "epsilon", 1e-5f));
        Emit(n, OpType.LayerNorm, inputs, x.Shape, attributes);
    }

    private void LowerReduce(NodeProto n, OpType pool)
    {
        var x = Input(n, 0);
        int rank = x.Shape.Length;
        if (rank == 0) throw Fail(n, "input is a scalar; there is no axis to reduce");
        var reduced = new bool[rank];
        var axes = OnnxNodeAttributes.Ints(n, "axes");
        if (axes == null) Array.Fill(reduced, true);
        else
            foreach (long a in axes)
            {
                long axis = a < 0 ? a + rank : a;
                if (axis < 0 || axis >= rank) throw Fail(n, $"axis {a} is out of range for rank {rank}");
                if (reduced[axis]) throw Fail(n, $"axis {a} is listed twice");
                reduced[axis] = true;
            }
        bool keepDims = OnnxNodeAttributes.Int(n, "keepdims", 1) != 0;
        int[] kept = Enumerable.Range(0, rank).Where(d => !reduced[d]).ToArray();
        int[] gone = Enumerable.Range(0, rank).Where(d => reduced[d]).ToArray();
        long keptCount = kept.Aggregate(1L, (p, d) => p * x.Shape[d]), goneCount = gone.Aggregate(1L, (p, d) => p * x.Shape[d]);
        if (goneCount == 0) throw Fail(n, "the reduced axes are empty");
        if (keptCount > int.MaxValue || goneCount > int.MaxValue) throw Fail(n, $"input shape [{ShapeUtil.Format(x.Shape)}] is too large");
        string current = x.Name;
        int[] perm = [.. kept, .. gone];
        if (!perm.SequenceEqual(Enumerable.Range(0, rank)))
        {
            string moved = Temp(n, "reduced_last");
            EmitTo(n, OpType.Transpose, [current], moved, perm.Select(d => x.Shape[d]).ToArray(), new OpAttributes().Set(AttributeKey.Perm, perm));
            current = moved;
        }
        string flat = Temp(n, "flat");
        EmitTo(n, OpType.Reshape, [current], flat, [1, (int)keptCount, (int)goneCount]);
        string pooled = Temp(n, "pooled");
        EmitTo(n, pool, [flat], pooled, [1, (int)keptCount, 1]);
        int[] output = keepDims ? x.Shape.Select((d, i) => reduced[i] ? 1 : d).ToArray() : kept.Select(d => x.Shape[d]).ToArray();
        Emit(n, OpType.Reshape, [pooled], output);
    }

    private static float[] Transpose2D(float[] v, int rows, int cols)
    {
        var t = new float[v.Length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = v[r * cols + c];
        return t;
    }

    private void LowerGemm(NodeProto n)
    {
        var a = Input(n, 0);
        var b = Input(n, 1);
        if (a.Shape.Length != 2 || b.Shape.Length != 2) throw Fail(n, $"inputs must be 2-D, got [{ShapeUtil.Format(a.Shape)}] and [{ShapeUtil.Format(b.Shape)}]");
        float alpha = OnnxNodeAttributes.Float(n, "alpha", 1f), beta = OnnxNodeAttributes.Float(n, "beta", 1f);
        bool transA = OnnxNodeAttributes.Int(n, "transA", 0) != 0, transB = OnnxNodeAttributes.Int(n, "transB", 0) != 0;

        string aName = a.Name;
        int rows = transA ? a.Shape[1] : a.Shape[0], k = transA ? a.Shape[0] : a.Shape[1];
        if (transA)
        {
            aName = Temp(n, "a_transposed");
            EmitTo(n, OpType.Transpose, [a.Name], aName, [rows, k], new OpAttributes().Set(AttributeKey.Perm, 1, 0));
        }
        int cols = transB ? b.Shape[0] : b.Shape[1];
        if ((transB ? b.Shape[1] : b.Shape[0]) != k)
            throw Fail(n, $"inner dimensions differ: A [{ShapeUtil.Format(a.Shape)}] (transA={(transA ? 1 : 0)}), B [{ShapeUtil.Format(b.Shape)}] (transB={(transB ? 1 : 0)})");

        ConstTensor? c = HasInput(n, 2) ? Input(n, 2).Constant : null;
        int[]? cShape = HasInput(n, 2) ? Input(n, 2).Shape : null;
        if (cShape != null)
        {
            var bc = ShapeUtil.Broadcast([rows, cols], cShape);
            if (bc == null || !bc.SequenceEqual(new[] { rows, cols })) throw Fail(n, $"bias C shape [{ShapeUtil.Format(cShape)}] does not broadcast to [{rows},{cols}]");
        }
        // A bias that is one value per output column becomes the Gemm bias; anything else is added afterwards.
        bool vectorBias = c != null && (ConstantFolder.Count(cShape!) == 1 || cShape![^1] == cols && ConstantFolder.Count(cShape) == cols);
        string product = cShape == null || vectorBias ? n.Output[0] : Temp(n, "product");

        if (b.Constant != null)
        {
            var bv = b.Constant.Floats!;
            var w = transB ? (float[])bv.Clone() : Transpose2D(bv, k, cols);
            if (alpha != 1f) for (int i = 0; i < w.Length; i++) w[i] *= alpha;
            var inputs = new List<string> { aName, Constant(n, "weights", [cols, k], w) };
            if (vectorBias)
            {
                var bias = new float[cols];
                var cv = c!.Floats!;
                for (int i = 0; i < cols; i++) bias[i] = beta * cv[cv.Length == 1 ? 0 : i];
                inputs.Add(Constant(n, "bias", [cols], bias));
            }
            EmitTo(n, OpType.Gemm, inputs, product, [rows, cols]);
        }
        else
        {
            string bName = b.Name;
            if (transB)
            {
                bName = Temp(n, "b_transposed");
                EmitTo(n, OpType.Transpose, [b.Name], bName, [k, cols], new OpAttributes().Set(AttributeKey.Perm, 1, 0));
            }
            string matmul = alpha != 1f ? Temp(n, "matmul") : product;
            if (vectorBias && matmul == n.Output[0]) matmul = Temp(n, "matmul");
            EmitTo(n, OpType.MatMul, [aName, bName], matmul, [rows, cols]);
            if (alpha != 1f)
            {
                string scaled = vectorBias ? Temp(n, "scaled") : product;
                EmitTo(n, OpType.Mul, [matmul, Constant(n, "alpha", [1], [alpha])], scaled, [rows, cols]);
                matmul = scaled;
            }
            if (vectorBias)
            {
                EmitTo(n, OpType.Add, [matmul, Constant(n, "bias", cShape!, c!.Floats!.Select(v => beta * v).ToArray())], n.Output[0], [rows, cols]);
                return;
            }
        }
        if (cShape == null || vectorBias) return;
        string biasName;
        if (c != null) biasName = Constant(n, "bias", cShape, c.Floats!.Select(v => beta * v).ToArray());
        else if (beta != 1f)
        {
            biasName = Temp(n, "bias_scaled");
            EmitTo(n, OpType.Mul, [Input(n, 2).Name, Constant(n, "beta", [1], [beta])], biasName, cShape);
        }
        else biasName = Input(n, 2).Name;
        EmitTo(n, OpType.Add, [product, biasName], n.Output[0], [rows, cols]);
    }

    private void LowerMatMul(NodeProto n)
    {
        var a = Input(n, 0);
        var b = Input(n, 1);
        if (b.Constant != null && b.Shape.Length == 2 && a.Shape.Length >= 1)
        {
            int k = b.Shape[0], cols = b.Shape[1];
            if (a.Shape[^1] != k) throw Fail(n, $"inner dimensions differ: [{ShapeUtil.Format(a.Shape)}] x [{ShapeUtil.Format(b.Shape)}]");
            var w = Constant(n, "weights", [cols, k], Transpose2D(b.Constant.Floats!, k, cols));
            Emit(n, OpType.Gemm, [a.Name, w], [.. a.Shape[..^1], cols]);
            return;
        }
        Emit(n, OpType.MatMul, [a.Name, b.Name], MatMulShape(n, a.Shape, b.Shape));
    }

    private int[] MatMulShape(NodeProto n, int[] a, int[] b)
    {
        if (a.Length == 0 || b.Length == 0) throw Fail(n, "inputs must have rank 1 or more");
        var a2 = a.Length == 1 ? new[] { 1, a[0] } : a;
        var b2 = b.Length == 1 ? new[] { b[0], 1 } : b;
        if (a2[^1] != b2[^2]) throw Fail(n, $"inner dimensions differ: [{ShapeUtil.Format(a)}] x [{ShapeUtil.Format(b)}]");
        var batch = ShapeUtil.Broadcast(a2[..^2], b2[..^2]) ?? throw Fail(n, $"batch dimensions of [{ShapeUtil.Format(a)}] and [{ShapeUtil.Format(b)}] do not broadcast");
        var shape = new List<int>(batch);
        if (a.Length > 1) shape.Add(a2[^2]);
        if (b.Length > 1) shape.Add(b2[^1]);
        return shape.ToArray();
    }

    private int[] BroadcastShape(NodeProto n, string a, string b) =>
        ShapeUtil.Broadcast(_g.Value(a).Shape, _g.Value(b).Shape)
        ?? throw Fail(n, $"input shapes [{ShapeUtil.Format(_g.Value(a).Shape)}] and [{ShapeUtil.Format(_g.Value(b).Shape)}] do not broadcast");

    private void LowerBinary(NodeProto n, OpType op, string a, string b, string? output = null) =>
        EmitTo(n, op, [a, b], output ?? n.Output[0], BroadcastShape(n, a, b));

    private void LowerSub(NodeProto n)
    {
        var a = Input(n, 0);
        var b = Input(n, 1);
        if (b.Constant != null)
        {
            string negated = Constant(n, "negated", b.Shape, b.Constant.Floats!.Select(v => -v).ToArray());
            LowerBinary(n, OpType.Add, a.Name, negated);
            return;
        }
        // a - b = a + (-1 * b)
        string minusB = Temp(n, "negated");
        LowerBinary(n, OpType.Mul, b.Name, Constant(n, "minus_one", [1], [-1f]), minusB);
        LowerBinary(n, OpType.Add, a.Name, minusB);
    }

    private void LowerDiv(NodeProto n)
    {
        var a = Input(n, 0);
        var b = Input(n, 1);
        if (b.Constant == null) throw Fail(n, $"divisor '{n.Input[1]}' must be a constant; division by a run-time tensor is not supported");
        string reciprocal = Constant(n, "reciprocal", b.Shape, b.Constant.Floats!.Select(v => 1f / v).ToArray());
        LowerBinary(n, OpType.Mul, a.Name, reciprocal);
    }

    private void LowerConcat(NodeProto n)
    {
        var inputs = Enumerable.Range(0, n.Input.Count).Where(i => HasInput(n, i)).Select(i => Input(n, i)).ToList();
        if (inputs.Count == 0) throw Fail(n, "has no inputs");
        var first = inputs[0].Shape;
        if (OnnxNodeAttributes.Find(n, "axis") == null) throw Fail(n, "attribute 'axis' is required");
        int axis = ConstantFolder.NormalizeAxis(OnnxNodeAttributes.Int(n, "axis", 0), first.Length, "axis", m => Fail(n, m));
        var shape = (int[])first.Clone();
        shape[axis] = 0;
        foreach (var v in inputs)
        {
            if (v.Shape.Length != first.Length || v.Shape.Where((d, i) => i != axis && d != first[i]).Any())
                throw Fail(n, $"input '{v.Name}' shape [{ShapeUtil.Format(v.Shape)}] does not match [{ShapeUtil.Format(first)}] outside axis {axis}");
            shape[axis] += v.Shape[axis];
        }
        Emit(n, OpType.Concat, inputs.Select(v => v.Name), shape, new OpAttributes().Set(AttributeKey.Axis, axis));
    }

    private void LowerPad(NodeProto n)
    {
        var x = Input(n, 0);
        string mode = OnnxNodeAttributes.String(n, "mode", "constant");
        if (mode != "constant") throw Fail(n, $"attribute 'mode' = '{mode}' is not supported (only 'constant')");
        if (HasInput(n, 3)) throw Fail(n, "the 'axes' input is not supported");
        long[] pads;
        float value;
        if (_opset < 11)
        {
            pads = OnnxNodeAttributes.Ints(n, "pads") ?? throw Fail(n, "attribute 'pads' is required");
            value = OnnxNodeAttributes.Float(n, "value", 0f);
        }
        else
        {
            pads = ConstInput(n, 1, "pads").AsLongs();
            value = HasInput(n, 2) ? (float)ConstInput(n, 2, "constant_value").Get(0) : 0f;
        }
        int rank = x.Shape.Length;
        if (pads.Length != 2 * rank) throw Fail(n, $"pads [{MessageText.List(pads)}] must have {2 * rank} values for input rank {rank}");
        if (pads.Any(p => p < 0 || p > int.MaxValue)) throw Fail(n, $"pads [{MessageText.List(pads)}] has a negative value; cropping is not supported");
        var shape = x.Shape.Select((d, i) => d + (int)pads[i] + (int)pads[i + rank]).ToArray();
        Emit(n, OpType.Pad, [x.Name], shape, new OpAttributes().Set(AttributeKey.Pads, pads.Select(p => (int)p).ToArray()).Set(AttributeKey.PadValue, value));
    }

    private void LowerClip(NodeProto n)
    {
        var x = Input(n, 0);
        float? min, max;
        if (_opset < 11)
        {
            min = OnnxNodeAttributes.Find(n, "min") != null ? OnnxNodeAttributes.Float(n, "min", 0) : null;
            max = OnnxNodeAttributes.Find(n, "max") != null ? OnnxNodeAttributes.Float(n, "max", 0) : null;
        }
        else
        {
            min = HasInput(n, 1) ? (float)ConstInput(n, 1, "min").Get(0) : null;
            max = HasInput(n, 2) ? (float)ConstInput(n, 2, "max").Get(0) : null;
        }
        var attributes = new OpAttributes();
        if (min != null) attributes.Set(AttributeKey.ActivationMin, min.Value);
        if (max != null) attributes.Set(AttributeKey.ActivationMax, max.Value);
        Emit(n, OpType.Clip, [x.Name], x.Shape, attributes);
    }

    private void LowerSoftmax(NodeProto n)
    {
        var x = Input(n, 0);
        int rank = x.Shape.Length;
        int axis = ConstantFolder.NormalizeAxis(OnnxNodeAttributes.Int(n, "axis", _opset >= 13 ? -1 : 1), rank, "axis", m => Fail(n, m));
        if (_opset >= 13 || axis == rank - 1)
        {
            Emit(n, OpType.Softmax, [x.Name], x.Shape, new OpAttributes().Set(AttributeKey.Axis, axis));
            return;
        }
        // Before opset 13 Softmax normalizes over all dimensions from axis on: flatten them into one.
        int[] flat = [ConstantFolder.Count(x.Shape[..axis]), ConstantFolder.Count(x.Shape[axis..])];
        string flatIn = Temp(n, "flat"), flatOut = Temp(n, "flat_softmax");
        EmitTo(n, OpType.Reshape, [x.Name], flatIn, flat);
        EmitTo(n, OpType.Softmax, [flatIn], flatOut, flat, new OpAttributes().Set(AttributeKey.Axis, 1));
        EmitTo(n, OpType.Reshape, [flatOut], n.Output[0], x.Shape);
    }

    private void LowerBatchNorm(NodeProto n)
    {
        var x = Input(n, 0);
        if (OnnxNodeAttributes.Int(n, "training_mode", 0) != 0) throw Fail(n, "attribute 'training_mode' = 1 is not supported (inference only)");
        if (OnnxNodeAttributes.Int(n, "spatial", 1) != 1) throw Fail(n, "attribute 'spatial' = 0 is not supported");
        for (int o = 1; o < n.Output.Count; o++)
            if (IsOutputUsed(n, o)) throw Fail(n, $"output '{n.Output[o]}' (training statistics) is used; only inference-mode BatchNormalization is supported");
        if (x.Shape.Length < 2) throw Fail(n, $"input shape [{ShapeUtil.Format(x.Shape)}] must have rank 2 or more");
        var inputs = new List<string> { x.Name };
        string[] roles = ["scale", "B", "mean", "var"];
        for (int i = 1; i <= 4; i++)
        {
            var c = FloatConstInput(n, i, roles[i - 1]);
            if (c.Count != x.Shape[1]) throw Fail(n, $"{roles[i - 1]} input '{n.Input[i]}' has {c.Count} values, expected {x.Shape[1]} (channels)");
            inputs.Add(Input(n, i).Name);
        }
        _g.AddActivation(n.Output[0], x.Shape);
        _g.Nodes.Add(new IrNode(OpType.BatchNormalization, NodeName(n), inputs, [n.Output[0]],
            new OpAttributes().Set(AttributeKey.Alpha, OnnxNodeAttributes.Float(n, "epsilon", 1e-5f))));
    }

    // ---- outputs and emission ----

    private void ResolveOutputs(GraphProto graph)
    {
        var claimed = new Dictionary<string, string>(StringComparer.Ordinal);
        var outputNames = graph.Output.Select(o => o.Name).ToList();
        foreach (var name in outputNames)
        {
            string source = Resolve(name);
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
