using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeNets.Runtime.Kernels;

/// <summary>
/// The instruction sets kernel variants are written for: the one vocabulary of the registry, the kernels, variant names
/// (the suffix of <c>{Op}{Type}_{Algorithm}_{Isa}</c>) and the docs.
/// </summary>
public enum Isa
{
    /// <summary>Plain C#: the reference kernels and portable scalar variants.</summary>
    Scalar,
    /// <summary>128-bit vectors on either architecture: SSE4.1 on x64, AdvSimd on arm64.</summary>
    Vector128,
    /// <summary>arm64 AdvSimd-specific code (widening int8 multiplies and pairwise adds, ARMv8.0: Cortex-A72 and later).</summary>
    AdvSimd,
    /// <summary>arm64 SDOT (ARMv8.2 dot product: Cortex-A76 and later): 4 int8 products per int32 lane.</summary>
    AdvSimdDot,
    /// <summary>x64 AVX2: 256-bit vectors.</summary>
    Avx2,
    /// <summary>x64 AVX-VNNI: 256-bit vpdpbusd, 4 uint8 × int8 products per int32 lane.</summary>
    AvxVnni,
    /// <summary>x64 AVX-512 (F and BW): 512-bit vectors.</summary>
    Avx512,
    /// <summary>x64 AVX-512 VBMI on top of <see cref="Avx512"/>: byte permutes across two 64-byte registers (vpermi2b).</summary>
    Avx512Vbmi,
}

public static class IsaSupport
{
    /// <summary>Whether this CPU, as the JIT or AOT compiler reports it, runs code written for <paramref name="isa"/>.</summary>
    public static bool IsSupported(this Isa isa) => isa switch
    {
        Isa.Scalar => true,
        Isa.Vector128 => Sse41.IsSupported || AdvSimd.Arm64.IsSupported,
        Isa.AdvSimd => AdvSimd.Arm64.IsSupported,
        Isa.AdvSimdDot => Dp.IsSupported && AdvSimd.Arm64.IsSupported,
        Isa.Avx2 => Avx2.IsSupported,
        Isa.AvxVnni => AvxVnni.IsSupported,
        Isa.Avx512 => Avx512BW.IsSupported && Avx2.IsSupported,
        Isa.Avx512Vbmi => Avx512Vbmi.IsSupported && Avx512BW.IsSupported && Avx2.IsSupported,
        _ => false,
    };
}
