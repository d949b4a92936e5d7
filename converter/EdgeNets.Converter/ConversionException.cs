namespace EdgeNets.Converter;

/// <summary>
/// A model that cannot be converted. The message names the source file and, where one is involved, the node
/// (name and op type), the attribute and the offending value, so the user can find it in the model.
/// </summary>
public sealed class ConversionException : Exception
{
    public ConversionException(string message) : base(message) { }
    public ConversionException(string message, Exception inner) : base(message, inner) { }
}
