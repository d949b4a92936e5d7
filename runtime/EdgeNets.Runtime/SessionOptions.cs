namespace EdgeNets.Runtime;

public sealed class SessionOptions
{
    /// <summary>
    /// Give every activation its own arena bytes so all intermediate tensors can be read after a run
    /// (calibration and per-layer error reports). Uses more memory than the planned arena.
    /// </summary>
    public bool KeepAllActivations { get; init; }

    /// <summary>Write the CPU features and the kernel chosen for each operator to <see cref="Log"/>.</summary>
    public bool LogKernelChoice { get; init; }

    /// <summary>Where diagnostics go; standard error when null.</summary>
    public TextWriter? Log { get; init; }

    /// <summary>Restrict kernel selection to the scalar reference kernels (for checking optimized ones).</summary>
    public bool ReferenceKernelsOnly { get; init; }

    /// <summary>
    /// Accumulate the Stopwatch ticks each operator (and the float input/output conversion of <see cref="Session.Run"/>)
    /// takes, readable from <see cref="Session.ProfileTicks"/>. Costs two timestamps per operator; allocates nothing per run.
    /// </summary>
    public bool Profile { get; init; }

    /// <summary>
    /// Threads an inference may use, the calling one included (1: single-threaded). The workers are created with the
    /// session and the large layers split their output channels across them; the output bytes are the same for any count.
    /// </summary>
    public int Threads { get; init; } = 1;
}
