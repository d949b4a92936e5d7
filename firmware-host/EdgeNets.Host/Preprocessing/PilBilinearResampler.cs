namespace EdgeNets.Host.Preprocessing;

/// <summary>
/// Resizes interleaved 8-bit images exactly like Pillow's <c>Image.resize(size, Image.BILINEAR)</c>, which is what the
/// example models were trained with. When shrinking, Pillow widens the triangle filter to cover the whole source
/// footprint (an antialiasing filter, not 2x2-tap bilinear), computes integer weights with 22 fractional bits, runs a
/// horizontal pass rounded to 8 bits, then a vertical pass. This class reproduces those steps; all buffers are
/// allocated once for a given geometry.
/// </summary>
public sealed class PilBilinearResampler
{
    private const int PrecisionBits = 32 - 8 - 2;
    private readonly int _channels;
    private readonly Pass _horizontal, _vertical;
    private readonly byte[] _temp;

    public PilBilinearResampler(int inWidth, int inHeight, int outWidth, int outHeight, int channels)
    {
        if (inWidth <= 0 || inHeight <= 0 || outWidth <= 0 || outHeight <= 0) throw new ArgumentException("image sizes must be positive");
        InWidth = inWidth; InHeight = inHeight; OutWidth = outWidth; OutHeight = outHeight;
        _channels = channels;
        _horizontal = new Pass(inWidth, outWidth);
        _vertical = new Pass(inHeight, outHeight);
        _temp = new byte[inHeight * outWidth * channels];
    }

    public int InWidth { get; }
    public int InHeight { get; }
    public int OutWidth { get; }
    public int OutHeight { get; }

    /// <summary>One direction's filter: for each output pixel, the first source pixel, the tap count and the weights.</summary>
    private sealed class Pass
    {
        public readonly int[] Start, Count, Weights;
        public readonly int KernelSize;

        public Pass(int inSize, int outSize)
        {
            double scale = (double)inSize / outSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = 1.0 * filterScale; // the bilinear (triangle) filter has support 1
            KernelSize = (int)Math.Ceiling(support) * 2 + 1;
            Start = new int[outSize];
            Count = new int[outSize];
            Weights = new int[outSize * KernelSize];
            var w = new double[KernelSize];
            for (int xx = 0; xx < outSize; xx++)
            {
                double center = (xx + 0.5) * scale;
                double inverseFilterScale = 1.0 / filterScale;
                int xmin = (int)(center - support + 0.5);
                if (xmin < 0) xmin = 0;
                int xmax = (int)(center + support + 0.5);
                if (xmax > inSize) xmax = inSize;
                xmax -= xmin;
                double total = 0;
                for (int x = 0; x < xmax; x++)
                {
                    double t = Math.Abs((x + xmin - center + 0.5) * inverseFilterScale);
                    w[x] = t < 1.0 ? 1.0 - t : 0.0;
                    total += w[x];
                }
                for (int x = 0; x < xmax; x++)
                {
                    double k = total != 0.0 ? w[x] / total : w[x];
                    Weights[xx * KernelSize + x] = k < 0 ? (int)(-0.5 + k * (1 << PrecisionBits)) : (int)(0.5 + k * (1 << PrecisionBits));
                }
                Start[xx] = xmin;
                Count[xx] = xmax;
            }
        }
    }

    private static byte Clip8(int accumulator)
    {
        int v = accumulator >> PrecisionBits;
        return (byte)(v < 0 ? 0 : v > 255 ? 255 : v);
    }

    /// <summary>Resizes <paramref name="source"/> (InWidth x InHeight x channels) into <paramref name="destination"/>.</summary>
    public void Resample(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int c = _channels;
        var temp = _temp.AsSpan();
        int k = _horizontal.KernelSize;
        for (int y = 0; y < InHeight; y++)
        {
            var row = source.Slice(y * InWidth * c, InWidth * c);
            var outRow = temp.Slice(y * OutWidth * c, OutWidth * c);
            for (int x = 0; x < OutWidth; x++)
            {
                int start = _horizontal.Start[x], count = _horizontal.Count[x];
                var weights = _horizontal.Weights.AsSpan(x * k, count);
                for (int ch = 0; ch < c; ch++)
                {
                    int acc = 1 << (PrecisionBits - 1);
                    for (int t = 0; t < count; t++) acc += row[(start + t) * c + ch] * weights[t];
                    outRow[x * c + ch] = Clip8(acc);
                }
            }
        }
        k = _vertical.KernelSize;
        int stride = OutWidth * c;
        for (int y = 0; y < OutHeight; y++)
        {
            int start = _vertical.Start[y], count = _vertical.Count[y];
            var weights = _vertical.Weights.AsSpan(y * k, count);
            var outRow = destination.Slice(y * stride, stride);
            for (int i = 0; i < stride; i++)
            {
                int acc = 1 << (PrecisionBits - 1);
                for (int t = 0; t < count; t++) acc += temp[(start + t) * stride + i] * weights[t];
                outRow[i] = Clip8(acc);
            }
        }
    }
}
