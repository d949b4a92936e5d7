namespace EdgeNets.Runtime.Graph;

/// <summary>Element type of a tensor. Values are stored in the model file: never renumber.</summary>
public enum DataType : byte
{
    Float32 = 1,
    Int8 = 2,
    Int32 = 3,
    UInt8 = 4,
}

public static class DataTypeExtensions
{
    public static int SizeInBytes(this DataType type) => type switch
    {
        DataType.Float32 => 4,
        DataType.Int8 => 1,
        DataType.Int32 => 4,
        DataType.UInt8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown data type"),
    };

    public static bool IsDefined(this DataType type) => type is DataType.Float32 or DataType.Int8 or DataType.Int32 or DataType.UInt8;

    public static string ToShortName(this DataType type) => type switch
    {
        DataType.Float32 => "f32",
        DataType.Int8 => "i8",
        DataType.Int32 => "i32",
        DataType.UInt8 => "u8",
        _ => "?",
    };
}
