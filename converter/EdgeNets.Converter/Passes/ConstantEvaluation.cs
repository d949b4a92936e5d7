using System.Runtime.InteropServices;
using EdgeNets.Converter.Import;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Passes;

/// <summary>
/// Evaluates, at import, every runtime operator whose inputs are all constants, by running it alone through the
/// float32 reference kernels: its outputs become constants and the operator disappears.
/// </summary>
internal static class ConstantEvaluation
{
    public static void Run(IrGraph g, string source)
    {
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var node = g.Nodes[i];
            if (node.Op == OpType.BatchNormalization || node.Inputs.Count == 0) continue;
            if (!node.Inputs.All(n => n == "" || g.Value(n).IsConstant)) continue;
            if (node.Outputs.Any(g.IsGraphOutput)) continue; // a graph output must stay an activation
            var results = Evaluate(g, node, source);
            for (int o = 0; o < node.Outputs.Count; o++) g.Value(node.Outputs[o]).Constant = results[o];
            g.Nodes.RemoveAt(i);
            i--;
        }
    }

    private static ConstTensor[] Evaluate(IrGraph g, IrNode node, string source)
    {
        var graph = new ModelGraph();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var inputs = new int[node.Inputs.Count];
        string? fed = null;
        for (int i = 0; i < inputs.Length; i++)
        {
            string name = node.Inputs[i];
            if (name == "") { inputs[i] = -1; continue; }
            if (ids.TryGetValue(name, out int existing)) { inputs[i] = existing; continue; }
            var c = g.Value(name).Constant!;
            if (!c.IsFloat) throw new ConversionException($"{source}: node '{node.Name}' ({node.Op}): input '{name}' is a {ConstTensor.TypeName(c.OnnxType)} tensor; only float tensors can reach this operator");
            // A model needs at least one input: the first constant is fed as one.
            bool asInput = fed == null;
            var t = new TensorInfo(name, DataType.Float32, c.Shape, asInput ? TensorKind.Activation : TensorKind.Constant);
            if (!asInput) t.Data = MemoryMarshal.AsBytes(c.Floats!.AsSpan()).ToArray();
            inputs[i] = ids[name] = graph.AddTensor(t);
            if (asInput) { graph.Inputs.Add(inputs[i]); fed = name; }
        }
        var outputs = new int[node.Outputs.Count];
        for (int o = 0; o < outputs.Length; o++)
        {
            outputs[o] = graph.AddTensor(new TensorInfo(node.Outputs[o], DataType.Float32, g.Value(node.Outputs[o]).Shape, TensorKind.Activation));
            graph.Outputs.Add(outputs[o]);
        }
        graph.Ops.Add(new OpInfo(node.Op, node.Name, inputs, outputs, node.Attributes.Clone()));
        graph.PlaceUnshared();
        try
        {
            var model = Model.Load(EnetWriter.Write(graph));
            using var session = model.CreateSession(new SessionOptions { LogKernelChoice = false, ReferenceKernelsOnly = true });
            session.SetInput(0, g.Value(fed!).Constant!.Floats!);
            session.Invoke();
            var results = new ConstTensor[outputs.Length];
            for (int o = 0; o < outputs.Length; o++)
            {
                var values = new float[graph.Tensors[outputs[o]].ElementCount];
                session.GetOutput(o, values);
                results[o] = ConstTensor.FromFloats(graph.Tensors[outputs[o]].Shape, values);
            }
            return results;
        }
        catch (ModelFormatException e)
        {
            throw new ConversionException($"{source}: node '{node.Name}' ({node.Op}) has only constant inputs and cannot be evaluated at import: {e.Message}", e);
        }
    }
}
