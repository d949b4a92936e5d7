using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EdgeNets.Host.Status;

/// <summary>
/// The read-only status page over plain HTTP/1.1 on a socket: GET (and HEAD) of a few fixed paths, one request per
/// connection. A web framework (ASP.NET Core) would add megabytes to the NativeAOT binary and HttpListener brings its
/// own request machinery and authentication schemes; serving five fixed resources needs neither. Requests are served on
/// thread-pool threads; the frame loop never waits for them (see <see cref="StatusBoard"/>).
/// </summary>
public sealed class StatusServer : IDisposable
{
    private const int MaxRequestBytes = 8192;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);
    private readonly Socket _listener;
    private readonly StatusContent _content;
    private readonly Thread _acceptor;
    private volatile bool _stopping;

    public StatusServer(IPEndPoint endpoint, StatusContent content)
    {
        _content = content;
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _listener.Bind(endpoint);
            _listener.Listen(16);
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            throw new IOException($"--http {endpoint}: {e.Message}", e);
        }
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _acceptor = new Thread(Accept) { IsBackground = true, Name = "status page" };
        _acceptor.Start();
    }

    /// <summary>The address and port served (the port chosen by the system when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>
    /// The <c>--http</c> value: <c>PORT</c> (on 127.0.0.1), <c>HOST:PORT</c> or <c>[IPv6]:PORT</c>. Only an address
    /// given explicitly serves beyond this machine.
    /// </summary>
    public static IPEndPoint ParseEndpoint(string text)
    {
        if (ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ushort port)) return new IPEndPoint(IPAddress.Loopback, port);
        int colon = text.LastIndexOf(':');
        if (colon > 0 && ushort.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port))
        {
            string host = text[..colon];
            bool bracketed = host.StartsWith('[') && host.EndsWith(']');
            if (bracketed) host = host[1..^1];
            if (host == "localhost") return new IPEndPoint(IPAddress.Loopback, port);
            // An IPv6 address needs its brackets, so that its last group is never taken for the port.
            if (IPAddress.TryParse(host, out var address) && bracketed == (address.AddressFamily == AddressFamily.InterNetworkV6))
                return new IPEndPoint(address, port);
        }
        throw new ArgumentException($"--http {text}: expected PORT, ADDRESS:PORT or [IPv6]:PORT (e.g. 127.0.0.1:8080)");
    }

    private void Accept()
    {
        while (!_stopping)
        {
            Socket client;
            try { client = _listener.Accept(); }
            catch (SocketException) { continue; }
            catch (ObjectDisposedException) { return; }
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.Server.Serve(state.Client), (Server: this, Client: client), preferLocal: false);
        }
    }

    private void Serve(Socket client)
    {
        using (client)
        {
            try
            {
                client.ReceiveTimeout = client.SendTimeout = (int)RequestTimeout.TotalMilliseconds;
                var (method, path) = ReadRequestLine(client);
                if (method == null) return;
                Respond(client, method, path!);
                // Closing with unread request bytes (a body) would reset the connection before the client has read the
                // response: end the sending side, then let the client close first.
                client.Shutdown(SocketShutdown.Send);
                var drain = new byte[1024];
                for (int total = 0; total < 65536;)
                {
                    int n = client.Receive(drain);
                    if (n == 0) break;
                    total += n;
                }
            }
            catch (SocketException) { }   // the client went away or was too slow: nothing to tell it
            catch (ObjectDisposedException) { }
        }
    }

    /// <summary>Reads the request head (up to its blank line) and returns its method and path; nulls for an unusable request.</summary>
    private static (string? Method, string? Path) ReadRequestLine(Socket client)
    {
        var head = new byte[MaxRequestBytes];
        int length = 0;
        while (length < head.Length)
        {
            int n = client.Receive(head, length, head.Length - length, SocketFlags.None);
            if (n == 0) break;
            length += n;
            if (head.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0) break;
        }
        int end = head.AsSpan(0, length).IndexOf("\r\n"u8);
        if (end < 0) return (null, null);
        var parts = Encoding.ASCII.GetString(head, 0, end).Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal)) return (null, null);
        string path = parts[1];
        int query = path.IndexOf('?');
        return (parts[0], query >= 0 ? path[..query] : path);
    }

    private void Respond(Socket client, string method, string path)
    {
        if (method is not ("GET" or "HEAD"))
        {
            Send(client, method, "405 Method Not Allowed", "text/plain; charset=utf-8", "read-only: GET and HEAD only\n"u8.ToArray(), "Allow: GET, HEAD\r\n");
            return;
        }
        var (status, type, body) = path switch
        {
            "/" or "/index.html" => ("200 OK", "text/html; charset=utf-8", StatusPage.Html),
            "/status.json" => ("200 OK", "application/json", _content.StatusJson()),
            "/model.json" => ("200 OK", "application/json", _content.ModelJson()),
            "/metrics" => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", _content.Metrics()),
            "/input.bmp" => _content.InputBmp() is { } bmp ? ("200 OK", "image/bmp", bmp)
                : ("404 Not Found", "text/plain; charset=utf-8", "no prediction yet\n"u8.ToArray()),
            _ => ("404 Not Found", "text/plain; charset=utf-8", "not found\n"u8.ToArray()),
        };
        Send(client, method, status, type, body, "");
    }

    private static void Send(Socket client, string method, string status, string type, byte[] body, string extraHeaders)
    {
        string head = $"HTTP/1.1 {status}\r\nContent-Type: {type}\r\nContent-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}\r\n" +
                      $"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n{extraHeaders}Connection: close\r\n\r\n";
        client.Send(Encoding.ASCII.GetBytes(head));
        if (method != "HEAD") client.Send(body);
    }

    public void Dispose()
    {
        _stopping = true;
        _listener.Dispose();
        _acceptor.Join(TimeSpan.FromSeconds(2));
    }
}
