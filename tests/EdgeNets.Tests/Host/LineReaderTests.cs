using System.Text;
using EdgeNets.Host.Sources;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

public class LineReaderTests
{
    /// <summary>A stream that never delivers a byte: a sensor line that went quiet. Reads wait until cancelled.</summary>
    private sealed class SilentStream : Stream
    {
        public readonly ManualResetEventSlim Waiting = new();

        public override int Read(byte[] buffer, int offset, int count)
        {
            Waiting.Set();
            Thread.Sleep(Timeout.Infinite);
            return 0;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Waiting.Set();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Test]
    public void AWaitForDataEndsWhenCancelled()
    {
        using var stop = new CancellationTokenSource();
        var stream = new SilentStream();
        var reader = new LineReader(stream, 64, stop.Token);
        var read = Task.Factory.StartNew(() => reader.TryReadLine(out _), TaskCreationOptions.LongRunning);
        Assert.That(stream.Waiting.Wait(10_000), Is.True, "the reader is waiting for data");
        Assert.That(read.IsCompleted, Is.False);
        stop.Cancel();
        var ended = Assert.Throws<AggregateException>(() => read.Wait(10_000))!;
        Assert.That(ended.InnerException, Is.InstanceOf<OperationCanceledException>());

        // Already stopped: no wait at all.
        var again = new LineReader(new SilentStream(), 64, stop.Token);
        Assert.Throws<TaskCanceledException>(() => again.TryReadLine(out _));
    }

    [Test]
    public void LinesLongerThanTheBufferAreSkippedWholeAndCounted()
    {
        var text = new StringBuilder("first\n");
        text.Append('a', 100).Append('\n');            // over-long, ends inside a later buffer fill
        text.Append("second\r\n");
        text.Append('b', 64).Append('\n');             // exactly the buffer, no room for its newline
        text.Append('c', 63).Append('\n');             // fits with its newline
        text.Append('d', 300);                         // over-long and unterminated at the end
        var reader = new LineReader(new MemoryStream(Encoding.ASCII.GetBytes(text.ToString())), 64);
        var lines = new List<string>();
        while (reader.TryReadLine(out var line)) lines.Add(Encoding.ASCII.GetString(line));
        Assert.That(lines, Is.EqualTo(new[] { "first", "second", new string('c', 63) }));
        Assert.That(reader.LongLinesSkipped, Is.EqualTo(3));
    }
}
