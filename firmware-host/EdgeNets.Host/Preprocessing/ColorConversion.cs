namespace EdgeNets.Host.Preprocessing;

/// <summary>
/// Pixel format conversions, all on a crop rectangle of the source and into interleaved 8-bit output.
/// YUV input is BT.601 "studio range" (Y 16..235, U/V 16..240) as V4L2 webcams and y4m files deliver it; the integer
/// coefficients are the usual 8-bit fixed-point form of R = 1.164(Y-16) + 1.596(V-128), G = 1.164(Y-16) - 0.813(V-128)
/// - 0.391(U-128), B = 1.164(Y-16) + 2.018(U-128). RGB to gray uses Pillow's ITU-R 601-2 luma weights.
/// </summary>
public static class ColorConversion
{
    private static byte Clip(int v) => (byte)(v < 0 ? 0 : v > 255 ? 255 : v);

    public static void YuvToRgb(int y, int u, int v, out byte r, out byte g, out byte b)
    {
        int c = 298 * (y - 16), d = u - 128, e = v - 128;
        r = Clip((c + 409 * e + 128) >> 8);
        g = Clip((c - 100 * d - 208 * e + 128) >> 8);
        b = Clip((c + 516 * d + 128) >> 8);
    }

    /// <summary>Studio-range luma to full-range gray (the same Y scaling as the RGB conversion).</summary>
    public static byte LumaToGray(int y) => Clip((298 * (y - 16) + 128) >> 8);

    /// <summary>Pillow's convert("L"): L = R*299/1000 + G*587/1000 + B*114/1000, in its 16-bit fixed point.</summary>
    public static byte RgbToGray(int r, int g, int b) => (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);

    /// <summary>Converts the crop rectangle of a frame into interleaved RGB (channels 3) or gray (channels 1).</summary>
    public static void Convert(Sources.FrameFormat format, ReadOnlySpan<byte> src, int width, int height,
        int cropX, int cropY, int cropW, int cropH, int channels, Span<byte> dst)
    {
        int o = 0;
        switch (format)
        {
            case Sources.FrameFormat.Rgb24:
                for (int y = cropY; y < cropY + cropH; y++)
                {
                    var row = src.Slice((y * width + cropX) * 3, cropW * 3);
                    if (channels == 3) { row.CopyTo(dst.Slice(o, row.Length)); o += row.Length; continue; }
                    for (int x = 0; x < row.Length; x += 3) dst[o++] = RgbToGray(row[x], row[x + 1], row[x + 2]);
                }
                break;
            case Sources.FrameFormat.Gray8:
                for (int y = cropY; y < cropY + cropH; y++)
                {
                    var row = src.Slice(y * width + cropX, cropW);
                    if (channels == 1) { row.CopyTo(dst.Slice(o, row.Length)); o += row.Length; continue; }
                    for (int x = 0; x < row.Length; x++) { dst[o++] = row[x]; dst[o++] = row[x]; dst[o++] = row[x]; }
                }
                break;
            case Sources.FrameFormat.Yuyv:
                for (int y = cropY; y < cropY + cropH; y++)
                {
                    var row = src.Slice(y * width * 2, width * 2);
                    for (int x = cropX; x < cropX + cropW; x++)
                    {
                        int pair = (x >> 1) * 4;
                        int luma = row[x * 2];
                        if (channels == 1) { dst[o++] = LumaToGray(luma); continue; }
                        YuvToRgb(luma, row[pair + 1], row[pair + 3], out dst[o], out dst[o + 1], out dst[o + 2]);
                        o += 3;
                    }
                }
                break;
            case Sources.FrameFormat.I420:
            {
                int chromaW = (width + 1) / 2, chromaH = (height + 1) / 2;
                var uPlane = src.Slice(width * height, chromaW * chromaH);
                var vPlane = src.Slice(width * height + chromaW * chromaH, chromaW * chromaH);
                for (int y = cropY; y < cropY + cropH; y++)
                {
                    for (int x = cropX; x < cropX + cropW; x++)
                    {
                        int luma = src[y * width + x];
                        if (channels == 1) { dst[o++] = LumaToGray(luma); continue; }
                        int ci = (y >> 1) * chromaW + (x >> 1);
                        YuvToRgb(luma, uPlane[ci], vPlane[ci], out dst[o], out dst[o + 1], out dst[o + 2]);
                        o += 3;
                    }
                }
                break;
            }
            default:
                throw new InvalidDataException($"{format} frames are not images");
        }
    }
}
