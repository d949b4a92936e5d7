using System.Text;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>Typed access to the attributes of an ONNX node.</summary>
internal static class OnnxNodeAttributes
{
    public static AttributeProto? Find(NodeProto n, string name)
    {
        foreach (var a in n.Attribute) if (a.Name == name) return a;
        return null;
    }

    public static long Int(NodeProto n, string name, long defaultValue) => Find(n, name) is { } a ? a.I : defaultValue;
    public static float Float(NodeProto n, string name, float defaultValue) => Find(n, name) is { } a ? a.F : defaultValue;
    public static string String(NodeProto n, string name, string defaultValue) => Find(n, name) is { } a ? Encoding.UTF8.GetString(a.S.Span) : defaultValue;
    public static long[]? Ints(NodeProto n, string name) => Find(n, name) is { } a ? a.Ints.ToArray() : null;
    public static float[]? Floats(NodeProto n, string name) => Find(n, name) is { } a ? a.Floats.ToArray() : null;
}
