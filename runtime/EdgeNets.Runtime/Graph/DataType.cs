namespace EdgeNets.Runtime.Graph;

/// <summary>Element type of a tensor. Values are stored in the model file: never renumber.</summary>
public enum DataType : byte
{
    Float32 = 1,
    Int8 = 2,
    Int32 = 3,
    UInt8 = 4,
    /// <summary>Symmetric (zero point 0) activations of layers computed with int16 activations and int8 weights (TFLite's 16x8).</summary>
    Int16 = 5,
    /// <summary>Biases of the int16 layers (scale of input times weight, as int32 biases of int8 layers).</summary>
    Int64 = 6,
}

public static class DataTypeExtensions
{
    public static int SizeInBytes(this DataType type) => type switch
    {
        DataType.Float32 => 4,
        DataType.Int8 => 1,
        DataType.Int32 => 4,
        DataType.UInt8 => 1,
        DataType.Int16 => 2,
        DataType.Int64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown data type"),
    };

    public static bool IsDefined(this DataType type) => type is DataType.Float32 or DataType.Int8 or DataType.Int32 or DataType.UInt8 or DataType.Int16 or DataType.Int64;

    public static string ToShortName(this DataType type) => type switch
    {
        DataType.Float32 => "f32",
        DataType.Int8 => "i8",
        DataType.Int32 => "i32",
        DataType.UInt8 => "u8",
        DataType.Int16 => "i16",
        DataType.Int64 => "i64",
        _ => "?",
    };
}
