using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.EndToEnd;

/// <summary>
/// A session used from two threads at once, or after it is disposed: a clear exception on the caller's thread, never a
/// wrong output or a crash on a worker.
/// </summary>
public class SessionMisuseTests
{
    private static Model Gesture() => Model.Load(Path.Combine(RepoPaths.GestureModel, "model.enet"));

    /// <summary>
    /// Two threads run one session until 20 runs have been refused (at most 20,000 runs each): every run either throws
    /// InvalidOperationException or gives the single-threaded output of its sample, bit for bit.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    public void ASecondConcurrentRunIsRefusedAndNoRunGivesAWrongOutput(int threads)
    {
        var model = Gesture();
        var calibration = NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "calibration.npy"));
        var samples = Enumerable.Range(0, 8).Select(calibration.Sample).ToArray();
        var expected = new float[samples.Length][];
        using (var single = model.CreateSession())
            for (int i = 0; i < samples.Length; i++) single.Run(samples[i], expected[i] = new float[10]);

        using var session = model.CreateSession(new SessionOptions { Threads = threads });
        int refused = 0, wrong = 0, completed = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        using var start = new Barrier(2);
        void Worker(int seed)
        {
            var output = new float[10];
            start.SignalAndWait();
            for (int i = 0; i < 20_000 && Volatile.Read(ref refused) < 20; i++)
            {
                int s = (i + seed) % samples.Length;
                try
                {
                    session.Run(samples[s], output);
                    Interlocked.Increment(ref completed);
                    if (!output.AsSpan().SequenceEqual(expected[s])) Interlocked.Increment(ref wrong);
                }
                catch (InvalidOperationException e) when (e.Message.Contains("another run", StringComparison.Ordinal)) { Interlocked.Increment(ref refused); }
                catch (Exception e) { failures.Enqueue(e); return; }
            }
        }
        var a = new Thread(() => Worker(0));
        var b = new Thread(() => Worker(3));
        a.Start();
        b.Start();
        a.Join();
        b.Join();

        Assert.That(failures, Is.Empty);
        Assert.That(wrong, Is.Zero);
        Assert.That(refused, Is.GreaterThan(0));
        Assert.That(completed, Is.GreaterThan(0));
    }

    [Test]
    public void ADisposedSessionRefusesToRun()
    {
        var model = Gesture();
        var session = model.CreateSession(new SessionOptions { Threads = 2 });
        var input = new float[model.Inputs[0].ElementCount];
        var output = new float[10];
        session.Run(input, output);
        session.Dispose();
        session.Dispose(); // twice is allowed
        Assert.Throws<ObjectDisposedException>(() => session.Run(input, output));
        Assert.Throws<ObjectDisposedException>(() => session.Invoke());
        Assert.Throws<ObjectDisposedException>(() => session.SetInput(0, input));
    }

    [Test]
    public void AFailedRunDoesNotLeaveTheSessionBusy()
    {
        var model = Gesture();
        using var session = model.CreateSession();
        var output = new float[10];
        Assert.Throws<ArgumentException>(() => session.Run(new float[3], output));
        var input = new float[model.Inputs[0].ElementCount];
        Assert.DoesNotThrow(() => session.Run(input, output));
    }
}
