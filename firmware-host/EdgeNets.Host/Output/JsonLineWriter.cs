using System.Globalization;

namespace EdgeNets.Host.Output;

/// <summary>
/// Writes one JSON object per line into a pre-allocated byte buffer and then to a stream, so printing a prediction
/// allocates nothing. Field names are UTF-8 literals; values are numbers formatted in place.
/// </summary>
public sealed class JsonLineWriter(Stream stream, int capacity = 1024)
{
    private readonly byte[] _buffer = new byte[capacity];
    private int _length, _typeStart, _typeLength;
    private bool _firstField;

    public Stream Stream => stream;

    /// <summary>The longest line in bytes.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>Also gets every line (after it is written to the stream), with the value of its "type" field.</summary>
    public ILineSink? Sink { get; set; }

    public void Begin()
    {
        _length = 0;
        _firstField = true;
        _typeLength = 0;
        Append("{"u8);
    }

    public void Field(ReadOnlySpan<byte> name, long value)
    {
        Name(name);
        if (!value.TryFormat(_buffer.AsSpan(_length), out int written, default, CultureInfo.InvariantCulture)) throw Full();
        _length += written;
    }

    /// <summary>A number with the given .NET format (e.g. "F3", "G6"); NaN and infinities are written as null.</summary>
    public void Field(ReadOnlySpan<byte> name, double value, string format)
    {
        Name(name);
        if (!double.IsFinite(value)) { Append("null"u8); return; }
        if (!value.TryFormat(_buffer.AsSpan(_length), out int written, format, CultureInfo.InvariantCulture)) throw Full();
        _length += written;
    }

    /// <summary>A float in its shortest round-trip form; NaN and infinities are written as null.</summary>
    public void Field(ReadOnlySpan<byte> name, float value)
    {
        Name(name);
        Number(value);
    }

    /// <summary>An array of floats, each in its shortest round-trip form.</summary>
    public void Field(ReadOnlySpan<byte> name, ReadOnlySpan<float> values)
    {
        Name(name);
        Append("["u8);
        for (int i = 0; i < values.Length; i++)
        {
            if (i > 0) Append(", "u8);
            Number(values[i]);
        }
        Append("]"u8);
    }

    private void Number(float value)
    {
        if (!float.IsFinite(value)) { Append("null"u8); return; }
        if (!value.TryFormat(_buffer.AsSpan(_length), out int written, "R", CultureInfo.InvariantCulture)) throw Full();
        _length += written;
    }

    /// <summary>A string value that needs no escaping (ASCII literals chosen by the host).</summary>
    public void Field(ReadOnlySpan<byte> name, ReadOnlySpan<byte> asciiValue)
    {
        Name(name);
        Append("\""u8);
        if (name.SequenceEqual("type"u8)) (_typeStart, _typeLength) = (_length, asciiValue.Length);
        Append(asciiValue);
        Append("\""u8);
    }

    public void End()
    {
        Append("}\n"u8);
        stream.Write(_buffer, 0, _length);
        stream.Flush();
        Sink?.Write(_buffer.AsSpan(_typeStart, _typeLength), _buffer.AsSpan(0, _length));
    }

    private void Name(ReadOnlySpan<byte> name)
    {
        if (!_firstField) Append(", "u8);
        _firstField = false;
        Append("\""u8);
        Append(name);
        Append("\": "u8);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (!bytes.TryCopyTo(_buffer.AsSpan(_length))) throw Full();
        _length += bytes.Length;
    }

    private InvalidOperationException Full() => new($"JSON line longer than {_buffer.Length} bytes");
}
