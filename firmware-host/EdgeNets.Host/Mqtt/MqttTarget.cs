using System.Globalization;

namespace EdgeNets.Host.Mqtt;

/// <summary>
/// Where and how the host publishes: <c>mqtt://HOST[:PORT]/PREFIX</c> or <c>mqtts://HOST[:PORT]/PREFIX</c>, optionally
/// <c>?client=ID</c>. Credentials never come from the URL (command lines are visible to every user of the machine):
/// they come from a file (username on the first line, password on the second) or from the environment.
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
    public string? Username { get; init; }
    public string? Password { get; init; }

    /// <summary>Reads the URL, and the credentials from <paramref name="credentialsFile"/> or the environment. ArgumentException on errors.</summary>
    public static MqttTarget Parse(string url, string? caFile, string? credentialsFile, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "mqtt" && uri.Scheme != "mqtts") || uri.Host.Length == 0)
            throw new ArgumentException($"--mqtt {url}: expected mqtt://HOST[:PORT]/TOPIC-PREFIX or mqtts://...");
        if (uri.UserInfo.Length > 0)
            throw new ArgumentException($"--mqtt: no credentials in the URL (it shows in the process list); use --mqtt-credentials FILE or {UsernameVariable}/{PasswordVariable}");
        bool tls = uri.Scheme == "mqtts";
        if (caFile != null && !tls) throw new ArgumentException("--mqtt-ca is for mqtts:// URLs");
        if (caFile != null && !File.Exists(caFile)) throw new ArgumentException($"--mqtt-ca {caFile}: no such file");
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

        string? username, password;
        if (credentialsFile != null)
        {
            if (!File.Exists(credentialsFile)) throw new ArgumentException($"--mqtt-credentials {credentialsFile}: no such file");
            var lines = File.ReadAllLines(credentialsFile);
            if (lines.Length < 1 || lines[0].Length == 0)
                throw new ArgumentException($"--mqtt-credentials {credentialsFile}: expected the username on the first line and the password on the second");
            username = lines[0];
            password = lines.Length > 1 ? lines[1] : null;
        }
        else
        {
            username = environment(UsernameVariable);
            password = environment(PasswordVariable);
            if (string.IsNullOrEmpty(username)) username = null;
            if (username == null && !string.IsNullOrEmpty(password)) throw new ArgumentException($"{PasswordVariable} is set but {UsernameVariable} is not");
        }
        return new MqttTarget
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? (tls ? 8883 : 1883) : uri.Port,
            Tls = tls,
            TopicPrefix = prefix,
            ClientId = clientId ?? "edgenets-host-" + Environment.MachineName.ToLower(CultureInfo.InvariantCulture),
            CaFile = caFile,
            Username = username,
            Password = password,
        };
    }
}
