namespace EdgeNets.Converter.Import;

/// <summary>How dynamic dimensions of the ONNX graph inputs become the static shapes the runtime needs.</summary>
public sealed class ImportOptions
{
    /// <summary>Replaces a dynamic (symbolic or missing) first dimension of every graph input.</summary>
    public int BatchSize { get; set; } = 1;

    /// <summary>Full static shapes for named graph inputs; overrides the shape declared in the model.</summary>
    public Dictionary<string, int[]> InputShapes { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Accepts default-domain opsets below the supported range (the older forms of the supported operators, e.g.
    /// Pad with a pads attribute, are understood). Used by the conformance tests on legacy ONNX test models.
    /// </summary>
    internal bool AcceptOlderOpsets { get; set; }
}
