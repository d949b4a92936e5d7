using System.Diagnostics;
using System.Text;
using System.Text.Json;
using EdgeNets.Host.Mqtt;
using EdgeNets.Runtime.Graph;
using EdgeNets.Tests.Support;
using MQTTnet;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// mqtts:// against Debian's mosquitto with a TLS listener and password authentication; the certificate authority,
/// the broker's and the client's certificates are made at test time.
/// </summary>
public class MqttTlsTests
{
    private const string User = "device", Password = "pa55 word";

    /// <summary>A broker whose TLS listener is signed by <paramref name="ca"/> and takes <see cref="User"/> with <see cref="Password"/>.</summary>
    private static MosquittoBroker TlsBroker(string dir, TestCertificateAuthority ca, bool requireClientCertificate = false)
    {
        var (certificate, key) = ca.Issue("broker", server: true);
        string passwords = Path.Combine(dir, "passwords");
        using (var make = Process.Start("mosquitto_passwd", ["-c", "-b", passwords, User, Password]))
        {
            make.WaitForExit();
            Assert.That(make.ExitCode, Is.Zero, "mosquitto_passwd");
        }
        return new MosquittoBroker($"""
            cafile {ca.CertificateFile}
            certfile {certificate}
            keyfile {key}
            require_certificate {(requireClientCertificate ? "true" : "false")}
            allow_anonymous false
            password_file {passwords}
            """);
    }

    private static MqttSubscriber Subscriber(MosquittoBroker broker, string filter) =>
        new(broker.Port, filter, o => o.WithCredentials(User, Password)
            .WithTlsOptions(t => t.UseTls().WithCertificateValidationHandler(_ => true)));

    private static string Credentials(string dir, string password)
    {
        string file = Path.Combine(dir, "credentials");
        File.WriteAllText(file, $"{User}\n{password}\n");
        return file;
    }

    /// <summary>A publisher that is refused: the error lines of two attempts, nothing published, the line still queued.</summary>
    private static string[] RefusedAttempts(MqttTarget target)
    {
        var log = new StringWriter();
        var synchronized = TextWriter.Synchronized(log);
        var publisher = new MqttPublisher(target, capacity: 4, lineCapacity: 64, synchronized, flushTimeout: TimeSpan.Zero);
        publisher.Write("prediction"u8, "{\"index\": 0}\n"u8);
        MqttSubscriber.WaitFor(() => log.ToString().Split('\n').Count(l => l.Contains("cannot connect")) >= 2, "two refused attempts");
        publisher.Dispose();
        Assert.That((publisher.Published, publisher.Undelivered), Is.EqualTo((0L, 1L)), "the line stays queued, nothing crashes");
        var refused = log.ToString().Split('\n').Where(l => l.Contains("cannot connect")).ToArray();
        TestContext.Out.WriteLine(string.Join("\n", refused));
        return refused;
    }

    [Test]
    public void PredictionsAndStatusArriveOverTlsWithAPasswordFromAFile()
    {
        const int predictions = 40;
        string dir = RepoPaths.TempDirectory();
        using var ca = new TestCertificateAuthority(dir, "test-ca");
        using var broker = TlsBroker(dir, ca);
        using var subscriber = Subscriber(broker, "fleet/tls/#");
        subscriber.Connect();
        string modelPath = Path.Combine(dir, "m.enet");
        File.WriteAllBytes(modelPath, HostTestModels.Flatten(DataType.Float32, [1, 4]).FileBytes);
        var output = new CaptureStream(1 << 20);
        var err = new StringWriter();
        string[] args = ["--model", modelPath, "--source", $"npy:{MqttTests.NpyRows(8, 4)}?loop=true&rate=200", "--max", $"{predictions}",
            "--mqtt", $"mqtts://127.0.0.1:{broker.Port}/fleet/tls?client=tls1", "--mqtt-ca", ca.CertificateFile,
            "--mqtt-credentials", Credentials(dir, Password)];
        Assert.That(EdgeNets.Host.Program.Run(args, output, TextWriter.Synchronized(err), default), Is.Zero, err.ToString());

        MqttSubscriber.WaitFor(() => subscriber.Payloads("fleet/tls/status").LastOrDefault() == "offline", "the offline status");
        Assert.That(subscriber.Payloads("fleet/tls/status"), Is.EqualTo(new[] { "online", "offline" }));
        var delivered = subscriber.Received.Where(m => !m.Topic.EndsWith("/status")).Select(m => m.Payload).ToArray();
        Assert.That(delivered, Is.EqualTo(output.Lines), "every line the host printed, in order");
        Assert.That(delivered.Count(l => JsonDocument.Parse(l).RootElement.GetProperty("type").GetString() == "prediction"), Is.EqualTo(predictions));
        Assert.That(err.ToString(), Does.Contain($"connected to 127.0.0.1:{broker.Port}").And.Not.Contain("cannot connect"));
    }

    [Test]
    public void ABrokerCertificateFromAnotherAuthorityIsAClearErrorAndTheHostKeepsTrying()
    {
        string dir = RepoPaths.TempDirectory();
        using var ca = new TestCertificateAuthority(dir, "test-ca");
        using var other = new TestCertificateAuthority(dir, "other-ca");
        using var broker = TlsBroker(dir, ca);
        var target = MqttTarget.Parse($"mqtts://127.0.0.1:{broker.Port}/x?client=wrong-ca", other.CertificateFile, Credentials(dir, Password), _ => null);
        foreach (var line in RefusedAttempts(target))
            Assert.That(line, Does.StartWith($"edgenets-host: mqtt: cannot connect to 127.0.0.1:{broker.Port}: TLS handshake failed: " +
                $"the broker's certificate (CN=broker, issued by CN=test-ca) is not signed by the authority in --mqtt-ca {other.CertificateFile} ("));
        // Without --mqtt-ca the system's authorities decide, and none of them signed it.
        target = MqttTarget.Parse($"mqtts://127.0.0.1:{broker.Port}/x?client=system-ca", null, Credentials(dir, Password), _ => null);
        Assert.That(RefusedAttempts(target)[0], Does.Contain("is not signed by an authority the system trusts").And.Contain("give its CA with --mqtt-ca"));
    }

    [Test]
    public void AWrongPasswordIsAClearError()
    {
        string dir = RepoPaths.TempDirectory();
        using var ca = new TestCertificateAuthority(dir, "test-ca");
        using var broker = TlsBroker(dir, ca);
        string credentials = Credentials(dir, "not the password");
        var target = MqttTarget.Parse($"mqtts://127.0.0.1:{broker.Port}/x?client=wrong-password", ca.CertificateFile, credentials, _ => null);
        Assert.That(RefusedAttempts(target)[0], Does.Contain($"cannot connect to 127.0.0.1:{broker.Port}: the broker refused ")
            .And.Contain($"user '{User}' from --mqtt-credentials {credentials}").And.Not.Contain("not the password"));
        // The same from the environment.
        var env = new Dictionary<string, string?> { [MqttTarget.UsernameVariable] = User, [MqttTarget.PasswordVariable] = "wrong" };
        target = MqttTarget.Parse($"mqtts://127.0.0.1:{broker.Port}/x?client=wrong-env", ca.CertificateFile, null, k => env.GetValueOrDefault(k));
        Assert.That(RefusedAttempts(target)[0], Does.Contain($"user '{User}' from {MqttTarget.UsernameVariable}/{MqttTarget.PasswordVariable}"));
    }

    [Test]
    public void ABrokerThatRequiresAClientCertificateTakesTheOneGiven()
    {
        string dir = RepoPaths.TempDirectory();
        using var ca = new TestCertificateAuthority(dir, "test-ca");
        using var broker = TlsBroker(dir, ca, requireClientCertificate: true);
        var (certificate, key) = ca.Issue("pi7", server: false);
        string url = $"mqtts://127.0.0.1:{broker.Port}/certs?client=pi7", credentials = Credentials(dir, Password);

        var target = MqttTarget.Parse(url, ca.CertificateFile, credentials, _ => null, certificate, key);
        using var subscriber = new MqttSubscriber(broker.Port, "certs/#", o => o.WithCredentials(User, Password).WithTlsOptions(t => t.UseTls()
            .WithCertificateValidationHandler(_ => true).WithClientCertificates([target.ClientCertificate!])));
        subscriber.Connect();
        var publisher = new MqttPublisher(target, capacity: 4, lineCapacity: 64, TextWriter.Null);
        publisher.Write("prediction"u8, "{\"index\": 7}\n"u8);
        publisher.Dispose();
        Assert.That(publisher.Published, Is.EqualTo(1));
        MqttSubscriber.WaitFor(() => subscriber.Payloads("certs/prediction").Length > 0, "the prediction");
        Assert.That(subscriber.Payloads("certs/prediction"), Is.EqualTo(new[] { "{\"index\": 7}" }));

        // Without one the broker ends the handshake.
        Assert.That(RefusedAttempts(MqttTarget.Parse(url, ca.CertificateFile, credentials, _ => null))[0],
            Does.Contain("the broker ended the TLS handshake").And.Contain("a broker that requires a client certificate does so: give one with --mqtt-cert and --mqtt-key"));
    }

    [Test]
    public void TlsFilesAreCheckedAtStart()
    {
        string dir = RepoPaths.TempDirectory();
        using var ca = new TestCertificateAuthority(dir, "test-ca");
        var (certificate, key) = ca.Issue("pi7", server: false);
        var err = new StringWriter();
        Assert.That(EdgeNets.Host.Program.Run(["--model", "m.enet", "--source", "npy:x.npy", "--mqtt", "mqtts://broker/x", "--mqtt-ca", key],
            Stream.Null, err, default), Is.EqualTo(2));
        Assert.That(err.ToString().Split('\n')[0], Is.EqualTo($"edgenets-host: --mqtt-ca {key}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it"));
        Assert.That(() => MqttTarget.Parse("mqtts://broker/x", null, null, _ => null, certificate, null),
            Throws.ArgumentException.With.Message.Contains("go together"));
        Assert.That(() => MqttTarget.Parse("mqtt://broker/x", null, null, _ => null, certificate, key),
            Throws.ArgumentException.With.Message.Contains("mqtts"));
        Assert.That(() => MqttTarget.Parse("mqtts://broker/x", null, null, _ => null, certificate, ca.CertificateFile),
            Throws.ArgumentException.With.Message.Contains($"--mqtt-key {ca.CertificateFile}"));
        Assert.That(MqttTarget.Parse("mqtts://broker/x", ca.CertificateFile, null, _ => null, certificate, key).ClientCertificate!.HasPrivateKey, Is.True);
    }
}
