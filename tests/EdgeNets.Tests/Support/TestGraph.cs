using System.Runtime.InteropServices;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Tests.Support;

/// <summary>
/// Builds small model graphs by hand (one or a few operators) and runs them through the real file writer, loader and
/// session, so kernel tests exercise exactly what a converted model does.
/// </summary>
public sealed class TestGraph
{
    public ModelGraph Graph { get; } = new();

    public int Input(string name, DataType type, int[] shape, QuantizationInfo? quant = null)
    {
        int id = Activation(name, type, shape, quant);
        Graph.Inputs.Add(id);
        return id;
    }

    public int Activation(string name, DataType type, int[] shape, QuantizationInfo? quant = null) =>
        Graph.AddTensor(new TensorInfo(name, type, shape, TensorKind.Activation) { Quantization = quant });

    public int Output(string name, DataType type, int[] shape, QuantizationInfo? quant = null)
    {
        int id = Activation(name, type, shape, quant);
        Graph.Outputs.Add(id);
        return id;
    }

    public int Constant<T>(string name, DataType type, int[] shape, T[] values, QuantizationInfo? quant = null) where T : struct =>
        Graph.AddTensor(new TensorInfo(name, type, shape, TensorKind.Constant)
        {
            Data = MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            Quantization = quant,
        });

    public OpInfo Op(OpType type, int[] inputs, int[] outputs, OpAttributes? attributes = null, string? name = null)
    {
        var op = new OpInfo(type, name ?? $"{type}_{Graph.Ops.Count}", inputs, outputs, attributes);
        Graph.Ops.Add(op);
        return op;
    }

    /// <summary>Gives every activation its own 64-byte-aligned arena slot, writes the file and loads it.</summary>
    public Model Build()
    {
        Graph.PlaceUnshared();
        return Model.Load(EnetWriter.Write(Graph));
    }
}

/// <summary>Deterministic random test data (fixed seeds only).</summary>
public static class TestData
{
    public static float[] Floats(int seed, int count, float min = -1f, float max = 1f)
    {
        var rng = new Random(seed);
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = min + (float)rng.NextDouble() * (max - min);
        return v;
    }

    public static sbyte[] Int8(int seed, int count, int min = -128, int max = 127)
    {
        var rng = new Random(seed);
        var v = new sbyte[count];
        for (int i = 0; i < count; i++) v[i] = (sbyte)rng.Next(min, max + 1);
        return v;
    }

    public static int[] Int32(int seed, int count, int min, int max)
    {
        var rng = new Random(seed);
        var v = new int[count];
        for (int i = 0; i < count; i++) v[i] = rng.Next(min, max + 1);
        return v;
    }
}
