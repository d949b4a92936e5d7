using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>
/// Pre-quantized models in ONNX's QOperator form (QLinearConv, QLinearMatMul, com.microsoft's QGemm and the QLinear*
/// companions ONNX Runtime's <c>quantize_static(quant_format=QOperator)</c> writes): each such node is rewritten, before
/// anything else reads the graph, into the QDQ pattern it stands for, DequantizeLinear on its inputs, the float
/// operator, QuantizeLinear on its output, with the node's own scales and zero points; the QDQ import
/// (<c>QdqImport.cs</c>) then takes the model as it takes any QDQ model. Operators that only move values (MaxPool,
/// Reshape, ...) read integer tensors directly in this form: they get the pair of their input around them.
/// </summary>
internal sealed class QOperatorExpansion
{
    private const string Microsoft = "com.microsoft";

    /// <summary>The QOperator nodes rewritten (domain-qualified when not ONNX's) and the float operator each becomes (docs/onnx-support.md).</summary>
    public static IReadOnlyDictionary<string, string> Operators { get; } = new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["QLinearConv"] = "Conv", ["QLinearMatMul"] = "MatMul", [$"{Microsoft}.QGemm"] = "Gemm",
        [$"{Microsoft}.QLinearAdd"] = "Add", [$"{Microsoft}.QLinearMul"] = "Mul",
        [$"{Microsoft}.QLinearGlobalAveragePool"] = "GlobalAveragePool", [$"{Microsoft}.QLinearAveragePool"] = "AveragePool",
        [$"{Microsoft}.QLinearSigmoid"] = "Sigmoid", [$"{Microsoft}.QLinearLeakyRelu"] = "LeakyRelu",
        [$"{Microsoft}.QLinearConcat"] = "Concat",
    };

    /// <summary>Operators that move int8 values without changing them: on an integer tensor they keep its quantization.</summary>
    public static IReadOnlySet<string> ValueMoving { get; } = new SortedSet<string>(StringComparer.Ordinal)
    {
        "MaxPool", "GlobalMaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Slice", "Split",
    };

    private readonly GraphProto _graph;
    private readonly string _source;
    private readonly List<NodeProto> _nodes = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    /// <summary>Element types of the initializers and Constant nodes (zero points, weights).</summary>
    private readonly Dictionary<string, int> _constantTypes = new(StringComparer.Ordinal);
    /// <summary>Integer run-time tensors: the scale and zero point inputs of the node that wrote them.</summary>
    private readonly Dictionary<string, (string Scale, string ZeroPoint)> _quantized = new(StringComparer.Ordinal);
    /// <summary>DequantizeLinear outputs by tensor, with their scale and zero point, so readers of one tensor share one.</summary>
    private readonly Dictionary<string, List<(string Scale, string ZeroPoint, string Output)>> _dequantized = new(StringComparer.Ordinal);
    /// <summary>Initializers and Constant nodes' tensors, to tell whether two scales or zero points hold the same values.</summary>
    private readonly Dictionary<string, TensorProto> _constants = new(StringComparer.Ordinal);

    private QOperatorExpansion(GraphProto graph, string source)
    {
        _graph = graph;
        _source = source;
    }

    /// <summary>Rewrites the QOperator nodes of <paramref name="graph"/> in place; a graph without any is left as it is.</summary>
    public static void Run(GraphProto graph, string source)
    {
        if (!graph.Node.Any(IsQOperator)) return;
        new QOperatorExpansion(graph, source).Expand();
    }

    private static bool IsQOperator(NodeProto n) => Operators.ContainsKey(Qualified(n));

    private static string Qualified(NodeProto n) => n.Domain is "" or "ai.onnx" ? n.OpType : $"{n.Domain}.{n.OpType}";

    private void Expand()
    {
        foreach (var init in _graph.Initializer) { _names.Add(init.Name); _constantTypes[init.Name] = init.DataType; _constants[init.Name] = init; }
        foreach (var i in _graph.Input) _names.Add(i.Name);
        foreach (var o in _graph.Output) _names.Add(o.Name);
        foreach (var n in _graph.Node)
        {
            _names.Add(n.Name);
            foreach (var o in n.Output) _names.Add(o);
            if (n.OpType == "Constant" && n.Output.Count == 1 && n.Attribute.Count == 1 && n.Attribute[0].T is { } t)
            {
                _constantTypes[n.Output[0]] = t.DataType;
                _constants[n.Output[0]] = t;
            }
        }
        foreach (var n in _graph.Node)
        {
            if (n.Domain is "" or "ai.onnx")
            {
                if (n.OpType == "QuantizeLinear" && n.Input.Count > 1 && n.Output.Count > 0)
                    _quantized[n.Output[0]] = (n.Input[1], Input(n, 2));
                else if (n.OpType == "DequantizeLinear" && n.Input.Count > 1 && n.Output.Count > 0)
                    Remember(n.Input[0], n.Input[1], Input(n, 2), n.Output[0]);
            }
            if (IsQOperator(n)) ExpandNode(n);
            else if (n.Domain is "" or "ai.onnx" && ValueMoving.Contains(n.OpType) && n.Input.Count > 0 && _quantized.TryGetValue(n.Input[0], out var q))
                Wrap(n, q);
            else _nodes.Add(n);
        }
        _graph.Node.Clear();
        _graph.Node.AddRange(_nodes);
    }

    private void ExpandNode(NodeProto n)
    {
        if (n.Output.Count != 1 || n.Output[0] == "") throw Fail(n, $"has {n.Output.Count} outputs; one is expected");
        switch (n.OpType)
        {
            case "QLinearConv":
                Weighted(n, "Conv", a: (0, 1, 2, null), b: (3, 4, 5, 0), bias: 8, output: (6, 7), n.Attribute);
                return;
            case "QLinearMatMul":
                // A vector scale is per row of a and per column of b.
                Weighted(n, "MatMul", a: (0, 1, 2, -2), b: (3, 4, 5, -1), bias: -1, output: (6, 7), []);
                return;
            case "QGemm":
            {
                bool transB = n.Attribute.Any(a => a.Name == "transB" && a.I != 0);
                Weighted(n, "Gemm", a: (0, 1, 2, null), b: (3, 4, 5, transB ? 0 : 1), bias: 6, output: (7, 8), n.Attribute);
                return;
            }
            case "QLinearAdd" or "QLinearMul":
                Elementwise(n, n.OpType[7..], [(0, 1, 2), (3, 4, 5)], output: (6, 7), []);
                return;
            case "QLinearGlobalAveragePool" or "QLinearAveragePool":
                if (n.Attribute.FirstOrDefault(a => a.Name == "channels_last") is { I: not 0 })
                    throw Fail(n, "channels_last = 1 (NHWC) is not supported; EdgeNets' pools read NCHW");
                Elementwise(n, n.OpType[7..], [(0, 1, 2)], output: (3, 4), n.Attribute.Where(a => a.Name != "channels_last"));
                return;
            case "QLinearSigmoid" or "QLinearLeakyRelu":
                Elementwise(n, n.OpType[7..], [(0, 1, 2)], output: (3, 4), n.Attribute);
                return;
            case "QLinearConcat":
            {
                if (n.Input.Count < 5 || (n.Input.Count - 2) % 3 != 0)
                    throw Fail(n, $"has {n.Input.Count} inputs; QLinearConcat takes Y_scale, Y_zero_point, then (X, X_scale, X_zero_point) per input");
                var inputs = Enumerable.Range(0, (n.Input.Count - 2) / 3).Select(i => (2 + 3 * i, 3 + 3 * i, 4 + 3 * i)).ToArray();
                Elementwise(n, "Concat", inputs, output: (0, 1), n.Attribute);
                return;
            }
        }
    }

    /// <summary>
    /// Conv, MatMul or Gemm on dequantized inputs (weights per output channel on <c>b</c>'s axis when their scale is a
    /// vector), the int32 bias dequantized at input scale x weight scale (QGemm: x alpha), then the output's pair.
    /// QGemm without an output scale writes float.
    /// </summary>
    private void Weighted(NodeProto n, string op, (int X, int Scale, int Zero, int? Axis) a, (int X, int Scale, int Zero, int? Axis) b,
                          int bias, (int Scale, int Zero) output, IEnumerable<AttributeProto> attributes)
    {
        Require(n, a.X, "input"); Require(n, a.Scale, "input scale"); Require(n, b.X, "weights"); Require(n, b.Scale, "weight scale");
        var node = new NodeProto { Name = n.Name, OpType = op, Domain = "" };
        node.Input.Add(Dequantize(n, a.X, a.Scale, a.Zero, a.Axis));
        node.Input.Add(Dequantize(n, b.X, b.Scale, b.Zero, b.Axis));
        if (Has(n, bias))
        {
            string scale = Product(n, n.Input[a.Scale], n.Input[b.Scale], "bias_scale");
            var alpha = n.Attribute.FirstOrDefault(x => x.Name == "alpha");
            if (op == "Gemm" && alpha is { F: not 1f })
            {
                string factor = NewName(n.Name + "_alpha");
                var t = new TensorProto { Name = factor, DataType = ConstTensor.Float };
                t.FloatData.Add(alpha.F);
                _graph.Initializer.Add(t);
                scale = Product(n, scale, factor, "bias_scale_alpha");
            }
            node.Input.Add(DequantizeConstant(n, n.Input[bias], scale, "", axis: 0));
        }
        node.Attribute.AddRange(attributes.Select(x => x.Clone()));
        if (op == "Gemm" && !Has(n, output.Scale))
        {
            node.Output.Add(n.Output[0]);
            _nodes.Add(node);
            return;
        }
        Quantize(n, node, output, n.Input[a.X]);
    }

    /// <summary>An operator that takes its inputs' and output's scales as they are: dequantized inputs, the float operator, the output's pair.</summary>
    private void Elementwise(NodeProto n, string op, (int X, int Scale, int Zero)[] inputs, (int Scale, int Zero) output, IEnumerable<AttributeProto> attributes)
    {
        var node = new NodeProto { Name = n.Name, OpType = op, Domain = "" };
        foreach (var (x, scale, zero) in inputs)
        {
            Require(n, x, "input"); Require(n, scale, "input scale");
            node.Input.Add(Dequantize(n, x, scale, zero, axis: null));
        }
        node.Attribute.AddRange(attributes.Select(x => x.Clone()));
        Quantize(n, node, output, n.Input[inputs[0].X]);
    }

    /// <summary>A value-moving operator on an integer tensor: the same operator between its input's pair.</summary>
    private void Wrap(NodeProto n, (string Scale, string ZeroPoint) q)
    {
        var node = n.Clone();
        node.Input[0] = DequantizeValue(n.Input[0], q.Scale, q.ZeroPoint, null);
        for (int i = 0; i < node.Output.Count; i++)
            if (n.Output[i] != "") node.Output[i] = NewName(BaseName(n.Output[i]) + "_float");
        _nodes.Add(node);
        for (int i = 0; i < node.Output.Count; i++)
            if (n.Output[i] != "") AddQuantize(node.Output[i], n.Output[i], q.Scale, q.ZeroPoint);
    }

    /// <summary>The float operator writes a new value; QuantizeLinear with the node's output scale writes the node's integer output.</summary>
    private void Quantize(NodeProto n, NodeProto node, (int Scale, int Zero) output, string typeOf)
    {
        Require(n, output.Scale, "output scale");
        string yq = n.Output[0];
        string value = NewName(BaseName(yq) + "_float");
        node.Output.Add(value);
        _nodes.Add(node);
        string zero = Has(n, output.Zero) ? n.Input[output.Zero] : ZeroLike(n, TypeOf(typeOf) ?? ConstTensor.UInt8, yq);
        AddQuantize(value, yq, n.Input[output.Scale], zero);
    }

    private void AddQuantize(string value, string output, string scale, string zero)
    {
        var q = new NodeProto { Name = NewName(BaseName(output) + "_QuantizeLinear"), OpType = "QuantizeLinear", Domain = "" };
        q.Input.Add(value); q.Input.Add(scale);
        if (zero != "") q.Input.Add(zero);
        q.Output.Add(output);
        _nodes.Add(q);
        _quantized[output] = (scale, zero);
    }

    /// <summary>The float value of input <paramref name="x"/> of the node: a DequantizeLinear with its scale and zero point (per axis when the scale is a vector).</summary>
    private string Dequantize(NodeProto n, int x, int scale, int zero, int? axis)
    {
        string name = n.Input[x];
        string zeroName = Has(n, zero) ? n.Input[zero]
            : _quantized.TryGetValue(name, out var q) ? q.ZeroPoint
            : ZeroLike(n, TypeOf(name) ?? ConstTensor.UInt8, name);
        return _constantTypes.ContainsKey(name)
            ? DequantizeConstant(n, name, n.Input[scale], zeroName, axis)
            : DequantizeValue(name, n.Input[scale], zeroName, axis);
    }

    private string DequantizeConstant(NodeProto n, string name, string scale, string zero, int? axis) =>
        AddDequantize(name, scale, zero, axis, BaseName(name) + "_dequantized");

    private string DequantizeValue(string name, string scale, string zero, int? axis) => AddDequantize(name, scale, zero, axis, BaseName(name));

    /// <summary>
    /// A DequantizeLinear whose output is named as the exporters name the float value (<c>x_quantized</c> gives
    /// <c>x</c>), so the QDQ import names values and weights as in the float model the quantized one came from.
    /// </summary>
    private string AddDequantize(string name, string scale, string zero, int? axis, string preferred)
    {
        if (_dequantized.TryGetValue(name, out var list) && list.FirstOrDefault(d => Same(d.Scale, scale) && Same(d.ZeroPoint, zero)) is { Output: { } existing })
            return existing;
        var dq = new NodeProto { Name = NewName(BaseName(name) + "_DequantizeLinear"), OpType = "DequantizeLinear", Domain = "" };
        dq.Input.Add(name); dq.Input.Add(scale);
        if (zero != "") dq.Input.Add(zero);
        string output = NewName(preferred);
        dq.Output.Add(output);
        if (axis is { } a) dq.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = a });
        _nodes.Add(dq);
        Remember(name, scale, zero, output);
        return output;
    }

    private void Remember(string tensor, string scale, string zero, string output)
    {
        if (!_dequantized.TryGetValue(tensor, out var list)) _dequantized[tensor] = list = [];
        list.Add((scale, zero, output));
    }

    /// <summary>Two scale or zero point inputs: the same tensor, or constants of the same type and values.</summary>
    private bool Same(string a, string b)
    {
        if (a == b) return true;
        if (!_constants.TryGetValue(a, out var x) || !_constants.TryGetValue(b, out var y) || x.DataType != y.DataType) return false;
        var (u, v) = (ConstTensor.FromProto(x, _source), ConstTensor.FromProto(y, _source));
        return u.Shape.SequenceEqual(v.Shape) && (u.IsFloat ? u.Floats!.SequenceEqual(v.Floats!) : u.Longs!.SequenceEqual(v.Longs!));
    }

    /// <summary>A Mul of two float constants (folded at import): the bias scale.</summary>
    private string Product(NodeProto n, string left, string right, string suffix)
    {
        var mul = new NodeProto { Name = NewName($"{n.Name}_{suffix}"), OpType = "Mul", Domain = "" };
        mul.Input.Add(left); mul.Input.Add(right);
        string output = NewName($"{(n.Name != "" ? n.Name : n.Output[0])}_{suffix}");
        mul.Output.Add(output);
        _nodes.Add(mul);
        return output;
    }

    /// <summary>An absent zero point is zero of the tensor's integer type.</summary>
    private string ZeroLike(NodeProto n, int type, string tensor)
    {
        if (type is not (ConstTensor.Int8 or ConstTensor.UInt8 or ConstTensor.Int32))
            throw Fail(n, $"'{tensor}' is {ConstTensor.TypeName(type)}; QOperator tensors are int8 or uint8");
        string name = NewName(BaseName(tensor) + "_zero_point");
        var t = new TensorProto { Name = name, DataType = type };
        t.Int32Data.Add(0);
        _graph.Initializer.Add(t);
        _constantTypes[name] = type;
        return name;
    }

    /// <summary>The integer type of a constant, or of a run-time tensor from the zero point its writer used.</summary>
    private int? TypeOf(string name)
    {
        if (_constantTypes.TryGetValue(name, out int type)) return type;
        return _quantized.TryGetValue(name, out var q) && _constantTypes.TryGetValue(q.ZeroPoint, out int zeroType) ? zeroType : null;
    }

    private static string BaseName(string name) =>
        name.EndsWith("_quantized", StringComparison.Ordinal) && name.Length > "_quantized".Length ? name[..^"_quantized".Length] : name;

    private string NewName(string preferred)
    {
        string name = preferred;
        for (int k = 1; !_names.Add(name); k++) name = $"{preferred}_{k}";
        return name;
    }

    private static bool Has(NodeProto n, int i) => i >= 0 && i < n.Input.Count && n.Input[i] != "";

    private static string Input(NodeProto n, int i) => Has(n, i) ? n.Input[i] : "";

    private void Require(NodeProto n, int i, string role)
    {
        if (!Has(n, i)) throw Fail(n, $"input {i} ({role}) is required but absent");
    }

    private ConversionException Fail(NodeProto n, string message) =>
        new($"{_source}: node '{(n.Name != "" ? n.Name : n.Output.Count > 0 ? n.Output[0] : "?")}' ({n.OpType}): {message}");
}
