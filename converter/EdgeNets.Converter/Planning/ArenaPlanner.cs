using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Planning;

/// <summary>
/// Assigns every activation an arena offset from tensor lifetimes, greedy by size as TFLite Micro's greedy planner:
/// the largest tensors are placed first, each at the lowest 64-byte-aligned offset that does not overlap a tensor
/// alive at the same time (<see cref="TensorLifetimes"/>, the loader's validator checks the plan by the same). Sets <see cref="ModelGraph.ArenaBytes"/>.
/// </summary>
public static class ArenaPlanner
{
    public static void Plan(ModelGraph graph)
    {
        var lifetimes = TensorLifetimes.Analyze(graph);
        int[] first = lifetimes.First, last = lifetimes.Last;
        var order = Enumerable.Range(0, graph.Tensors.Count)
            .Where(lifetimes.IsActivation)
            .OrderByDescending(t => graph.Tensors[t].ByteLength)
            .ThenBy(t => first[t])
            .ToList();

        var placed = new List<(long Offset, long End, int First, int Last)>();
        long arena = 0;
        foreach (int t in order)
        {
            long size = graph.Tensors[t].ByteLength;
            // Candidate offsets: 0 and the aligned end of every placed tensor whose lifetime overlaps.
            var conflicts = placed.Where(p => p.First <= last[t] && first[t] <= p.Last).OrderBy(p => p.Offset).ToList();
            long offset = 0;
            foreach (var p in conflicts)
            {
                if (offset + size <= p.Offset) break;
                offset = Math.Max(offset, EnetFormat.AlignUp(p.End));
            }
            graph.Tensors[t].Offset = offset;
            placed.Add((offset, offset + size, first[t], last[t]));
            arena = Math.Max(arena, EnetFormat.AlignUp(offset + size));
        }
        if (arena > ConversionLimits.MaxArenaBytes)
            throw new ConversionException($"the planned arena of {arena} bytes is over the limit of {ConversionLimits.MaxArenaBytes >> 20} MB");
        graph.ArenaBytes = arena;
    }

    /// <summary>Arena bytes without any reuse: the sum of all aligned activation sizes (the upper bound a plan must beat).</summary>
    public static long UnsharedBytes(ModelGraph graph)
    {
        graph.UnsharedOffsets(out long bytes);
        return bytes;
    }
}
