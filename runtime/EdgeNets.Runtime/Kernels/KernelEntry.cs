using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels;

/// <summary>
/// One kernel variant: which operator and element type it serves, the instruction set it needs, and what it computes
/// exactly. Whether it is also the fastest choice for a node is not its business but its operator's selection policy's
/// (<see cref="Selection.SelectionPolicies"/>).
/// </summary>
public sealed class KernelEntry
{
    /// <summary>A scalar reference kernel: the spec of its operator, taking every well-formed node.</summary>
    public KernelEntry(string name, OpType op, DataType type, Func<KernelSetup, OpKernel> create)
        : this(name, op, type, Isa.Scalar, create, null, isReference: true) { }

    private KernelEntry(string name, OpType op, DataType type, Isa isa, Func<KernelSetup, OpKernel> create, Func<KernelSetup, bool>? isExact, bool isReference)
    {
        Name = name;
        Op = op;
        Type = type;
        Isa = isa;
        Create = create;
        IsReference = isReference;
        _isExact = isExact ?? (_ => true);
    }

    /// <summary>
    /// An optimized variant. <paramref name="isExact"/> says which nodes it computes with the reference's bytes (null:
    /// every node the reference takes); it may assume a well-formed node and throw on a malformed one.
    /// </summary>
    public static KernelEntry Variant(string name, OpType op, DataType type, Isa isa, Func<KernelSetup, OpKernel> create, Func<KernelSetup, bool>? isExact = null) =>
        new(name, op, type, isa, create, isExact, isReference: false);

    private readonly Func<KernelSetup, bool> _isExact;

    /// <summary>Contract and implementation, <c>{Op}{Type}_{Algorithm}_{Isa}</c> (e.g. "WinogradConv3x3Int8_Avx2", "Conv2dInt8_Reference").</summary>
    public string Name { get; }
    public OpType Op { get; }
    public DataType Type { get; }
    public Isa Isa { get; }
    public Func<KernelSetup, OpKernel> Create { get; }
    public bool IsReference { get; }
    public bool IsSupported() => Isa.IsSupported();

    /// <summary>
    /// Whether this variant computes the node with the reference's bytes. False, not an exception, for a malformed node
    /// (the reference kernel then reports what is wrong).
    /// </summary>
    public bool IsExact(KernelSetup s) => IsReference || ExactOrDeclined(_isExact, s);

    /// <summary>The one place a variant's check meets a malformed node: declined, so the reference reports it with the op's name.</summary>
    internal static bool ExactOrDeclined(Func<KernelSetup, bool> check, KernelSetup s)
    {
        try
        {
            return check(s);
        }
        catch (Exception)
        {
            return false;
        }
    }
}
