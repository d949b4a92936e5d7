using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeNets.Runtime.Kernels;

/// <summary>The instruction sets kernels may use on this CPU, as the JIT or AOT compiler reports them.</summary>
public static class CpuFeatures
{
    public static string Describe()
    {
        var features = new List<string>();
        if (Sse41.IsSupported) features.Add("SSE4.1");
        if (Avx2.IsSupported) features.Add("AVX2");
        if (Fma.IsSupported) features.Add("FMA");
        if (Avx512BW.IsSupported) features.Add("AVX-512BW");
        if (AvxVnni.IsSupported) features.Add("AVX-VNNI");
        if (AdvSimd.IsSupported) features.Add("AdvSimd");
        if (AdvSimd.Arm64.IsSupported) features.Add("AdvSimd.Arm64");
        if (Dp.IsSupported) features.Add("Dp(SDOT)");
        return features.Count == 0 ? "scalar only" : string.Join(' ', features);
    }
}
