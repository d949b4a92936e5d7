using EdgeNets.Host.Sources;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// A live source must outlive every way a field device goes away: each exception class a vanished or misbehaving device
/// raises leads to a reopen with backoff, and a bug is not mistaken for one.
/// </summary>
public class DeviceLossTests
{
    /// <summary>Gives <c>frames</c> one-value samples of <c>value</c>, then fails with <c>failure</c> (if any) on every read.</summary>
    private sealed class FailingSource(float value, int frames, Exception? failure) : ISource
    {
        private readonly float[] _sample = [value];
        private int _given;
        public string Name => "fake";
        public long DroppedFrames => 0;
        public bool Disposed { get; private set; }

        public ReadStatus Read(out Frame frame)
        {
            if (_given == frames && failure != null) throw failure;
            _given++;
            frame = new Frame(FrameFormat.Samples, _sample);
            return ReadStatus.Frame;
        }

        public void Dispose() => Disposed = true;
    }

    [Test]
    public void EveryKindOfDeviceLossIsReopenedWithBackoff()
    {
        // Read failures of the first five devices (each gives two samples, then dies), open failures in between, and
        // a last device that keeps working. These are the exceptions seen when a USB serial adapter is pulled
        // (ObjectDisposedException "The port is closed" from the pending read), its node is gone or recreated without
        // permissions yet, a bus read fails, or a device stops answering.
        Exception[] readFailures =
        [
            new ObjectDisposedException(null, "The port is closed."),
            new IOException("Input/output error"),
            new TimeoutException("no answer"),
            new EndOfStreamException("short read"),
            new IOException("device gone"),
        ];
        Exception[] openFailures = [new FileNotFoundException("Could not find a part of the path '/dev/ttyUSB0'"), new UnauthorizedAccessException("Access to the path '/dev/ttyUSB0' is denied."), new DirectoryNotFoundException("/dev/serial/by-id")];
        var opened = new List<FailingSource>();
        int opens = 0, openFailuresThrown = 0;
        ISource Open()
        {
            opens++;
            // Every other reopen fails at open, as long as there are open failures left.
            if (opens > 1 && opens % 2 == 0 && openFailuresThrown < openFailures.Length) throw openFailures[openFailuresThrown++];
            int device = opened.Count;
            var source = new FailingSource(device, 2, device < readFailures.Length ? readFailures[device] : null);
            opened.Add(source);
            return source;
        }
        var waits = new List<TimeSpan>();
        var log = new StringWriter();
        using var resilient = new ResilientSource("serial:test", Open, log, sleep: waits.Add,
            initialBackoff: TimeSpan.FromMilliseconds(100), maxBackoff: TimeSpan.FromMilliseconds(400));
        var values = new List<float>();
        for (int i = 0; i < 2 * readFailures.Length + 3; i++)
        {
            Assert.That(resilient.Read(out var frame), Is.EqualTo(ReadStatus.Frame), $"read {i}");
            values.Add(frame.Values[0]);
        }
        var expected = Enumerable.Range(0, readFailures.Length).SelectMany(d => new float[] { d, d }).Concat([5f, 5f, 5f]);
        Assert.That(values, Is.EqualTo(expected), "two samples from each device, then the working one");
        Assert.That(resilient.Reopens, Is.EqualTo(readFailures.Length + openFailures.Length));
        Assert.That(opened.Take(readFailures.Length).All(s => s.Disposed), Is.True, "each failed device is closed before the next open");
        // Backoff doubles while the device stays away (a failed open) and starts over after a working read.
        Assert.That(waits.Select(w => w.TotalMilliseconds), Is.EqualTo(new double[] { 100, 200, 100, 200, 100, 200, 100, 100 }));
        foreach (var e in readFailures.Concat(openFailures)) Assert.That(log.ToString(), Does.Contain(e.Message));
    }

    [Test]
    public void ABugInTheSourceIsNotTakenForADeviceLoss()
    {
        using var resilient = new ResilientSource("serial:test", () => new FailingSource(0, 1, new NullReferenceException()), TextWriter.Null,
            sleep: _ => Assert.Fail("a bug must not be retried"));
        Assert.That(resilient.Read(out _), Is.EqualTo(ReadStatus.Frame));
        Assert.Throws<NullReferenceException>(() => resilient.Read(out _));
    }

    [Test]
    public void ExceptionClassesOfADeviceLoss()
    {
        foreach (var e in new Exception[] { new IOException(), new FileNotFoundException(), new DirectoryNotFoundException(), new EndOfStreamException(),
                     new ObjectDisposedException("port"), new UnauthorizedAccessException(), new TimeoutException() })
            Assert.That(DeviceFailure.IsDeviceLoss(e), Is.True, e.GetType().Name);
        foreach (var e in new Exception[] { new NullReferenceException(), new IndexOutOfRangeException(), new InvalidDataException(), new ArgumentException(),
                     new InvalidOperationException(), new OperationCanceledException() })
            Assert.That(DeviceFailure.IsDeviceLoss(e), Is.False, e.GetType().Name);
    }
}
