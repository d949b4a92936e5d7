using System.Runtime.InteropServices;
using EdgeNets.Host.V4l2;

namespace EdgeNets.Host.Sources;

/// <summary>
/// Reads a named pipe (FIFO) or another file that can wait for data, so that a replay from it stops when the host
/// does: the file is opened non-blocking (opening a FIFO otherwise waits for a writer), and every read waits in
/// slices of <see cref="PollSliceMs"/> with <c>poll</c>, checking <c>cancel</c> between them; a cancelled wait throws
/// <see cref="OperationCanceledException"/>. A FIFO whose writer has closed it reads as the end of the stream.
/// </summary>
public sealed unsafe class PipeReadStream : Stream
{
    private const int PollSliceMs = 100;
    private readonly string _path;
    private readonly CancellationToken _cancel;
    private int _fd;

    private PipeReadStream(string path, int fd, CancellationToken cancel)
    {
        _path = path;
        _fd = fd;
        _cancel = cancel;
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading: a <see cref="PipeReadStream"/> when it cannot seek (a FIFO, a
    /// character device), a plain <see cref="FileStream"/> for a regular file.
    /// </summary>
    public static Stream Open(string path, CancellationToken cancel)
    {
        int fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0) return File.OpenRead(path); // .NET's own error for a missing or unreadable file
        // lseek fails on a FIFO or a terminal (ESPIPE); a regular file is read the ordinary way.
        if (Libc.Lseek(fd, 0, Libc.SEEK_CUR) < 0) return new PipeReadStream(path, fd, cancel);
        Libc.Close(fd);
        return File.OpenRead(path);
    }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (buffer.IsEmpty) return 0;
        var pfd = new PollFd { Fd = _fd, Events = Libc.POLLIN };
        while (true)
        {
            _cancel.ThrowIfCancellationRequested();
            // Wait first: read reports the end of the stream on a FIFO no writer has opened yet, where poll reports
            // nothing until one has (and then POLLHUP once it has closed it).
            int ready = Libc.Poll(&pfd, 1, PollSliceMs);
            if (ready == 0) continue;
            if (ready < 0)
            {
                if (Marshal.GetLastPInvokeError() == Libc.EINTR) continue;
                throw Error("poll");
            }
            nint read;
            fixed (byte* p = buffer) read = Libc.Read(_fd, p, (nuint)buffer.Length);
            if (read >= 0) return (int)read;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.EINTR && errno != Libc.EAGAIN) throw Error("read");
        }
    }

    private IOException Error(string call) => new($"{_path}: {call}: {Libc.Describe(Marshal.GetLastPInvokeError())}");

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override bool CanRead => _fd >= 0;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (_fd >= 0) Libc.Close(_fd);
        _fd = -1;
        base.Dispose(disposing);
    }
}
