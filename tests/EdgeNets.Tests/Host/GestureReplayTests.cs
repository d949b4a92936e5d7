using System.Runtime.InteropServices;
using System.Text.Json;
using EdgeNets.Host;
using EdgeNets.Host.Preprocessing;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// The host's image path on the held-out sign-language photos: decoding, Pillow-compatible resizing and scaling must
/// give the inputs the gesture model was evaluated with (models/gesture-digits/test_inputs.npy, made with Pillow).
/// </summary>
public class GestureReplayTests
{
    private const int Side = 32, Channels = 3, Classes = 10;

    private static string DatasetDirectory()
    {
        for (var dir = Directory.GetParent(RepoPaths.Root); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "datasets", "sign-language-digits", "Dataset");
            if (Directory.Exists(candidate)) return candidate;
        }
        Assert.Ignore($"the sign-language-digits photos are not available (looked for shared/datasets/sign-language-digits/Dataset beside and above {RepoPaths.Root})");
        return "";
    }

    private static string TestFilesList => Path.Combine(RepoPaths.GestureModel, "test_files.txt");

    /// <summary>Every held-out photo through the images source and the host preprocessing, as float model inputs.</summary>
    private static (float[] Inputs, int[] Labels) HostInputs(string dataset)
    {
        var model = HostTestModels.Flatten(DataType.Float32, [1, Channels, Side, Side]);
        using var session = model.CreateSession();
        var pre = new FramePreprocessor(new ModelInput(session));
        using var source = new ImageDirectorySource(SourceUri.Parse($"images:{dataset}?list={TestFilesList}&labels=dir"));
        var inputs = new List<float>();
        var labels = new List<int>();
        while (source.Read(out var frame) == ReadStatus.Frame)
        {
            Assert.That(pre.Process(frame), Is.True);
            inputs.AddRange(MemoryMarshal.Cast<byte, float>(session.GetInputBytes(0)).ToArray());
            labels.Add(frame.Label);
        }
        return (inputs.ToArray(), labels.ToArray());
    }

    private static int[] OnnxPredictions(float[] inputs)
    {
        using var session = new InferenceSession(Path.Combine(RepoPaths.GestureModel, "model.onnx"));
        int count = inputs.Length / (Channels * Side * Side);
        using var value = OrtValue.CreateTensorValueFromMemory(inputs, [count, Channels, Side, Side]);
        using var results = session.Run(new RunOptions(), [session.InputNames[0]], [value], [session.OutputNames[0]]);
        var logits = results[0].GetTensorDataAsSpan<float>();
        var predictions = new int[count];
        for (int n = 0; n < count; n++)
        {
            var row = logits.Slice(n * Classes, Classes);
            for (int c = 1; c < Classes; c++) if (row[c] > row[predictions[n]]) predictions[n] = c;
        }
        return predictions;
    }

    [Test]
    public void PhotosPreprocessLikeTheTrainingPipeline()
    {
        string dataset = DatasetDirectory();
        var (inputs, labels) = HostInputs(dataset);
        var reference = NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "test_inputs.npy"));
        var referenceLabels = NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "test_labels.npy")).ToInt32();
        Assert.That(labels, Is.EqualTo(referenceLabels), "labels from the class folders match test_labels.npy");
        var expected = reference.ToFloat32();
        Assert.That(inputs, Has.Length.EqualTo(expected.Length));
        double sumAbs = 0, maxAbs = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            double d = Math.Abs(inputs[i] - expected[i]);
            sumAbs += d;
            maxAbs = Math.Max(maxAbs, d);
        }
        double meanLevels = sumAbs / inputs.Length * 255;
        TestContext.Out.WriteLine($"host vs Pillow inputs: mean |diff| {meanLevels:F3} levels, max {maxAbs * 255:F1} levels");
        // Resizing is bit-exact with Pillow; what remains is the JPEG decoder (IDCT and chroma upsampling differ slightly).
        Assert.That(meanLevels, Is.LessThan(0.25), "mean difference in 8-bit levels");
        Assert.That(maxAbs * 255, Is.LessThanOrEqualTo(6.0), "no pixel is far off");
    }

    [Test]
    public void ModelAccuracyOnHostInputsMatchesTheReferenceInputs()
    {
        string dataset = DatasetDirectory();
        var (inputs, labels) = HostInputs(dataset);
        var reference = NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "test_inputs.npy")).ToFloat32();
        var host = OnnxPredictions(inputs);
        var expected = OnnxPredictions(reference);
        double hostAccuracy = host.Zip(labels).Count(p => p.First == p.Second) / (double)labels.Length;
        double referenceAccuracy = expected.Zip(labels).Count(p => p.First == p.Second) / (double)labels.Length;
        int agree = host.Zip(expected).Count(p => p.First == p.Second);
        TestContext.Out.WriteLine($"ONNX Runtime accuracy: host inputs {hostAccuracy:P2}, test_inputs.npy {referenceAccuracy:P2}; same prediction on {agree}/{labels.Length}");
        Assert.That(hostAccuracy * 100, Is.EqualTo(referenceAccuracy * 100).Within(1.0), "accuracy points");
    }

    /// <summary>
    /// Photo replay decodes into reused file and pixel buffers: the pixels are StbImageSharp's own (ImageResult), and
    /// per photo it allocates at least one decoded image less than reading the file and decoding with ImageResult.
    /// What remains is the JPEG decoder's per-image working tables.
    /// </summary>
    [Test]
    public void PhotoReplayDecodesLikeImageResultIntoReusedBuffers()
    {
        string dataset = DatasetDirectory();
        using var source = new ImageDirectorySource(SourceUri.Parse($"images:{dataset}?list={TestFilesList}&loop=true"));
        var paths = source.Files.Select(f => Path.Combine(dataset, f)).ToArray();
        int smallest = int.MaxValue;
        foreach (var path in paths)
        {
            var expected = StbImageSharp.ImageResult.FromMemory(File.ReadAllBytes(path), StbImageSharp.ColorComponents.RedGreenBlue);
            Assert.That(source.Read(out var frame), Is.EqualTo(ReadStatus.Frame));
            Assert.That((frame.Width, frame.Height), Is.EqualTo((expected.Width, expected.Height)), path);
            Assert.That(frame.Pixels.SequenceEqual(expected.Data), Is.True, path);
            smallest = Math.Min(smallest, expected.Data.Length);
        }

        long SourcePass()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < paths.Length; i++) source.Read(out _);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        long ImageResultPass()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var path in paths) StbImageSharp.ImageResult.FromMemory(File.ReadAllBytes(path), StbImageSharp.ColorComponents.RedGreenBlue);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        var warmUp = System.Diagnostics.Stopwatch.StartNew();
        while (warmUp.Elapsed < TimeSpan.FromSeconds(1.5)) { SourcePass(); ImageResultPass(); } // tiered JIT allocates
        double replay = (double)SourcePass() / paths.Length, decoder = (double)ImageResultPass() / paths.Length;
        TestContext.Out.WriteLine($"bytes allocated per photo: replay {replay:F0}, file read + ImageResult {decoder:F0}; smallest decoded photo {smallest}");
        Assert.That(replay, Is.LessThanOrEqualTo(decoder - smallest));
    }

    /// <summary>The full host (images source → pipeline → summary line) against the same model on test_inputs.npy.</summary>
    [Test]
    public void HostReportsTheModelsAccuracyOnThePhotos()
    {
        string dataset = DatasetDirectory();
        string enet = Path.Combine(RepoPaths.GestureModel, "model.enet");
        if (!File.Exists(enet)) Assert.Ignore($"{enet} is not built yet (convert models/gesture-digits/model.onnx first)");
        var model = Model.Load(enet);

        var output = new CaptureStream(1 << 22);
        var err = new StringWriter();
        int code = EdgeNets.Host.Program.Run(["--model", enet, "--source", $"images:{dataset}?list={TestFilesList}&labels=dir", "--metrics", "0"], output, err, default);
        Assert.That(code, Is.Zero, err.ToString());
        var summary = JsonDocument.Parse(output.Lines.Last()).RootElement;
        double hostAccuracy = summary.GetProperty("accuracy").GetDouble();

        var inputs = NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "test_inputs.npy"));
        var labels = NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "test_labels.npy")).ToInt32();
        var all = inputs.ToFloat32();
        using var session = model.CreateSession();
        var logits = new float[Classes];
        int correct = 0;
        for (int n = 0; n < inputs.SampleCount; n++)
        {
            session.Run(all.AsSpan(n * inputs.SampleSize, inputs.SampleSize), logits);
            int top = 0;
            for (int c = 1; c < Classes; c++) if (logits[c] > logits[top]) top = c;
            if (top == labels[n]) correct++;
        }
        double npyAccuracy = (double)correct / inputs.SampleCount;
        TestContext.Out.WriteLine($"host on photos {hostAccuracy:P2}, same model on test_inputs.npy {npyAccuracy:P2}");
        Assert.That(summary.GetProperty("labelled").GetInt32(), Is.EqualTo(labels.Length));
        Assert.That(hostAccuracy * 100, Is.EqualTo(npyAccuracy * 100).Within(1.0), "accuracy points");
    }
}
