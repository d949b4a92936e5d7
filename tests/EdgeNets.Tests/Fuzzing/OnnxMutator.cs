using Google.Protobuf;
using Onnx;

namespace EdgeNets.Tests.Fuzzing;

/// <summary>
/// Structure-aware mutations of an ONNX model at the protobuf level: the message stays a well-formed ModelProto, its
/// contents become hostile (dimensions near 2^31, NaN attributes, tensor data shorter than its shape, dangling node
/// inputs, unknown opsets, missing or repeated nodes, folding that would build huge constants). Deterministic for a
/// given seed model and <see cref="Random"/>.
/// </summary>
internal static class OnnxMutator
{
    private static readonly long[] Integers =
    [
        0, 1, -1, 2, 3, 7, 255, 32768, 65536, 1L << 30, int.MaxValue, 1L << 31, 1L << 32, 1_000_000_000, 1L << 62,
        long.MaxValue, long.MinValue, int.MinValue, -2,
    ];

    private static readonly float[] Floats =
    [
        0f, 1f, -1f, 0.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e38f, -1e38f, 1e-38f, float.Epsilon, 1e9f, 3f,
    ];

    /// <summary>Operators a mutation may insert or rename a node to: shape glue the constant folder evaluates, and a few lowered ones.</summary>
    private static readonly string[] Ops =
    [
        "ConstantOfShape", "Range", "Expand", "Concat", "Reshape", "Gather", "Slice", "Tile", "Transpose", "Unsqueeze",
        "Add", "Mul", "Div", "Conv", "Gemm", "MatMul", "BatchNormalization", "LeakyRelu", "Pad", "Softmax", "Identity",
    ];

    private delegate bool Mutation(ModelProto m, Random rng);

    private static readonly (string Name, Mutation Apply)[] Mutations =
    [
        ("tensor dimension", TensorDimension),
        ("tensor value", TensorValue),
        ("tensor data length", TensorDataLength),
        ("tensor data type", TensorDataType),
        ("attribute value", AttributeValue),
        ("attribute type", AttributeType),
        ("node input", NodeInput),
        ("opset", Opset),
        ("node removed or repeated", NodeRemovedOrRepeated),
        ("graph input dimension", GraphInputDimension),
        ("shape glue inserted", ShapeGlueInserted),
        ("operator renamed", OperatorRenamed),
    ];

    /// <summary>A copy of <paramref name="seed"/> with one to three mutations; <paramref name="applied"/> names them.</summary>
    public static ModelProto Mutate(ModelProto seed, Random rng, out string applied)
    {
        var m = seed.Clone();
        var names = new List<string>();
        int count = 1 + rng.Next(3);
        for (int tries = 0; names.Count < count && tries < 20; tries++)
        {
            var (name, apply) = Mutations[rng.Next(Mutations.Length)];
            if (apply(m, rng)) names.Add(name);
        }
        applied = string.Join(", ", names);
        return m;
    }

    private static long Integer(Random rng) => rng.Next(4) == 0 ? rng.Next(-4, 100) : Integers[rng.Next(Integers.Length)];

    private static float Float(Random rng) => rng.Next(4) == 0 ? (float)(rng.NextDouble() * 20 - 10) : Floats[rng.Next(Floats.Length)];

    private static T? Pick<T>(IList<T> items, Random rng) where T : class => items.Count == 0 ? null : items[rng.Next(items.Count)];

    /// <summary>Every tensor of the model: initializers and tensor attributes (Constant values, ConstantOfShape fills).</summary>
    private static List<TensorProto> Tensors(ModelProto m)
    {
        var list = new List<TensorProto>(m.Graph.Initializer);
        foreach (var n in m.Graph.Node)
            foreach (var a in n.Attribute)
                if (a.T != null) list.Add(a.T);
        return list;
    }

    private static bool TensorDimension(ModelProto m, Random rng)
    {
        var t = Pick(Tensors(m), rng);
        if (t == null) return false;
        switch (rng.Next(3))
        {
            case 0 when t.Dims.Count > 0: t.Dims[rng.Next(t.Dims.Count)] = Integer(rng); break;
            case 1 when t.Dims.Count > 0: t.Dims.RemoveAt(rng.Next(t.Dims.Count)); break;
            default: t.Dims.Insert(rng.Next(t.Dims.Count + 1), Integer(rng)); break;
        }
        return true;
    }

    private static bool TensorValue(ModelProto m, Random rng)
    {
        var t = Pick(Tensors(m), rng);
        if (t == null) return false;
        if (!t.RawData.IsEmpty)
        {
            var raw = t.RawData.ToByteArray();
            if (t.DataType == 1 && raw.Length >= 4)
                BitConverter.TryWriteBytes(raw.AsSpan(4 * rng.Next(raw.Length / 4)), Float(rng));
            else if (t.DataType == 7 && raw.Length >= 8)
                BitConverter.TryWriteBytes(raw.AsSpan(8 * rng.Next(raw.Length / 8)), Integer(rng));
            else if (raw.Length > 0)
                raw[rng.Next(raw.Length)] = (byte)rng.Next(256);
            else return false;
            t.RawData = ByteString.CopyFrom(raw);
            return true;
        }
        if (t.FloatData.Count > 0) { t.FloatData[rng.Next(t.FloatData.Count)] = Float(rng); return true; }
        if (t.Int64Data.Count > 0) { t.Int64Data[rng.Next(t.Int64Data.Count)] = Integer(rng); return true; }
        if (t.Int32Data.Count > 0) { t.Int32Data[rng.Next(t.Int32Data.Count)] = (int)Integer(rng); return true; }
        return false;
    }

    private static bool TensorDataLength(ModelProto m, Random rng)
    {
        var t = Pick(Tensors(m), rng);
        if (t == null) return false;
        if (!t.RawData.IsEmpty)
        {
            int length = t.RawData.Length;
            int newLength = rng.Next(4) switch { 0 => 0, 1 => length - 1, 2 => length + rng.Next(1, 9), _ => rng.Next(length + 1) };
            var raw = new byte[Math.Max(0, newLength)];
            t.RawData.Span[..Math.Min(length, raw.Length)].CopyTo(raw);
            t.RawData = ByteString.CopyFrom(raw);
            return true;
        }
        if (t.FloatData.Count > 0) { if (rng.Next(2) == 0) t.FloatData.RemoveAt(t.FloatData.Count - 1); else t.FloatData.Add(Float(rng)); return true; }
        if (t.Int64Data.Count > 0) { if (rng.Next(2) == 0) t.Int64Data.RemoveAt(t.Int64Data.Count - 1); else t.Int64Data.Add(Integer(rng)); return true; }
        if (t.Int32Data.Count > 0) { t.Int32Data.RemoveAt(t.Int32Data.Count - 1); return true; }
        // Typed data where raw data was expected.
        t.FloatData.Add(Float(rng));
        return true;
    }

    private static bool TensorDataType(ModelProto m, Random rng)
    {
        var t = Pick(Tensors(m), rng);
        if (t == null) return false;
        int[] types = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 40];
        t.DataType = types[rng.Next(types.Length)];
        if (rng.Next(4) == 0) t.DataLocation = TensorProto.Types.DataLocation.External;
        return true;
    }

    private static List<(NodeProto Node, AttributeProto Attribute)> Attributes(ModelProto m) =>
        m.Graph.Node.SelectMany(n => n.Attribute.Select(a => (n, a))).ToList();

    private static bool AttributeValue(ModelProto m, Random rng)
    {
        var all = Attributes(m);
        if (all.Count == 0) return false;
        var (_, a) = all[rng.Next(all.Count)];
        switch (a.Type)
        {
            case AttributeProto.Types.AttributeType.Int: a.I = Integer(rng); break;
            case AttributeProto.Types.AttributeType.Float: a.F = Float(rng); break;
            case AttributeProto.Types.AttributeType.Ints when a.Ints.Count > 0 && rng.Next(4) > 0: a.Ints[rng.Next(a.Ints.Count)] = Integer(rng); break;
            case AttributeProto.Types.AttributeType.Ints: if (rng.Next(2) == 0 && a.Ints.Count > 0) a.Ints.RemoveAt(0); else a.Ints.Add(Integer(rng)); break;
            case AttributeProto.Types.AttributeType.Floats when a.Floats.Count > 0: a.Floats[rng.Next(a.Floats.Count)] = Float(rng); break;
            case AttributeProto.Types.AttributeType.String:
                string[] strings = ["", "SAME_UPPER", "VALID", "linear", "constant", "reflect", "\u00ff\u0000"];
                a.S = ByteString.CopyFromUtf8(strings[rng.Next(strings.Length)]);
                break;
            default: return false;
        }
        return true;
    }

    /// <summary>The attribute's declared type changes; its value stays in the field of its old type, or moves between a scalar and a list.</summary>
    private static bool AttributeType(ModelProto m, Random rng)
    {
        var all = Attributes(m);
        if (all.Count == 0) return false;
        var (_, a) = all[rng.Next(all.Count)];
        switch (rng.Next(3))
        {
            case 0 when a.Type == AttributeProto.Types.AttributeType.Ints:
                a.I = a.Ints.Count > 0 ? a.Ints[0] : 0;
                a.Ints.Clear();
                a.Type = AttributeProto.Types.AttributeType.Int;
                break;
            case 1 when a.Type == AttributeProto.Types.AttributeType.Int:
                a.Ints.Add(a.I);
                a.Type = AttributeProto.Types.AttributeType.Ints;
                break;
            default:
                a.Type = (AttributeProto.Types.AttributeType)rng.Next(0, 15);
                break;
        }
        return true;
    }

    /// <summary>Every value name a node input can refer to.</summary>
    private static List<string> ValueNames(ModelProto m)
    {
        var names = new List<string>();
        names.AddRange(m.Graph.Input.Select(i => i.Name));
        names.AddRange(m.Graph.Initializer.Select(i => i.Name));
        foreach (var n in m.Graph.Node) names.AddRange(n.Output);
        return names;
    }

    private static bool NodeInput(ModelProto m, Random rng)
    {
        var n = Pick(m.Graph.Node, rng);
        if (n == null) return false;
        var names = ValueNames(m);
        string name = rng.Next(5) switch { 0 => "", 1 => "no_such_value", _ => names[rng.Next(names.Count)] };
        switch (rng.Next(3))
        {
            case 0 when n.Input.Count > 0: n.Input[rng.Next(n.Input.Count)] = name; break;
            case 1 when n.Input.Count > 0: n.Input.RemoveAt(n.Input.Count - 1); break;
            default: n.Input.Add(name); break;
        }
        return true;
    }

    private static bool Opset(ModelProto m, Random rng)
    {
        long[] versions = [1, 7, 10, 11, 12, 13, 14, 17, 18, 21, -1, 0, long.MaxValue];
        if (m.OpsetImport.Count == 0 || rng.Next(5) == 0) m.OpsetImport.Add(new OperatorSetIdProto { Domain = rng.Next(2) == 0 ? "" : "com.example", Version = 13 });
        m.OpsetImport[rng.Next(m.OpsetImport.Count)].Version = versions[rng.Next(versions.Length)];
        return true;
    }

    private static bool NodeRemovedOrRepeated(ModelProto m, Random rng)
    {
        var nodes = m.Graph.Node;
        if (nodes.Count == 0) return false;
        int i = rng.Next(nodes.Count);
        switch (rng.Next(3))
        {
            case 0: nodes.RemoveAt(i); break;
            case 1: nodes.Insert(rng.Next(nodes.Count + 1), nodes[i].Clone()); break;
            default:
                int j = rng.Next(nodes.Count);
                (nodes[i], nodes[j]) = (nodes[j], nodes[i]);
                break;
        }
        return true;
    }

    private static bool GraphInputDimension(ModelProto m, Random rng)
    {
        var input = Pick(m.Graph.Input, rng);
        var dims = input?.Type?.TensorType?.Shape?.Dim;
        if (dims == null) return false;
        switch (rng.Next(4))
        {
            case 0 when dims.Count > 0: dims[rng.Next(dims.Count)] = new TensorShapeProto.Types.Dimension { DimValue = Integer(rng) }; break;
            case 1 when dims.Count > 0: dims.RemoveAt(rng.Next(dims.Count)); break;
            case 2 when dims.Count > 0: dims[rng.Next(dims.Count)] = new TensorShapeProto.Types.Dimension { DimParam = "n" }; break;
            default: dims.Add(new TensorShapeProto.Types.Dimension { DimValue = Integer(rng) }); break;
        }
        return true;
    }

    /// <summary>
    /// Inserts a shape-glue node on constant inputs (ConstantOfShape, Range, Expand, Tile, Concat) whose output
    /// replaces an input of a later node: the constant folder meets sizes chosen by the mutation.
    /// </summary>
    private static bool ShapeGlueInserted(ModelProto m, Random rng)
    {
        var target = Pick(m.Graph.Node, rng);
        if (target == null || target.Input.Count == 0) return false;
        string prefix = "glue" + rng.Next(1_000_000);
        string Const(long[] values, int dataType = 7)
        {
            var t = new TensorProto { Name = prefix + "_c" + m.Graph.Initializer.Count, DataType = dataType };
            if (values.Length != 1 || rng.Next(2) == 0) t.Dims.Add(values.Length);
            if (dataType == 1) t.FloatData.AddRange(values.Select(v => (float)v)); else t.Int64Data.AddRange(values);
            m.Graph.Initializer.Add(t);
            return t.Name;
        }
        long[] Shape() => Enumerable.Range(0, 1 + rng.Next(3)).Select(_ => rng.Next(3) == 0 ? Integer(rng) : rng.Next(1, 5)).ToArray();
        var node = new NodeProto { Name = prefix, OpType = new[] { "ConstantOfShape", "Range", "Expand", "Tile", "Concat" }[rng.Next(5)] };
        node.Output.Add(prefix + "_out");
        switch (node.OpType)
        {
            case "ConstantOfShape":
                node.Input.Add(Const(Shape()));
                if (rng.Next(2) == 0)
                {
                    var value = new TensorProto { DataType = 1 };
                    value.Dims.Add(1);
                    value.FloatData.Add(Float(rng));
                    node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });
                }
                break;
            case "Range":
                int type = rng.Next(2) == 0 ? 1 : 7;
                node.Input.Add(Const([rng.Next(3) == 0 ? Integer(rng) : 0], type));
                node.Input.Add(Const([Integer(rng)], type));
                node.Input.Add(Const([rng.Next(3) == 0 ? Integer(rng) : 1], type));
                break;
            case "Expand" or "Tile":
                node.Input.Add(Const([1, 2, 3], 1));
                node.Input.Add(Const(Shape()));
                break;
            default:
                node.Input.Add(Const([1, 2]));
                node.Input.Add(Const([Integer(rng)]));
                node.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = rng.Next(3) - 1 });
                break;
        }
        int at = m.Graph.Node.IndexOf(target);
        m.Graph.Node.Insert(at, node);
        target.Input[rng.Next(target.Input.Count)] = node.Output[0];
        return true;
    }

    private static bool OperatorRenamed(ModelProto m, Random rng)
    {
        var n = Pick(m.Graph.Node, rng);
        if (n == null) return false;
        n.OpType = rng.Next(3) == 0 ? m.Graph.Node[rng.Next(m.Graph.Node.Count)].OpType : Ops[rng.Next(Ops.Length)];
        return true;
    }
}
