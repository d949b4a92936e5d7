using System.Runtime.InteropServices;
using EdgeNets.Host.V4l2;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>camera:/dev/video0?width=160&amp;height=120&amp;fps=30&amp;format=yuyv|grey&amp;buffers=4</c>: V4L2 capture with a fixed
/// ring of mmap streaming buffers. Each read hands out the freshest filled buffer and re-queues older ones, so a slow
/// model drops frames (counted in <see cref="DroppedFrames"/>) instead of falling behind. Errors (camera unplugged,
/// no frame within 2 s) surface as <see cref="IOException"/> for the reopen logic.
/// </summary>
public sealed unsafe class CameraSource : ISource, IBufferQueue
{
    private const int FrameTimeoutMs = 2000;
    /// <summary>Longest single wait for a frame, so a stop is noticed well within a second.</summary>
    private const int PollSliceMs = 100;
    private readonly string _path;
    private readonly CancellationToken _cancel;
    private int _fd = -1;
    private readonly nint[] _maps;
    private readonly nuint[] _lengths;
    private readonly byte[]? _compact; // only when the driver pads rows
    private readonly int _bytesPerPixel, _bytesPerLine;
    private readonly FrameFormat _format;
    private readonly FreshestFrameRing _ring = new();
    private bool _streaming;

    public CameraSource(SourceUri uri, CancellationToken cancel = default)
    {
        _cancel = cancel;
        uri.RejectUnknownKeys("width", "height", "fps", "format", "buffers");
        Name = uri.Text;
        _path = uri.Path;
        int width = uri.GetInt("width", 160, 1, 8192), height = uri.GetInt("height", 120, 1, 8192);
        int fps = uri.GetInt("fps", 30, 1, 1000), bufferCount = uri.GetInt("buffers", 4, 2, 32);
        (uint pixelFormat, _format, _bytesPerPixel) = uri.GetString("format") switch
        {
            null or "yuyv" => (V4l2Constants.PixFmtYuyv, FrameFormat.Yuyv, 2),
            "grey" or "gray" => (V4l2Constants.PixFmtGrey, FrameFormat.Gray8, 1),
            var f => throw new SourceUriException($"source '{uri.Text}': format={f} (supported: yuyv, grey)"),
        };

        _fd = Libc.Open(_path, Libc.O_RDWR | Libc.O_NONBLOCK);
        if (_fd < 0) throw Error($"cannot open {_path}");
        try
        {
            V4l2Capability cap;
            Ioctl(V4l2Constants.VIDIOC_QUERYCAP, &cap, "VIDIOC_QUERYCAP");
            uint caps = (cap.Capabilities & V4l2Constants.CapDeviceCaps) != 0 ? cap.DeviceCaps : cap.Capabilities;
            if ((caps & V4l2Constants.CapVideoCapture) == 0 || (caps & V4l2Constants.CapStreaming) == 0)
                throw new IOException($"{_path} is not a streaming video capture device");

            var format = new V4l2Format { Type = V4l2Constants.BufTypeVideoCapture };
            format.Pix.Width = (uint)width;
            format.Pix.Height = (uint)height;
            format.Pix.PixelFormat = pixelFormat;
            format.Pix.Field = V4l2Constants.FieldNone;
            Ioctl(V4l2Constants.VIDIOC_S_FMT, &format, "VIDIOC_S_FMT");
            if (format.Pix.PixelFormat != pixelFormat)
                throw new IOException($"{_path} does not support {uri.GetString("format") ?? "yuyv"} capture");
            Width = (int)format.Pix.Width; // the driver may pick the nearest size it supports
            Height = (int)format.Pix.Height;
            _bytesPerLine = (int)format.Pix.BytesPerLine;
            if (_bytesPerLine != Width * _bytesPerPixel) _compact = new byte[Width * Height * _bytesPerPixel];

            var parm = new V4l2StreamParm { Type = V4l2Constants.BufTypeVideoCapture };
            parm.Capture.TimePerFrameNumerator = 1;
            parm.Capture.TimePerFrameDenominator = (uint)fps;
            Libc.Ioctl(_fd, V4l2Constants.VIDIOC_S_PARM, &parm); // best effort: not every driver sets a frame rate

            var request = new V4l2RequestBuffers { Count = (uint)bufferCount, Type = V4l2Constants.BufTypeVideoCapture, Memory = V4l2Constants.MemoryMmap };
            Ioctl(V4l2Constants.VIDIOC_REQBUFS, &request, "VIDIOC_REQBUFS");
            if (request.Count < 2) throw new IOException($"{_path}: driver gave {request.Count} buffers, need at least 2");
            _maps = new nint[request.Count];
            _lengths = new nuint[request.Count];
            for (uint i = 0; i < request.Count; i++)
            {
                var buffer = new V4l2Buffer { Index = i, Type = V4l2Constants.BufTypeVideoCapture, Memory = V4l2Constants.MemoryMmap };
                Ioctl(V4l2Constants.VIDIOC_QUERYBUF, &buffer, "VIDIOC_QUERYBUF");
                void* map = Libc.Mmap(null, buffer.Length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, _fd, buffer.Offset);
                if (map == (void*)-1) throw Error("mmap");
                _maps[i] = (nint)map;
                _lengths[i] = buffer.Length;
                Ioctl(V4l2Constants.VIDIOC_QBUF, &buffer, "VIDIOC_QBUF");
            }
            int type = (int)V4l2Constants.BufTypeVideoCapture;
            Ioctl(V4l2Constants.VIDIOC_STREAMON, &type, "VIDIOC_STREAMON");
            _streaming = true;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Name { get; }
    public int Width { get; }
    public int Height { get; }
    public long DroppedFrames => _ring.DroppedFrames;

    private IOException Error(string what)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new IOException($"{what}: {Libc.Describe(errno)}");
    }

    private void Ioctl(uint request, void* arg, string name)
    {
        while (Libc.Ioctl(_fd, request, arg) < 0)
        {
            if (Marshal.GetLastPInvokeError() == Libc.EINTR) continue;
            throw Error($"{_path}: {name}");
        }
    }

    void IBufferQueue.Queue(uint index)
    {
        var buffer = new V4l2Buffer { Index = index, Type = V4l2Constants.BufTypeVideoCapture, Memory = V4l2Constants.MemoryMmap };
        Ioctl(V4l2Constants.VIDIOC_QBUF, &buffer, "VIDIOC_QBUF");
    }

    bool IBufferQueue.TryDequeue(out V4l2Buffer buffer)
    {
        V4l2Buffer b = new() { Type = V4l2Constants.BufTypeVideoCapture, Memory = V4l2Constants.MemoryMmap };
        while (Libc.Ioctl(_fd, V4l2Constants.VIDIOC_DQBUF, &b) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EINTR) continue;
            if (errno == Libc.EAGAIN) { buffer = default; return false; }
            throw Error($"{_path}: VIDIOC_DQBUF");
        }
        buffer = b;
        return true;
    }

    public ReadStatus Read(out Frame frame)
    {
        _ring.Release(this);
        var pfd = new PollFd { Fd = _fd, Events = Libc.POLLIN };
        int ready = 0;
        for (int waited = 0; ready == 0 && waited < FrameTimeoutMs; waited += PollSliceMs)
        {
            if (_cancel.IsCancellationRequested) { frame = default; return ReadStatus.EndOfStream; }
            while ((ready = Libc.Poll(&pfd, 1, PollSliceMs)) < 0)
                if (Marshal.GetLastPInvokeError() != Libc.EINTR) throw Error($"{_path}: poll");
        }
        if (ready == 0) throw new IOException($"{_path}: no frame within {FrameTimeoutMs} ms");
        if (!_ring.TryTakeFreshest(this, out var newest)) throw new IOException($"{_path}: poll reported a frame but none could be dequeued");
        int held = (int)newest.Index;

        var data = new ReadOnlySpan<byte>((void*)_maps[held], (int)Math.Min(newest.BytesUsed, (uint)_lengths[held]));
        int rowBytes = Width * _bytesPerPixel;
        if (_compact != null)
        {
            for (int y = 0; y < Height; y++) data.Slice(y * _bytesPerLine, rowBytes).CopyTo(_compact.AsSpan(y * rowBytes));
            data = _compact;
        }
        if (data.Length < rowBytes * Height) throw new IOException($"{_path}: short frame ({data.Length} of {rowBytes * Height} bytes)");
        frame = new Frame(_format, Width, Height, data);
        return ReadStatus.Frame;
    }

    public void Dispose()
    {
        if (_fd < 0) return;
        if (_streaming)
        {
            int type = (int)V4l2Constants.BufTypeVideoCapture;
            Libc.Ioctl(_fd, V4l2Constants.VIDIOC_STREAMOFF, &type);
            _streaming = false;
        }
        if (_maps != null)
            for (int i = 0; i < _maps.Length; i++)
                if (_maps[i] != 0) { Libc.Munmap((void*)_maps[i], _lengths[i]); _maps[i] = 0; }
        Libc.Close(_fd);
        _fd = -1;
    }
}
