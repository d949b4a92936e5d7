namespace EdgeNets.Converter;

/// <summary>Values quoted in error messages, kept to one readable line however many a hostile model holds.</summary>
internal static class MessageText
{
    private const int MaxShown = 16;

    /// <summary>"1,2,3" for short lists; the first values and the count for long ones ("1,2,...,16,... (4096 values)").</summary>
    public static string List<T>(IEnumerable<T> values)
    {
        var shown = values.Take(MaxShown + 1).ToList();
        if (shown.Count <= MaxShown) return string.Join(',', shown);
        return string.Join(',', shown.Take(MaxShown)) + $",... ({values.Count()} values)";
    }
}
