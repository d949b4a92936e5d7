using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using EdgeNets.Host.Output;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeNets.Host.Mqtt;

/// <summary>
/// Publishes the host's JSON lines to an MQTT broker at QoS 1 under PREFIX/TYPE, and a retained PREFIX/status of
/// "online", or "offline" on a clean stop and (as the last will) when the device vanishes.
/// <para>
/// The frame loop only copies a line into a bounded queue of pre-allocated slots (<see cref="Write"/> allocates and
/// blocks nothing); a sender thread publishes the queue in order, and a line leaves the queue only when the broker has
/// acknowledged it. While the broker is away the sender reconnects with exponential backoff and the queue holds up to
/// its capacity; lines that arrive with the queue full are dropped and counted (<see cref="Dropped"/>). A line in flight
/// when the connection breaks is sent again, so the broker may see it twice (QoS 1 is at least once).
/// </para>
/// </summary>
public sealed class MqttPublisher : ILineSink, IDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250), LastBackoff = TimeSpan.FromSeconds(30);

    private readonly MqttTarget _target;
    private readonly TextWriter _log;
    private readonly TimeSpan _flushTimeout;
    private readonly byte[][] _slots;
    private readonly int[] _lengths, _typeLengths;
    private readonly byte[][] _types;
    private readonly Lock _lock = new();
    private readonly AutoResetEvent _queued = new(false);
    private readonly ManualResetEventSlim _stopping = new(false);
    private readonly Dictionary<string, string> _topics = [];
    private readonly IMqttClient _client;
    private readonly Thread _sender;
    private int _head, _count;
    // Why the last TLS handshake refused the broker's certificate (set on the handshake's thread, read after it failed).
    private volatile string? _certificateFault;
    private long _dropped, _published, _undelivered;

    /// <param name="capacity">Lines held while the broker is away.</param>
    /// <param name="lineCapacity">Longest line in bytes (the JSON writer's buffer size).</param>
    /// <param name="flushTimeout">On <see cref="Dispose"/>, how long to keep trying to deliver what is queued.</param>
    public MqttPublisher(MqttTarget target, int capacity, int lineCapacity, TextWriter log, TimeSpan? flushTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _target = target;
        _log = log;
        _flushTimeout = flushTimeout ?? TimeSpan.FromSeconds(5);
        _slots = new byte[capacity][];
        _types = new byte[capacity][];
        for (int i = 0; i < capacity; i++)
        {
            _slots[i] = new byte[lineCapacity];
            _types[i] = new byte[16];
        }
        _lengths = new int[capacity];
        _typeLengths = new int[capacity];
        _client = new MqttClientFactory().CreateMqttClient();
        _sender = new Thread(Send) { IsBackground = true, Name = "mqtt publisher" };
        _sender.Start();
    }

    public long Dropped => Interlocked.Read(ref _dropped);
    /// <summary>Lines the broker has acknowledged.</summary>
    public long Published => Interlocked.Read(ref _published);
    /// <summary>Lines still queued when <see cref="Dispose"/> gave up on the broker.</summary>
    public long Undelivered => Interlocked.Read(ref _undelivered);

    public void Write(ReadOnlySpan<byte> type, ReadOnlySpan<byte> line)
    {
        bool wasEmpty;
        lock (_lock)
        {
            if (_count == _slots.Length || line.Length > _slots[0].Length || type.Length > _types[0].Length)
            {
                _dropped++;
                return;
            }
            int tail = (_head + _count) % _slots.Length;
            // The trailing newline is for the terminal, not the message.
            if (line.Length > 0 && line[^1] == (byte)'\n') line = line[..^1];
            line.CopyTo(_slots[tail]);
            _lengths[tail] = line.Length;
            type.CopyTo(_types[tail]);
            _typeLengths[tail] = type.Length;
            wasEmpty = _count == 0;
            _count++;
        }
        if (wasEmpty) _queued.Set();
    }

    private MqttClientOptions ClientOptions()
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_target.Host, _target.Port)
            .WithClientId(_target.ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithCleanSession(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(Topic("status"))
            .WithWillPayload("offline"u8.ToArray())
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (_target.Username != null) builder.WithCredentials(_target.Username, _target.Password ?? "");
        if (_target.Tls)
        {
            var tls = new MqttClientTlsOptionsBuilder().UseTls().WithCertificateValidationHandler(e => CheckBrokerCertificate(e.Certificate, e.Chain, e.SslPolicyErrors));
            if (_target.ClientCertificate != null) tls.WithClientCertificates([_target.ClientCertificate]);
            builder.WithTlsOptions(tls.Build());
        }
        return builder.Build();
    }

    /// <summary>
    /// The broker's certificate must be for the host the URL names and chain to the authority of --mqtt-ca (only that
    /// one, as a broker's cafile) or else to one the system trusts. A refusal keeps its reason for the error line, which
    /// the TLS exception alone does not give.
    /// </summary>
    private bool CheckBrokerCertificate(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        _certificateFault = null;
        if (certificate == null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            _certificateFault = "the broker sent no certificate";
            return false;
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            _certificateFault = $"the broker's certificate ({certificate.Subject}) is not for {_target.Host}";
            return false;
        }
        if (_target.TrustedAuthorities == null)
        {
            if (errors == SslPolicyErrors.None) return true;
            _certificateFault = $"the broker's certificate ({certificate.Subject}, issued by {certificate.Issuer}) is not signed by an authority the system trusts ({ChainFaults(presented)}); give its CA with --mqtt-ca";
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_target.TrustedAuthorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented != null)
            foreach (var element in presented.ChainElements) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (chain.Build(leaf)) return true;
        _certificateFault = $"the broker's certificate ({certificate.Subject}, issued by {certificate.Issuer}) is not signed by the authority in --mqtt-ca {_target.CaFile} ({ChainFaults(chain)})";
        return false;
    }

    private static string ChainFaults(X509Chain? chain) =>
        chain == null || chain.ChainStatus.Length == 0 ? "no chain" : string.Join(", ", chain.ChainStatus.Select(s => s.Status));

    /// <summary>One line on why a connection attempt failed: the TLS check, the broker's refusal, the network.</summary>
    private string ConnectFault(Exception e)
    {
        for (var inner = e; inner != null; inner = inner.InnerException)
            if (inner is System.Security.Authentication.AuthenticationException tls)
                return "TLS handshake failed: " + (_certificateFault ?? tls.Message);
        var innermost = e;
        while (innermost.InnerException != null) innermost = innermost.InnerException;
        // A broker that refuses the client's certificate (or the lack of one) sends a TLS alert and closes: seen as the
        // alert (OpenSSL's text) or, when MQTTnet asks the socket for its peer first, as a socket no longer connected.
        bool closed = innermost is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.NotConnected };
        if (_target.Tls && (closed || innermost.Message.Contains("alert", StringComparison.OrdinalIgnoreCase)))
            return "the broker ended the TLS handshake" + (closed ? "" : $" ({innermost.Message})") + (_target.ClientCertificate == null
                ? "; a broker that requires a client certificate does so: give one with --mqtt-cert and --mqtt-key"
                : $"; it may not accept the client certificate {_target.ClientCertificate.Subject}");
        return innermost.Message;
    }

    private string Refusal(MqttClientConnectResultCode code) => code switch
    {
        MqttClientConnectResultCode.BadUserNameOrPassword => $"the broker refused the user name or password ({Credentials()})",
        MqttClientConnectResultCode.NotAuthorized => $"the broker refused the connection: not authorized; check the user name and password ({Credentials()})",
        _ => $"the broker refused the connection: {code}",
    };

    private string Credentials() => _target.Username == null ? "no user name given" : $"user '{_target.Username}' from {_target.CredentialsSource}";

    private string Topic(string type)
    {
        if (!_topics.TryGetValue(type, out var topic)) _topics[type] = topic = _target.TopicPrefix + "/" + type;
        return topic;
    }

    private bool Stopping => _stopping.IsSet;

    /// <summary>The sender thread: connect (with backoff), publish the queue head until acknowledged, repeat.</summary>
    private void Send()
    {
        var options = ClientOptions();
        var backoff = FirstBackoff;
        DateTime flushDeadline = DateTime.MaxValue;
        bool wasConnected = false;
        while (true)
        {
            if (Stopping && flushDeadline == DateTime.MaxValue) flushDeadline = DateTime.UtcNow + _flushTimeout;
            if (!_client.IsConnected)
            {
                if (Stopping && DateTime.UtcNow >= flushDeadline) break;
                var wait = Stopping ? Min(backoff, flushDeadline - DateTime.UtcNow) : backoff;
                if (Connect(options, ref wasConnected, wait)) { backoff = FirstBackoff; continue; }
                if (wait > TimeSpan.Zero) _stopping.Wait(wait);
                backoff = Min(backoff * 2, LastBackoff);
                continue;
            }
            MqttApplicationMessage? message = Peek();
            if (message == null)
            {
                if (Stopping) break;
                WaitHandle.WaitAny([_queued, _stopping.WaitHandle]);
                continue;
            }
            try
            {
                _client.PublishAsync(message).GetAwaiter().GetResult();
                lock (_lock)
                {
                    _head = (_head + 1) % _slots.Length;
                    _count--;
                }
                Interlocked.Increment(ref _published);
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException
                                          or InvalidOperationException or IOException)
            {
                // Not acknowledged: the line stays at the head and goes again after reconnecting.
                _log.WriteLine($"edgenets-host: mqtt: lost {_target.Host}:{_target.Port} ({e.Message}); reconnecting");
            }
        }
        Finish();
    }

    /// <param name="retry">The wait before the next attempt, for the error line.</param>
    private bool Connect(MqttClientOptions options, ref bool wasConnected, TimeSpan retry)
    {
        try
        {
            var result = _client.ConnectAsync(options).GetAwaiter().GetResult();
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                LogConnectFailure(Refusal(result.ResultCode), retry);
                return false;
            }
            _client.PublishAsync(Status("online")).GetAwaiter().GetResult();
            _log.WriteLine($"edgenets-host: mqtt: {(wasConnected ? "reconnected to" : "connected to")} {_target.Host}:{_target.Port}, publishing under {_target.TopicPrefix}/");
            wasConnected = true;
            return true;
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or MQTTnet.Adapter.MqttConnectingFailedException
                                      or OperationCanceledException or InvalidOperationException or IOException
                                      or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException)
        {
            LogConnectFailure(ConnectFault(e), retry);
            return false;
        }
    }

    private void LogConnectFailure(string fault, TimeSpan retry)
    {
        string next = Stopping && retry <= TimeSpan.Zero ? "giving up" : $"retrying in {retry.TotalSeconds:0.##} s";
        _log.WriteLine($"edgenets-host: mqtt: cannot connect to {_target.Host}:{_target.Port}: {fault}; {next}");
    }

    private MqttApplicationMessage Status(string status) => new MqttApplicationMessageBuilder()
        .WithTopic(Topic("status"))
        .WithPayload(Encoding.ASCII.GetBytes(status))
        .WithRetainFlag(true)
        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
        .Build();

    /// <summary>The queue head as a message (the copy is the sender thread's; the slot stays queued until acknowledged).</summary>
    private MqttApplicationMessage? Peek()
    {
        byte[] payload;
        string type;
        lock (_lock)
        {
            if (_count == 0) return null;
            payload = _slots[_head].AsSpan(0, _lengths[_head]).ToArray();
            type = Encoding.ASCII.GetString(_types[_head], 0, _typeLengths[_head]);
        }
        return new MqttApplicationMessageBuilder()
            .WithTopic(Topic(type.Length == 0 ? "line" : type))
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
    }

    /// <summary>On stop: say "offline" (retained) and leave cleanly, so the broker does not send the last will.</summary>
    private void Finish()
    {
        lock (_lock) _undelivered = _count;
        if (_undelivered > 0)
            _log.WriteLine($"edgenets-host: mqtt: {_undelivered} lines not delivered: {_target.Host}:{_target.Port} unreachable at stop");
        if (!_client.IsConnected) return;
        try
        {
            _client.PublishAsync(Status("offline")).GetAwaiter().GetResult();
            _client.DisconnectAsync().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException
                                      or InvalidOperationException or IOException)
        {
            // The broker went away at the last moment: it sends the last will ("offline") itself.
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Delivers what is queued (for up to the flush timeout), publishes "offline" and disconnects.</summary>
    public void Dispose()
    {
        _stopping.Set();
        _sender.Join();
        _client.Dispose();
        _queued.Dispose();
        _stopping.Dispose();
    }
}
