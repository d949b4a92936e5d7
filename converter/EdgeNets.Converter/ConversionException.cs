namespace EdgeNets.Converter;

/// <summary>
/// A model that cannot be converted. The message names the source file and, where one is involved, the node
/// (name and op type), the attribute and the offending value, so the user can find it in the model.
/// </summary>
public class ConversionException : Exception
{
    public ConversionException(string message) : base(message) { }
    public ConversionException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// A failure found by a helper that does not know which node or tensor it works on (shape arithmetic, attribute
/// access, fixed-point multipliers); the caller that knows catches it and names the file and node. Uncaught, it is
/// still a one-line <see cref="ConversionException"/>.
/// </summary>
internal sealed class ConversionDetailException(string message) : ConversionException(message);
