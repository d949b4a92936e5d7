namespace EdgeNets.Converter;

/// <summary>
/// A model that cannot be converted. The message names the source file and, where one is involved, the node
/// (name and op type), the attribute and the offending value, so the user can find it in the model; one line, with any
/// control characters of names from the file escaped (<see cref="EdgeNets.Runtime.Format.OneLineMessage"/>).
/// </summary>
public class ConversionException : Exception
{
    public ConversionException(string message) : base(EdgeNets.Runtime.Format.OneLineMessage.Of(message)) { }
    public ConversionException(string message, Exception inner) : base(EdgeNets.Runtime.Format.OneLineMessage.Of(message), inner) { }
}

/// <summary>
/// A failure found by a helper that does not know which node or tensor it works on (shape arithmetic, attribute
/// access, fixed-point multipliers); the caller that knows catches it and names the file and node. Uncaught, it is
/// still a one-line <see cref="ConversionException"/>.
/// </summary>
internal sealed class ConversionDetailException(string message) : ConversionException(message);
