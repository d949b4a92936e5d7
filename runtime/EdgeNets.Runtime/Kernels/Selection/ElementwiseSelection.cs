using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Selection;

/// <summary>
/// Elementwise, lookup-table and data-movement operators. Binary variants are preferred only where their broadcast walk
/// has rows long enough for their vector loops (below, the per-row setup costs more than the reference's plain loop),
/// or, in int8, where the driver walks short rows with a per-row operand as blocks of rows.
/// </summary>
public static class ElementwiseSelection
{
    /// <summary>Shortest broadcast rows (unless there is only one) for which the vector binary kernels are taken.</summary>
    public const int MinInt8Row = 16, MinFloatRow = 4;

    public static SelectionPolicy[] Policies { get; } =
    [
        Binary(OpType.Add, DataType.Int8, MinInt8Row, "AddInt8_Avx512Vbmi", "AddInt8_Avx512", "AddInt8_Avx2", "AddInt8_Vector128"),
        Binary(OpType.Mul, DataType.Int8, MinInt8Row, "MulInt8_Avx512Vbmi", "MulInt8_Avx512", "MulInt8_Avx2", "MulInt8_Vector128"),
        Binary(OpType.Add, DataType.Float32, MinFloatRow, "AddFloat32_Avx2", "AddFloat32_Vector128"),
        Binary(OpType.Mul, DataType.Float32, MinFloatRow, "MulFloat32_Avx2", "MulFloat32_Vector128"),
        new(OpType.Relu, DataType.Float32, new Candidate("ReluFloat32_Avx2", "256 bits"), new Candidate("ReluFloat32_Vector128", "128 bits")),
        new(OpType.Clip, DataType.Float32, new Candidate("ClipFloat32_Avx2", "256 bits"), new Candidate("ClipFloat32_Vector128", "128 bits")),
        new(OpType.LookupTable, DataType.Int8, new Candidate("LookupTableInt8_Avx512Vbmi", "64 lookups per two 128-byte permutes (vpermi2b)"),
            new Candidate("LookupTableInt8_AdvSimd", "arm64: the table in 16 registers, TBL/TBX on 16 elements"),
            new Candidate("LookupTableInt8_Unrolled", "unrolled table reads, no vector gather")),
        new(OpType.Softmax, DataType.Int8,
            new Candidate("SoftmaxInt8_Avx512", "vector maximum and 16-lane normalization; each sum in index order, four slices side by side"),
            new Candidate("SoftmaxInt8_Avx2", "vector maximum and 8-lane normalization; each sum in index order, four slices side by side"),
            new Candidate("SoftmaxInt8_Vector128", "vector maximum and 4-lane normalization; each sum in index order, four slices side by side")),
        new(OpType.Transpose, DataType.Int8, new Candidate("TransposeInt8_Vector128", "merged axes, 16 x 16 byte tiles")),
        new(OpType.Concat, DataType.Int8, new Candidate("ConcatInt8_Avx2", "block copies; other scales requantized 256 bits wide"),
            new Candidate("ConcatInt8_AdvSimd", "block copies; other scales requantized with SQRDMULH"),
            new Candidate("ConcatInt8_Vector128", "block copies; other scales requantized 128 bits wide")),
    ];

    private static SelectionPolicy Binary(OpType op, DataType type, int minRow, params string[] widestFirst) =>
        new(op, type, [.. widestFirst.Select(v => new Candidate(v, $"vector loops over broadcast rows of {minRow} or more", s => RowsLongEnough(s, minRow)))]);

    /// <summary>One row, rows of at least <paramref name="minRow"/> elements, or int8 short rows that the driver walks in blocks.</summary>
    private static bool RowsLongEnough(KernelSetup s, int minRow)
    {
        var plan = BroadcastPlan.Create(s.Input(0).Shape, s.Input(1).Shape, s.Output(0).Shape);
        return plan != null && (plan.OuterCount <= 1 || plan.InnerCount >= minRow
            || s.Output(0).Type == DataType.Int8 && ElementwiseDriver.ExpandsShortRows(plan, s.Input(0).ElementCount, s.Input(1).ElementCount, s.Output(0).ElementCount));
    }
}
