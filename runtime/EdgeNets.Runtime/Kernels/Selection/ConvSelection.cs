using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Selection;

/// <summary>
/// Conv: which variant runs a node, fused Conv + MaxPool 2x2/2 and Conv + epilogue (LookupTable, residual Add) variants
/// included (a fused candidate is taken only where the session found its pattern, and stands before the plain variants
/// it beats). Variants say what they compute
/// exactly; the conditions here are where they measured faster, per `edgenets bench --kernels` and
/// tools/benchmarks/README.md ("Conv kernel choice").
/// </summary>
public static class ConvSelection
{
    /// <summary>Input channels up to which the fused direct AVX-VNNI kernel beats Winograd on first layers.</summary>
    public const int DirectPooledMaxChannels = 8;
    /// <summary>Input channels up to which a 2-D Conv without pool runs on the direct AVX-VNNI kernel.</summary>
    public const int Direct2dMaxChannels = 16;
    /// <summary>
    /// Input channels and 2x2 output tiles from which Winograd beats the direct kernels of its width: below, the output
    /// transform and requantization of every pixel cost more than the multiplications saved, and a GEMM block of tiles
    /// is mostly padding.
    /// </summary>
    public const int WinogradMinChannels = 8, WinogradMinTiles = 16;
    /// <summary>
    /// The same for Winograd fused with the pool: three of every four pixels skip requantization and stores and the
    /// pool's pass is gone, so it wins well below the plain thresholds.
    /// </summary>
    public const int WinogradPooledMinChannels = 1, WinogradPooledMinTiles = 9;

    /// <summary>
    /// Output pixels per image below which the channel-lane GEMM beats the pixel-lane one (Winograd, where preferred,
    /// stands before both): under two whole 32-pixel blocks, the pixel-lane kernel's last block is part empty or a
    /// 256-bit one.
    /// </summary>
    public const int ChannelLanesBelowPixels = 64;
    /// <summary>Output channels per group from which the channel-lane GEMM's 32-channel blocks are full enough.</summary>
    public const int ChannelLanesMinChannels = 32;

    public static SelectionPolicy[] Policies { get; } =
    [
        new(OpType.Conv, DataType.Int8,
            new Candidate("Conv2dInt8_MatrixVector_Avx512", "1x1 on a one-pixel map (squeeze-excite): a matrix-vector product, 16 outputs per multiply-add instead of one of 32 GEMM columns"),
            Fused("DirectConv3x3MaxPool2x2Int8_AvxVnni", "first layers (few channels, rows filling 32-pixel blocks): direct vpdpbusd products beat Winograd", DirectPooledPreferred),
            new Candidate("DirectConvInt8_AvxVnni", "1x1 planes, 1-D Convs and 2-D ones on few channels with rows filling 32-pixel blocks: no im2col matrix", DirectPreferred),
            Fused("WinogradConv3x3MaxPool2x2Int8_Avx512", "3x3 with a 2x2/2 pool on 9 tiles or more: fewer multiplies, one requantization per window", WinogradPooledPreferred),
            new Candidate("WinogradConv3x3Int8_Avx512", "3x3 on 8 channels and 16 tiles or more: 2.25x fewer multiplies than direct", WinogradPreferred),
            Fused("WinogradConv3x3MaxPool2x2Int8_Avx2", "3x3 with a 2x2/2 pool on 9 tiles or more", WinogradPooledPreferred),
            new Candidate("Conv2dInt8_ChannelLanes_Avx512", "small maps with many output channels: 32-channel blocks stay full where 32-pixel blocks would be mostly empty", ChannelLanesPreferred),
            Fused("Conv2dEpilogueInt8_Avx512", EpilogueWhy, EpiloguePreferred),
            new Candidate("Conv2dInt8_Avx512", "im2col GEMM, 8x32 register blocks of 512-bit multiply-adds"),
            new Candidate("WinogradConv3x3Int8_Avx2", "3x3 on 8 channels and 16 tiles or more", WinogradPreferred),
            Fused("Conv2dEpilogueInt8_AdvSimdDot", EpilogueArmWhy, EpiloguePreferred),
            new Candidate("Conv2dInt8_AdvSimdDot", "GEMM with SDOT (8x8 blocks, no im2col where rows fill blocks): 4 products per lane, ahead of Winograd's int16 products"),
            Fused("Conv2dEpilogueInt8_AdvSimd", EpilogueArmWhy, EpiloguePreferred),
            new Candidate("Conv2dInt8_AdvSimd", "arm64 without SDOT: SMULL/SMLAL pairs + SADALP, 8 products per multiply, fewer instructions than Winograd's int16 products"),
            Fused("Conv2dEpilogueInt8_AvxVnni", EpilogueWhy, EpiloguePreferred),
            new Candidate("Conv2dInt8_AvxVnni", "im2col GEMM with vpdpbusd: twice AVX2's products per instruction"),
            new Candidate("DepthwiseConv2dInt8_ChannelLanes_Avx512", "depthwise on small maps: 16 channels along the lanes, two taps per 512-bit multiply-add",
                DepthwiseLanesAvx512Preferred),
            new Candidate("DepthwiseConv2dInt8_Avx512", "depthwise: per-channel planes, 512-bit requantization"),
            Fused("WinogradConv3x3MaxPool2x2Int8_Vector128", "3x3 with a 2x2/2 pool on 9 tiles or more", WinogradPooledPreferred),
            Fused("Conv2dEpilogueInt8_Avx2", EpilogueWhy, EpiloguePreferred),
            new Candidate("Conv2dInt8_Avx2", "im2col GEMM, int16 pairs on 256 bits"),
            new Candidate("WinogradConv3x3Int8_Vector128", "3x3 on 8 channels and 16 tiles or more", WinogradPreferred),
            new Candidate("DepthwiseConv2dInt8_Avx2", "depthwise: per-channel planes on 256 bits"),
            Fused("Conv2dEpilogueInt8_Vector128", EpilogueWhy, EpiloguePreferred),
            new Candidate("Conv2dInt8_Vector128", "im2col GEMM, int16 pairs on 128 bits"),
            new Candidate("DepthwiseConv2dInt8_ChannelLanes_AdvSimd", "arm64 depthwise on small maps: 16 channels along the lanes fill vectors that one channel's plane would not",
                DepthwiseLanesPreferred),
            new Candidate("DepthwiseConv2dInt8_AdvSimd", "arm64 depthwise, strides 1 and 2: SMULL/SMLAL int8 products on raw inputs (SDOT rows on the A76)"),
            new Candidate("DepthwiseConv2dInt8_Vector128", "depthwise: per-channel planes on 128 bits")),
        new(OpType.Conv, DataType.Float32,
            new Candidate("Conv2dFloat32_Avx2", "im2col GEMM on 256 bits"),
            new Candidate("DepthwiseConv2dFloat32_Avx2", "depthwise: per-channel planes, a lane per output pixel on 256 bits"),
            new Candidate("Conv2dFloat32_Vector128", "im2col GEMM on 128 bits"),
            new Candidate("DepthwiseConv2dFloat32_Vector128", "depthwise: per-channel planes, a lane per output pixel on 128 bits")),
    ];

    /// <summary>
    /// Channels along the lanes when one channel's plane fills its 16-output blocks poorly. Lanes: the per-channel
    /// kernel's (blocks per channel x 16 x channels) against the lane kernel's (16-channel groups x 16-pixel blocks x
    /// 256). The per-channel 3x3 loops keep their weights in registers (and use SDOT rows at stride 1 on the A76), so
    /// 3x3 needs twice the lanes (three times with SDOT) before the lane kernel wins; other kernels a quarter more
    /// (tools/benchmarks/README.md, "The zoo on ARM").
    /// </summary>
    private static bool DepthwiseLanesPreferred(KernelSetup s)
    {
        var g = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32).Window;
        long perChannel = (long)DepthwiseConvInt8AdvSimd.BlocksPerChannel(g) * 16 * g.C;
        long lanes = (long)(g.C + 15) / 16 * ((g.OutH * g.OutW + 15) / 16) * 256;
        if (g.KernelH * g.KernelW != 9) return 4 * perChannel >= 5 * lanes;
        bool dot = System.Runtime.Intrinsics.Arm.Dp.IsSupported && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1;
        return perChannel >= (dot ? 3 : 2) * lanes;
    }

    /// <summary>
    /// Channels along the lanes on AVX-512 for maps of up to 64 output pixels, and up to 144 where the per-channel
    /// kernel's 16-output blocks are less than 80 % filled (narrow maps, stride 2): beyond, its blocks and its
    /// requantization of a whole block per channel constants win (tools/benchmarks/README.md, "The zoo on x86:
    /// depthwise lanes and one-pixel 1x1").
    /// </summary>
    private static bool DepthwiseLanesAvx512Preferred(KernelSetup s)
    {
        var g = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32).Window;
        int pixels = g.OutH * g.OutW;
        if (g.C < 16 || pixels > 144) return false;
        return pixels <= 64 || 5 * pixels < 4 * 16 * DepthwiseConvInt8.BlocksPerChannel(g);
    }

    private const string EpilogueWhy = "exact, but not preferred: the GEMM with the LookupTable or residual Add in its epilogue measured slower "
        + "than the plain GEMM and the separate kernel (tools/benchmarks/README.md, \"Conv epilogues\")";

    private const string EpilogueArmWhy = "exact, but not preferred on arm64: the Add's rescale in the epilogue runs the generic 128-bit fixed-point "
        + "code, more instructions than the separate AdvSimd Add kernel saves (tools/benchmarks/README.md, \"Conv epilogues\")";

    /// <summary>
    /// Whether sessions take the Conv epilogue variants where they apply. Off: the epilogue costs more than the pass it
    /// removes (more instructions under armcost, a longer median on x86); the variants stay registered and verified,
    /// and the fusion tests turn this on to exercise the session's fusion path.
    /// </summary>
    internal static bool PreferEpilogues { get; set; }

    private static bool EpiloguePreferred(KernelSetup s) => PreferEpilogues;

    private static Candidate Fused(string variant, string why, Func<KernelSetup, bool>? when = null) => new(variant, why, when) { Fused = true };

    private static bool ChannelLanesPreferred(KernelSetup s)
    {
        var shape = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32);
        return shape.Window.OutH * shape.Window.OutW < ChannelLanesBelowPixels && shape.OutChannelsPerGroup >= ChannelLanesMinChannels;
    }

    private static bool DirectPooledPreferred(KernelSetup s) =>
        s.Input(0).Shape[1] <= DirectPooledMaxChannels && ConvInt8DirectVnni.FillsBlocks(s.Output(0).Shape[^1]);

    private static bool DirectPreferred(KernelSetup s)
    {
        var g = new ConvKernels.ConvShape(s, DataType.Int8, DataType.Int32).Window;
        if (ConvInt8DirectVnni.IsFlat(g)) return true;
        return ConvInt8DirectVnni.FillsBlocks(g.OutW) && (s.Input(0).Rank == 3 || g.C <= Direct2dMaxChannels);
    }

    private static long Tiles(KernelSetup s)
    {
        var output = s.Output(0).Shape;
        return (long)((output[2] + 1) / 2) * ((output[3] + 1) / 2);
    }

    private static bool WinogradPreferred(KernelSetup s) => s.Input(0).Shape[1] >= WinogradMinChannels && Tiles(s) >= WinogradMinTiles;

    private static bool WinogradPooledPreferred(KernelSetup s) => s.Input(0).Shape[1] >= WinogradPooledMinChannels && Tiles(s) >= WinogradPooledMinTiles;
}
