using System.Diagnostics;
using EdgeNets.Cli.Terminal;
using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;

namespace EdgeNets.Cli.Commands;

/// <summary>`edgenets convert MODEL.onnx -o MODEL.enet --calibration DATA.npy ...`</summary>
public static class ConvertCommand
{
    private static readonly HashSet<string> ValueOptions = ["output", "calibration", "calibration-method", "precision", "percentile", "batch"];

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments("convert", args, ValueOptions, new HashSet<string>());
        string onnxPath = a.Positional(0, "input model (MODEL.onnx)");
        a.ExpectPositionals(1);
        string output = a.Require("output");
        string precisionText = a.Option("precision") ?? "int8";
        var precision = precisionText switch
        {
            "int8" => Precision.Int8,
            "float32" => Precision.Float32,
            _ => throw new CliException($"--precision must be int8 or float32, got '{precisionText}'", 2),
        };
        string methodText = a.Option("calibration-method") ?? "minmax";
        var method = methodText switch
        {
            "minmax" => CalibrationMethod.MinMax,
            "percentile" => CalibrationMethod.Percentile,
            _ => throw new CliException($"--calibration-method must be minmax or percentile, got '{methodText}'", 2),
        };
        double percentile = a.DoubleOption("percentile", 99.99, 50, 100);
        int batch = a.IntOption("batch", 1, 1, 4096);
        string? calibrationPath = a.Option("calibration");
        if (precision == Precision.Int8 && calibrationPath == null)
            throw new CliException("int8 conversion needs sample inputs: --calibration DATA.npy (or use --precision float32)", 2);
        if (!File.Exists(onnxPath)) throw new CliException($"{onnxPath}: file not found");

        var clock = Stopwatch.StartNew();
        var graph = OnnxImporter.Import(onnxPath, new ImportOptions { BatchSize = batch });
        stderr.WriteLine($"imported {Path.GetFileName(onnxPath)}: {graph.Ops.Count} operators after simplification");

        var samples = new List<float[]>();
        if (precision == Precision.Int8)
        {
            var input = graph.Tensors[graph.Inputs[0]];
            if (graph.Inputs.Count != 1) throw new CliException($"{onnxPath}: int8 calibration from one .npy supports single-input models; this one has {graph.Inputs.Count}");
            samples = DataFiles.SplitSamples(calibrationPath!, input, "calibration");
        }

        using var progress = precision == Precision.Int8 ? new ProgressBar("calibrating", samples.Count, stderr) : null;
        byte[] file = ModelConverter.Convert(graph, new ConvertOptions
        {
            Precision = precision,
            CalibrationMethod = method,
            Percentile = percentile,
            CalibrationSamples = samples,
            Progress = progress,
        });
        progress?.Dispose();

        // Load what we wrote before reporting success: a file the runtime rejects must never be left looking valid.
        var model = Model.Load(file);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(output));
        if (dir != null) Directory.CreateDirectory(dir);
        File.WriteAllBytes(output, file);
        long onnxBytes = new FileInfo(onnxPath).Length;
        stdout.WriteLine($"wrote {output}: {file.Length} bytes ({100.0 * file.Length / onnxBytes:F1}% of the ONNX file), " +
                         $"{precisionText}, {model.Graph.Ops.Count} ops, arena {model.ArenaBytes} bytes, {clock.Elapsed.TotalSeconds:F1}s");
        return 0;
    }
}
