using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Selection;

/// <summary>ConvTranspose and Upsample: the widest vectors of this CPU (each variant takes only the mode it computes).</summary>
public static class UpsamplingSelection
{
    public static SelectionPolicy[] Policies { get; } =
    [
        new(OpType.ConvTranspose, DataType.Int8,
            new Candidate("ConvTranspose2dInt8_Avx512", "GEMM of 512-bit vpmaddwd pairs, then col2im"),
            new Candidate("ConvTranspose2dInt8_Avx2", "GEMM of 256-bit vpmaddwd pairs, then col2im"),
            new Candidate("ConvTranspose2dInt8_AdvSimd", "GEMM of smlal int16 products, then col2im"),
            new Candidate("ConvTranspose2dInt8_Vector128", "GEMM of 128-bit int16 pairs, then col2im")),
        new(OpType.ConvTranspose, DataType.Float32,
            new Candidate("ConvTranspose2dFloat32_Avx2", "kernel = stride: one tap per output, 256-bit rows of input pixels"),
            new Candidate("ConvTranspose2dFloat32_Vector128", "kernel = stride: one tap per output, 128-bit rows of input pixels")),
        new(OpType.Upsample, DataType.Int8,
            new Candidate("BilinearUpsampleInt8_Avx2", "rows blended along W once, 256-bit blends along H"),
            new Candidate("BilinearUpsampleInt8_Vector128", "rows blended along W once, 128-bit blends along H"),
            new Candidate("NearestUpsampleInt8_Rows", "row copies instead of a per-element gather")),
        new(OpType.Upsample, DataType.Float32,
            new Candidate("BilinearUpsampleFloat32_Avx2", "rows blended along W once, 256-bit blends along H"),
            new Candidate("BilinearUpsampleFloat32_Vector128", "rows blended along W once, 128-bit blends along H"),
            new Candidate("NearestUpsampleFloat32_Rows", "row copies instead of a per-element gather")),
    ];
}
