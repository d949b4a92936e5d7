using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Kernels.Selection;

namespace EdgeNets.Runtime.Kernels;

/// <summary>
/// The one table of kernels: session dispatch, the self-test and the benchmarks all read it. Every (operator, type)
/// pair has a scalar reference entry, the spec the others must match bit for bit; which variant a node gets is decided
/// by its operator's <see cref="SelectionPolicy"/>.
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

    public static KernelEntry? Find(string name)
    {
        foreach (var e in All) if (e.Name == name) return e;
        return null;
    }

    /// <summary>The scalar reference kernel of an operator and element type, or null when there is none.</summary>
    public static KernelEntry? FindReference(OpType op, DataType type)
    {
        foreach (var e in All) if (e.IsReference && e.Op == op && e.Type == type) return e;
        return null;
    }

    public static KernelEntry Reference(OpType op, DataType type) =>
        FindReference(op, type) ?? throw new ModelFormatException($"no kernel for {op} with {type} output");

    public static KernelEntry Select(OpInfo op, ModelGraph graph, bool referenceOnly = false) => Choose(new KernelSetup(graph, op), referenceOnly, null).Entry;

    /// <summary>
    /// The kernel for a node: the first candidate of its operator's policy that this CPU supports, that computes the node
    /// exactly and that the policy prefers for it (a fused one only at a <paramref name="fusion"/> site), else the reference.
    /// </summary>
    public static KernelChoice Choose(KernelSetup s, bool referenceOnly, FusionSite? fusion)
    {
        var op = s.Op;
        if (op.Outputs.Length == 0) throw new ModelFormatException($"{op}: has no outputs");
        var type = KernelType(op, s.Graph);
        KernelEntry reference;
        try
        {
            reference = Reference(op.Type, type);
        }
        catch (ModelFormatException e)
        {
            throw new ModelFormatException($"{op}: {e.Message}");
        }
        if (referenceOnly) return new(reference, null, "reference kernels only (session option)");
        var policy = SelectionPolicies.For(op.Type, type);
        if (policy == null) return new(reference, null, "the reference: no optimized variant for this operator");
        foreach (var c in policy.Order)
        {
            if (c.Fused)
            {
                if (fusion == null || ConvPoolFusion.Find(c.Variant) is not { } fused || !fused.Fuses(fusion.Pool.Op.Type)) continue;
                if (fusion.SharesInput && !fused.ReadsImageBeforeWriting) continue;
                if (!fused.IsSupported() || !fused.IsExact(s) || !Prefers(c, s)) continue;
                return new(reference, fused, c.Why);
            }
            if (Find(c.Variant) is not { } entry || !entry.IsSupported() || !entry.IsExact(s) || !Prefers(c, s)) continue;
            return new(entry, null, c.Why);
        }
        return new(reference, null, "the reference: no variant of this CPU computes this node exactly or is preferred for it");
    }

    private static bool Prefers(Candidate c, KernelSetup s) => c.When == null || KernelEntry.ExactOrDeclined(c.When, s);

    public static IEnumerable<KernelEntry> Variants(OpType op, DataType type) => All.Where(e => e.Op == op && e.Type == type);
}
