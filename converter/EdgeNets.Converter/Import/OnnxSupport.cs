using System.Text;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>
/// Which ONNX operators the importer takes, and how: the lists its lowering and constant folding are checked against
/// (a test holds them to the code), the all-at-once report of what a model uses beyond them, and docs/onnx-support.md.
/// </summary>
public static class OnnxSupport
{
    /// <summary>Handled by the importer itself: constants, aliases and shapes, which never become runtime operators.</summary>
    public static IReadOnlySet<string> ImportOnly { get; } = new SortedSet<string>(StringComparer.Ordinal)
    {
        "Constant", "Identity", "Dropout", "Shape", "Size", "QuantizeLinear", "DequantizeLinear",
    };

    /// <summary>Lowered to runtime operators when they read run-time tensors: the lowering table's entries (GraphImporter.Lowerings).</summary>
    public static IReadOnlySet<string> Lowered { get; } = new SortedSet<string>(GraphImporter.LoweredOperators, StringComparer.Ordinal);

    /// <summary>Evaluated at import when all their inputs are constants (ConstantFolder): shape glue and constant arithmetic.</summary>
    public static IReadOnlySet<string> ConstantsOnly { get; } = new SortedSet<string>(StringComparer.Ordinal)
    {
        "Abs", "Add", "Cast", "Ceil", "Concat", "ConstantOfShape", "Div", "Equal", "Expand", "Flatten", "Floor", "Gather",
        "Greater", "Less", "Mul", "Neg", "Not", "Range", "Reciprocal", "Reshape", "Slice", "Sqrt", "Squeeze", "Sub",
        "Transpose", "Unsqueeze", "Where",
    };

    /// <summary>What an operator the importer lacks usually stands for in an exported model.</summary>
    private static readonly Dictionary<string, string> Patterns = new(StringComparer.Ordinal)
    {
        ["ReduceSum"] = "a sum over an axis (attention, pooling)",
        ["DynamicQuantizeLinear"] = "dynamic quantization (quantize_dynamic); EdgeNets takes statically quantized models (QDQ or QOperator) or float ones",
        ["MatMulInteger"] = "dynamic quantization (quantize_dynamic); EdgeNets takes statically quantized models (QDQ or QOperator) or float ones",
        ["ConvInteger"] = "dynamic quantization (quantize_dynamic); EdgeNets takes statically quantized models (QDQ or QOperator) or float ones",
    };

    /// <summary>
    /// Every node of <paramref name="graph"/> whose operator the importer cannot take, grouped by operator, as one
    /// message; null when there is none. Operators it folds only on constants are not listed: the node that gives them
    /// a run-time tensor is reported by name when it is reached.
    /// </summary>
    public static string? Unsupported(GraphProto graph, string source)
    {
        var missing = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
        {
            bool defaultDomain = n.Domain is "" or "ai.onnx";
            string op = defaultDomain ? n.OpType : $"{n.Domain}.{n.OpType}";
            if (defaultDomain && (ImportOnly.Contains(op) || Lowered.Contains(op) || ConstantsOnly.Contains(op))) continue;
            if (!missing.TryGetValue(op, out var nodes)) missing[op] = nodes = new List<string>();
            nodes.Add(n.Name != "" ? n.Name : n.Output.Count > 0 ? n.Output[0] : "(unnamed)");
        }
        if (missing.Count == 0) return null;
        var text = new StringBuilder();
        text.Append($"{source}: {missing.Count} operator{(missing.Count == 1 ? " is" : "s are")} not supported: ");
        text.AppendJoin("; ", missing.Select(m =>
        {
            string nodes = string.Join(", ", m.Value.Take(3).Select(v => $"'{v}'")) + (m.Value.Count > 3 ? $" and {m.Value.Count - 3} more" : "");
            string pattern = Patterns.TryGetValue(m.Key, out var p) ? $", usually {p}" : "";
            return $"{m.Key} ({m.Value.Count} node{(m.Value.Count == 1 ? "" : "s")}: {nodes}{pattern})";
        }));
        text.Append(" (supported operators: docs/onnx-support.md)");
        return text.ToString();
    }

    /// <summary>docs/onnx-support.md: every operator the importer takes and how (`edgenets convert --list-operators`).</summary>
    public static string Markdown()
    {
        var text = new StringBuilder();
        text.AppendLine("# ONNX operators");
        text.AppendLine();
        text.AppendLine($"Generated from the importer (`edgenets convert --list-operators`); a test checks that it is current. Opsets {OnnxImporter.MinOpset} to");
        text.AppendLine($"{OnnxImporter.MaxOpset} of the default domain. \"run time\": lowered to runtime operators (docs/operators.md), float32 and");
        text.AppendLine("int8; \"constants\": evaluated at import when every input is a constant (shape computations, constant arithmetic);");
        text.AppendLine("\"import\": handled by the importer itself. A model using any other operator is rejected with all of them listed.");
        text.AppendLine();
        text.AppendLine("| ONNX operator | run time | constants | import |");
        text.AppendLine("|---|:---:|:---:|:---:|");
        foreach (var op in ImportOnly.Concat(Lowered).Concat(ConstantsOnly).Distinct().Order(StringComparer.Ordinal))
            text.AppendLine($"| {op} | {Mark(Lowered, op)} | {Mark(ConstantsOnly, op)} | {Mark(ImportOnly, op)} |");
        text.AppendLine();
        text.AppendLine("## Pre-quantized models in QOperator form");
        text.AppendLine();
        text.AppendLine("Rewritten at import into DequantizeLinear on their inputs, the float operator and QuantizeLinear on their output,");
        text.AppendLine("with the node's own scales and zero points; the model then converts as a QDQ model (docs/quantization.md). Any");
        text.AppendLine("other QOperator node (QLinearSoftmax, QAttention, ...) is rejected by name like any operator the importer lacks.");
        text.AppendLine("These operators, which only move values, may read integer tensors directly and keep their quantization:");
        text.AppendLine(string.Join(", ", QOperatorExpansion.ValueMoving) + ".");
        text.AppendLine();
        text.AppendLine("| QOperator node | becomes |");
        text.AppendLine("|---|---|");
        foreach (var (op, floatOp) in QOperatorExpansion.Operators)
            text.AppendLine($"| {op} | {floatOp} |");
        return text.ToString();

        static string Mark(IReadOnlySet<string> set, string op) => set.Contains(op) ? "yes" : "";
    }
}
