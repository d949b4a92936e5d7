using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;

namespace EdgeNets.Cli.Commands;

/// <summary>
/// The float ONNX model in ONNX Runtime: the oracle for `eval` and the competitor for `bench`. Can expose intermediate
/// tensors as extra outputs (by value name) so per-layer errors are measured against ONNX Runtime itself.
/// </summary>
internal sealed class OnnxRuntimeModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string _inputName;
    private readonly long[] _inputShape;

    public OnnxRuntimeModel(string path, int[] inputShape, int threads = 1, IEnumerable<string>? extraOutputs = null)
        : this(File.ReadAllBytes(path), inputShape, threads, extraOutputs)
    {
    }

    public OnnxRuntimeModel(byte[] bytes, int[] inputShape, int threads = 1, IEnumerable<string>? extraOutputs = null)
    {
        var extras = new List<string>();
        if (extraOutputs != null)
        {
            var proto = Onnx.ModelProto.Parser.ParseFrom(bytes);
            var produced = proto.Graph.Node.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
            var existing = proto.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var name in extraOutputs)
            {
                if (!produced.Contains(name) || existing.Contains(name)) continue;
                proto.Graph.Output.Add(new Onnx.ValueInfoProto
                {
                    Name = name,
                    Type = new Onnx.TypeProto { TensorType = new Onnx.TypeProto.Types.Tensor { ElemType = (int)Onnx.TensorProto.Types.DataType.Float } },
                });
                extras.Add(name);
            }
            bytes = proto.ToByteArray();
        }
        // ONNX Runtime's own warnings (coloured, on the process's stderr) would land in the middle of eval's and
        // bench's reports; its errors still surface as exceptions.
        OrtEnv.Instance().EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(bytes, options);
        _inputName = _session.InputNames[0];
        _inputShape = inputShape.Select(d => (long)d).ToArray();
        OutputNames = _session.OutputNames.ToArray();
        Inputs = _session.InputNames.Select(n => (n, _session.InputMetadata[n].Dimensions)).ToArray();
        Outputs = _session.OutputNames.Where(n => !extras.Contains(n)).Select(n => (n, _session.OutputMetadata[n].Dimensions)).ToArray();
        IntermediateNames = extras;
    }

    public string[] OutputNames { get; }

    /// <summary>The graph's inputs and outputs (not the exposed intermediates) with their dimensions; -1 where dynamic.</summary>
    public IReadOnlyList<(string Name, int[] Shape)> Inputs { get; }
    public IReadOnlyList<(string Name, int[] Shape)> Outputs { get; }

    public IReadOnlyList<string> IntermediateNames { get; }

    /// <summary>Runs one sample and returns every output (graph outputs, then the exposed intermediates) by name.</summary>
    public Dictionary<string, float[]> Run(float[] input)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, _inputShape);
        using var results = _session.Run(_runOptions, [_inputName], [value], OutputNames);
        var map = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (int i = 0; i < OutputNames.Length; i++) map[OutputNames[i]] = results[i].GetTensorDataAsSpan<float>().ToArray();
        return map;
    }

    /// <summary>Runs one sample for timing, reusing the caller's input value.</summary>
    public void RunForTiming(OrtValue input, string[] outputNames)
    {
        using var results = _session.Run(_runOptions, [_inputName], [input], outputNames);
    }

    public OrtValue CreateInput(float[] input) => OrtValue.CreateTensorValueFromMemory(input, _inputShape);

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
