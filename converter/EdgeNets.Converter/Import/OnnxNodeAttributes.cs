using System.Text;
using Onnx;
using static Onnx.AttributeProto.Types;

namespace EdgeNets.Converter.Import;

/// <summary>
/// Typed access to the attributes of an ONNX node. An attribute of another declared type than the one read, or a
/// float that is NaN or infinite, is refused with a <see cref="ConversionDetailException"/> naming the attribute (the
/// importer adds the node).
/// </summary>
internal static class OnnxNodeAttributes
{
    public static AttributeProto? Find(NodeProto n, string name)
    {
        foreach (var a in n.Attribute) if (a.Name == name) return a;
        return null;
    }

    public static long Int(NodeProto n, string name, long defaultValue) => Of(n, name, AttributeType.Int) is { } a ? a.I : defaultValue;
    public static float Float(NodeProto n, string name, float defaultValue) => Of(n, name, AttributeType.Float) is { } a ? Finite(name, a.F) : defaultValue;
    public static string String(NodeProto n, string name, string defaultValue) => Of(n, name, AttributeType.String) is { } a ? Encoding.UTF8.GetString(a.S.Span) : defaultValue;
    public static long[]? Ints(NodeProto n, string name) => Of(n, name, AttributeType.Ints)?.Ints.ToArray();
    public static float[]? Floats(NodeProto n, string name) => Of(n, name, AttributeType.Floats) is { } a ? a.Floats.Select(f => Finite(name, f)).ToArray() : null;
    public static TensorProto? Tensor(NodeProto n, string name) =>
        Of(n, name, AttributeType.Tensor) is { } a ? a.T ?? throw new ConversionDetailException($"attribute '{name}' holds no tensor") : null;

    /// <summary>The attribute, when present and of the expected type; an undeclared type (older exporters) is taken as the expected one.</summary>
    private static AttributeProto? Of(NodeProto n, string name, AttributeType expected)
    {
        var a = Find(n, name);
        if (a != null && a.Type != expected && a.Type != AttributeType.Undefined)
            throw new ConversionDetailException($"attribute '{name}' has type {a.Type.ToString().ToUpperInvariant()}, expected {expected.ToString().ToUpperInvariant()}");
        return a;
    }

    private static float Finite(string name, float value) =>
        float.IsFinite(value) ? value : throw new ConversionDetailException($"attribute '{name}' = {value} is not finite");
}
