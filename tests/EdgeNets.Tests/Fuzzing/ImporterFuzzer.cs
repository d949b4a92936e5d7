using System.Diagnostics;
using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Tests.Support;
using Onnx;

namespace EdgeNets.Tests.Fuzzing;

internal enum FuzzVerdict
{
    /// <summary>Imported, calibrated, quantized, written; the file loads and runs to the same bytes on the chosen and the reference kernels.</summary>
    Converted,
    /// <summary>Refused with one line naming the file (a <see cref="ConversionException"/>).</summary>
    Refused,
    /// <summary>Anything else: another exception type, a message that is not one line or does not name the file, too much memory.</summary>
    Bug,
}

/// <summary>What one input did: the verdict, its class (the kind of refusal, or the exception and where it was thrown) and the message.</summary>
internal sealed record FuzzOutcome(FuzzVerdict Verdict, string Class, string Message);

/// <summary>
/// Runs one ONNX input through what <c>edgenets convert</c> does (import, calibration on two seeded random samples,
/// int8 quantization, arena plan, file), loads the result and runs it on the chosen and on the reference kernels, then
/// classifies what happened. In-process: memory is held
/// by the converter's own limits (<see cref="ConversionLimits"/>), and a case that allocates more than
/// <see cref="MaxAllocatedBytes"/> is a bug even if it ends well.
/// </summary>
internal static class ImporterFuzzer
{
    /// <summary>
    /// Allocation bound of one case: folding a tensor at the converter's size limit takes the int64 result and two
    /// int32 index maps (16 bytes an element, 4 times the float32 limit), plus its inputs.
    /// </summary>
    public const long MaxAllocatedBytes = 8 * ConversionLimits.MaxTensorBytes;

    /// <summary>Graphs whose activations (all kept during calibration) exceed this are imported but not calibrated: the fuzzer's time budget.</summary>
    private const long CalibrationBudgetBytes = 16L << 20;

    /// <summary>Longer is not a line a user reads (a hostile list of 16 M values once made a 180 MB message).</summary>
    private const int MaxMessageLength = 1000;

    public static FuzzOutcome Run(byte[] onnx, string name)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var outcome = Classify(onnx, name);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > MaxAllocatedBytes)
            return new FuzzOutcome(FuzzVerdict.Bug, "memory", $"allocated {allocated >> 20} MB ({outcome.Verdict}: {outcome.Message})");
        return outcome;
    }

    private static FuzzOutcome Classify(byte[] onnx, string name)
    {
        try
        {
            var graph = OnnxImporter.Import(onnx, name);
            long activations = graph.Tensors.Where(t => !t.IsConstant).Sum(t => t.ElementCount * 4L);
            if (activations > CalibrationBudgetBytes)
                return new FuzzOutcome(FuzzVerdict.Converted, "imported (too large to calibrate here)", "");
            var samples = Enumerable.Range(0, 2)
                .Select(s => graph.Inputs.Select((id, i) => TestData.Floats(s * 31 + i, graph.Tensors[id].ElementCount)).ToArray())
                .ToArray();
            var file = ModelConverter.Convert(graph, new ConvertOptions { CalibrationSamplesPerInput = samples });
            var model = Model.Load(file);
            if (!SameOnEveryKernelSet(model, samples[0]))
                return new FuzzOutcome(FuzzVerdict.Bug, "chosen kernels differ from the reference", "");
            return new FuzzOutcome(FuzzVerdict.Converted, "converted", "");
        }
        catch (ConversionException e)
        {
            if (e.Message.Contains('\n') || e.Message.Length == 0 || e.Message.Length > MaxMessageLength)
                return new FuzzOutcome(FuzzVerdict.Bug, "message not one clear line", $"{e.Message.Length} characters: {e.Message[..Math.Min(e.Message.Length, MaxMessageLength)]}");
            if (!e.Message.StartsWith(name, StringComparison.Ordinal))
                return new FuzzOutcome(FuzzVerdict.Bug, "message does not name the file", e.Message);
            return new FuzzOutcome(FuzzVerdict.Refused, RefusalClass(e.Message), e.Message);
        }
        catch (Exception e)
        {
            // The class is the exception type and the first frame in EdgeNets code: one entry per defect, not per input.
            var frame = new StackTrace(e).GetFrames().Select(f => f.GetMethod()).FirstOrDefault(m => m?.DeclaringType?.Namespace?.StartsWith("EdgeNets", StringComparison.Ordinal) == true);
            string where = frame == null ? "?" : $"{frame.DeclaringType!.Name}.{frame.Name}";
            return new FuzzOutcome(FuzzVerdict.Bug, $"{e.GetType().Name} in {where}", e.Message.Split('\n')[0]);
        }
    }

    /// <summary>An accepted model gives the same output bytes on the kernels this CPU chooses and on the scalar references.</summary>
    private static bool SameOnEveryKernelSet(Model model, float[][] input)
    {
        float[][] Outputs(bool referenceOnly)
        {
            using var session = model.CreateSession(new SessionOptions { LogKernelChoice = false, ReferenceKernelsOnly = referenceOnly });
            for (int i = 0; i < input.Length; i++) session.SetInput(i, input[i]);
            session.Invoke();
            var outputs = new float[model.Graph.Outputs.Count][];
            for (int o = 0; o < outputs.Length; o++)
            {
                outputs[o] = new float[model.Graph.Tensors[model.Graph.Outputs[o]].ElementCount];
                session.GetOutput(o, outputs[o]);
            }
            return outputs;
        }
        var chosen = Outputs(false);
        var reference = Outputs(true);
        return chosen.Zip(reference).All(p => p.First.AsSpan().SequenceEqual(p.Second));
    }

    /// <summary>The kind of a refusal, from its message: a coarse grouping for the report.</summary>
    public static string RefusalClass(string message)
    {
        (string Key, string Class)[] classes =
        [
            ("is not an ONNX model", "not an ONNX model"),
            ("opset", "opset"),
            ("over the limit", "size limit"),
            ("not finite", "non-finite value"),
            ("has type", "attribute type"),
            ("data type", "tensor data type"),
            ("bytes of raw data", "tensor data length"),
            ("values, its shape", "tensor data length"),
            ("external", "external data"),
            ("not supported", "unsupported operator or form"),
            ("not produced", "dangling input or output"),
            ("is required", "missing input or attribute"),
            ("calibration", "calibration"),
            ("quantizer", "quantization"),
        ];
        foreach (var (key, cls) in classes)
            if (message.Contains(key, StringComparison.Ordinal)) return cls;
        return "shape, rank or value check";
    }

    /// <summary>The seed models: every example model and every operator test model, by file name for a stable order.</summary>
    public static List<(string Name, ModelProto Model)> Corpus()
    {
        var paths = Directory.GetFiles(RepoPaths.Models, "model.onnx", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(RepoPaths.TestData, "onnx"), "*.onnx"))
            .OrderBy(p => Path.GetRelativePath(RepoPaths.Root, p), StringComparer.Ordinal);
        return paths.Select(p => (Path.GetRelativePath(RepoPaths.Root, p), ModelProto.Parser.ParseFrom(File.ReadAllBytes(p)))).ToList();
    }
}
