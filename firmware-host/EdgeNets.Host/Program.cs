using System.Diagnostics;
using System.Globalization;
using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;

namespace EdgeNets.Host;

/// <summary>
/// edgenets-host: runs a converted model on a stream of inputs and prints one JSON line per result.
/// This first version replays recorded inputs (`--source npy:FILE`); camera and sensor sources build on the same loop.
/// </summary>
public static class Program
{
    private const string Usage = "usage: edgenets-host --model MODEL.enet --source npy:FILE.npy";

    public static int Main(string[] args)
    {
        string? modelPath = null, source = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--model": modelPath = args[i + 1]; break;
                case "--source": source = args[i + 1]; break;
                default: Console.Error.WriteLine($"edgenets-host: unknown option {args[i]}\n{Usage}"); return 2;
            }
        }
        if (modelPath == null || source == null) { Console.Error.WriteLine(Usage); return 2; }
        if (!source.StartsWith("npy:", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"edgenets-host: unsupported source '{source}' (this build replays npy:FILE)");
            return 2;
        }

        try
        {
            var model = Model.Load(modelPath);
            var samples = NpyFile.Read(source[4..]);
            using var session = model.CreateSession();
            var input = model.Graph.Tensors[model.Graph.Inputs[0]];
            var output = new float[model.Graph.Tensors[model.Graph.Outputs[0]].ElementCount];
            if (samples.SampleSize != input.ElementCount)
            {
                Console.Error.WriteLine($"edgenets-host: {source[4..]}: samples of {samples.SampleSize} values, model input '{input.Name}' needs {input.ElementCount}");
                return 1;
            }
            var all = samples.ToFloat32();
            var inv = CultureInfo.InvariantCulture;
            for (int s = 0; s < samples.SampleCount; s++)
            {
                long start = Stopwatch.GetTimestamp();
                session.Run(all.AsSpan(s * input.ElementCount, input.ElementCount), output);
                double us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                int top = 0;
                for (int c = 1; c < output.Length; c++) if (output[c] > output[top]) top = c;
                Console.Out.WriteLine(string.Format(inv, "{{\"index\": {0}, \"class\": {1}, \"score\": {2:G6}, \"latency_us\": {3:F1}}}", s, top, output[top], us));
            }
            return 0;
        }
        catch (Exception e) when (e is EdgeNets.Runtime.Format.ModelFormatException or InvalidDataException or IOException)
        {
            Console.Error.WriteLine($"edgenets-host: {e.Message}");
            return 1;
        }
    }
}
