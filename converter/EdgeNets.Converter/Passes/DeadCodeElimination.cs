namespace EdgeNets.Converter.Passes;

/// <summary>Drops operators none of whose outputs reach a graph output (e.g. left behind by folding).</summary>
internal static class DeadCodeElimination
{
    public static void Run(IrGraph g)
    {
        var needed = new HashSet<string>(g.Outputs, StringComparer.Ordinal);
        for (int i = g.Nodes.Count - 1; i >= 0; i--)
        {
            var node = g.Nodes[i];
            if (!node.Outputs.Any(needed.Contains)) { g.Nodes.RemoveAt(i); continue; }
            foreach (var input in node.Inputs) if (input != "") needed.Add(input);
        }
    }
}
