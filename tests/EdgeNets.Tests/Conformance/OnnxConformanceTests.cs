using System.Text.RegularExpressions;
using EdgeNets.Converter.Import;
using EdgeNets.Tests.Import;
using Google.Protobuf;
using NUnit.Framework;
using Onnx;

namespace EdgeNets.Tests.Conformance;

/// <summary>
/// ONNX's own operator conformance data (Debian libonnx-testdata): every case of the supported operators is
/// converted to float32, run, and compared with the expected outputs that ship with it.
/// </summary>
[TestFixture]
public class OnnxConformanceTests
{
    public const string DataRoot = "/usr/share/libonnx-testdata/data";

    /// <summary>Cases of the supported operators, by directory name.</summary>
    private static readonly Regex NodeCases = new(
        "^test_(conv_|basic_conv_with|maxpool_|averagepool_|globalaveragepool|globalmaxpool|gemm_|matmul_[234]d$|add|mul|concat_|" +
        "flatten_|reshape_|transpose_|squeeze|unsqueeze|constant_pad$|relu$|leakyrelu|clip|sigmoid|tanh|hardsigmoid|hardswish|prelu_|softmax_|batchnorm_|" +
        "erf$|reduce_mean_|reduce_max_|resize_upsample_scales_nearest$|resize_upsample_sizes_nearest$|resize_(up|down)sample_(scales|sizes)_linear|convtranspose|softplus$|softplus_example$|instancenorm_|sqrt|exp$|exp_example$|div$|div_bcast$|div_example$)");

    private static readonly Regex PytorchCases = new(
        "^test_(AvgPool|BatchNorm|ConstantPad2d|Conv1d|Conv2d|Conv3d|ConvTranspose2d|LeakyReLU|Linear|MaxPool|PReLU|ReLU$|Sigmoid$|Softmax$|Tanh$|ZeroPad2d|" +
        "ReflectionPad2d|ReplicationPad2d|softmax_)");

    /// <summary>Cases of those operators that are out of scope, with the reason; they are reported as ignored.</summary>
    public static readonly IReadOnlyDictionary<string, string> OutOfScope = new Dictionary<string, string>
    {
        ["node/test_averagepool_3d_default"] = "3-D pooling is not supported",
        ["node/test_maxpool_3d_default"] = "3-D pooling is not supported",
        ["pytorch-converted/test_AvgPool3d"] = "3-D pooling is not supported",
        ["pytorch-converted/test_AvgPool3d_stride"] = "3-D pooling is not supported",
        ["pytorch-converted/test_AvgPool3d_stride1_pad0_gpu_input"] = "3-D pooling is not supported",
        ["pytorch-converted/test_MaxPool3d"] = "3-D pooling is not supported",
        ["pytorch-converted/test_MaxPool3d_stride"] = "3-D pooling is not supported",
        ["pytorch-converted/test_MaxPool3d_stride_padding"] = "3-D pooling is not supported",
        ["pytorch-converted/test_Conv3d"] = "3-D convolution is not supported",
        ["pytorch-converted/test_Conv3d_dilated"] = "3-D convolution is not supported",
        ["pytorch-converted/test_Conv3d_dilated_strided"] = "3-D convolution is not supported",
        ["pytorch-converted/test_Conv3d_groups"] = "3-D convolution is not supported",
        ["pytorch-converted/test_Conv3d_no_bias"] = "3-D convolution is not supported",
        ["pytorch-converted/test_Conv3d_stride"] = "3-D convolution is not supported",
        ["pytorch-converted/test_Conv3d_stride_padding"] = "3-D convolution is not supported",
        ["node/test_convtranspose_3d"] = "3-D transposed convolution is not supported",
        ["node/test_maxpool_2d_uint8"] = "uint8 tensors are not supported",
        ["node/test_add_uint8"] = "uint8 tensors are not supported",
        ["node/test_mul_uint8"] = "uint8 tensors are not supported",
        ["node/test_clip_default_int8_inbounds"] = "int8 tensors are not supported",
        ["node/test_clip_default_int8_max"] = "int8 tensors are not supported",
        ["node/test_clip_default_int8_min"] = "int8 tensors are not supported",
        ["node/test_maxpool_with_argmax_2d_precomputed_pads"] = "MaxPool's Indices output is not supported",
        ["node/test_maxpool_with_argmax_2d_precomputed_strides"] = "MaxPool's Indices output is not supported",
        ["node/test_batchnorm_epsilon_training_mode"] = "training-mode BatchNormalization is not supported",
        ["node/test_batchnorm_example_training_mode"] = "training-mode BatchNormalization is not supported",
        ["node/test_reshape_allowzero_reordered"] = "empty tensors (a dimension of size 0) are not supported",
        ["pytorch-converted/test_ReflectionPad2d"] = "reflect padding is not supported",
        ["pytorch-converted/test_ReplicationPad2d"] = "edge padding is not supported",
        ["node/test_hardswish_expanded"] = "expanded function uses Max/Min over run-time tensors, not supported",
        ["node/test_resize_upsample_sizes_nearest"] = "resizes 2 to 7 and 8: only upsampling by whole factors is supported",
        ["node/test_softmax_axis_0_expanded"] = "expanded function uses ReduceMax/Exp/ReduceSum, not supported",
        ["node/test_softmax_axis_1_expanded"] = "expanded function uses ReduceMax/Exp/ReduceSum, not supported",
        ["node/test_softmax_axis_2_expanded"] = "expanded function uses ReduceMax/Exp/ReduceSum, not supported",
        ["node/test_softmax_default_axis_expanded"] = "expanded function uses ReduceMax/Exp/ReduceSum, not supported",
        ["node/test_softmax_example_expanded"] = "expanded function uses ReduceMax/Exp/ReduceSum, not supported",
        ["node/test_softmax_large_number_expanded"] = "expanded function uses ReduceMax/Exp/ReduceSum, not supported",
        ["node/test_softmax_negative_axis_expanded"] = "expanded function uses ReduceMax/Exp/ReduceSum, not supported",
    };

    /// <summary>Operators whose extra graph inputs stay run-time inputs; for all others they become initializers.</summary>
    private static readonly HashSet<string> RunTimeOperands = ["Add", "Mul", "Concat", "MatMul"];

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var (folder, pattern) in new[] { ("node", NodeCases), ("pytorch-converted", PytorchCases) })
        {
            string dir = Path.Combine(DataRoot, folder);
            if (!Directory.Exists(dir)) continue;
            foreach (var caseDir in Directory.GetDirectories(dir).OrderBy(d => d, StringComparer.Ordinal))
            {
                string name = Path.GetFileName(caseDir);
                if (!pattern.IsMatch(name)) continue;
                yield return new TestCaseData($"{folder}/{name}").SetName($"Conformance({folder}/{name})");
            }
        }
    }

    [Test]
    public void CaseList_IsPresentAndTheOutOfScopeListIsCurrent()
    {
        if (!Directory.Exists(DataRoot)) Assert.Ignore($"{DataRoot} is missing: install the Debian package libonnx-testdata (tools/setup.sh does)");
        var all = Cases().Select(c => (string)c.Arguments[0]!).ToList();
        var running = all.Where(c => !OutOfScope.ContainsKey(c)).ToList();
        TestContext.Out.WriteLine($"{running.Count} conformance cases run, {all.Count - running.Count} are out of scope:");
        foreach (var c in running) TestContext.Out.WriteLine($"  run      {c}");
        foreach (var (c, reason) in OutOfScope) TestContext.Out.WriteLine($"  ignored  {c}: {reason}");
        Assert.That(OutOfScope.Keys.Where(k => !all.Contains(k)), Is.Empty, "out-of-scope entries that match no case");
        Assert.That(running, Has.Count.GreaterThan(100));
    }

    [TestCaseSource(nameof(Cases))]
    public void Conformance(string caseName)
    {
        if (OutOfScope.TryGetValue(caseName, out var reason)) Assert.Ignore(reason);
        RunCase(caseName);
    }

    /// <summary>Converts one conformance case ("node/test_x") to float32, runs it and compares every output.</summary>
    public static void RunCase(string caseName)
    {
        string dir = Path.Combine(DataRoot, caseName);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "model.onnx")));
        string dataDir = Path.Combine(dir, "test_data_set_0");
        var graph = model.Graph;
        var initializerNames = graph.Initializer.Select(t => t.Name).ToHashSet();
        var runtimeInputs = graph.Input.Where(i => !initializerNames.Contains(i.Name)).ToList();

        // Input i of the data set belongs to the i-th graph input that is not an initializer.
        var inputData = new List<(string Name, TensorProto Data)>();
        for (int i = 0; i < runtimeInputs.Count; i++)
            inputData.Add((runtimeInputs[i].Name, TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dataDir, $"input_{i}.pb")))));
        var live = new List<(string Name, TensorProto Data)> { inputData[0] };
        for (int i = 1; i < inputData.Count; i++)
        {
            var (name, data) = inputData[i];
            bool runTimeOperand = data.DataType == 1 && graph.Node.Where(n => n.Input.Contains(name)).All(n => RunTimeOperands.Contains(n.OpType));
            if (runTimeOperand) { live.Add(inputData[i]); continue; }
            var frozen = data.Clone();
            frozen.Name = name;
            graph.Initializer.Add(frozen);
            graph.Input.Remove(graph.Input.First(v => v.Name == name));
        }

        var options = new ImportOptions { AcceptOlderOpsets = true };
        using var session = ImportTestSupport.ImportAndLoad(model.ToByteArray(), caseName, options).CreateSession();
        for (int i = 0; i < live.Count; i++) session.SetInput(i, ConstTensor.FromProto(live[i].Data, caseName).AsFloats());
        session.Invoke();

        for (int o = 0; o < graph.Output.Count; o++)
        {
            var expected = ConstTensor.FromProto(TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dataDir, $"output_{o}.pb"))), caseName);
            var outputTensor = session.Model.Graph.Tensors[session.Model.Graph.Outputs[o]];
            Assert.That(outputTensor.Name, Is.EqualTo(graph.Output[o].Name));
            Assert.That(outputTensor.Shape, Is.EqualTo(expected.Shape), $"shape of output '{outputTensor.Name}'");
            var actual = new float[outputTensor.ElementCount];
            session.GetOutput(o, actual);
            ImportTestSupport.AssertClose(expected.AsFloats(), actual, 1e-4f, 1e-5f, $"{caseName} output '{outputTensor.Name}'");
        }
    }
}
