using EdgeNets.Converter.Planning;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter;

public enum Precision
{
    Int8,
    Float32,
    /// <summary>int16 activations with int8 weights (TFLite's 16x8 scheme), for Conv and Gemm layers inside an int8 model.</summary>
    Int16,
}

public sealed class ConvertOptions
{
    public Precision Precision { get; init; } = Precision.Int8;
    public CalibrationMethod CalibrationMethod { get; init; } = CalibrationMethod.MinMax;
    /// <summary>Upper percentile of <see cref="CalibrationMethod.Percentile"/> (the lower one is 100 minus it).</summary>
    public double Percentile { get; init; } = 99.99;
    /// <summary>Calibration samples of a single-input model: one float array per sample.</summary>
    public IReadOnlyList<float[]>? CalibrationSamples { get; init; }
    /// <summary>Calibration samples of a model with several inputs: per sample, one float array per input. Wins over <see cref="CalibrationSamples"/>.</summary>
    public IReadOnlyList<float[][]>? CalibrationSamplesPerInput { get; init; }
    /// <summary>Calibration samples read one at a time (e.g. streamed from a .npy file). Wins over the two lists above.</summary>
    public CalibrationData? Calibration { get; init; }
    /// <summary>Receives the number of calibration sample runs done (<see cref="Calibrator.Passes"/> per sample).</summary>
    public IProgress<int>? Progress { get; init; }
    public QuantizerOptions Quantizer { get; init; } = new();
    /// <summary>
    /// Scales and zero points a pre-quantized (QDQ) model gives (<see cref="Import.OnnxImporter.ImportModel(string, Import.ImportOptions?)"/>):
    /// they win over calibration, which is then needed only for tensors the model leaves without one. The quantizer
    /// lists in its <see cref="GivenQuantization.Changes"/> where a given value did not fit the int8 rules.
    /// </summary>
    public GivenQuantization? Given { get; init; }
    /// <summary>
    /// The accuracy doctor: raises the fewest layers to float32 until the target holds on its data
    /// (<see cref="PrecisionSearch"/>); the layers it raises join <see cref="QuantizerOptions.LayerPrecisions"/>.
    /// </summary>
    public PrecisionSearchOptions? AccuracySearch { get; init; }
    /// <summary>Receives what the accuracy doctor measured and chose.</summary>
    public Action<PrecisionSearchResult>? Searched { get; init; }
}

/// <summary>
/// The conversion pipeline behind <c>edgenets convert</c>: float graph -> (calibration, int8 quantization) ->
/// arena plan -> model file bytes.
/// </summary>
public static class ModelConverter
{
    public static byte[] Convert(ModelGraph floatGraph, ConvertOptions options) => EnetWriter.Write(ConvertToGraph(floatGraph, options));

    /// <summary>The planned graph that <see cref="Convert"/> writes.</summary>
    public static ModelGraph ConvertToGraph(ModelGraph floatGraph, ConvertOptions options)
    {
        ArgumentNullException.ThrowIfNull(floatGraph);
        ArgumentNullException.ThrowIfNull(options);
        // Every failure names the model it comes from, as the importer's do.
        string source = floatGraph.Metadata.TryGetValue("source", out var s) ? s : "model";
        try { return ConvertToGraphUnnamed(floatGraph, options); }
        catch (ConversionException e) when (!e.Message.StartsWith(source + ":", StringComparison.Ordinal))
        {
            throw new ConversionException($"{source}: {e.Message}", e);
        }
    }

    private static ModelGraph ConvertToGraphUnnamed(ModelGraph floatGraph, ConvertOptions options)
    {
        ModelGraph result;
        if (options.Precision == Precision.Float32)
        {
            // The float graph is written as it is: only its offsets and metadata change.
            result = floatGraph;
            result.Metadata["precision"] = "float32";
        }
        else
        {
            Quantization.Quantizer.CheckLayerNames(floatGraph, options.Quantizer);
            var list = options.CalibrationSamplesPerInput ?? options.CalibrationSamples?.Select(s => new[] { s }).ToArray();
            var samples = options.Calibration ?? (list == null ? null : CalibrationData.FromSamples(list));
            var given = options.Given is { Count: > 0 } g ? g : null;
            if ((samples == null || samples.Count == 0) && given != null)
            {
                result = Quantization.Quantizer.Quantize(floatGraph, null, given, WithAccuracySearch(floatGraph, null, given, options));
                ArenaPlanner.Plan(result);
                return result;
            }
            if (samples == null || samples.Count == 0)
                throw new ConversionException("int8 conversion needs calibration data: pass sample inputs (--calibration DATA.npy) or choose float32 precision");
            if (options.CalibrationMethod is CalibrationMethod.Percentile or CalibrationMethod.Auto && !(options.Percentile > 0 && options.Percentile <= 100))
                throw new ConversionException($"percentile must be in (0, 100], got {options.Percentile}");
            var calibration = new CalibrationOptions { Method = options.CalibrationMethod, Percentile = options.Percentile };
            var stats = Calibrator.Calibrate(floatGraph, samples, calibration, options.Progress);
            result = Quantization.Quantizer.Quantize(floatGraph, stats, given, WithAccuracySearch(floatGraph, stats, given, options));
            // Auto's choice per tensor, for inspect; a model too large for one metadata string keeps only the counts.
            string choices = calibration.Method == CalibrationMethod.Auto ? stats.DescribeChoices(result) : "";
            if (choices.Length > 0 && choices.Length <= EnetFormat.MaxStringBytes) result.Metadata[CalibrationStats.ChoicesKey] = choices;
        }
        ArenaPlanner.Plan(result);
        return result;
    }

    /// <summary>The quantizer options, with the layers the accuracy doctor raises when it is asked for.</summary>
    private static QuantizerOptions WithAccuracySearch(ModelGraph floatGraph, CalibrationStats? stats, GivenQuantization? given, ConvertOptions options)
    {
        if (options.AccuracySearch == null) return options.Quantizer;
        var found = PrecisionSearch.Search(floatGraph, stats, given, options.Quantizer, options.AccuracySearch);
        options.Searched?.Invoke(found);
        var precisions = new Dictionary<string, Precision>(options.Quantizer.LayerPrecisions, StringComparer.Ordinal);
        foreach (var (name, precision) in found.LayerPrecisions) precisions[name] = precision;
        return new QuantizerOptions { AddLeftShift = options.Quantizer.AddLeftShift, LayerPrecisions = precisions };
    }
}
