using Google.Protobuf;
using Onnx;

using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Import;

/// <summary>Builds small ONNX models in memory for importer tests.</summary>
public sealed class OnnxModelBuilder
{
    private readonly ModelProto _model;

    public OnnxModelBuilder(int opset = 13)
    {
        _model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "edgenets-tests",
            ProducerVersion = "1",
            Graph = new GraphProto { Name = "test" },
        };
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
    }

    public GraphProto Graph => _model.Graph;

    /// <summary>A float input; a null dimension is symbolic ("batch").</summary>
    public OnnxModelBuilder Input(string name, params long?[] dims)
    {
        _model.Graph.Input.Add(ValueInfo(name, dims));
        return this;
    }

    public OnnxModelBuilder Output(string name)
    {
        _model.Graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        return this;
    }

    public OnnxModelBuilder Initializer(string name, int[] shape, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.AddRange(shape.Select(d => (long)d));
        t.FloatData.AddRange(values);
        _model.Graph.Initializer.Add(t);
        return this;
    }

    /// <summary>An int8 (3), uint8 (2) or int32 (6) initializer; rank 0 when <paramref name="shape"/> is empty.</summary>
    public OnnxModelBuilder IntegerInitializer(string name, int dataType, int[] shape, params int[] values)
    {
        var t = new TensorProto { Name = name, DataType = dataType };
        t.Dims.AddRange(shape.Select(d => (long)d));
        t.Int32Data.AddRange(values);
        _model.Graph.Initializer.Add(t);
        return this;
    }

    public OnnxModelBuilder Int64Initializer(string name, long[] values)
    {
        var t = new TensorProto { Name = name, DataType = 7 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        _model.Graph.Initializer.Add(t);
        return this;
    }

    public OnnxModelBuilder Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attributes);
        _model.Graph.Node.Add(n);
        return this;
    }

    /// <summary>Puts the last node in <paramref name="domain"/> (com.microsoft's contrib operators), importing its opset 1.</summary>
    public OnnxModelBuilder InDomain(string domain)
    {
        _model.Graph.Node[^1].Domain = domain;
        if (!_model.OpsetImport.Any(o => o.Domain == domain)) _model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = 1 });
        return this;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };
    public static AttributeProto String(string name, string value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>An int64 tensor attribute; a single value with <paramref name="scalar"/> has rank 0.</summary>
    public static AttributeProto Tensor(string name, long[] values, bool scalar = false)
    {
        var t = new TensorProto { DataType = 7 };
        if (!scalar) t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = t };
    }

    public byte[] Build() => _model.ToByteArray();

    private static ValueInfoProto ValueInfo(string name, long?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is long v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }
}
