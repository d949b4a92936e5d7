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
}
