using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Selection;

/// <summary>
/// One candidate of an operator's policy: a registered variant (a Conv + MaxPool fused one when <see cref="Fused"/>),
/// why it stands where it does in the order, and the nodes it is preferred for (null: every node it computes exactly).
/// </summary>
public sealed record Candidate(string Variant, string Why, Func<KernelSetup, bool>? When = null)
{
    /// <summary>A <see cref="FusedConvPoolEntry"/>: taken only where the session found its pattern (Conv + MaxPool 2x2/2, Conv + epilogue operator).</summary>
    public bool Fused { get; init; }
}

/// <summary>
/// How one operator and element type choose among their variants: candidates in order of preference; the first that
/// this CPU supports, that computes the node exactly and whose <see cref="Candidate.When"/> holds is taken, else the
/// reference kernel. The order and the conditions are measured choices; each names its benchmark in
/// <see cref="Candidate.Why"/> (tools/benchmarks/README.md has the figures).
/// </summary>
public sealed class SelectionPolicy(OpType op, DataType type, params Candidate[] order)
{
    public OpType Op { get; } = op;
    public DataType Type { get; } = type;
    public IReadOnlyList<Candidate> Order { get; } = order;
}

/// <summary>Every operator's policy; an operator without one always runs its reference kernel.</summary>
public static class SelectionPolicies
{
    public static IReadOnlyList<SelectionPolicy> All { get; } =
    [
        .. ConvSelection.Policies,
        .. GemmSelection.Policies,
        .. Int16Selection.Policies,
        .. PoolSelection.Policies,
        .. ElementwiseSelection.Policies,
        .. RecurrentSelection.Policies,
        .. NormalizationSelection.Policies,
        .. UpsamplingSelection.Policies,
    ];

    public static SelectionPolicy? For(OpType op, DataType type)
    {
        foreach (var p in All) if (p.Op == op && p.Type == type) return p;
        return null;
    }

    /// <summary>The candidate naming <paramref name="variant"/>, in whichever policy holds it.</summary>
    public static Candidate? CandidateFor(string variant)
    {
        foreach (var p in All)
            foreach (var c in p.Order)
                if (c.Variant == variant) return c;
        return null;
    }

    /// <summary>Whether <paramref name="variant"/>'s policy prefers it for this node where it is exact and supported (its <see cref="Candidate.When"/>).</summary>
    public static bool IsPreferred(string variant, KernelSetup s) =>
        CandidateFor(variant) is { } c && (c.When == null || KernelEntry.ExactOrDeclined(c.When, s));
}

/// <summary>
/// A Conv and the operator reading its output (<see cref="Pool"/>: a MaxPool 2x2/2, or a LookupTable or Add for the
/// epilogue) the session may run as one kernel (<see cref="ConvPoolFusion.Plan"/>).
/// </summary>
public sealed record FusionSite(KernelSetup Pool, bool SharesInput);

/// <summary>The kernel chosen for a node, and why (shown by `edgenets inspect` and `bench --profile`).</summary>
public sealed record KernelChoice(KernelEntry Entry, FusedConvPoolEntry? Fused, string Why)
{
    public string Name => Fused?.Name ?? Entry.Name;
}
