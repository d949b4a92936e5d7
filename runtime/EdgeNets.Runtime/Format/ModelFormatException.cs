namespace EdgeNets.Runtime.Format;

/// <summary>A model file is truncated, corrupted, of an unknown version, or describes an inconsistent graph.</summary>
public sealed class ModelFormatException : Exception
{
    public ModelFormatException(string message) : base(message) { }
    public ModelFormatException(string message, Exception inner) : base(message, inner) { }
}
