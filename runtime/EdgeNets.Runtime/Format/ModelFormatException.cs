namespace EdgeNets.Runtime.Format;

/// <summary>A model file is truncated, corrupted, of an unknown version, or describes an inconsistent graph (one line: <see cref="OneLineMessage"/>).</summary>
public sealed class ModelFormatException : Exception
{
    public ModelFormatException(string message) : base(OneLineMessage.Of(message)) { }
    public ModelFormatException(string message, Exception inner) : base(OneLineMessage.Of(message), inner) { }
}
