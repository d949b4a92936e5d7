using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels.Optimized;


/// <summary>The bordered input copies and the im2col matrices of <see cref="ConvInt8Gemm"/> and the depthwise kernel.</summary>
internal static class Int8Im2col
{
    /// <summary>
    /// Copies the image into zero-bordered planes of x − zx as int16. The border holds zeros only: it is never written
    /// except by a row's last vector, which writes zeros past the row (masked lanes) over border cells or over cells of
    /// later rows, which are written afterwards. <paramref name="padded"/> needs 16 elements of slack past the planes.
    /// </summary>
    public static void Border16(ReadOnlySpan<sbyte> image, short[] padded, Window2d g, int paddedW, int paddedH, int zeroPoint)
    {
        int plane = paddedW * paddedH, width = g.W;
        var zx = Vector128.Create((short)zeroPoint);
        ref sbyte source = ref MemoryMarshal.GetReference(image);
        ref short destination = ref MemoryMarshal.GetArrayDataReference(padded);
        int tail = width % 16;
        // Lanes of the last vector that belong to the row: the rest become 0.
        var lane = Vector128.Create((short)0, 1, 2, 3, 4, 5, 6, 7);
        var keepLo = Vector128.LessThan(lane, Vector128.Create((short)tail));
        var keepHi = Vector128.LessThan(lane + Vector128.Create((short)8), Vector128.Create((short)tail));
        for (int c = 0; c < g.C; c++)
            for (int h = 0; h < g.H; h++)
            {
                int srcRow = (c * g.H + h) * width;
                ref sbyte src = ref Unsafe.Add(ref source, srcRow);
                ref short dst = ref Unsafe.Add(ref destination, c * plane + (h + g.PadTop) * paddedW + g.PadLeft);
                int i = 0;
                for (; i + 16 <= width; i += 16)
                {
                    var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
                    (lo - zx).StoreUnsafe(ref dst, (nuint)i);
                    (hi - zx).StoreUnsafe(ref dst, (nuint)i + 8);
                }
                if (tail == 0) continue;
                if (srcRow + i + 16 <= image.Length)
                {
                    var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
                    ((lo - zx) & keepLo).StoreUnsafe(ref dst, (nuint)i);
                    ((hi - zx) & keepHi).StoreUnsafe(ref dst, (nuint)i + 8);
                }
                else
                    for (; i < width; i++) Unsafe.Add(ref dst, i) = (short)(Unsafe.Add(ref src, i) - zeroPoint);
            }
    }

    /// <summary>
    /// Copies the image into planes bordered with the zero point (filled at prepare time, never written); with
    /// <paramref name="flipSign"/> as x + 128 in unsigned bytes (the sign bit flipped), for AVX-VNNI; channels
    /// [<paramref name="channelBegin"/>, <paramref name="channelEnd"/>) (threads may copy ranges at once).
    /// </summary>
    public static void Border8(ReadOnlySpan<sbyte> image, sbyte[] padded, Window2d g, int paddedW, int paddedH, bool flipSign, int channelBegin, int channelEnd)
    {
        int plane = paddedW * paddedH;
        if (!flipSign && AdvSimd.Arm64.IsSupported)
        {
            // Rows copied in vectors, the last one overlapping the one before (a call per row costs more than its
            // bytes on the small maps of most layers); nothing is written past a row, so the border stays.
            ref sbyte source = ref MemoryMarshal.GetReference(image);
            ref sbyte destination = ref MemoryMarshal.GetArrayDataReference(padded);
            int width = g.W, rows = g.H;
            for (int c = channelBegin; c < channelEnd; c++)
            {
                ref sbyte src = ref Unsafe.Add(ref source, c * rows * width);
                ref sbyte dst = ref Unsafe.Add(ref destination, c * plane + g.PadTop * paddedW + g.PadLeft);
                for (int h = 0; h < rows; h++)
                {
                    CopyRow(ref src, ref dst, width);
                    src = ref Unsafe.Add(ref src, width);
                    dst = ref Unsafe.Add(ref dst, paddedW);
                }
            }
            return;
        }
        for (int c = channelBegin; c < channelEnd; c++)
            for (int h = 0; h < g.H; h++)
            {
                var source = image.Slice((c * g.H + h) * g.W, g.W);
                var destination = padded.AsSpan(c * plane + (h + g.PadTop) * paddedW + g.PadLeft, g.W);
                if (flipSign) FlipSign(source, destination);
                else source.CopyTo(destination);
            }
    }

    /// <summary>Copies <paramref name="width"/> bytes with whole vectors, none past the end of either row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(ref sbyte src, ref sbyte dst, int width)
    {
        if (width >= 16)
        {
            int i = 0;
            for (; i + 16 <= width; i += 16) Vector128.LoadUnsafe(ref src, (nuint)i).StoreUnsafe(ref dst, (nuint)i);
            if (i < width) Vector128.LoadUnsafe(ref src, (nuint)(width - 16)).StoreUnsafe(ref dst, (nuint)(width - 16));
        }
        else if (width >= 8)
        {
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref dst), Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref src)));
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref dst, width - 8)), Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref src, width - 8))));
        }
        else if (width >= 4)
        {
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref dst), Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref src)));
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref dst, width - 4)), Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref src, width - 4))));
        }
        else
            for (int i = 0; i < width; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i);
    }

    /// <summary>
    /// The image as bordered planes of channel pairs for the implicit AdvSimd Conv: pixel (h, w) of channels 2p, 2p + 1
    /// at bytes 2·((h + padTop)·paddedW + w + padLeft) (+ 0, 1) of pair plane p (2·paddedW·paddedH bytes). The border
    /// holds the zero point, filled at prepare time and never written: rows are zipped in vectors, the last one
    /// overlapping the one before. Channel pairs [<paramref name="pairBegin"/>, <paramref name="pairEnd"/>).
    /// </summary>
    public static unsafe void InterleavePairs(ReadOnlySpan<sbyte> image, sbyte[] padded, Window2d g, int paddedW, int paddedH, int pairBegin, int pairEnd)
    {
        int width = g.W, rows = g.H;
        nint plane = (nint)paddedW * paddedH;
        fixed (sbyte* source = image)
        fixed (sbyte* destination = padded)
        {
            for (int pair = pairBegin; pair < pairEnd; pair++)
            {
                sbyte* a = source + (nint)2 * pair * rows * width;
                sbyte* b = a + rows * width;
                sbyte* d = destination + 2 * pair * plane + ((nint)g.PadTop * paddedW + g.PadLeft) * 2;
                for (int h = 0; h < rows; h++, a += width, b += width, d += 2 * paddedW)
                {
                    if (width >= 16)
                    {
                        for (int i = 0; ; i += 16)
                        {
                            if (i + 16 > width) i = width - 16;
                            var va = AdvSimd.LoadVector128(a + i);
                            var vb = AdvSimd.LoadVector128(b + i);
                            AdvSimd.Arm64.StorePair(d + 2 * i, AdvSimd.Arm64.ZipLow(va, vb), AdvSimd.Arm64.ZipHigh(va, vb));
                            if (i + 16 == width) break;
                        }
                    }
                    else if (width >= 8)
                    {
                        AdvSimd.Store(d, AdvSimd.Arm64.ZipLow(AdvSimd.LoadVector64(a).ToVector128Unsafe(), AdvSimd.LoadVector64(b).ToVector128Unsafe()));
                        AdvSimd.Store(d + 2 * (width - 8), AdvSimd.Arm64.ZipLow(AdvSimd.LoadVector64(a + width - 8).ToVector128Unsafe(), AdvSimd.LoadVector64(b + width - 8).ToVector128Unsafe()));
                    }
                    else
                    {
                        for (int i = 0; i < width; i++)
                        {
                            d[2 * i] = a[i];
                            d[2 * i + 1] = b[i];
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The image as bordered planes of channel quadruplets for the implicit SDOT Conv: pixel (h, w) of channels 4q..4q+3
    /// at bytes 4·((h + padTop)·paddedW + w + padLeft) (+ 0..3) of quadruplet plane q (4·paddedW·paddedH bytes). The
    /// border holds the zero point, filled at prepare time and never written.
    /// </summary>
    public static unsafe void InterleaveQuads(ReadOnlySpan<sbyte> image, sbyte[] padded, Window2d g, int paddedW, int paddedH)
    {
        int width = g.W, rows = g.H;
        nint plane = (nint)paddedW * paddedH, channel = (nint)rows * width;
        fixed (sbyte* source = image)
        fixed (sbyte* destination = padded)
        {
            for (int quad = 0; quad < g.C / 4; quad++)
            {
                sbyte* a = source + 4 * quad * channel;
                sbyte* d = destination + 4 * quad * plane + ((nint)g.PadTop * paddedW + g.PadLeft) * 4;
                for (int h = 0; h < rows; h++, a += width, d += 4 * paddedW)
                {
                    if (width >= 16)
                    {
                        for (int i = 0; ; i += 16)
                        {
                            if (i + 16 > width) i = width - 16;
                            StoreQuads(AdvSimd.LoadVector128(a + i), AdvSimd.LoadVector128(a + channel + i), AdvSimd.LoadVector128(a + 2 * channel + i),
                                AdvSimd.LoadVector128(a + 3 * channel + i), d + 4 * i);
                            if (i + 16 == width) break;
                        }
                    }
                    else if (width >= 8)
                    {
                        for (int i = 0; ; i = width - 8)
                        {
                            var ab = AdvSimd.Arm64.ZipLow(AdvSimd.LoadVector64(a + i).ToVector128Unsafe(), AdvSimd.LoadVector64(a + channel + i).ToVector128Unsafe()).AsInt16();
                            var ce = AdvSimd.Arm64.ZipLow(AdvSimd.LoadVector64(a + 2 * channel + i).ToVector128Unsafe(), AdvSimd.LoadVector64(a + 3 * channel + i).ToVector128Unsafe()).AsInt16();
                            AdvSimd.Arm64.StorePair(d + 4 * i, AdvSimd.Arm64.ZipLow(ab, ce).AsSByte(), AdvSimd.Arm64.ZipHigh(ab, ce).AsSByte());
                            if (i == width - 8) break;
                        }
                    }
                    else
                    {
                        for (int i = 0; i < width; i++)
                            for (int t = 0; t < 4; t++) d[4 * i + t] = a[t * channel + i];
                    }
                }
            }
        }
    }

    /// <summary>destination = source + 128 as unsigned bytes (the sign bit flipped).</summary>
    public static void FlipSign(ReadOnlySpan<sbyte> source, Span<sbyte> destination)
    {
        var signBit = Vector128.Create(sbyte.MinValue);
        ref sbyte src = ref MemoryMarshal.GetReference(source);
        ref sbyte dst = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        for (; i + 16 <= source.Length; i += 16) (Vector128.LoadUnsafe(ref src, (nuint)i) ^ signBit).StoreUnsafe(ref dst, (nuint)i);
        for (; i < source.Length; i++) Unsafe.Add(ref dst, i) = (sbyte)(Unsafe.Add(ref src, i) ^ sbyte.MinValue);
    }

    /// <summary>
    /// im2col of one group in tap pairs: columns[(step * rowStride + p) * 2 + t] = input of tap 2·step + t at pixel p.
    /// With stride 1 each output row is two contiguous input runs, interleaved 8 pixels at a time (AVX2: 16, AVX-512:
    /// 32 when the row is that long; stride 2: the even elements of two 16-element runs); the last vector of a row may
    /// spill into the next row's slots, which are written afterwards (the last row's spill, up to 31 pixels with
    /// AVX-512, lands in the row stride's slack), and its reads may run 31 elements past the row (the bordered buffer
    /// has 32 to spare).
    /// </summary>
    public static void Pairs(short[] padded, int inputBase, int[] tapOffsets, int steps, Window2d g, int paddedW, short[] columns, int rowStride, Isa isa)
    {
        bool zip512 = isa == Isa.Avx512 && g.OutW >= 32 && Avx512BW.IsSupported;
        bool zip256 = (isa == Isa.Avx2 || isa == Isa.Avx512) && g.OutW >= 16 && Avx2.IsSupported;
        // vpermt2w selectors: element i of the pair vector is a[i / 2] (even i) or b[i / 2] (odd i, index 32 + i / 2).
        var pickLo = Vector512.Create((short)0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39, 8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47);
        var pickHi = pickLo + Vector512.Create((short)16);
        ref short src = ref MemoryMarshal.GetArrayDataReference(padded);
        ref short dst = ref MemoryMarshal.GetArrayDataReference(columns);
        int outW = g.OutW;
        for (int step = 0; step < steps; step++)
        {
            int t0 = inputBase + tapOffsets[2 * step], t1 = inputBase + tapOffsets[2 * step + 1];
            ref short row = ref Unsafe.Add(ref dst, step * rowStride * 2);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                int s0 = t0 + oh * g.StrideH * paddedW, s1 = t1 + oh * g.StrideH * paddedW;
                ref short d = ref Unsafe.Add(ref row, oh * outW * 2);
                if (g.StrideW == 1 && zip512)
                {
                    for (int ow = 0; ow < outW; ow += 32)
                    {
                        var a = Vector512.LoadUnsafe(ref src, (nuint)(s0 + ow));
                        var b = Vector512.LoadUnsafe(ref src, (nuint)(s1 + ow));
                        Avx512BW.PermuteVar32x16x2(a, pickLo, b).StoreUnsafe(ref d, (nuint)(2 * ow));
                        Avx512BW.PermuteVar32x16x2(a, pickHi, b).StoreUnsafe(ref d, (nuint)(2 * ow + 32));
                    }
                }
                else if (g.StrideW == 1 && zip256)
                {
                    for (int ow = 0; ow < outW; ow += 16)
                    {
                        var a = Vector256.LoadUnsafe(ref src, (nuint)(s0 + ow));
                        var b = Vector256.LoadUnsafe(ref src, (nuint)(s1 + ow));
                        // Within 128-bit lanes: pixels 0-3 | 8-11 and 4-7 | 12-15, then the halves regrouped.
                        var lo = Avx2.UnpackLow(a, b);
                        var hi = Avx2.UnpackHigh(a, b);
                        Avx2.Permute2x128(lo, hi, 0x20).StoreUnsafe(ref d, (nuint)(2 * ow));
                        Avx2.Permute2x128(lo, hi, 0x31).StoreUnsafe(ref d, (nuint)(2 * ow + 16));
                    }
                }
                else if (g.StrideW == 1)
                {
                    for (int ow = 0; ow < outW; ow += 8)
                    {
                        var a = Vector128.LoadUnsafe(ref src, (nuint)(s0 + ow));
                        var b = Vector128.LoadUnsafe(ref src, (nuint)(s1 + ow));
                        Zip(a, b, out var lo, out var hi);
                        lo.StoreUnsafe(ref d, (nuint)(2 * ow));
                        hi.StoreUnsafe(ref d, (nuint)(2 * ow + 8));
                    }
                }
                else if (g.StrideW == 2)
                {
                    for (int ow = 0; ow < outW; ow += 8)
                    {
                        // The truncating narrow of int32 lanes keeps the even int16 elements: the stride-2 columns.
                        var a = Vector128.Narrow(Vector128.LoadUnsafe(ref src, (nuint)(s0 + 2 * ow)).AsInt32(), Vector128.LoadUnsafe(ref src, (nuint)(s0 + 2 * ow + 8)).AsInt32());
                        var b = Vector128.Narrow(Vector128.LoadUnsafe(ref src, (nuint)(s1 + 2 * ow)).AsInt32(), Vector128.LoadUnsafe(ref src, (nuint)(s1 + 2 * ow + 8)).AsInt32());
                        Zip(a, b, out var lo, out var hi);
                        lo.StoreUnsafe(ref d, (nuint)(2 * ow));
                        hi.StoreUnsafe(ref d, (nuint)(2 * ow + 8));
                    }
                }
                else
                {
                    int sw = g.StrideW;
                    for (int ow = 0; ow < outW; ow++)
                    {
                        Unsafe.Add(ref d, 2 * ow) = Unsafe.Add(ref src, s0 + ow * sw);
                        Unsafe.Add(ref d, 2 * ow + 1) = Unsafe.Add(ref src, s1 + ow * sw);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The pair columns of a 1x1 convolution straight from the int8 input of one group ([channels, pixels]):
    /// columns[(step * rowStride + p) * 2 + t] = x[2·step + t, p] − zx. An odd last channel is paired with zeros
    /// (its partner's weight is zero anyway).
    /// </summary>
    public static void ChannelPairs(ReadOnlySpan<sbyte> x, int channels, int pixels, int zeroPoint, short[] columns, int rowStride)
    {
        ref sbyte src = ref MemoryMarshal.GetReference(x);
        ref short dst = ref MemoryMarshal.GetArrayDataReference(columns);
        var zx = Vector128.Create((short)zeroPoint);
        for (int step = 0; step < (channels + 1) / 2; step++)
        {
            int c0 = 2 * step, c1 = c0 + 1;
            ref short row = ref Unsafe.Add(ref dst, step * rowStride * 2);
            ref sbyte a = ref Unsafe.Add(ref src, c0 * pixels);
            int p = 0;
            if (c1 < channels)
            {
                ref sbyte b = ref Unsafe.Add(ref src, c1 * pixels);
                for (; p + 16 <= pixels; p += 16)
                {
                    var (a0, a1) = Vector128.Widen(Vector128.LoadUnsafe(ref a, (nuint)p));
                    var (b0, b1) = Vector128.Widen(Vector128.LoadUnsafe(ref b, (nuint)p));
                    Zip(a0 - zx, b0 - zx, out var lo, out var hi);
                    lo.StoreUnsafe(ref row, (nuint)(2 * p));
                    hi.StoreUnsafe(ref row, (nuint)(2 * p + 8));
                    Zip(a1 - zx, b1 - zx, out lo, out hi);
                    lo.StoreUnsafe(ref row, (nuint)(2 * p + 16));
                    hi.StoreUnsafe(ref row, (nuint)(2 * p + 24));
                }
                for (; p < pixels; p++)
                {
                    Unsafe.Add(ref row, 2 * p) = (short)(Unsafe.Add(ref a, p) - zeroPoint);
                    Unsafe.Add(ref row, 2 * p + 1) = (short)(Unsafe.Add(ref b, p) - zeroPoint);
                }
            }
            else
            {
                for (; p < pixels; p++)
                {
                    Unsafe.Add(ref row, 2 * p) = (short)(Unsafe.Add(ref a, p) - zeroPoint);
                    Unsafe.Add(ref row, 2 * p + 1) = 0;
                }
            }
        }
    }

    /// <summary>
    /// im2col of one group in tap quadruplets for SDOT and AVX-VNNI: columns[(step * rowStride + p) * 4 + t]. With
    /// stride 1 rows are zipped 8 (x86: 16) pixels at a time; reads may run 15 bytes past a row (the bordered buffer
    /// has 32 to spare) and the last row's spill lands in the row stride's slack.
    /// </summary>
    public static unsafe void Quads(sbyte[] padded, int inputBase, int[] tapOffsets, int steps, Window2d g, int paddedW, sbyte[] columns, int rowStride)
    {
        if (AdvSimd.Arm64.IsSupported && g.StrideW is 1 or 2)
        {
            fixed (sbyte* input = padded)
            fixed (sbyte* output = columns)
            {
                QuadsNeon(input + inputBase, tapOffsets, steps, g, paddedW, output, rowStride);
            }
            return;
        }
        ref sbyte src = ref MemoryMarshal.GetArrayDataReference(padded);
        ref sbyte dst = ref MemoryMarshal.GetArrayDataReference(columns);
        int outW = g.OutW, sw = g.StrideW;
        for (int step = 0; step < steps; step++)
        {
            int t0 = inputBase + tapOffsets[4 * step], t1 = inputBase + tapOffsets[4 * step + 1];
            int t2 = inputBase + tapOffsets[4 * step + 2], t3 = inputBase + tapOffsets[4 * step + 3];
            ref sbyte row = ref Unsafe.Add(ref dst, step * rowStride * 4);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                int rowOffset = oh * g.StrideH * paddedW;
                ref sbyte d = ref Unsafe.Add(ref row, oh * outW * 4);
                if (sw == 1 && AdvSimd.Arm64.IsSupported)
                {
                    for (int ow = 0; ow < outW; ow += 8)
                    {
                        // Two zips: bytes of taps (0,1) and (2,3) into int16 pairs, then those pairs into quadruplets.
                        var a = Vector64.LoadUnsafe(ref src, (nuint)(t0 + rowOffset + ow)).ToVector128Unsafe();
                        var b = Vector64.LoadUnsafe(ref src, (nuint)(t1 + rowOffset + ow)).ToVector128Unsafe();
                        var c = Vector64.LoadUnsafe(ref src, (nuint)(t2 + rowOffset + ow)).ToVector128Unsafe();
                        var e = Vector64.LoadUnsafe(ref src, (nuint)(t3 + rowOffset + ow)).ToVector128Unsafe();
                        var ab = AdvSimd.Arm64.ZipLow(a, b).AsInt16();
                        var ce = AdvSimd.Arm64.ZipLow(c, e).AsInt16();
                        AdvSimd.Arm64.ZipLow(ab, ce).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow));
                        AdvSimd.Arm64.ZipHigh(ab, ce).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow + 16));
                    }
                }
                else if (sw == 1 && Sse2.IsSupported)
                {
                    for (int ow = 0; ow < outW; ow += 16)
                    {
                        // Bytes of taps (0,1) and (2,3) into int16 pairs, then those pairs into quadruplets; a
                        // row's last vector writes past it into slots written afterwards or into the stride's slack.
                        var a = Vector128.LoadUnsafe(ref src, (nuint)(t0 + rowOffset + ow));
                        var b = Vector128.LoadUnsafe(ref src, (nuint)(t1 + rowOffset + ow));
                        var c = Vector128.LoadUnsafe(ref src, (nuint)(t2 + rowOffset + ow));
                        var e = Vector128.LoadUnsafe(ref src, (nuint)(t3 + rowOffset + ow));
                        var abLo = Sse2.UnpackLow(a, b).AsInt16();
                        var abHi = Sse2.UnpackHigh(a, b).AsInt16();
                        var ceLo = Sse2.UnpackLow(c, e).AsInt16();
                        var ceHi = Sse2.UnpackHigh(c, e).AsInt16();
                        Sse2.UnpackLow(abLo, ceLo).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow));
                        Sse2.UnpackHigh(abLo, ceLo).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow + 16));
                        Sse2.UnpackLow(abHi, ceHi).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow + 32));
                        Sse2.UnpackHigh(abHi, ceHi).AsSByte().StoreUnsafe(ref d, (nuint)(4 * ow + 48));
                    }
                }
                else
                {
                    for (int ow = 0; ow < outW; ow++)
                    {
                        int o = rowOffset + ow * sw;
                        Unsafe.Add(ref d, 4 * ow) = Unsafe.Add(ref src, t0 + o);
                        Unsafe.Add(ref d, 4 * ow + 1) = Unsafe.Add(ref src, t1 + o);
                        Unsafe.Add(ref d, 4 * ow + 2) = Unsafe.Add(ref src, t2 + o);
                        Unsafe.Add(ref d, 4 * ow + 3) = Unsafe.Add(ref src, t3 + o);
                    }
                }
            }
        }
    }

    /// <summary>The even bytes of the 32 at <paramref name="src"/> (ld2): 16 pixels at stride 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector128<sbyte> LoadEven(sbyte* src) => AdvSimd.Arm64.Load2xVector128AndUnzip(src).Value1;

    /// <summary>
    /// <see cref="Quads"/> on AdvSimd at stride 1 or 2, 16 pixels per vector step from the pinned bordered input (from
    /// the group's first plane) into the pinned columns. Reads may run 31 bytes past a row (the bordered buffer has 32
    /// to spare); a row's last step may write up to 15 pixels past it, into slots written afterwards or into the row
    /// stride's slack.
    /// </summary>
    private static unsafe void QuadsNeon(sbyte* src, int[] tapOffsets, int steps, Window2d g, int paddedW, sbyte* dst, int rowStride)
    {
        int outW = g.OutW, outH = g.OutH;
        nint rowStep = (nint)g.StrideH * paddedW;
        for (int step = 0; step < steps; step++)
        {
            sbyte* a = src + tapOffsets[4 * step];
            nint d1 = tapOffsets[4 * step + 1] - tapOffsets[4 * step], d2 = tapOffsets[4 * step + 2] - tapOffsets[4 * step], d3 = tapOffsets[4 * step + 3] - tapOffsets[4 * step];
            sbyte* row = dst + (nint)step * rowStride * 4;
            for (int oh = 0; oh < outH; oh++, a += rowStep, row += 4 * outW)
            {
                sbyte* d = row;
                if (g.StrideW == 1)
                {
                    for (sbyte* p = a, end = a + outW; p < end; p += 16, d += 64)
                        StoreQuads(AdvSimd.LoadVector128(p), AdvSimd.LoadVector128(p + d1), AdvSimd.LoadVector128(p + d2), AdvSimd.LoadVector128(p + d3), d);
                }
                else
                {
                    for (sbyte* p = a, end = a + 2 * outW; p < end; p += 32, d += 64)
                        StoreQuads(LoadEven(p), LoadEven(p + d1), LoadEven(p + d2), LoadEven(p + d3), d);
                }
            }
        }
    }

    /// <summary>16 pixels of 4 taps (one vector per tap) as quadruplets: 64 bytes at <paramref name="d"/> (pinned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreQuads(Vector128<sbyte> a, Vector128<sbyte> b, Vector128<sbyte> c, Vector128<sbyte> e, sbyte* d)
    {
        var abLo = AdvSimd.Arm64.ZipLow(a, b).AsInt16();
        var abHi = AdvSimd.Arm64.ZipHigh(a, b).AsInt16();
        var ceLo = AdvSimd.Arm64.ZipLow(c, e).AsInt16();
        var ceHi = AdvSimd.Arm64.ZipHigh(c, e).AsInt16();
        AdvSimd.Arm64.StorePair(d, AdvSimd.Arm64.ZipLow(abLo, ceLo).AsSByte(), AdvSimd.Arm64.ZipHigh(abLo, ceLo).AsSByte());
        AdvSimd.Arm64.StorePair(d + 32, AdvSimd.Arm64.ZipLow(abHi, ceHi).AsSByte(), AdvSimd.Arm64.ZipHigh(abHi, ceHi).AsSByte());
    }

    /// <summary>
    /// SDOT quadruplets of a 1x1 convolution straight from the int8 input of one group ([channels, pixels]):
    /// columns[(step * rowStride + p) * 4 + t] = x[4·step + t, p]; channels past the last read as 0 (their weights are 0).
    /// </summary>
    public static unsafe void ChannelQuads(ReadOnlySpan<sbyte> x, int channels, int pixels, int steps, sbyte[] columns, int rowStride)
    {
        ref sbyte src = ref MemoryMarshal.GetReference(x);
        ref sbyte dst = ref MemoryMarshal.GetArrayDataReference(columns);
        fixed (sbyte* pinned = columns)
        for (int step = 0; step < steps; step++)
        {
            int c0 = 4 * step;
            ref sbyte row = ref Unsafe.Add(ref dst, step * rowStride * 4);
            int p = 0;
            if (c0 + 4 <= channels)
            {
                ref sbyte a = ref Unsafe.Add(ref src, c0 * pixels);
                ref sbyte b = ref Unsafe.Add(ref a, pixels);
                ref sbyte c = ref Unsafe.Add(ref b, pixels);
                ref sbyte e = ref Unsafe.Add(ref c, pixels);
                for (; p + 16 <= pixels; p += 16)
                    StoreQuads(Vector128.LoadUnsafe(ref a, (nuint)p), Vector128.LoadUnsafe(ref b, (nuint)p), Vector128.LoadUnsafe(ref c, (nuint)p),
                        Vector128.LoadUnsafe(ref e, (nuint)p), pinned + ((nint)step * rowStride + p) * 4);
                if (p + 8 <= pixels)
                {
                    // 8 pixels: the low halves' quadruplets only (32 bytes).
                    var ab = AdvSimd.Arm64.ZipLow(Vector64.LoadUnsafe(ref a, (nuint)p).ToVector128Unsafe(), Vector64.LoadUnsafe(ref b, (nuint)p).ToVector128Unsafe()).AsInt16();
                    var ce = AdvSimd.Arm64.ZipLow(Vector64.LoadUnsafe(ref c, (nuint)p).ToVector128Unsafe(), Vector64.LoadUnsafe(ref e, (nuint)p).ToVector128Unsafe()).AsInt16();
                    AdvSimd.Arm64.ZipLow(ab, ce).AsSByte().StoreUnsafe(ref row, (nuint)(4 * p));
                    AdvSimd.Arm64.ZipHigh(ab, ce).AsSByte().StoreUnsafe(ref row, (nuint)(4 * p + 16));
                    p += 8;
                }
            }
            for (; p < pixels; p++)
                for (int t = 0; t < 4; t++)
                    Unsafe.Add(ref row, 4 * p + t) = c0 + t < channels ? Unsafe.Add(ref src, (c0 + t) * pixels + p) : (sbyte)0;
        }
    }

    /// <summary>
    /// im2col of one group in int8 tap pairs for AdvSimd: columns[(r * rowStride + p) * 2 + t] = input of tap 2r + t at
    /// pixel p, for pair rows <paramref name="rowBegin"/> ≤ r &lt; <paramref name="rowEnd"/> (rows are independent, so
    /// threads may build ranges of them at once). Stride 1 zips two 16-byte runs per 16 pixels, stride 2
    /// takes the even bytes of 32 (ld2); a row's last vector may spill into the next row's slots, written afterwards (the
    /// last row's spill lands in the row stride's slack), and reads may run 31 bytes past a row (the bordered buffer has
    /// 32 to spare).
    /// </summary>
    public static unsafe void Pairs8(sbyte[] padded, int inputBase, int[] tapOffsets, int rowBegin, int rowEnd, Window2d g, int paddedW, sbyte[] columns, int rowStride)
    {
        int outW = g.OutW, outH = g.OutH, sw = g.StrideW;
        nint rowStep = (nint)g.StrideH * paddedW;
        fixed (sbyte* src = padded)
        fixed (sbyte* dst = columns)
        {
            for (int r = rowBegin; r < rowEnd; r++)
            {
                sbyte* a = src + inputBase + tapOffsets[2 * r];
                nint delta = tapOffsets[2 * r + 1] - tapOffsets[2 * r];
                sbyte* row = dst + (nint)r * rowStride * 2;
                for (int oh = 0; oh < outH; oh++, a += rowStep, row += 2 * outW)
                {
                    sbyte* d = row;
                    if (sw == 1)
                    {
                        for (sbyte* p = a, end = a + outW; p < end; p += 16, d += 32)
                        {
                            var va = AdvSimd.LoadVector128(p);
                            var vb = AdvSimd.LoadVector128(p + delta);
                            AdvSimd.Arm64.StorePair(d, AdvSimd.Arm64.ZipLow(va, vb), AdvSimd.Arm64.ZipHigh(va, vb));
                        }
                    }
                    else if (sw == 2)
                    {
                        for (sbyte* p = a, end = a + 2 * outW; p < end; p += 32, d += 32)
                        {
                            var va = LoadEven(p);
                            var vb = LoadEven(p + delta);
                            AdvSimd.Arm64.StorePair(d, AdvSimd.Arm64.ZipLow(va, vb), AdvSimd.Arm64.ZipHigh(va, vb));
                        }
                    }
                    else
                    {
                        for (int ow = 0; ow < outW; ow++)
                        {
                            d[2 * ow] = a[ow * sw];
                            d[2 * ow + 1] = a[ow * sw + delta];
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The int8 pair rows of a 1x1 convolution straight from the input of one group ([channels, pixels]):
    /// columns[(r * rowStride + p) * 2 + t] = x[2r + t, p] for pair rows <paramref name="rowBegin"/> ≤ r &lt;
    /// <paramref name="rowEnd"/>; channels past the last read as 0 (their weights are 0).
    /// </summary>
    public static void ChannelPairs8(ReadOnlySpan<sbyte> x, int channels, int pixels, int rowBegin, int rowEnd, sbyte[] columns, int rowStride)
    {
        ref sbyte src = ref MemoryMarshal.GetReference(x);
        ref sbyte dst = ref MemoryMarshal.GetArrayDataReference(columns);
        for (int r = rowBegin; r < rowEnd; r++)
        {
            int c0 = 2 * r;
            ref sbyte row = ref Unsafe.Add(ref dst, r * rowStride * 2);
            int p = 0;
            if (c0 + 2 <= channels)
            {
                ref sbyte a = ref Unsafe.Add(ref src, c0 * pixels);
                ref sbyte b = ref Unsafe.Add(ref a, pixels);
                for (; p + 16 <= pixels; p += 16)
                {
                    var va = Vector128.LoadUnsafe(ref a, (nuint)p);
                    var vb = Vector128.LoadUnsafe(ref b, (nuint)p);
                    AdvSimd.Arm64.ZipLow(va, vb).StoreUnsafe(ref row, (nuint)(2 * p));
                    AdvSimd.Arm64.ZipHigh(va, vb).StoreUnsafe(ref row, (nuint)(2 * p + 16));
                }
                if (p + 8 <= pixels)
                {
                    AdvSimd.Arm64.ZipLow(Vector64.LoadUnsafe(ref a, (nuint)p).ToVector128Unsafe(), Vector64.LoadUnsafe(ref b, (nuint)p).ToVector128Unsafe())
                        .StoreUnsafe(ref row, (nuint)(2 * p));
                    p += 8;
                }
            }
            for (; p < pixels; p++)
            {
                Unsafe.Add(ref row, 2 * p) = c0 < channels ? Unsafe.Add(ref src, c0 * pixels + p) : (sbyte)0;
                Unsafe.Add(ref row, 2 * p + 1) = c0 + 1 < channels ? Unsafe.Add(ref src, (c0 + 1) * pixels + p) : (sbyte)0;
            }
        }
    }

    /// <summary>Interleaves two vectors of int16: lo = a0 b0 a1 b1 a2 b2 a3 b3, hi = a4 b4 … a7 b7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zip(Vector128<short> a, Vector128<short> b, out Vector128<short> lo, out Vector128<short> hi)
    {
        if (Sse2.IsSupported)
        {
            lo = Sse2.UnpackLow(a, b);
            hi = Sse2.UnpackHigh(a, b);
        }
        else if (AdvSimd.Arm64.IsSupported)
        {
            lo = AdvSimd.Arm64.ZipLow(a, b);
            hi = AdvSimd.Arm64.ZipHigh(a, b);
        }
        else
        {
            lo = Vector128.Create(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3]);
            hi = Vector128.Create(a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7]);
        }
    }
}
