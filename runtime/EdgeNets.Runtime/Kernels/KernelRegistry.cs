using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels;

/// <summary>One kernel variant: which operator and element type it serves, whether this CPU can run it, and how to prepare it.</summary>
public sealed class KernelEntry
{
    public KernelEntry(string name, OpType op, DataType type, Func<KernelSetup, OpKernel> create, Func<bool>? isSupported = null, int priority = 0,
        Func<KernelSetup, bool>? canHandle = null)
    {
        Name = name;
        Op = op;
        Type = type;
        Create = create;
        IsSupported = isSupported ?? (() => true);
        Priority = priority;
        CanHandle = canHandle ?? (_ => true);
    }

    public string Name { get; }
    public OpType Op { get; }
    public DataType Type { get; }
    public Func<KernelSetup, OpKernel> Create { get; }
    public Func<bool> IsSupported { get; }
    /// <summary>Higher wins among supported variants; reference kernels are 0.</summary>
    public int Priority { get; }
    public bool IsReference => Priority == 0;
    /// <summary>
    /// Whether this variant takes this particular operator (shapes, broadcast pattern); a variant that only covers
    /// some shapes declines the rest here, before it is created. Must return false rather than throw on a malformed
    /// operator, so the reference kernel reports the error. Always true for reference kernels.
    /// </summary>
    public Func<KernelSetup, bool> CanHandle { get; }
}

/// <summary>
/// The one table of kernels: session dispatch, the self-test and the benchmarks all read it.
/// Every (operator, type) pair has a scalar reference entry (priority 0), the spec the others must match bit for bit.
/// </summary>
public static class KernelRegistry
{
    public static IReadOnlyList<KernelEntry> All { get; } = Build();

    private static KernelEntry[] Build()
    {
        var list = new List<KernelEntry>();
        ReferenceKernels.Register(list);
        OptimizedKernels.Register(list);
        return list.ToArray();
    }

    /// <summary>The element type that decides which kernel an operator gets: that of its first output.</summary>
    public static DataType KernelType(OpInfo op, ModelGraph graph) => graph.Tensors[op.Outputs[0]].Type;

    public static KernelEntry Select(OpInfo op, ModelGraph graph, bool referenceOnly = false)
    {
        if (op.Outputs.Length == 0) throw new ModelFormatException($"{op}: has no outputs");
        var type = KernelType(op, graph);
        KernelEntry? best = null;
        var setup = new KernelSetup(graph, op);
        foreach (var e in All)
        {
            if (e.Op != op.Type || e.Type != type) continue;
            if (referenceOnly && !e.IsReference) continue;
            if (!e.IsSupported()) continue;
            if (best != null && e.Priority <= best.Priority) continue;
            if (!e.IsReference && !e.CanHandle(setup)) continue;
            best = e;
        }
        return best ?? throw new ModelFormatException($"{op}: no kernel for {op.Type} with {type} output");
    }

    public static IEnumerable<KernelEntry> Variants(OpType op, DataType type) => All.Where(e => e.Op == op && e.Type == type);
}
