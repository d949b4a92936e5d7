using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// The AVX-512 GEMM with the output channels along the lanes (Conv2dInt8_ChannelLanes_Avx512), for maps too small to
/// fill the pixel-lane blocks: a late ResNet layer's 3x3 or 6x6 map leaves most of a 32-pixel block empty, while its
/// 256-512 channels fill 32-channel blocks. Same im2col columns and int16 pairs as the pixel-lane kernel; the weights
/// are packed 32 channels per step as int8 (sign-extended to int16 pairs in the tile: half the bytes to stream, which
/// matters where each weight meets only a few pixels), and each pixel's pair of taps is broadcast.
/// <para>
/// Exactness: the same int32 sums in another order (int32 addition wraps and is associative). The sums go through a
/// scratch matrix [pixel][channel] and come back per channel as pixel vectors (a gather), so the epilogue is the
/// pixel-lane kernel's per-channel <see cref="Requantizer"/>.
/// </para>
/// </summary>
internal sealed partial class ConvInt8Gemm
{
    /// <summary>Output channels per block of the channel-lane kernel: two 512-bit vectors of int32 sums.</summary>
    private const int LaneChannels = 32;
    /// <summary>
    /// Pixels per register tile of the channel-lane kernel (16 accumulators, 2 weight vectors, 1 broadcast); a last
    /// 4 or fewer take a half tile (a 3x3 map's ninth pixel would leave 7 of 8 rows of a whole tile idle).
    /// </summary>
    private const int LanePixels = 8;
    /// <summary>Output channels along the lanes (AVX-512 only).</summary>
    private readonly bool _channelLanes;
    /// <summary>Per group, per 32-channel block, per tap pair: the 32 channels' two int8 weights, channel after channel.</summary>
    private readonly sbyte[] _laneWeights = [];
    /// <summary>Channel-lane sums of one group: [pixel, rounded up to 16][channel, rounded up to 32].</summary>
    private readonly int[] _laneSums = [];

    /// <summary>The pixel-lane kernels' int16 pair per channel and step (int32 each) as two int8 weights.</summary>
    private static sbyte[] PackLaneWeights(int[] pairs)
    {
        var bytes = new sbyte[pairs.Length * 2];
        for (int i = 0; i < pairs.Length; i++)
        {
            bytes[2 * i] = (sbyte)(short)pairs[i];
            bytes[2 * i + 1] = (sbyte)(short)(pairs[i] >> 16);
        }
        return bytes;
    }

    /// <summary>Output channels [mBegin, mEnd) (mBegin a multiple of 32) of group <paramref name="grp"/> from the finished columns.</summary>
    private unsafe void GemmAvx512Lanes<TEpilogue>(int grp, Span<sbyte> output, int channel0, int mBegin, int mEnd, Span<sbyte> tail, in TEpilogue epilogue)
        where TEpilogue : struct, IInt8Epilogue
    {
        int steps = _steps, pitch = (_mpg + LaneChannels - 1) / LaneChannels * LaneChannels;
        nint stride = _rowStride * 2;
        var requant = new Requantizer<TEpilogue>(_bias, _multipliers, _shifts, _outputZeroPoint, _min, _max, channel0, epilogue);
        var rows = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * pitch;
        fixed (short* columns = _columns16)
        fixed (sbyte* packed = _laneWeights)
        fixed (int* sums = _laneSums)
        {
            for (int m0 = mBegin; m0 < mEnd; m0 += LaneChannels)
            {
                sbyte* wk = packed + ((long)grp * pitch + m0) * steps * 2;
                // Pixel tiles inside: the block's weights stay in L2 while the tiles pass over them.
                int p0 = 0;
                for (; _pixels - p0 > LanePixels / 2; p0 += LanePixels)
                    LaneTile<WholeLaneTile>((int*)(columns + p0 * 2), wk, steps, stride, sums + p0 * pitch + m0, pitch);
                if (p0 < _pixels) LaneTile<HalfLaneTile>((int*)(columns + p0 * 2), wk, steps, stride, sums + p0 * pitch + m0, pitch);
            }
            for (int m = mBegin; m < Math.Min(mEnd, _mpg); m++)
                for (int p0 = 0; p0 < _pixels; p0 += 16)
                {
                    int* first = sums + p0 * pitch + m;
                    var a = Vector512.Create(Avx2.GatherVector256(first, rows, 4), Avx2.GatherVector256(first + 8 * pitch, rows, 4));
                    requant.Store16(a, m, output, p0, Math.Min(16, _pixels - p0), _pixels, _mpg, tail);
                }
        }
    }

    /// <summary>Pixels of a channel-lane register tile, fixed per instantiation so the JIT drops the unused rows.</summary>
    private interface ILaneTile { static abstract bool Whole { get; } }
    /// <summary>8 pixels.</summary>
    private struct WholeLaneTile : ILaneTile { public static bool Whole => true; }
    /// <summary>4 pixels.</summary>
    private struct HalfLaneTile : ILaneTile { public static bool Whole => false; }

    /// <summary>
    /// 8 (4) pixels × 32 channels: per tap pair two 32-byte weight loads widened to int16 and 8 (4) pixel broadcasts
    /// feed 16 (8) multiply-adds; the sums go to <paramref name="sums"/> (row pitch <paramref name="pitch"/>). A method
    /// of its own so its accumulators get registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe void LaneTile<TTile>(int* col, sbyte* wk, int steps, nint stride, int* sums, int pitch) where TTile : struct, ILaneTile
    {
        Vector512<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        Vector512<int> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
        sbyte* end = wk + steps * LaneChannels * 2;
        for (; wk < end; wk += LaneChannels * 2, col = (int*)((short*)col + stride))
        {
            var w0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(wk));
            var w1 = Avx512BW.ConvertToVector512Int16(Vector256.Load(wk + 32));
            var x = Vector512.Create(col[0]).AsInt16();
            a00 += Avx512BW.MultiplyAddAdjacent(x, w0);
            a01 += Avx512BW.MultiplyAddAdjacent(x, w1);
            x = Vector512.Create(col[1]).AsInt16();
            a10 += Avx512BW.MultiplyAddAdjacent(x, w0);
            a11 += Avx512BW.MultiplyAddAdjacent(x, w1);
            x = Vector512.Create(col[2]).AsInt16();
            a20 += Avx512BW.MultiplyAddAdjacent(x, w0);
            a21 += Avx512BW.MultiplyAddAdjacent(x, w1);
            x = Vector512.Create(col[3]).AsInt16();
            a30 += Avx512BW.MultiplyAddAdjacent(x, w0);
            a31 += Avx512BW.MultiplyAddAdjacent(x, w1);
            if (!TTile.Whole) continue;
            x = Vector512.Create(col[4]).AsInt16();
            a40 += Avx512BW.MultiplyAddAdjacent(x, w0);
            a41 += Avx512BW.MultiplyAddAdjacent(x, w1);
            x = Vector512.Create(col[5]).AsInt16();
            a50 += Avx512BW.MultiplyAddAdjacent(x, w0);
            a51 += Avx512BW.MultiplyAddAdjacent(x, w1);
            x = Vector512.Create(col[6]).AsInt16();
            a60 += Avx512BW.MultiplyAddAdjacent(x, w0);
            a61 += Avx512BW.MultiplyAddAdjacent(x, w1);
            x = Vector512.Create(col[7]).AsInt16();
            a70 += Avx512BW.MultiplyAddAdjacent(x, w0);
            a71 += Avx512BW.MultiplyAddAdjacent(x, w1);
        }
        a00.Store(sums); a01.Store(sums + 16); sums += pitch;
        a10.Store(sums); a11.Store(sums + 16); sums += pitch;
        a20.Store(sums); a21.Store(sums + 16); sums += pitch;
        a30.Store(sums); a31.Store(sums + 16); sums += pitch;
        if (!TTile.Whole) return;
        a40.Store(sums); a41.Store(sums + 16); sums += pitch;
        a50.Store(sums); a51.Store(sums + 16); sums += pitch;
        a60.Store(sums); a61.Store(sums + 16); sums += pitch;
        a70.Store(sums); a71.Store(sums + 16);
    }
}
