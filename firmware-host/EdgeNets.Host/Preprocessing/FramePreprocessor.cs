using EdgeNets.Host.Sources;

namespace EdgeNets.Host.Preprocessing;

/// <summary>How image and sensor frames become the model input.</summary>
public sealed class PreprocessOptions
{
    /// <summary>Crop rectangle in source pixels (x, y, width, height) applied before resizing; null = whole frame.</summary>
    public (int X, int Y, int Width, int Height)? Crop { get; set; }

    /// <summary>Per-channel normalization applied after scaling pixels to 0..1 (or to raw sensor values): (v - mean) / std.</summary>
    public float[]? Mean { get; set; }
    public float[]? Std { get; set; }

    /// <summary>Samples between two windows for windowed sensor models; 0 = window length (no overlap).</summary>
    public int Hop { get; set; }
}

/// <summary>
/// Turns frames into the model input. Image frames (RGB, gray, YUYV, I420) are cropped, converted, resized with
/// Pillow's bilinear filter and written as pixel/255 in the model's layout (NCHW or NHWC, 1 or 3 channels). Sensor
/// samples are collected into a sliding window ([1, T, C] or [1, C, T]) emitted every <see cref="PreprocessOptions.Hop"/>
/// samples. Ready-made tensors are copied. Int8 inputs are quantized straight into the session's input bytes.
/// </summary>
public sealed class FramePreprocessor
{
    private readonly ModelInput _input;
    private readonly PreprocessOptions _options;

    // Images: geometry of the model input, and buffers sized for the current source geometry.
    private readonly bool _isImage, _channelsFirst;
    private readonly int _imageChannels, _imageHeight, _imageWidth;
    private PilBilinearResampler? _resampler;
    private byte[] _converted = [];
    private byte[] _resized = [];
    private readonly float[][] _floatLut = [];
    private readonly sbyte[][] _int8Lut = [];
    private readonly byte[][] _saturatesLut = [];

    // Sensor windows.
    private float[] _window = [];
    private int _windowLength, _windowChannels, _head, _filled, _sinceEmit, _hop;
    private bool _timeFirst;

    public FramePreprocessor(ModelInput input, PreprocessOptions? options = null)
    {
        _input = input;
        _options = options ?? new PreprocessOptions();
        var shape = input.Shape;
        if (shape.Length == 4 && shape[0] == 1 && (shape[1] is 1 or 3))
        {
            _isImage = true; _channelsFirst = true;
            _imageChannels = shape[1]; _imageHeight = shape[2]; _imageWidth = shape[3];
        }
        else if (shape.Length == 4 && shape[0] == 1 && (shape[3] is 1 or 3))
        {
            _isImage = true;
            _imageHeight = shape[1]; _imageWidth = shape[2]; _imageChannels = shape[3];
        }
        if (_isImage)
        {
            _floatLut = new float[_imageChannels][];
            _int8Lut = new sbyte[_imageChannels][];
            _saturatesLut = new byte[_imageChannels][];
            for (int c = 0; c < _imageChannels; c++)
            {
                _floatLut[c] = new float[256];
                _int8Lut[c] = new sbyte[256];
                _saturatesLut[c] = new byte[256];
                for (int v = 0; v < 256; v++)
                {
                    float value = Normalize(v / 255f, c);
                    _floatLut[c][v] = value;
                    _int8Lut[c][v] = input.IsInt8 ? input.Quantize(value) : (sbyte)0;
                    _saturatesLut[c][v] = input.Saturates(value) ? (byte)1 : (byte)0;
                }
            }
        }
    }

    /// <summary>Samples per model input: the window length for sensor samples (once the first sample is seen), else 1.</summary>
    public int WindowLength => _windowLength > 0 ? _windowLength : 1;

    /// <summary>
    /// Values of the last model input written that saturated the int8 input (lay outside its calibrated range and were
    /// clamped to -128 or 127); always 0 for float inputs.
    /// </summary>
    public int LastSaturated { get; private set; }

    /// <summary>The resized 8-bit image of the last frame (height x width x channels), for tests and debugging.</summary>
    public ReadOnlySpan<byte> LastResized => _resized;

    private float Normalize(float value, int channel)
    {
        float mean = _options.Mean is { } m ? m[m.Length == 1 ? 0 : channel] : 0f;
        float std = _options.Std is { } s ? s[s.Length == 1 ? 0 : channel] : 1f;
        return (value - mean) / std;
    }

    /// <summary>Feeds one frame; true when the model input is complete and the model should run.</summary>
    public bool Process(in Frame frame)
    {
        switch (frame.Format)
        {
            case FrameFormat.Tensor:
                LastSaturated = _input.Write(frame.Values);
                return true;
            case FrameFormat.Samples:
                return PushSample(frame.Values);
            default:
                WriteImage(frame);
                return true;
        }
    }

    private void WriteImage(in Frame frame)
    {
        if (!_isImage)
            throw new InvalidDataException($"the source gives images but model input {_input.Tensor} is not [1,C,H,W] or [1,H,W,C] with 1 or 3 channels");
        var (cx, cy, cw, ch) = _options.Crop ?? (0, 0, frame.Width, frame.Height);
        if (cx < 0 || cy < 0 || cw <= 0 || ch <= 0 || cx + cw > frame.Width || cy + ch > frame.Height)
            throw new InvalidDataException($"crop {cx},{cy},{cw},{ch} does not fit a {frame.Width}x{frame.Height} frame");
        int c = _imageChannels;
        if (_resampler == null || _resampler.InWidth != cw || _resampler.InHeight != ch)
        {
            // Sources keep one geometry, so this runs once (again only if a replayed photo has another size).
            _resampler = new PilBilinearResampler(cw, ch, _imageWidth, _imageHeight, c);
            _converted = new byte[cw * ch * c];
            _resized = new byte[_imageWidth * _imageHeight * c];
        }
        ColorConversion.Convert(frame.Format, frame.Pixels, frame.Width, frame.Height, cx, cy, cw, ch, c, _converted);
        _resampler.Resample(_converted, _resized);

        int plane = _imageWidth * _imageHeight;
        var pixels = _resized.AsSpan();
        int saturated = 0;
        if (_input.IsInt8)
        {
            var dst = _input.Int8;
            for (int channel = 0; channel < c; channel++)
            {
                var lut = _int8Lut[channel];
                var saturates = _saturatesLut[channel];
                for (int p = 0; p < plane; p++)
                {
                    byte pixel = pixels[p * c + channel];
                    dst[_channelsFirst ? channel * plane + p : p * c + channel] = lut[pixel];
                    saturated += saturates[pixel];
                }
            }
        }
        else
        {
            var dst = _input.Floats;
            for (int channel = 0; channel < c; channel++)
            {
                var lut = _floatLut[channel];
                for (int p = 0; p < plane; p++)
                    dst[_channelsFirst ? channel * plane + p : p * c + channel] = lut[pixels[p * c + channel]];
            }
        }
        LastSaturated = saturated;
    }

    private void SetUpWindow(int channels)
    {
        var shape = _input.Shape;
        if (shape.Length == 2 && shape[0] == 1 && shape[1] == channels) { _windowLength = 1; _timeFirst = true; }
        else if (shape.Length == 3 && shape[0] == 1 && shape[2] == channels) { _windowLength = shape[1]; _timeFirst = true; }
        else if (shape.Length == 3 && shape[0] == 1 && shape[1] == channels) { _windowLength = shape[2]; _timeFirst = false; }
        else throw new InvalidDataException($"the source gives samples of {channels} channels; model input {_input.Tensor} is not [1,{channels}], [1,T,{channels}] or [1,{channels},T]");
        _windowChannels = channels;
        _window = new float[_windowLength * channels];
        _hop = _options.Hop > 0 ? _options.Hop : _windowLength;
        _head = _filled = _sinceEmit = 0;
    }

    private bool PushSample(ReadOnlySpan<float> sample)
    {
        if (_windowChannels != sample.Length) SetUpWindow(sample.Length);
        int c = _windowChannels;
        var slot = _window.AsSpan(_head * c, c);
        for (int i = 0; i < c; i++) slot[i] = Normalize(sample[i], i);
        _head = _head + 1 == _windowLength ? 0 : _head + 1;
        if (_filled < _windowLength) _filled++;
        _sinceEmit++;
        if (_filled < _windowLength || _sinceEmit < _hop) return false;
        _sinceEmit = 0;
        WriteWindow();
        return true;
    }

    /// <summary>Writes the window oldest sample first; the ring's head is the oldest slot once it is full.</summary>
    private void WriteWindow()
    {
        int c = _windowChannels, t = _windowLength;
        bool int8 = _input.IsInt8;
        var floats = int8 ? default : _input.Floats;
        var q = int8 ? _input.Int8 : default;
        int saturated = 0;
        for (int step = 0; step < t; step++)
        {
            int slot = _head + step;
            if (slot >= t) slot -= t;
            for (int ch = 0; ch < c; ch++)
            {
                float v = _window[slot * c + ch];
                int index = _timeFirst ? step * c + ch : ch * t + step;
                if (int8) q[index] = _input.Quantize(v, ref saturated); else floats[index] = v;
            }
        }
        LastSaturated = saturated;
    }
}
