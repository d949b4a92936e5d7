using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// The layout changes of the depthwise kernels with 16 channels along the lanes: a group's planes into one 16-byte row
/// per pixel, and a tile of 16 pixels' outputs (a row per pixel) back into the channels' planes.
/// </summary>
internal static class ChannelLaneTiles
{
    public const int Lanes = 16;

    /// <summary>
    /// The planes of one group (<paramref name="channels"/> of them, <paramref name="pixels"/> each) as one 16-byte row
    /// per pixel. In the last group of a channel count that is not a multiple of 16, or for planes of fewer than 16
    /// pixels, the lanes past the last channel keep what they hold; their outputs are never stored.
    /// </summary>
    public static void LoadRows(ReadOnlySpan<sbyte> planes, int channels, int pixels, Span<sbyte> rows)
    {
        ref sbyte x = ref MemoryMarshal.GetReference(planes);
        ref sbyte r = ref MemoryMarshal.GetReference(rows);
        if (channels == Lanes && pixels >= Lanes)
        {
            for (int start = 0; start < pixels; start += Lanes)
            {
                int p = Math.Min(start, pixels - Lanes);
                TransposeInt8Tiled.TransposeTile(ref Unsafe.Add(ref x, p), pixels,
                    ref Unsafe.Add(ref r, p * Lanes), Lanes);
            }
            return;
        }
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < pixels; p++)
                rows[p * Lanes + c] = planes[c * pixels + p];
    }

    /// <summary>
    /// A tile's 16 pixels (from <paramref name="block"/>) of each of the group's channels into their planes
    /// (<paramref name="output"/>: the group's planes, <paramref name="pixels"/> each); <paramref name="transposed"/>
    /// is a 256-byte scratch tile for groups that cannot take the transpose directly.
    /// </summary>
    public static void StoreBlock(ReadOnlySpan<sbyte> tile, Span<sbyte> transposed, Span<sbyte> output, int channels, int pixels, int block)
    {
        ref sbyte t = ref MemoryMarshal.GetReference(tile);
        ref sbyte y = ref MemoryMarshal.GetReference(output);
        if (channels == Lanes && pixels >= Lanes)
        {
            TransposeInt8Tiled.TransposeTile(ref t, Lanes, ref Unsafe.Add(ref y, block), pixels);
            return;
        }
        TransposeInt8Tiled.TransposeTile(ref t, Lanes, ref MemoryMarshal.GetReference(transposed), Lanes);
        int count = Math.Min(Lanes, pixels - block);
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < count; p++)
                output[c * pixels + block + p] = transposed[c * Lanes + p];
    }
}
