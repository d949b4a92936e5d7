using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.EndToEnd;

/// <summary>Session.Run allocates nothing after the first call, for float32 and int8 models.</summary>
public class ZeroAllocationTests
{
    [TestCase(Precision.Int8)]
    [TestCase(Precision.Float32)]
    public void ThousandRunsAllocateNothing(Precision precision)
    {
        string dir = RepoPaths.GestureModel;
        var graph = OnnxImporter.Import(Path.Combine(dir, "model.onnx"), new ImportOptions());
        var calibration = NpyFile.Read(Path.Combine(dir, "calibration.npy"));
        var samples = Enumerable.Range(0, 32).Select(calibration.Sample).ToList();
        var model = Model.Load(ModelConverter.Convert(graph, new ConvertOptions { Precision = precision, CalibrationSamples = samples }));
        using var session = model.CreateSession();
        var output = new float[10];
        // Warm up past tiered JIT compilation (call counting and tier-1 rewrites can allocate on the calling thread),
        // then measure steady state: the contract is "nothing allocated per Run after the first calls".
        var warmup = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 50 || warmup.ElapsedMilliseconds < 1500; i++) session.Run(samples[i % samples.Count], output);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) session.Run(samples[i % samples.Count], output);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.Zero);
        Assert.That(output.Any(v => v != 0), Is.True);
    }
}
