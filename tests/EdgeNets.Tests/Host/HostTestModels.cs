using System.Text.Json;
using EdgeNets.Host.Output;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace EdgeNets.Tests.Host;

/// <summary>Small hand-built models for host tests: they expose the input so the host's preprocessing can be checked.</summary>
public static class HostTestModels
{
    /// <summary>A Reshape from <paramref name="inputShape"/> to [1, elements]: the output is the input, flattened.</summary>
    public static Model Flatten(DataType type, int[] inputShape, QuantizationInfo? quant = null)
    {
        var g = new TestGraph();
        int count = inputShape.Aggregate(1, (a, b) => a * b);
        int x = g.Input("input", type, inputShape, quant);
        int y = g.Output("output", type, [1, count], quant);
        g.Op(OpType.Reshape, [x], [y]);
        return g.Build();
    }

    /// <summary>Scale and zero point that map [0, 1] onto int8 like a calibrated image input.</summary>
    public static QuantizationInfo UnitRangeInt8 => QuantizationInfo.PerTensor(1f / 255f, -128);

    /// <summary>The JSON lines the host printed.</summary>
    public static JsonElement[] ParseLines(CaptureStream s) => s.Lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();

    public static string WriteTemp(string name, Action<string> write)
    {
        string path = Path.Combine(RepoPaths.TempDirectory(), name);
        write(path);
        return path;
    }
}

/// <summary>A write-only stream that keeps what was written (bounded), for checking output lines without allocating per write.</summary>
public sealed class CaptureStream(int capacity) : Stream
{
    private readonly byte[] _data = new byte[capacity];
    public int Length32 { get; private set; }
    public long TotalBytes { get; private set; }
    public bool Wrap { get; set; }

    public string Text => System.Text.Encoding.UTF8.GetString(_data, 0, Length32);
    public string[] Lines => Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override void Write(byte[] buffer, int offset, int count)
    {
        TotalBytes += count;
        if (Wrap && Length32 + count > _data.Length) Length32 = 0;
        int n = Math.Min(count, _data.Length - Length32);
        Array.Copy(buffer, offset, _data, Length32, n);
        Length32 += n;
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Length32;
    public override long Position { get => Length32; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>GPIO pins that remember their levels and every write, instead of driving hardware.</summary>
public sealed class RecordingPins : IPinOutput
{
    public readonly Dictionary<int, bool> Level = new();
    public readonly List<int> Opened = new();
    public int Writes;
    public bool Disposed;
    public void OpenOutput(int pin) => Opened.Add(pin);
    public void Write(int pin, bool high) { Level[pin] = high; Writes++; }
    public void Dispose() => Disposed = true;
}

/// <summary>Passes frames through and moves a fake clock on by a fixed step before each: a device sampling at a fixed rate.</summary>
public sealed class ClockedSource(ISource inner, FakeTimeProvider clock, TimeSpan step) : ISource
{
    public string Name => inner.Name;
    public long DroppedFrames => inner.DroppedFrames;
    public ReadStatus Read(out Frame frame)
    {
        clock.Advance(step);
        return inner.Read(out frame);
    }
    public void Dispose() => inner.Dispose();
}
