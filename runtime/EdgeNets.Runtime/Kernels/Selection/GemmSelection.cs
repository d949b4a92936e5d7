using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Selection;

/// <summary>Gemm and MatMul of two run-time tensors: the widest multiply-add of this CPU first (tools/benchmarks/README.md, "Gemm").</summary>
public static class GemmSelection
{
    /// <summary>Rows of A from which the broadcast form beats dot products along K.</summary>
    public const int BroadcastMinRows = 8;

    public static SelectionPolicy[] Policies { get; } =
    [
        new(OpType.Gemm, DataType.Int8,
            new Candidate("GemmInt8_AvxVnni", "vpdpbusd: 4 products per lane"),
            new Candidate("BroadcastGemmInt8_AdvSimdDot", $"SDOT by row quadruplets against 16 outputs (no horizontal sums): from {BroadcastMinRows} rows",
                s => new GemmKernels.GemmShape(s, DataType.Int8, DataType.Int32).Rows >= BroadcastMinRows),
            new Candidate("GemmInt8_AdvSimdDot", "SDOT: 4 products per lane"),
            new Candidate("GemmInt8_AdvSimd", "arm64 without SDOT: SMULL/SMLAL pairs + SADALP, 8 products per multiply"),
            new Candidate("BroadcastGemmInt8_Avx2", $"int16 pairs on 256 bits, each row broadcast against 8 outputs (no horizontal sums): from {BroadcastMinRows} rows",
                s => new GemmKernels.GemmShape(s, DataType.Int8, DataType.Int32).Rows >= BroadcastMinRows),
            new Candidate("GemmInt8_Avx2", "int16 pairs on 256 bits"),
            new Candidate("GemmInt8_Vector128", "int16 pairs on 128 bits")),
        new(OpType.MatMul, DataType.Int8,
            new Candidate("MatMulInt8_Avx512", "int16 pairs on 512 bits, the right operand packed per run"),
            new Candidate("MatMulInt8_Avx2", "int16 pairs on 256 bits, the right operand packed per run"),
            new Candidate("MatMulInt8_AdvSimdDot", "SDOT by row quadruplets, the right operand packed per run"),
            new Candidate("MatMulInt8_AdvSimd", "SMLAL by row element, the right operand packed per run")),
        new(OpType.Gemm, DataType.Float32,
            new Candidate("GemmFloat32_Avx2", "256-bit multiply and add (no FMA: the reference's rounding)"),
            new Candidate("GemmFloat32_Vector128", "128-bit multiply and add")),
    ];
}
