using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Selection;

/// <summary>LayerNorm: the normalization and requantization on the widest vectors of doubles this CPU has.</summary>
public static class NormalizationSelection
{
    public static SelectionPolicy[] Policies { get; } =
    [
        new(OpType.LayerNorm, DataType.Int8,
            new Candidate("LayerNormInt8_Avx512", "8 doubles per step; exact integer sums for rows of 2^m values, else the squared deviations in index order"),
            new Candidate("LayerNormInt8_Avx2", "4 doubles per step; exact integer sums for rows of 2^m values, else the squared deviations in index order"),
            new Candidate("LayerNormInt8_Vector128", "2 doubles per step; exact integer sums for rows of 2^m values, else the squared deviations in index order")),
    ];
}
