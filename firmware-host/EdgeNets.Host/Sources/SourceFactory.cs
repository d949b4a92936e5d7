namespace EdgeNets.Host.Sources;

/// <summary>Creates the source named by a <c>--source</c> argument.</summary>
public static class SourceFactory
{
    public const string Schemes = "npy, images, csv, video, camera, rpicam, imu, env, serial";

    /// <summary>
    /// Opens the source. Live devices (camera, rpicam, imu, env, serial) are wrapped in a <see cref="ResilientSource"/> so a device
    /// that fails is reopened with backoff; the first open happens here so a wrong path fails at start-up.
    /// </summary>
    public static ISource Create(SourceUri uri, TextWriter log, CancellationToken cancel = default)
    {
        switch (uri.Scheme)
        {
            case "npy": return new NpySource(uri, cancel);
            case "images": return new ImageDirectorySource(uri, cancel);
            case "csv": return new CsvSource(uri, log, cancel);
            case "video": return new Y4mSource(uri, cancel);
            case "camera": return Live(uri, () => new CameraSource(uri, cancel), log, cancel);
            case "rpicam": return Live(uri, () => new RpiCamSource(uri, cancel), log, cancel);
            case "imu": return Live(uri, () => ImuSource.Open(uri), log, cancel);
            case "env": return Live(uri, () => EnvironmentSource.Open(uri), log, cancel);
            case "serial": return Live(uri, () => new SerialSource(uri, cancel), log, cancel);
            default: throw new SourceUriException($"source '{uri.Text}': unknown scheme '{uri.Scheme}' (supported: {Schemes})");
        }
    }

    private static ResilientSource Live(SourceUri uri, Func<ISource> open, TextWriter log, CancellationToken cancel)
    {
        var first = open();
        bool usedFirst = false;
        return new ResilientSource(uri.Text, () =>
        {
            if (!usedFirst) { usedFirst = true; return first; }
            return open();
        }, log, cancel);
    }
}
