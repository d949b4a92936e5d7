using System.Text;

namespace EdgeNets.Runtime.Format;

/// <summary>
/// Error messages are one line, but they quote names taken from the file (tensors, nodes, operator types), which a
/// hostile file can fill with line breaks and other control characters: those are shown escaped (<c>\n</c>, <c>\x1B</c>).
/// </summary>
public static class OneLineMessage
{
    public static string Of(string message)
    {
        int first = message.AsSpan().IndexOfAnyInRange('\0', '\x1F');
        if (first < 0 && !message.Contains('\x7F')) return message;
        var text = new StringBuilder(message.Length + 16);
        foreach (char c in message)
        {
            if (c == '\n') text.Append("\\n");
            else if (c == '\r') text.Append("\\r");
            else if (c == '\t') text.Append("\\t");
            else if (c < ' ' || c == '\x7F') text.Append("\\x").Append(((int)c).ToString("X2"));
            else text.Append(c);
        }
        return text.ToString();
    }
}
