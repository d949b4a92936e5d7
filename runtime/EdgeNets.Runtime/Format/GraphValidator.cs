using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Format;

/// <summary>
/// Structural checks of a graph independent of operator semantics: data flows forward, every activation is written
/// once before it is read, and no two activations that are alive at the same time share arena bytes.
/// Operator-specific shape checks happen when a kernel is prepared.
/// </summary>
public static class GraphValidator
{
    public static void Validate(ModelGraph graph)
    {
        int n = graph.Tensors.Count;
        if (graph.Inputs.Count == 0) throw new ModelFormatException("model has no inputs");
        if (graph.Outputs.Count == 0) throw new ModelFormatException("model has no outputs");

        // Step at which each tensor is produced (-1: graph input; int.MinValue: constant) and last read.
        var producedAt = new int[n];
        var lastUse = new int[n];
        Array.Fill(producedAt, int.MaxValue);
        Array.Fill(lastUse, int.MinValue);
        for (int t = 0; t < n; t++) if (graph.Tensors[t].IsConstant) producedAt[t] = int.MinValue;
        foreach (int t in graph.Inputs)
        {
            if (graph.Tensors[t].IsConstant) throw new ModelFormatException($"graph input '{graph.Tensors[t].Name}' is a constant");
            if (producedAt[t] != int.MaxValue) throw new ModelFormatException($"graph input '{graph.Tensors[t].Name}' is listed twice");
            producedAt[t] = -1;
        }

        for (int step = 0; step < graph.Ops.Count; step++)
        {
            var op = graph.Ops[step];
            foreach (int t in op.Inputs)
            {
                if (t < 0) continue;
                if (producedAt[t] == int.MaxValue)
                    throw new ModelFormatException($"{op} reads '{graph.Tensors[t].Name}' before any operator writes it");
                lastUse[t] = step;
            }
            foreach (int t in op.Outputs)
            {
                var tensor = graph.Tensors[t];
                if (tensor.IsConstant) throw new ModelFormatException($"{op} writes into constant '{tensor.Name}'");
                if (producedAt[t] != int.MaxValue) throw new ModelFormatException($"{op} writes '{tensor.Name}', which is already written earlier");
                producedAt[t] = step;
                lastUse[t] = Math.Max(lastUse[t], step);
            }
        }
        foreach (int t in graph.Outputs)
        {
            if (producedAt[t] == int.MaxValue) throw new ModelFormatException($"graph output '{graph.Tensors[t].Name}' is never written");
            if (graph.Tensors[t].IsConstant) throw new ModelFormatException($"graph output '{graph.Tensors[t].Name}' is a constant");
            lastUse[t] = graph.Ops.Count;
        }

        // Activations alive at the same time must not share bytes (O(n^2) on small graphs, done once at load).
        var live = new List<int>();
        for (int t = 0; t < n; t++)
            if (!graph.Tensors[t].IsConstant && producedAt[t] != int.MaxValue) live.Add(t);
        for (int i = 0; i < live.Count; i++)
        {
            var a = graph.Tensors[live[i]];
            int aStart = producedAt[live[i]], aEnd = Math.Max(lastUse[live[i]], aStart);
            for (int j = i + 1; j < live.Count; j++)
            {
                var b = graph.Tensors[live[j]];
                int bStart = producedAt[live[j]], bEnd = Math.Max(lastUse[live[j]], bStart);
                bool timeOverlap = aStart <= bEnd && bStart <= aEnd;
                bool memoryOverlap = a.Offset < b.Offset + b.ByteLength && b.Offset < a.Offset + a.ByteLength && a.ByteLength > 0 && b.ByteLength > 0;
                if (timeOverlap && memoryOverlap)
                    throw new ModelFormatException($"activations '{a.Name}' and '{b.Name}' are alive together but overlap in the arena");
            }
        }
    }
}
