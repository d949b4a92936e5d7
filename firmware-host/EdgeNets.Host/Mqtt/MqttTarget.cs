using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EdgeNets.Host.Mqtt;

/// <summary>
/// Where and how the host publishes: <c>mqtt://HOST[:PORT]/PREFIX</c> or <c>mqtts://HOST[:PORT]/PREFIX</c>, optionally
/// <c>?client=ID</c>. Credentials never come from the URL (command lines are visible to every user of the machine):
/// they come from a file (username on the first line, password on the second) or from the environment. Over mqtts the
/// broker's certificate is checked against the system's authorities or the one in a CA file, and the host can show a
/// client certificate of its own. The files are read here, at start, so a wrong one is a usage error.
/// </summary>
public sealed class MqttTarget
{
    public const string UsernameVariable = "EDGENETS_MQTT_USERNAME";
    public const string PasswordVariable = "EDGENETS_MQTT_PASSWORD";

    public required string Host { get; init; }
    public required int Port { get; init; }
    public required bool Tls { get; init; }
    /// <summary>Topics are PREFIX/prediction, PREFIX/event, PREFIX/metrics, PREFIX/error, PREFIX/summary and PREFIX/status.</summary>
    public required string TopicPrefix { get; init; }
    public required string ClientId { get; init; }
    /// <summary>PEM file of the certificate authority that signed the broker's certificate (mqtts; default: the system's).</summary>
    public string? CaFile { get; init; }
    /// <summary>The certificates of <see cref="CaFile"/>: the only authorities the broker's certificate may chain to.</summary>
    public X509Certificate2Collection? TrustedAuthorities { get; init; }
    /// <summary>The host's own certificate with its private key, for brokers that require one (mqtts).</summary>
    public X509Certificate2? ClientCertificate { get; init; }
    /// <summary>Where the credentials came from, for error messages (never the password).</summary>
    public string? CredentialsSource { get; init; }
    public string? Username { get; init; }
    public string? Password { get; init; }

    /// <summary>
    /// Reads the URL, the credentials from <paramref name="credentialsFile"/> or the environment, and the PEM files of
    /// the CA and of the client certificate and its key. ArgumentException on errors.
    /// </summary>
    public static MqttTarget Parse(string url, string? caFile, string? credentialsFile, Func<string, string?>? environment = null,
                                   string? certificateFile = null, string? keyFile = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "mqtt" && uri.Scheme != "mqtts") || uri.Host.Length == 0)
            throw new ArgumentException($"--mqtt {url}: expected mqtt://HOST[:PORT]/TOPIC-PREFIX or mqtts://...");
        if (uri.UserInfo.Length > 0)
            throw new ArgumentException($"--mqtt: no credentials in the URL (it shows in the process list); use --mqtt-credentials FILE or {UsernameVariable}/{PasswordVariable}");
        bool tls = uri.Scheme == "mqtts";
        if (caFile != null && !tls) throw new ArgumentException("--mqtt-ca is for mqtts:// URLs");
        if ((certificateFile ?? keyFile) != null && !tls) throw new ArgumentException("--mqtt-cert and --mqtt-key are for mqtts:// URLs");
        if ((certificateFile == null) != (keyFile == null)) throw new ArgumentException("--mqtt-cert and --mqtt-key go together");
        var authorities = caFile == null ? null : ReadAuthorities(caFile);
        var clientCertificate = certificateFile == null ? null : ReadCertificate(certificateFile, keyFile!);
        string prefix = Uri.UnescapeDataString(uri.AbsolutePath).Trim('/');
        if (prefix.Length == 0) throw new ArgumentException($"--mqtt {url}: give a topic prefix, e.g. mqtt://{uri.Host}/edgenets/{Environment.MachineName}");
        if (prefix.Contains('+') || uri.Fragment.Length > 0) throw new ArgumentException($"--mqtt {url}: the topic prefix cannot hold the wildcards + or #");
        string? clientId = null;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=');
            string key = eq < 0 ? pair : pair[..eq], value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (key == "client" && value.Length > 0) clientId = value;
            else throw new ArgumentException($"--mqtt {url}: unknown parameter '{key}' (expected client=ID)");
        }

        string? username, password, credentialsSource;
        if (credentialsFile != null)
        {
            if (!File.Exists(credentialsFile)) throw new ArgumentException($"--mqtt-credentials {credentialsFile}: no such file");
            var lines = File.ReadAllLines(credentialsFile);
            if (lines.Length < 1 || lines[0].Length == 0)
                throw new ArgumentException($"--mqtt-credentials {credentialsFile}: expected the username on the first line and the password on the second");
            username = lines[0];
            password = lines.Length > 1 ? lines[1] : null;
            credentialsSource = "--mqtt-credentials " + credentialsFile;
        }
        else
        {
            username = environment(UsernameVariable);
            password = environment(PasswordVariable);
            if (string.IsNullOrEmpty(username)) username = null;
            if (username == null && !string.IsNullOrEmpty(password)) throw new ArgumentException($"{PasswordVariable} is set but {UsernameVariable} is not");
            credentialsSource = username == null ? null : $"{UsernameVariable}/{PasswordVariable}";
        }
        return new MqttTarget
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? (tls ? 8883 : 1883) : uri.Port,
            Tls = tls,
            TopicPrefix = prefix,
            ClientId = clientId ?? "edgenets-host-" + Environment.MachineName.ToLower(CultureInfo.InvariantCulture),
            CaFile = caFile,
            TrustedAuthorities = authorities,
            ClientCertificate = clientCertificate,
            Username = username,
            Password = password,
            CredentialsSource = credentialsSource,
        };
    }

    private static X509Certificate2Collection ReadAuthorities(string caFile)
    {
        if (!File.Exists(caFile)) throw new ArgumentException($"--mqtt-ca {caFile}: no such file");
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(caFile);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"--mqtt-ca {caFile}: not a PEM certificate ({e.Message})");
        }
        // ImportFromPemFile skips what is not a certificate, so a key or an empty file gives no error of its own.
        if (authorities.Count == 0) throw new ArgumentException($"--mqtt-ca {caFile}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it");
        return authorities;
    }

    private static X509Certificate2 ReadCertificate(string certificateFile, string keyFile)
    {
        if (!File.Exists(certificateFile)) throw new ArgumentException($"--mqtt-cert {certificateFile}: no such file");
        if (!File.Exists(keyFile)) throw new ArgumentException($"--mqtt-key {keyFile}: no such file");
        try
        {
            return X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"--mqtt-cert {certificateFile} --mqtt-key {keyFile}: not a PEM certificate and its private key ({e.Message})");
        }
    }
}
