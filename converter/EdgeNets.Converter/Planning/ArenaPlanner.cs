using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Planning;

/// <summary>
/// Assigns every activation an arena offset from tensor lifetimes, greedy by size as TFLite Micro's greedy planner:
/// the largest tensors are placed first, each at the lowest 64-byte-aligned offset that does not overlap a tensor
/// alive at the same time. Sets <see cref="ModelGraph.ArenaBytes"/>.
/// </summary>
public static class ArenaPlanner
{
    public static void Plan(ModelGraph graph)
    {
        int n = graph.Tensors.Count;
        var first = new int[n];
        var last = new int[n];
        Array.Fill(first, int.MaxValue);
        Array.Fill(last, int.MinValue);
        foreach (int t in graph.Inputs) { first[t] = -1; last[t] = Math.Max(last[t], -1); }
        for (int step = 0; step < graph.Ops.Count; step++)
        {
            var op = graph.Ops[step];
            foreach (int t in op.Inputs) if (t >= 0) last[t] = Math.Max(last[t], step);
            foreach (int t in op.Outputs) { first[t] = Math.Min(first[t], step); last[t] = Math.Max(last[t], step); }
        }
        foreach (int t in graph.Outputs) last[t] = graph.Ops.Count;

        var order = Enumerable.Range(0, n)
            .Where(t => !graph.Tensors[t].IsConstant && first[t] != int.MaxValue)
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
        graph.ArenaBytes = arena;
    }

    /// <summary>Arena bytes without any reuse: the sum of all aligned activation sizes (the upper bound a plan must beat).</summary>
    public static long UnsharedBytes(ModelGraph graph) =>
        graph.Tensors.Where(t => !t.IsConstant).Sum(t => EnetFormat.AlignUp(t.ByteLength));
}
