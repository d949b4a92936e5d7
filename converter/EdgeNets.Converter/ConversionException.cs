namespace EdgeNets.Converter;

public sealed class ConversionException : Exception
{
    public ConversionException(string message) : base(message) { }
}
