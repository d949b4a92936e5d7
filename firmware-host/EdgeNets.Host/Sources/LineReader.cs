using System.Buffers.Text;

namespace EdgeNets.Host.Sources;

/// <summary>
/// Reads text lines from a stream into one fixed buffer, so parsing sensor lines allocates nothing. A line longer than
/// the buffer is skipped whole (up to its newline) and counted in <see cref="LongLinesSkipped"/>, so one corrupt or
/// endless line does not end the reader. With a cancellable token, waiting for data ends with
/// <see cref="OperationCanceledException"/> as soon as it is cancelled (a quiet serial line must not hold up a stop).
/// </summary>
public sealed class LineReader(Stream stream, int capacity = 64 * 1024, CancellationToken cancel = default)
{
    private readonly byte[] _buffer = new byte[capacity];
    private int _start, _end;
    private bool _eof, _skipping;

    /// <summary>Lines longer than the buffer that were skipped.</summary>
    public long LongLinesSkipped { get; private set; }

    /// <summary>The next line without its line ending; false at end of stream (a last line without newline still counts).</summary>
    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            int newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                line = TrimCr(_buffer.AsSpan(_start, newline));
                _start += newline + 1;
                if (_skipping) { _skipping = false; continue; } // the tail of an over-long line
                return true;
            }
            if (_eof)
            {
                if (_start == _end || _skipping) { _start = _end; line = default; return false; }
                line = TrimCr(_buffer.AsSpan(_start, _end - _start));
                _start = _end;
                return true;
            }
            if (_skipping) _start = _end; // still inside an over-long line: nothing to keep
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length)
            {
                LongLinesSkipped++;
                _skipping = true;
                _end = 0;
            }
            int read = Read(_buffer.AsMemory(_end));
            if (read == 0) _eof = true;
            _end += read;
        }
    }

    private int Read(Memory<byte> into) =>
        cancel.CanBeCanceled ? stream.ReadAsync(into, cancel).AsTask().GetAwaiter().GetResult() : stream.Read(into.Span);

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> s) => s.Length > 0 && s[^1] == '\r' ? s[..^1] : s;

    /// <summary>The comma-separated field <paramref name="index"/> of <paramref name="line"/>, spaces trimmed; false if absent.</summary>
    public static bool TryGetField(ReadOnlySpan<byte> line, int index, out ReadOnlySpan<byte> field)
    {
        for (int i = 0; i < index; i++)
        {
            int comma = line.IndexOf((byte)',');
            if (comma < 0) { field = default; return false; }
            line = line[(comma + 1)..];
        }
        int end = line.IndexOf((byte)',');
        field = (end < 0 ? line : line[..end]).Trim((byte)' ');
        return true;
    }

    public static bool TryParseFloat(ReadOnlySpan<byte> field, out float value) =>
        Utf8Parser.TryParse(field, out value, out int consumed) && consumed == field.Length;

    public static bool TryParseInt(ReadOnlySpan<byte> field, out int value) =>
        Utf8Parser.TryParse(field, out value, out int consumed) && consumed == field.Length;
}
