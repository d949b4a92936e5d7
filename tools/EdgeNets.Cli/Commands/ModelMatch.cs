using System.IO.Hashing;
using EdgeNets.Cli.Terminal;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Cli.Commands;

/// <summary>
/// Whether an ONNX model and a .enet model are the same model, before `eval` or `bench` compares them: the same
/// number of inputs and outputs with the same shapes (else ONNX Runtime would fail mid-run, or unrelated models be
/// compared), and the ONNX file the .enet records as its source.
/// </summary>
internal static class ModelMatch
{
    /// <summary>Metadata key of the source ONNX file's XxHash64, written by `convert`.</summary>
    public const string SourceHashKey = "source_xxhash64";

    public static string SourceHash(byte[] onnx) => Convert.ToHexStringLower(XxHash64.Hash(onnx));

    /// <summary>Throws a one-line error naming the first input or output that differs.</summary>
    public static void RequireSameInterface(OnnxRuntimeModel onnx, string onnxPath, Model model, string enetPath)
    {
        var g = model.Graph;
        Compare(onnx.Inputs, g.Inputs.Select(i => g.Tensors[i]).ToList(), "input", onnxPath, enetPath);
        Compare(onnx.Outputs, g.Outputs.Select(o => g.Tensors[o]).ToList(), "output", onnxPath, enetPath);
    }

    private static void Compare(IReadOnlyList<(string Name, int[] Shape)> theirs, List<TensorInfo> ours, string role, string onnxPath, string enetPath)
    {
        string Describe(IEnumerable<string> shapes) => string.Join(", ", shapes);
        if (theirs.Count != ours.Count)
            throw new CliException($"{onnxPath} and {enetPath} are different models: {theirs.Count} {role}(s) ({Describe(theirs.Select(Format))}) " +
                                   $"against {ours.Count} ({Describe(ours.Select(t => $"{t.Name} [{string.Join('x', t.Shape)}]"))})");
        for (int i = 0; i < ours.Count; i++)
            if (!ShapesMatch(theirs[i].Shape, ours[i].Shape))
                throw new CliException($"{onnxPath} and {enetPath} are different models: {role} {i} is {Format(theirs[i])} in the ONNX model, " +
                                       $"{ours[i].Name} [{string.Join('x', ours[i].Shape)}] in the .enet");
    }

    private static string Format((string Name, int[] Shape) t) => $"{t.Name} [{string.Join('x', t.Shape.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";

    /// <summary>Same rank and every known (non-negative) dimension equal; when ranks differ, the same element count if all are known.</summary>
    private static bool ShapesMatch(int[] onnx, int[] enet)
    {
        if (onnx.Length == enet.Length)
        {
            for (int d = 0; d < onnx.Length; d++)
                if (onnx[d] >= 0 && onnx[d] != enet[d]) return false;
            return true;
        }
        if (onnx.Any(d => d < 0)) return true;
        return onnx.Aggregate(1L, (p, d) => p * d) == enet.Aggregate(1L, (p, d) => p * d);
    }

    /// <summary>A warning when the .enet records another source than <paramref name="onnxPath"/>: by content hash, or by file name in files converted before the hash was recorded.</summary>
    public static string? SourceWarning(string onnxPath, Model model, string enetPath)
    {
        var meta = model.Graph.Metadata;
        string recordedName = meta.TryGetValue("source", out var s) ? s : "?";
        if (meta.TryGetValue(SourceHashKey, out var recorded))
        {
            string actual = SourceHash(File.ReadAllBytes(onnxPath));
            return actual == recorded ? null
                : $"{enetPath} was converted from another ONNX file than {onnxPath} ({recordedName}, xxhash64 {recorded}; this one {actual}): comparing different models?";
        }
        return meta.TryGetValue("source", out var name) && name != Path.GetFileName(onnxPath)
            ? $"{enetPath} was converted from {name}, not {Path.GetFileName(onnxPath)}: comparing different models?"
            : null;
    }
}
