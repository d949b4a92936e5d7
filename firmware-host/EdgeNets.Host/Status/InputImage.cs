using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Host.Status;

/// <summary>
/// A model input drawn as a picture (a 24-bit BMP, which every browser shows and which needs no encoder). Image inputs
/// ([1,C,H,W] or [1,H,W,C], 1 or 3 channels) are shown as the model sees them: dequantized, the normalization undone
/// and scaled back to 0..255. Any other input (a sensor window) is shown as a gray map of its last two axes, darkest at
/// its smallest value.
/// </summary>
public sealed class InputImage
{
    private readonly int[] _shape;
    private readonly bool _isInt8, _isImage, _channelsFirst;
    private readonly float _scale;
    private readonly int _zeroPoint, _channels;
    private readonly float[]? _mean, _std;

    /// <param name="input">The model input tensor (float32, or int8 with one scale).</param>
    /// <param name="mean">The host's input normalization, undone for display; null = none.</param>
    public InputImage(TensorInfo input, float[]? mean, float[]? std)
    {
        _shape = input.Shape;
        _isInt8 = input.Type == DataType.Int8;
        _scale = input.Quantization?.Scale ?? 1f;
        _zeroPoint = input.Quantization?.ZeroPoint ?? 0;
        _mean = mean;
        _std = std;
        if (_shape.Length == 4 && _shape[0] == 1 && _shape[1] is 1 or 3) { _isImage = _channelsFirst = true; _channels = _shape[1]; }
        else if (_shape.Length == 4 && _shape[0] == 1 && _shape[3] is 1 or 3) { _isImage = true; _channels = _shape[3]; }
        Height = _shape.Length >= 2 ? (_isImage ? (_channelsFirst ? _shape[2] : _shape[1]) : _shape[^2]) : 1;
        Width = _isImage ? (_channelsFirst ? _shape[3] : _shape[2]) : _shape[^1];
    }

    public int Width { get; }
    public int Height { get; }

    private float Value(ReadOnlySpan<byte> bytes, int i) =>
        _isInt8 ? ((sbyte)bytes[i] - _zeroPoint) * _scale : MemoryMarshal.Cast<byte, float>(bytes)[i];

    /// <summary>The RGB pixel (row-major, top row first) at x, y of the input in <paramref name="bytes"/>.</summary>
    public (byte R, byte G, byte B) Pixel(ReadOnlySpan<byte> bytes, int x, int y, float low, float high)
    {
        if (!_isImage)
        {
            float v = Value(bytes, y * Width + x);
            byte g = ToByte(high > low ? (v - low) / (high - low) : 0.5f);
            return (g, g, g);
        }
        Span<byte> rgb = stackalloc byte[3];
        for (int c = 0; c < 3; c++)
        {
            int channel = _channels == 1 ? 0 : c;
            int i = _channelsFirst ? (channel * Height + y) * Width + x : (y * Width + x) * _channels + channel;
            float v = Value(bytes, i);
            if (_std != null) v *= _std[_std.Length == 1 ? 0 : channel];
            if (_mean != null) v += _mean[_mean.Length == 1 ? 0 : channel];
            rgb[c] = ToByte(v);
        }
        return (rgb[0], rgb[1], rgb[2]);
    }

    private static byte ToByte(float unit) => (byte)Math.Clamp(MathF.Round(unit * 255f), 0f, 255f);

    /// <summary>The input as a bottom-up 24-bit BMP file.</summary>
    public byte[] ToBmp(ReadOnlySpan<byte> bytes)
    {
        float low = float.PositiveInfinity, high = float.NegativeInfinity;
        if (!_isImage)
        {
            int count = Width * Height;
            for (int i = 0; i < count; i++) { float v = Value(bytes, i); low = Math.Min(low, v); high = Math.Max(high, v); }
        }
        int stride = (Width * 3 + 3) & ~3;
        var file = new byte[54 + stride * Height];
        file[0] = (byte)'B'; file[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(2), file.Length);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(18), Width);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(22), Height);
        BinaryPrimitives.WriteInt16LittleEndian(file.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(file.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(34), stride * Height);
        for (int y = 0; y < Height; y++)
        {
            int row = 54 + (Height - 1 - y) * stride;
            for (int x = 0; x < Width; x++)
            {
                var (r, g, b) = Pixel(bytes, x, y, low, high);
                file[row + 3 * x] = b; file[row + 3 * x + 1] = g; file[row + 3 * x + 2] = r;
            }
        }
        return file;
    }
}
