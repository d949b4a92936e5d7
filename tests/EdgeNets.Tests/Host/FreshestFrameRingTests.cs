using EdgeNets.Host.V4l2;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

public class FreshestFrameRingTests
{
    /// <summary>
    /// A V4L2 capture driver's queue: frames fill the oldest queued (empty) buffer; with no empty buffer the frame is
    /// lost but its sequence number is still used, as real drivers do.
    /// </summary>
    private sealed class FakeDriver : IBufferQueue
    {
        private readonly Queue<uint> _empty = new();
        private readonly Queue<V4l2Buffer> _filled = new();
        public uint NextSequence;
        public readonly HashSet<uint> UserOwned = new();

        public FakeDriver(int buffers) { for (uint i = 0; i < buffers; i++) _empty.Enqueue(i); }

        public int BufferCount => _empty.Count + _filled.Count + UserOwned.Count;

        public void Capture()
        {
            uint sequence = NextSequence++;
            if (_empty.Count == 0) return;
            _filled.Enqueue(new V4l2Buffer { Index = _empty.Dequeue(), Sequence = sequence, BytesUsed = 100 });
        }

        public bool TryDequeue(out V4l2Buffer buffer)
        {
            if (!_filled.TryDequeue(out buffer)) return false;
            Assert.That(UserOwned.Add(buffer.Index), Is.True, "a buffer is dequeued twice");
            return true;
        }

        public void Queue(uint index)
        {
            Assert.That(UserOwned.Remove(index), Is.True, $"buffer {index} queued without being dequeued");
            _empty.Enqueue(index);
        }
    }

    [TestCase(4, 1)]
    [TestCase(4, 3)]
    [TestCase(2, 7)]
    [TestCase(6, 2)]
    public void SlowReaderAlwaysGetsTheNewestFrameAndCountsTheRestAsDropped(int buffers, int framesPerRead)
    {
        var driver = new FakeDriver(buffers);
        var ring = new FreshestFrameRing();
        var rng = new Random(buffers * 31 + framesPerRead);
        long delivered = 0;
        uint lastDelivered = 0;
        for (int read = 0; read < 200; read++)
        {
            int captures = read == 0 ? 1 : rng.Next(1, framesPerRead + 1);
            for (int i = 0; i < captures; i++) driver.Capture();
            Assert.That(ring.TryTakeFreshest(driver, out var buffer), Is.True);
            delivered++;
            // With the held buffer out, the driver has buffers - 1 to fill; the newest frame is delivered whenever it
            // found a free buffer, which is always the case when at most buffers - 1 frames arrived since the last read.
            if (captures <= buffers - 1) Assert.That(buffer.Sequence, Is.EqualTo(driver.NextSequence - 1), $"read {read}");
            Assert.That(buffer.Sequence, Is.GreaterThan(lastDelivered).Or.EqualTo(0u));
            lastDelivered = buffer.Sequence;
            Assert.That(ring.Held, Is.EqualTo(buffer.Index));
            Assert.That(driver.UserOwned, Is.EqualTo(new[] { buffer.Index }), "only the freshest buffer stays with the reader");
            Assert.That(driver.BufferCount, Is.EqualTo(buffers), "no buffer is lost");
        }
        Assert.That(ring.DroppedFrames, Is.EqualTo(lastDelivered + 1 - delivered), "every captured frame not delivered is dropped");
        Assert.That(ring.TryTakeFreshest(driver, out _), Is.False, "nothing new");
        Assert.That(driver.UserOwned, Is.Empty, "the held buffer went back before draining");
    }
}
