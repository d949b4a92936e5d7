using System.Buffers.Binary;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>
/// A constant known at import time. Floating-point data is held as float, every integer or bool type as long;
/// integer constants exist only inside the importer (shape glue) and never reach the model graph.
/// </summary>
internal sealed class ConstTensor
{
    // ONNX TensorProto.DataType values used here.
    public const int Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, Bool = 9, Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13;

    private ConstTensor(int[] shape, int onnxType, float[]? floats, long[]? longs)
    {
        Shape = shape;
        OnnxType = onnxType;
        Floats = floats;
        Longs = longs;
    }

    public int[] Shape { get; }
    public int OnnxType { get; }
    public float[]? Floats { get; }
    public long[]? Longs { get; }
    public bool IsFloat => Floats != null;
    public int Count => Floats?.Length ?? Longs!.Length;

    public static ConstTensor FromFloats(int[] shape, float[] values, int onnxType = Float) => new(shape, IsFloatType(onnxType) ? onnxType : Float, values, null);
    public static ConstTensor FromLongs(int[] shape, long[] values, int onnxType = Int64) => new(shape, IsFloatType(onnxType) ? Int64 : onnxType, null, values);

    public static bool IsFloatType(int onnxType) => onnxType is Float or Float16 or Double;

    public double Get(int i) => Floats != null ? Floats[Index(i)] : Longs![Index(i)];
    public long GetLong(int i) => Longs != null ? Longs[Index(i)] : (long)Floats![Index(i)];

    /// <summary>An index into the values; an empty tensor where a value is expected is refused (the caller names the node).</summary>
    private int Index(int i) => (uint)i < (uint)Count ? i : throw new ConversionDetailException($"a constant of shape [{EdgeNets.Runtime.Graph.ShapeUtil.Format(Shape)}] has {Count} values, value {i} is read");

    public long[] AsLongs() => Longs ?? Array.ConvertAll(Floats!, f => (long)f);
    public float[] AsFloats() => Floats ?? Array.ConvertAll(Longs!, l => (float)l);

    public ConstTensor WithShape(int[] shape) => new(shape, OnnxType, Floats, Longs);

    public static string TypeName(int onnxType) => onnxType switch
    {
        Float => "float32", UInt8 => "uint8", Int8 => "int8", UInt16 => "uint16", Int16 => "int16", Int32 => "int32",
        Int64 => "int64", 8 => "string", Bool => "bool", Float16 => "float16", Double => "double", UInt32 => "uint32",
        UInt64 => "uint64", 16 => "bfloat16", _ => $"type {onnxType}",
    };

    /// <summary>Decodes an ONNX TensorProto (raw or typed fields); <paramref name="what"/> names it in errors.</summary>
    public static ConstTensor FromProto(TensorProto t, string what)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw new ConversionException($"{what}: tensor '{t.Name}' stores its data in an external file, which is not supported");
        var shape = new int[t.Dims.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            if (t.Dims[i] < 0 || t.Dims[i] > int.MaxValue) throw new ConversionException($"{what}: tensor '{t.Name}' has invalid dimension {t.Dims[i]}");
            shape[i] = (int)t.Dims[i];
        }
        long count = ConversionLimits.ElementCount(shape);
        if (count > ConversionLimits.MaxTensorElements) throw new ConversionException($"{what}: tensor '{t.Name}': {ConversionLimits.TooLarge(shape, count)}");
        int n = (int)count;
        var raw = t.RawData.Span;
        bool hasRaw = !t.RawData.IsEmpty || n == 0;
        int type = t.DataType;
        int elementSize = type switch
        {
            Float or Int32 or UInt32 => 4, Double or Int64 or UInt64 => 8, Float16 or Int16 or UInt16 => 2, UInt8 or Int8 or Bool => 1,
            _ => throw new ConversionException($"{what}: tensor '{t.Name}' has unsupported data type {TypeName(type)}"),
        };
        if (hasRaw && raw.Length != (long)n * elementSize)
            throw new ConversionException($"{what}: tensor '{t.Name}' has {raw.Length} bytes of raw data, expected {(long)n * elementSize}");
        int typedCount = type switch
        {
            Float => t.FloatData.Count, Double => t.DoubleData.Count, Int64 => t.Int64Data.Count, UInt64 or UInt32 => t.Uint64Data.Count, _ => t.Int32Data.Count,
        };
        if (!hasRaw && typedCount < n)
            throw new ConversionException($"{what}: tensor '{t.Name}' has {typedCount} values, its shape needs {n}");

        if (IsFloatType(type))
        {
            var f = new float[n];
            for (int i = 0; i < n; i++)
            {
                f[i] = type switch
                {
                    Float => hasRaw ? BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]) : Typed(t.FloatData, i, t, what),
                    Double => hasRaw ? (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]) : (float)Typed(t.DoubleData, i, t, what),
                    _ => (float)BitConverter.UInt16BitsToHalf(hasRaw ? BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]) : (ushort)Typed(t.Int32Data, i, t, what)),
                };
            }
            return FromFloats(shape, f, type);
        }
        var l = new long[n];
        for (int i = 0; i < n; i++)
        {
            l[i] = type switch
            {
                Int64 => hasRaw ? BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]) : Typed(t.Int64Data, i, t, what),
                UInt64 => hasRaw ? (long)BinaryPrimitives.ReadUInt64LittleEndian(raw[(i * 8)..]) : (long)Typed(t.Uint64Data, i, t, what),
                Int32 => hasRaw ? BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]) : Typed(t.Int32Data, i, t, what),
                UInt32 => hasRaw ? BinaryPrimitives.ReadUInt32LittleEndian(raw[(i * 4)..]) : (uint)Typed(t.Uint64Data, i, t, what),
                Int16 => hasRaw ? BinaryPrimitives.ReadInt16LittleEndian(raw[(i * 2)..]) : Typed(t.Int32Data, i, t, what),
                UInt16 => hasRaw ? BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]) : Typed(t.Int32Data, i, t, what),
                Int8 => hasRaw ? (sbyte)raw[i] : Typed(t.Int32Data, i, t, what),
                _ => hasRaw ? raw[i] : Typed(t.Int32Data, i, t, what), // uint8, bool
            };
        }
        return FromLongs(shape, l, type);
    }

    private static T Typed<T>(Google.Protobuf.Collections.RepeatedField<T> field, int i, TensorProto t, string what)
    {
        if (i >= field.Count) throw new ConversionException($"{what}: tensor '{t.Name}' has {field.Count} values, its shape needs more");
        return field[i];
    }
}
