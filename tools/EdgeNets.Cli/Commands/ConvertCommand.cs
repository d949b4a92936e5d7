using System.Diagnostics;
using EdgeNets.Cli.Terminal;
using EdgeNets.Converter;
using EdgeNets.Converter.Export;
using EdgeNets.Converter.Import;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;

namespace EdgeNets.Cli.Commands;

/// <summary>`edgenets convert MODEL.onnx -o MODEL.enet --calibration DATA.npy ...`</summary>
public static class ConvertCommand
{
    private static readonly HashSet<string> ValueOptions = ["output", "calibration", "calibration-method", "precision", "percentile", "batch", "input-mean", "input-std", "export-qdq", "qdq-activations", "input-shape", "float-layers", "int16-layers", .. AccuracyDoctor.Options];

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments("convert", args, ValueOptions, new HashSet<string> { "list-operators" });
        if (a.Flag("list-operators"))
        {
            a.ExpectPositionals(0);
            stdout.Write(OnnxSupport.Markdown());
            return 0;
        }
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
            "entropy" => CalibrationMethod.Entropy,
            "mse" => CalibrationMethod.Mse,
            "auto" => CalibrationMethod.Auto,
            _ => throw new CliException($"--calibration-method must be minmax, percentile, entropy, mse or auto, got '{methodText}'", 2),
        };
        double percentile = a.DoubleOption("percentile", 99.99, 50, 100);
        int batch = a.IntOption("batch", 1, 1, 4096);
        string? calibrationPath = a.Option("calibration");
        if (precision == Precision.Float32 && calibrationPath != null)
            throw new CliException("--calibration is for int8; a float32 conversion uses no sample inputs (drop --calibration or --precision float32)", 2);
        if (!File.Exists(onnxPath)) throw new CliException($"{onnxPath}: file not found");

        string? qdqPath = a.Option("export-qdq");
        string qdqTypeText = a.Option("qdq-activations") ?? "uint8";
        var qdqType = qdqTypeText switch
        {
            "uint8" => QdqActivationType.UInt8,
            "int8" => QdqActivationType.Int8,
            _ => throw new CliException($"--qdq-activations must be uint8 or int8, got '{qdqTypeText}'", 2),
        };
        if (qdqPath != null && precision != Precision.Int8)
            throw new CliException("--export-qdq writes ONNX Runtime's int8 form of the int8 model; it needs --precision int8", 2);

        var layerPrecisions = LayerPrecisions(a);
        if (qdqPath != null && (layerPrecisions.Count > 0 || a.Option("accuracy-target") != null))
            throw new CliException("--export-qdq writes an all-int8 QDQ model; it does not take float32 or int16 layers (--float-layers, --int16-layers, --accuracy-target)", 2);
        if (layerPrecisions.Count > 0 && precision != Precision.Int8)
            throw new CliException("--float-layers and --int16-layers set the precision of layers of an int8 model; they need --precision int8", 2);
        string? mean = Normalization(a, "input-mean");
        string? std = Normalization(a, "input-std");

        var clock = Stopwatch.StartNew();
        var importOptions = new ImportOptions { BatchSize = batch };
        foreach (var (name, shape) in InputShapes(a)) importOptions.InputShapes[name] = shape;
        var imported = OnnxImporter.ImportModel(onnxPath, importOptions);
        var graph = imported.Graph;
        var given = precision == Precision.Int8 ? imported.Given : null;
        // A pre-quantized (QDQ) model brings its own scales; any other int8 conversion needs sample inputs.
        if (precision == Precision.Int8 && calibrationPath == null && given!.Count == 0)
            throw new CliException("int8 conversion needs sample inputs: --calibration DATA.npy (or use --precision float32)", 2);
        // The input normalization used in training travels with the model, so the device host applies the same one.
        if (mean != null) graph.Metadata["input_mean"] = RequireChannels(mean, "input-mean", graph);
        if (std != null) graph.Metadata["input_std"] = RequireChannels(std, "input-std", graph);
        // What eval and bench check a given ONNX model against.
        graph.Metadata[ModelMatch.SourceHashKey] = ModelMatch.SourceHash(File.ReadAllBytes(onnxPath));
        stderr.WriteLine($"imported {Path.GetFileName(onnxPath)}: {graph.Ops.Count} operators after simplification");

        if (given is { Count: > 0 })
            stderr.WriteLine($"the model is pre-quantized (QuantizeLinear/DequantizeLinear): its scales and zero points for {given.Count} tensors are kept" +
                             (calibrationPath == null ? "; no calibration" : "; they win over the calibration, which sets only the tensors the model gives none"));
        // The samples stream from the file one at a time: a calibration set needs no memory of its size.
        using var samples = precision == Precision.Int8 && calibrationPath != null ? OpenCalibration(onnxPath, calibrationPath, graph) : null;
        using var progress = samples != null ? new ProgressBar("calibrating", samples.SampleCount * Calibrator.Passes(method), stderr) : null;
        if (precision != Precision.Int8 && a.Option("accuracy-target") != null)
            throw new CliException("--accuracy-target raises layers of an int8 model to float32; it needs --precision int8", 2);
        var owned = new List<IDisposable>();
        var search = AccuracyDoctor.Parse(a, graph.Tensors[graph.Inputs[0]], samples, stderr, owned);
        PrecisionSearchResult? searched = null;
        var convertOptions = new ConvertOptions
        {
            Precision = precision,
            CalibrationMethod = method,
            Percentile = percentile,
            Calibration = samples == null ? null : CalibrationData.FromNpy(samples),
            Progress = progress,
            Given = given,
            Quantizer = new QuantizerOptions { LayerPrecisions = layerPrecisions },
            AccuracySearch = search,
            Searched = r => searched = r,
        };
        byte[] file;
        try { file = ModelConverter.Convert(graph, convertOptions); }
        finally { owned.ForEach(d => d.Dispose()); }
        progress?.Dispose();
        foreach (var change in given?.Changes ?? []) stderr.WriteLine($"note: {change}");

        // Load what we wrote before reporting success: a file the runtime rejects must never be left looking valid.
        var model = Model.Load(file);
        DataFiles.CreateFolderFor(output);
        File.WriteAllBytes(output, file);
        long onnxBytes = new FileInfo(onnxPath).Length;
        stdout.WriteLine($"wrote {output}: {file.Length} bytes ({100.0 * file.Length / onnxBytes:F1}% of the ONNX file), " +
                         $"{precisionText}, {model.Graph.Ops.Count} ops, arena {model.ArenaBytes} bytes, {clock.Elapsed.TotalSeconds:F1}s");
        if (method == CalibrationMethod.Auto && model.Graph.Metadata.TryGetValue("calibration", out var chosen))
            stdout.WriteLine($"calibration: {chosen} (per tensor: edgenets inspect {output} --verbose)");
        if (searched != null)
        {
            var sample = new float[model.Graph.Tensors[model.Graph.Inputs[0]].ElementCount];
            var data = a.Option("accuracy-data") is { } dataPath ? DataFiles.OpenSamples(dataPath, model.Graph.Tensors[model.Graph.Inputs[0]], "accuracy data") : null;
            using (data) (data ?? samples!).Read(0, sample);
            AccuracyDoctor.Report(searched, model, file.Length, sample, stdout);
        }
        if (qdqPath != null) WriteQdq(onnxPath, model, qdqPath, qdqType, stdout);
        return 0;
    }

    private static NpySampleReader OpenCalibration(string onnxPath, string calibrationPath, EdgeNets.Runtime.Graph.ModelGraph graph)
    {
        if (graph.Inputs.Count != 1) throw new CliException($"{onnxPath}: int8 calibration from one .npy supports single-input models; this one has {graph.Inputs.Count}");
        return DataFiles.OpenSamples(calibrationPath, graph.Tensors[graph.Inputs[0]], "calibration");
    }

    /// <summary>ONNX Runtime's own int8 (QDQ) form of the model, with the scales and zero points just computed.</summary>
    private static void WriteQdq(string onnxPath, Model model, string qdqPath, QdqActivationType type, TextWriter stdout)
    {
        var result = QdqExporter.Export(Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath)), model.Graph,
            new QdqExportOptions { ActivationType = type });
        byte[] bytes = result.ToBytes();
        DataFiles.CreateFolderFor(qdqPath);
        File.WriteAllBytes(qdqPath, bytes);
        string kept = result.FloatOperators.Count == 0 ? "" : $"; kept float (no int8 form in ONNX Runtime): {string.Join(", ", result.FloatOperators)}";
        stdout.WriteLine($"wrote {qdqPath}: {bytes.Length} bytes, QDQ ({(type == QdqActivationType.UInt8 ? "uint8" : "int8")} activations, int8 weights), " +
                         $"{result.QuantizedWeights} int8 weight tensors, {result.QuantizedTensors} quantized activations{kept}");
    }

    /// <summary>
    /// `--float-layers NAME,NAME` (kept in float32) and `--int16-layers NAME,NAME` (int16 activations, int8 weights):
    /// operators as inspect names them, inside the int8 model; a name in both lists is refused.
    /// </summary>
    private static Dictionary<string, Precision> LayerPrecisions(Arguments a)
    {
        var layers = new Dictionary<string, Precision>(StringComparer.Ordinal);
        foreach (var (option, precision) in new[] { ("float-layers", Precision.Float32), ("int16-layers", Precision.Int16) })
            foreach (var text in a.OptionList(option))
                foreach (var name in text.Split(',', StringSplitOptions.TrimEntries))
                {
                    if (name.Length == 0) throw new CliException($"--{option}: empty operator name in '{text}' (expected NAME,NAME)", 2);
                    if (layers.TryGetValue(name, out var other) && other != precision)
                        throw new CliException($"--{option}: '{name}' is also in --float-layers; give each layer one precision", 2);
                    layers[name] = precision;
                }
        return layers;
    }

    /// <summary>A comma-separated list of finite numbers (std values also positive), normalized to invariant text.</summary>
    private static string? Normalization(Arguments a, string option)
    {
        string? text = a.Option(option);
        if (text == null) return null;
        var values = new List<string>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!float.TryParse(part, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float v)
                || !float.IsFinite(v) || (option == "input-std" && v <= 0))
                throw new CliException($"--{option}: '{part}' is not a {(option == "input-std" ? "positive " : "")}number (expected e.g. 0.485,0.456,0.406)", 2);
            values.Add(v.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        }
        return string.Join(',', values);
    }

    /// <summary>
    /// A normalization has one value for every channel, or one for all. Channels are where edgenets-host applies
    /// them: axis 1 or the last axis of an image ([1, C, H, W] or [1, H, W, C]) or of a sensor window ([1, C, T] or [1, T, C]).
    /// </summary>
    private static string RequireChannels(string values, string option, EdgeNets.Runtime.Graph.ModelGraph graph)
    {
        int count = values.Split(',').Length;
        var input = graph.Tensors[graph.Inputs[0]];
        var shape = input.Shape;
        var channels = shape.Length >= 2 ? new[] { shape[1], shape[^1] }.Distinct().ToArray() : [shape.Length == 1 ? shape[0] : 1];
        if (count == 1 || channels.Contains(count)) return values;
        throw new CliException($"--{option} has {count} values; input '{input.Name}' [{string.Join('x', shape)}] has {string.Join(" or ", channels)} channels " +
                               "(give one value per channel, or one for all)", 2);
    }

    /// <summary>`--input-shape NAME=1x100x40` (repeatable): fixes a graph input's dimensions, dynamic ones included.</summary>
    private static IEnumerable<(string Name, int[] Shape)> InputShapes(Arguments a)
    {
        foreach (var text in a.OptionList("input-shape"))
        {
            int eq = text.LastIndexOf('=');
            if (eq <= 0 || eq == text.Length - 1) throw new CliException($"--input-shape must be NAME=D0xD1x..., got '{text}'", 2);
            var dims = text[(eq + 1)..].Split('x');
            var shape = new int[dims.Length];
            for (int d = 0; d < dims.Length; d++)
                if (!int.TryParse(dims[d], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out shape[d]) || shape[d] <= 0)
                    throw new CliException($"--input-shape {text}: dimension '{dims[d]}' is not a positive integer", 2);
            yield return (text[..eq], shape);
        }
    }
}
