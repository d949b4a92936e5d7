using System.Globalization;

namespace EdgeNets.Host;

/// <summary>A bad <c>--source</c> argument; the message says what is wrong and what is expected.</summary>
public sealed class SourceUriException(string message) : FormatException(message);

/// <summary>
/// A source argument of the form <c>scheme:path?key=value&amp;key=value</c>, e.g. <c>camera:/dev/video0?width=160</c>.
/// Sources read their options through the typed getters and call <see cref="RejectUnknownKeys"/> so a typo fails loudly.
/// </summary>
public sealed class SourceUri
{
    private readonly Dictionary<string, string> _query;

    private SourceUri(string text, string scheme, string path, Dictionary<string, string> query)
    {
        Text = text;
        Scheme = scheme;
        Path = path;
        _query = query;
    }

    /// <summary>Schemes whose path may be empty, e.g. <c>rpicam:?width=320</c> for the first camera module.</summary>
    private static readonly string[] PathOptionalSchemes = ["rpicam"];

    public string Text { get; }
    public string Scheme { get; }
    public string Path { get; }
    public IReadOnlyDictionary<string, string> Query => _query;

    public static SourceUri Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.IndexOf(':');
        if (colon <= 0)
            throw new SourceUriException($"source '{text}': expected scheme:path, e.g. npy:inputs.npy or camera:/dev/video0");
        string scheme = text[..colon];
        foreach (char c in scheme)
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c))
                throw new SourceUriException($"source '{text}': scheme '{scheme}' must be lower-case letters and digits");
        string rest = text[(colon + 1)..];
        int question = rest.IndexOf('?');
        string path = question < 0 ? rest : rest[..question];
        if (path.Length == 0 && Array.IndexOf(PathOptionalSchemes, scheme) < 0)
            throw new SourceUriException($"source '{text}': missing path after '{scheme}:'");
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        if (question >= 0)
        {
            string queryText = rest[(question + 1)..];
            if (queryText.Length == 0) throw new SourceUriException($"source '{text}': empty query after '?'");
            foreach (string pair in queryText.Split('&'))
            {
                int eq = pair.IndexOf('=');
                if (eq <= 0) throw new SourceUriException($"source '{text}': option '{pair}' must be key=value");
                string key = pair[..eq], value = pair[(eq + 1)..];
                if (value.Length == 0) throw new SourceUriException($"source '{text}': option '{key}' has an empty value");
                if (!query.TryAdd(key, value)) throw new SourceUriException($"source '{text}': option '{key}' given twice");
            }
        }
        return new SourceUri(text, scheme, path, query);
    }

    /// <summary>Fails on any query key not in <paramref name="known"/>, listing the accepted ones.</summary>
    public void RejectUnknownKeys(params string[] known)
    {
        foreach (var key in _query.Keys)
            if (Array.IndexOf(known, key) < 0)
                throw new SourceUriException(known.Length == 0
                    ? $"source '{Text}': {Scheme} takes no options, got '{key}'"
                    : $"source '{Text}': unknown option '{key}' for {Scheme} (accepted: {string.Join(", ", known)})");
    }

    public string? GetString(string key) => _query.TryGetValue(key, out var v) ? v : null;

    public int GetInt(string key, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!_query.TryGetValue(key, out var text)) return defaultValue;
        bool ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value)
            : int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        if (!ok) throw new SourceUriException($"source '{Text}': option {key}={text} is not an integer");
        if (value < min || value > max) throw new SourceUriException($"source '{Text}': option {key}={text} is outside {min}..{max}");
        return value;
    }

    public double GetDouble(string key, double defaultValue, double min = double.MinValue, double max = double.MaxValue)
    {
        if (!_query.TryGetValue(key, out var text)) return defaultValue;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            throw new SourceUriException($"source '{Text}': option {key}={text} is not a number");
        if (value < min || value > max) throw new SourceUriException($"source '{Text}': option {key}={text} is outside {min}..{max}");
        return value;
    }

    public bool GetBool(string key, bool defaultValue)
    {
        if (!_query.TryGetValue(key, out var text)) return defaultValue;
        return text switch
        {
            "1" or "true" or "yes" => true,
            "0" or "false" or "no" => false,
            _ => throw new SourceUriException($"source '{Text}': option {key}={text} must be true or false"),
        };
    }

    /// <summary>A comma-separated list option, e.g. <c>columns=ax,ay,az</c>; null when absent.</summary>
    public string[]? GetList(string key)
    {
        if (!_query.TryGetValue(key, out var text)) return null;
        var items = text.Split(',');
        foreach (var item in items)
            if (item.Length == 0) throw new SourceUriException($"source '{Text}': option {key}={text} has an empty item");
        return items;
    }

    public override string ToString() => Text;
}
