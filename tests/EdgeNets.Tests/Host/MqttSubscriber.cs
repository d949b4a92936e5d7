using System.Collections.Concurrent;
using System.Diagnostics;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// A test subscriber with a persistent session: the broker keeps its subscription and queues for it across restarts.
/// <paramref name="configure"/> adds what the broker asks of its clients (TLS, credentials).
/// </summary>
internal sealed class MqttSubscriber(int port, string filter, Action<MqttClientOptionsBuilder>? configure = null) : IDisposable
{
    public readonly ConcurrentQueue<(string Topic, string Payload, bool Retain)> Received = new();
    private IMqttClient? _client;

    public void Connect()
    {
        _client?.Dispose();
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            Received.Enqueue((e.ApplicationMessage.Topic, e.ApplicationMessage.ConvertPayloadToString(), e.ApplicationMessage.Retain));
            return Task.CompletedTask;
        };
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId("test-subscriber")
            .WithProtocolVersion(MqttProtocolVersion.V311).WithCleanSession(false);
        configure?.Invoke(options);
        _client.ConnectAsync(options.Build()).GetAwaiter().GetResult();
        _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build()).GetAwaiter().GetResult();
    }

    public string[] Payloads(string topic) => Received.Where(m => m.Topic == topic).Select(m => m.Payload).ToArray();

    public static void WaitFor(Func<bool> done, string what)
    {
        for (var wait = Stopwatch.StartNew(); !done(); Thread.Sleep(20))
            if (wait.Elapsed > TimeSpan.FromSeconds(30)) Assert.Fail($"timed out waiting for {what}");
    }

    public void Dispose() => _client?.Dispose();
}
