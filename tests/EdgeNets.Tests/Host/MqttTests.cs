using System.Text;
using System.Text.Json;
using EdgeNets.Host;
using EdgeNets.Host.Mqtt;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>The host's MQTT publishing, against a real broker (Debian's mosquitto) that is stopped and restarted.</summary>
public class MqttTests
{
    /// <summary>How many lines may be published and unacknowledged when the broker stops (a loose bound: a few).</summary>
    private const int MqttInFlightLimit = 16;

    internal static string NpyRows(int rows, int width)
    {
        string path = Path.Combine(RepoPaths.TempDirectory(), "rows.npy");
        NpyFile.WriteFloat32(path, [rows, width], TestData.Floats(5, rows * width, -3, 3));
        return path;
    }

    [Test]
    public void EveryLineArrivesOnceAcrossABrokerRestart()
    {
        const int predictions = 300;
        using var broker = new MosquittoBroker();
        using var subscriber = new MqttSubscriber(broker.Port, "fleet/pi1/#");
        subscriber.Connect();
        string modelPath = Path.Combine(RepoPaths.TempDirectory(), "m.enet");
        File.WriteAllBytes(modelPath, HostTestModels.Flatten(DataType.Float32, [1, 4]).FileBytes);
        var output = new CaptureStream(1 << 20);
        var errText = new StringWriter();
        var err = TextWriter.Synchronized(errText);
        string[] args = ["--model", modelPath, "--source", $"npy:{NpyRows(8, 4)}?loop=true&rate=100", "--max", $"{predictions}",
            "--metrics", "0.5", "--mqtt", $"mqtt://127.0.0.1:{broker.Port}/fleet/pi1?client=pi1"];
        var host = Task.Run(() => EdgeNets.Host.Program.Run(args, output, err, default));

        MqttSubscriber.WaitFor(() => subscriber.Payloads("fleet/pi1/prediction").Length >= 50, "the first predictions");
        broker.Stop();
        Thread.Sleep(1000); // the host goes on predicting and queues
        broker.Start();
        subscriber.Connect();
        Assert.That(host.Wait(TimeSpan.FromSeconds(60)), Is.True, "the host finished");
        Assert.That(host.Result, Is.Zero, errText.ToString());
        MqttSubscriber.WaitFor(() => subscriber.Payloads("fleet/pi1/summary").Length > 0, "the summary");
        MqttSubscriber.WaitFor(() => subscriber.Payloads("fleet/pi1/status").LastOrDefault() == "offline", "the offline status");

        // What the broker delivered is what the host printed, each line once and in order.
        var printed = output.Lines;
        Assert.That(printed.Count(l => l.Contains("\"prediction\"")), Is.EqualTo(predictions));
        var delivered = subscriber.Received.Where(m => !m.Topic.EndsWith("/status")).Select(m => m.Payload).ToArray();
        // QoS 1 is at least once: the lines in flight when the broker went down (published, their acknowledgements
        // lost) are sent again after the reconnect. Every printed line is unique (index and timestamp), so a repeat is
        // such a resend.
        Assert.That(printed.Distinct().Count(), Is.EqualTo(printed.Length), "the printed lines are unique");
        var seen = new HashSet<string>();
        var once = delivered.Where(seen.Add).ToArray();
        Assert.That(once, Is.EqualTo(printed), "every line, in order");
        Assert.That(delivered.Length - once.Length, Is.LessThanOrEqualTo(MqttInFlightLimit), "only lines in flight at the restart come twice");
        foreach (var (topic, payload, _) in subscriber.Received.Where(m => !m.Topic.EndsWith("/status")))
            Assert.That(topic, Is.EqualTo("fleet/pi1/" + JsonDocument.Parse(payload).RootElement.GetProperty("type").GetString()));
        Assert.That(subscriber.Payloads("fleet/pi1/metrics"), Is.Not.Empty);
        var summary = JsonDocument.Parse(printed[^1]).RootElement;
        Assert.That(summary.GetProperty("mqtt_dropped").GetInt64(), Is.Zero);
        Assert.That(subscriber.Payloads("fleet/pi1/status").Count(s => s == "online"), Is.GreaterThanOrEqualTo(2), "online again after the restart");
        Assert.That(errText.ToString(), Does.Contain("reconnected to"));

        // The last status stays retained for whoever subscribes later.
        using var late = new MqttSubscriber(broker.Port, "fleet/pi1/status");
        late.Connect();
        MqttSubscriber.WaitFor(() => !late.Received.IsEmpty, "the retained status");
        Assert.That(late.Received.Single(), Is.EqualTo(("fleet/pi1/status", "offline", true)));
    }

    [Test]
    public void WhileTheBrokerIsAwayTheQueueKeepsItsCapacityAndCountsTheRestAsDropped()
    {
        using var broker = new MosquittoBroker();
        using var subscriber = new MqttSubscriber(broker.Port, "q/#");
        subscriber.Connect(); // the broker keeps this session's subscription while it is down
        broker.Stop();
        var target = MqttTarget.Parse($"mqtt://127.0.0.1:{broker.Port}/q?client=queued", null, null, _ => null);
        var log = TextWriter.Synchronized(new StringWriter());
        var publisher = new MqttPublisher(target, capacity: 20, lineCapacity: 64, log, flushTimeout: TimeSpan.FromSeconds(30));
        for (int i = 0; i < 50; i++) publisher.Write("prediction"u8, Encoding.ASCII.GetBytes($"{{\"index\": {i}}}\n"));
        Assert.That(publisher.Dropped, Is.EqualTo(30));

        broker.Start();
        publisher.Dispose(); // delivers the queue once the broker is back
        Assert.That(publisher.Published, Is.EqualTo(20));
        Assert.That(publisher.Undelivered, Is.Zero);
        subscriber.Connect();
        MqttSubscriber.WaitFor(() => subscriber.Payloads("q/prediction").Length >= 20, "the queued lines");
        Thread.Sleep(200); // a duplicate would arrive right behind
        Assert.That(subscriber.Payloads("q/prediction"), Is.EqualTo(Enumerable.Range(0, 20).Select(i => $"{{\"index\": {i}}}")));
    }

    [Test]
    public void PublishingAllocatesNothingPerFrame()
    {
        using var broker = new MosquittoBroker();
        var (rows, width) = (37, 12);
        string data = NpyRows(rows, width);
        var model = HostTestModels.Flatten(DataType.Int8, [1, width], HostTestModels.UnitRangeInt8);
        var output = new CaptureStream(1 << 16) { Wrap = true };
        using var source = new NpySource(SourceUri.Parse($"npy:{data}?loop=true"));
        using var pipeline = new HostPipeline(model, source, output, new HostOptions { HoldFrames = 2, MetricsIntervalSeconds = 1e-6 });
        var target = MqttTarget.Parse($"mqtt://127.0.0.1:{broker.Port}/alloc?client=alloc", null, null, _ => null);
        using var publisher = new MqttPublisher(target, 100_000, pipeline.LineCapacity, TextWriter.Null);
        pipeline.LineSink = publisher;
        Assert.That(PipelineTests.AllocatedOverSteps(pipeline, 10_000), Is.Zero);
        Assert.That(publisher.Published + publisher.Dropped, Is.GreaterThan(0));
    }

    [Test]
    public void CredentialsComeFromAFileOrTheEnvironmentNeverTheUrl()
    {
        var env = new Dictionary<string, string?> { [MqttTarget.UsernameVariable] = "device", [MqttTarget.PasswordVariable] = "s3cret" };
        var target = MqttTarget.Parse("mqtt://broker.local/fleet/pi7", null, null, k => env.GetValueOrDefault(k));
        Assert.That((target.Host, target.Port, target.Tls, target.TopicPrefix, target.Username, target.Password),
            Is.EqualTo(("broker.local", 1883, false, "fleet/pi7", "device", "s3cret")));
        string file = HostTestModels.WriteTemp("credentials", p => File.WriteAllText(p, "fromfile\npw\n"));
        target = MqttTarget.Parse("mqtts://broker.local:9883/x", null, file, k => env.GetValueOrDefault(k));
        Assert.That((target.Port, target.Tls, target.Username, target.Password), Is.EqualTo((9883, true, "fromfile", "pw")));

        var err = new StringWriter();
        Assert.That(EdgeNets.Host.Program.Run(["--model", "m.enet", "--source", "npy:x.npy", "--mqtt", "mqtt://u:p@broker/x"], Stream.Null, err, default), Is.EqualTo(2));
        Assert.That(err.ToString(), Does.Contain("no credentials in the URL"));
        Assert.That(() => MqttTarget.Parse("mqtt://broker", null, null, _ => null), Throws.ArgumentException.With.Message.Contains("topic prefix"));
        Assert.That(() => MqttTarget.Parse("mqtt://broker/a/#", null, null, _ => null), Throws.ArgumentException.With.Message.Contains("wildcards"));
        Assert.That(() => MqttTarget.Parse("mqtt://broker/a", "ca.pem", null, _ => null), Throws.ArgumentException.With.Message.Contains("mqtts"));
    }
}
