using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;

namespace EdgeNets.Tests.Support;

/// <summary>ONNX Runtime as the oracle of int8 (QDQ) models: one-thread sessions, single-input runs, differences in output steps.</summary>
internal static class OnnxRuntimeRunner
{
    public static List<float[]> Samples(NpyArray array)
    {
        var all = array.ToFloat32();
        return Enumerable.Range(0, array.SampleCount).Select(i => all.AsSpan(i * array.SampleSize, array.SampleSize).ToArray()).ToList();
    }

    /// <summary>The largest difference between two outputs, in quantization steps of <paramref name="step"/>.</summary>
    public static double WorstSteps(float[] ours, float[] theirs, float step)
    {
        Assert.That(theirs, Has.Length.EqualTo(ours.Length));
        double worst = 0;
        for (int i = 0; i < ours.Length; i++) worst = Math.Max(worst, Math.Abs(ours[i] - theirs[i]) / step);
        return worst;
    }

    public static InferenceSession Session(byte[] onnx, string? optimizedPath = null)
    {
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            IntraOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (optimizedPath != null) options.OptimizedModelFilePath = optimizedPath;
        return new InferenceSession(onnx, options);
    }

    public static float[] Run(InferenceSession session, float[] x, int[] shape)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(x, shape.Select(d => (long)d).ToArray());
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [session.InputNames[0]], [value], [session.OutputNames[0]]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>The largest output difference from ONNX Runtime on the same (QDQ or QOperator) model, in output steps, and both top-1 accuracies when labels are given.</summary>
    public static (double Worst, (double Ours, double Theirs) Accuracy) CompareWithOnnxRuntime(byte[] onnx, Model model, NpyArray inputs, int[]? labels)
    {
        int[] shape = [1, .. inputs.Shape[1..]];
        var output = model.Graph.Tensors[model.Graph.Outputs[0]];
        var ours = new float[output.ElementCount];
        using var ort = Session(onnx);
        using var session = model.CreateSession();
        double worst = 0;
        int oursCorrect = 0, theirsCorrect = 0, i = 0;
        foreach (var x in Samples(inputs))
        {
            session.Run(x, ours);
            var theirs = Run(ort, x, shape);
            worst = Math.Max(worst, WorstSteps(ours, theirs, output.Quantization!.Scale));
            if (labels != null && Array.IndexOf(ours, ours.Max()) == labels[i]) oursCorrect++;
            if (labels != null && Array.IndexOf(theirs, theirs.Max()) == labels[i]) theirsCorrect++;
            i++;
        }
        return (worst, (oursCorrect / (double)i, theirsCorrect / (double)i));
    }
}
