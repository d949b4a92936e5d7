using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// Debian's mosquitto on a free loopback port, with persistence, so it can be stopped (SIGTERM, as systemd does) and
/// started again on the same port with the subscriptions and queued messages of persistent sessions intact. The
/// listener takes anonymous clients over plain TCP unless other listener settings are given (TLS, a password file).
/// </summary>
public sealed class MosquittoBroker : IDisposable
{
    private const string Executable = "/usr/sbin/mosquitto";
    private readonly string _config;
    private Process? _process;

    public int Port { get; }

    /// <param name="listenerSettings">mosquitto.conf lines for the listener (default: allow_anonymous true).</param>
    public MosquittoBroker(string listenerSettings = "allow_anonymous true")
    {
        if (!File.Exists(Executable)) Assert.Fail($"{Executable} is not installed (tools/setup.sh installs Debian's mosquitto)");
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        string dir = RepoPaths.TempDirectory();
        _config = Path.Combine(dir, "mosquitto.conf");
        File.WriteAllText(_config, $"""
            listener {Port} 127.0.0.1
            {listenerSettings}
            persistence true
            persistence_location {dir}/
            log_dest stderr
            user {Environment.UserName}
            """);
        Start();
    }

    public void Start()
    {
        var info = new ProcessStartInfo(Executable, ["-c", _config]) { RedirectStandardError = true, RedirectStandardOutput = true };
        _process = Process.Start(info)!;
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        for (var wait = Stopwatch.StartNew(); wait.Elapsed < TimeSpan.FromSeconds(20); Thread.Sleep(20))
        {
            if (_process.HasExited) Assert.Fail($"mosquitto exited with {_process.ExitCode}");
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) { }
        }
        Assert.Fail($"mosquitto does not listen on port {Port}");
    }

    /// <summary>Stops the broker the way systemd does (SIGTERM), so it saves its persistent sessions.</summary>
    public void Stop()
    {
        if (_process == null || _process.HasExited) return;
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) kill.WaitForExit();
        if (!_process.WaitForExit(20_000)) _process.Kill();
        _process.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        if (_process != null && !_process.HasExited) _process.Kill();
        _process?.Dispose();
    }
}
