using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Performance;

/// <summary>SessionOptions.Profile: per-operator ticks that add up, no change to the output, nothing allocated per run.</summary>
public class SessionProfileTests
{
    private static Model GestureModel() => Model.Load(Path.Combine(RepoPaths.GestureModel, "model.enet"));

    private static float[] Sample(int index)
    {
        var calibration = NpyFile.Read(Path.Combine(RepoPaths.GestureModel, "calibration.npy"));
        return calibration.Sample(index);
    }

    [Test]
    public void ProfileCountsEveryOperatorAndLeavesOutputsAlone()
    {
        var model = GestureModel();
        var input = Sample(3);
        using var plain = model.CreateSession();
        using var profiled = model.CreateSession(new SessionOptions { Profile = true });
        Assert.That(plain.ProfileTicks.Length, Is.Zero, "no counters without the option");
        Assert.That(profiled.ProfileTicks.Length, Is.EqualTo(model.Graph.Ops.Count + 2), "one per operator, then input and output conversion");

        var expected = new float[10];
        var actual = new float[10];
        plain.Run(input, expected);
        profiled.Run(input, actual);
        Assert.That(actual, Is.EqualTo(expected));

        // Past tiered JIT compilation first: its call counting and rewrites can allocate on the calling thread.
        var warmup = System.Diagnostics.Stopwatch.StartNew();
        while (warmup.ElapsedMilliseconds < 1500) profiled.Run(input, actual);
        profiled.ResetProfile();
        profiled.Run(input, actual);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) profiled.Run(input, actual);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "profiling allocates nothing per run");

        var ticks = profiled.ProfileTicks.ToArray();
        long total = ticks.Sum();
        Assert.That(ticks.Take(model.Graph.Ops.Count).Where((t, i) => model.Graph.Ops[i].Type.ToString() == "Conv"), Has.All.GreaterThan(0L),
            "every convolution takes measurable time over 201 runs");
        Assert.That(total, Is.GreaterThan(0L));

        profiled.ResetProfile();
        Assert.That(profiled.ProfileTicks.ToArray(), Has.All.EqualTo(0L));
        profiled.Run(input, actual);
        Assert.That(profiled.ProfileTicks.ToArray().Sum(), Is.LessThan(total), "one run counts less than 201");
    }
}
