using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Selection;

/// <summary>Conv and Gemm with int16 activations and int8 weights: the vector kernel of this CPU, for every node (tools/benchmarks/README.md, "int16 layers").</summary>
public static class Int16Selection
{
    public static SelectionPolicy[] Policies { get; } =
    [
        new(OpType.Conv, DataType.Int16,
            new Candidate("Conv2dInt16_Avx2", "GEMM over pixels, two taps per vpmaddwd, exact int32 blocks widened to int64"),
            new Candidate("Conv2dInt16_AdvSimd", "GEMM over pixels, SMLAL/SMLAL2 per tap, exact int32 blocks widened to int64")),
        new(OpType.Gemm, DataType.Int16,
            new Candidate("GemmInt16_Avx2", "dot products of int16 pairs (vpmaddwd), exact int32 blocks widened to int64"),
            new Candidate("GemmInt16_AdvSimd", "dot products by SMLAL/SMLAL2, exact int32 blocks widened to int64")),
    ];
}
