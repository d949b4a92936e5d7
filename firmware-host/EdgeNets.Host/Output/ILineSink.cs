namespace EdgeNets.Host.Output;

/// <summary>
/// Receives every JSON line the host prints, with its type ("prediction", "event", "metrics", "error", "summary"), e.g.
/// to publish it. Called on the frame loop: must copy what it keeps, and allocate and block nothing.
/// </summary>
public interface ILineSink
{
    void Write(ReadOnlySpan<byte> type, ReadOnlySpan<byte> line);

    /// <summary>Lines the sink had to drop (e.g. its queue was full).</summary>
    long Dropped { get; }
}
