using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Selection;

/// <summary>Pools: the widest vectors of this CPU.</summary>
public static class PoolSelection
{
    public static SelectionPolicy[] Policies { get; } =
    [
        new(OpType.MaxPool, DataType.Int8, new Candidate("MaxPool2dInt8_Avx2", "256-bit rows"),
            new Candidate("MaxPool2dInt8_AdvSimd", "128-bit rows, stride 2 by UZP1/UZP2"), new Candidate("MaxPool2dInt8_Vector128", "128-bit rows")),
        new(OpType.AveragePool, DataType.Int8, new Candidate("AveragePool2dInt8_Avx2", "256-bit running row sums"), new Candidate("AveragePool2dInt8_Vector128", "128-bit running row sums")),
        new(OpType.GlobalAveragePool, DataType.Int8, new Candidate("GlobalAveragePoolInt8_Avx2", "256-bit plane sums"), new Candidate("GlobalAveragePoolInt8_Vector128", "128-bit plane sums")),
        new(OpType.GlobalMaxPool, DataType.Int8, new Candidate("GlobalMaxPoolInt8_Avx2", "256-bit plane maxima"), new Candidate("GlobalMaxPoolInt8_Vector128", "128-bit plane maxima")),
    ];
}
