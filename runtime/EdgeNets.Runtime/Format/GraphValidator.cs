using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Format;

/// <summary>
/// Structural checks of a graph independent of operator semantics: data flows forward, every activation is written
/// once before it is read (<see cref="TensorLifetimes"/>), and no two activations that are alive at the same time share
/// arena bytes. Operator-specific shape checks happen when a kernel is prepared.
/// </summary>
public static class GraphValidator
{
    /// <summary>The arena the activations' offsets and sizes need, as the converter's planner computes it (each end 64-aligned).</summary>
    public static long PlannedArenaBytes(ModelGraph graph)
    {
        long arena = 0;
        foreach (var t in graph.Tensors)
            if (!t.IsConstant) arena = Math.Max(arena, EnetFormat.AlignUp(t.Offset + t.ByteLength));
        return arena;
    }

    public static void Validate(ModelGraph graph)
    {
        if (graph.Inputs.Count == 0) throw new ModelFormatException("model has no inputs");
        if (graph.Outputs.Count == 0) throw new ModelFormatException("model has no outputs");
        var lifetimes = TensorLifetimes.Analyze(graph);

        // Activations alive at the same time must not share bytes (O(n^2) on small graphs, done once at load).
        var live = new List<int>();
        for (int t = 0; t < graph.Tensors.Count; t++)
            if (lifetimes.IsActivation(t)) live.Add(t);
        for (int i = 0; i < live.Count; i++)
        {
            var a = graph.Tensors[live[i]];
            for (int j = i + 1; j < live.Count; j++)
            {
                var b = graph.Tensors[live[j]];
                bool memoryOverlap = a.Offset < b.Offset + b.ByteLength && b.Offset < a.Offset + a.ByteLength && a.ByteLength > 0 && b.ByteLength > 0;
                if (memoryOverlap && lifetimes.Overlap(live[i], live[j]))
                    throw new ModelFormatException($"activations '{a.Name}' and '{b.Name}' are alive together but overlap in the arena");
            }
        }
    }
}
