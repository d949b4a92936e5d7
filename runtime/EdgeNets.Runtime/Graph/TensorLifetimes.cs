using EdgeNets.Runtime.Format;

namespace EdgeNets.Runtime.Graph;

/// <summary>
/// When each activation of a graph is alive, in operator steps: written at <see cref="First"/> (-1 for graph inputs)
/// and last needed at <see cref="Last"/> (<c>Ops.Count</c> for graph outputs). The converter's arena planner places
/// tensors by it and the loader's validator checks a plan against it, so both agree on what may share bytes.
/// </summary>
public sealed class TensorLifetimes
{
    /// <summary>Step that writes the tensor: -1 for a graph input, <see cref="Constant"/> for a constant, <see cref="Never"/> if nothing writes it.</summary>
    public int[] First { get; }
    /// <summary>Last step that reads it (at least <see cref="First"/>).</summary>
    public int[] Last { get; }

    public const int Constant = int.MinValue, Never = int.MaxValue;

    private TensorLifetimes(int[] first, int[] last)
    {
        First = first;
        Last = last;
    }

    /// <summary>Whether tensor <paramref name="t"/> is an activation some step (or the caller, for inputs) writes.</summary>
    public bool IsActivation(int t) => First[t] != Constant && First[t] != Never;

    public bool Overlap(int a, int b) => First[a] <= Last[b] && First[b] <= Last[a];

    /// <summary>
    /// Computes the lifetimes and checks the structure they rest on: data flows forward, every activation is written
    /// once before it is read, constants are never written, inputs and outputs are activations.
    /// </summary>
    public static TensorLifetimes Analyze(ModelGraph graph)
    {
        int n = graph.Tensors.Count;
        var first = new int[n];
        var last = new int[n];
        Array.Fill(first, Never);
        Array.Fill(last, int.MinValue);
        for (int t = 0; t < n; t++) if (graph.Tensors[t].IsConstant) first[t] = Constant;
        foreach (int t in graph.Inputs)
        {
            if (graph.Tensors[t].IsConstant) throw new ModelFormatException($"graph input '{graph.Tensors[t].Name}' is a constant");
            if (first[t] != Never) throw new ModelFormatException($"graph input '{graph.Tensors[t].Name}' is listed twice");
            first[t] = -1;
            last[t] = -1;
        }

        for (int step = 0; step < graph.Ops.Count; step++)
        {
            var op = graph.Ops[step];
            foreach (int t in op.Inputs)
            {
                if (t < 0) continue;
                if (first[t] == Never) throw new ModelFormatException($"{op} reads '{graph.Tensors[t].Name}' before any operator writes it");
                last[t] = step;
            }
            foreach (int t in op.Outputs)
            {
                var tensor = graph.Tensors[t];
                if (tensor.IsConstant) throw new ModelFormatException($"{op} writes into constant '{tensor.Name}'");
                if (first[t] != Never) throw new ModelFormatException($"{op} writes '{tensor.Name}', which is already written earlier");
                first[t] = step;
                last[t] = Math.Max(last[t], step);
            }
        }
        foreach (int t in graph.Outputs)
        {
            if (first[t] == Never) throw new ModelFormatException($"graph output '{graph.Tensors[t].Name}' is never written");
            if (graph.Tensors[t].IsConstant) throw new ModelFormatException($"graph output '{graph.Tensors[t].Name}' is a constant");
            last[t] = graph.Ops.Count;
        }
        return new TensorLifetimes(first, last);
    }
}
