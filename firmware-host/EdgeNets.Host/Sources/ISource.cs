namespace EdgeNets.Host.Sources;

/// <summary>What a <see cref="Frame"/> carries.</summary>
public enum FrameFormat
{
    /// <summary>Float values already laid out like the model input (npy replay).</summary>
    Tensor,
    /// <summary>One sensor sample: a float per channel.</summary>
    Samples,
    /// <summary>Interleaved 8-bit R, G, B.</summary>
    Rgb24,
    /// <summary>8-bit luma.</summary>
    Gray8,
    /// <summary>Packed 4:2:2 Y0 U Y1 V (V4L2_PIX_FMT_YUYV).</summary>
    Yuyv,
    /// <summary>Planar 4:2:0: full Y plane, then quarter-size U and V planes.</summary>
    I420,
}

/// <summary>
/// One frame or sensor sample, valid until the next <see cref="ISource.Read"/>. The spans point into buffers the
/// source owns and reuses, so reading allocates nothing.
/// </summary>
public readonly ref struct Frame
{
    public Frame(FrameFormat format, int width, int height, ReadOnlySpan<byte> pixels, int label = -1)
    {
        Format = format;
        Width = width;
        Height = height;
        Pixels = pixels;
        Values = default;
        Label = label;
        Target = float.NaN;
    }

    public Frame(FrameFormat format, ReadOnlySpan<float> values, int label = -1, float target = float.NaN)
    {
        Format = format;
        Width = values.Length;
        Height = 1;
        Pixels = default;
        Values = values;
        Label = label;
        Target = target;
    }

    public FrameFormat Format { get; }
    public int Width { get; }
    public int Height { get; }
    public ReadOnlySpan<byte> Pixels { get; }
    public ReadOnlySpan<float> Values { get; }
    /// <summary>The true class for replayed, labelled data; -1 when unknown (live sources).</summary>
    public int Label { get; }
    /// <summary>The true value a regression model should report after this sample (replayed data); NaN when unknown.</summary>
    public float Target { get; }
}

public enum ReadStatus
{
    Frame,
    EndOfStream,
}

/// <summary>A camera, sensor or replay file. Not thread-safe; one reader.</summary>
public interface ISource : IDisposable
{
    /// <summary>The <c>--source</c> text, for messages.</summary>
    string Name { get; }

    /// <summary>Frames the source threw away because the reader was slower than the device (live sources only).</summary>
    long DroppedFrames { get; }

    /// <summary>Blocks until the next frame. Throws <see cref="IOException"/> when the device fails.</summary>
    ReadStatus Read(out Frame frame);
}
