using System.Diagnostics;
using EdgeNets.Runtime;

namespace EdgeNets.Cli.Commands;

/// <summary>One profiled slot of a run: an operator (or the input quantization / output dequantization) and its median time.</summary>
internal sealed record OperatorTiming(int Slot, string Op, string OutputName, string Kernel, string Reason, double MedianMicroseconds);

/// <summary>
/// The median time of every operator over profiled runs, in a separate session (so other timings are not slowed by the
/// timestamps): `bench --profile` prints it and `eval --report` charts it.
/// </summary>
internal static class OperatorProfile
{
    public static IReadOnlyList<OperatorTiming> Measure(Model model, float[] sample, int runs, int warmup, int threads)
    {
        var result = new float[model.Graph.Tensors[model.Graph.Outputs[0]].ElementCount];
        using var session = model.CreateSession(new SessionOptions { Profile = true, Threads = threads });
        BenchCommand.WarmUp(() => session.Run(sample, result), warmup);
        int slots = session.ProfileTicks.Length;
        var perSlot = new double[slots][];
        for (int k = 0; k < slots; k++) perSlot[k] = new double[runs];
        for (int r = 0; r < runs; r++)
        {
            session.ResetProfile();
            session.Run(sample, result);
            var ticks = session.ProfileTicks;
            for (int k = 0; k < slots; k++) perSlot[k][r] = ticks[k] * 1e6 / Stopwatch.Frequency;
        }
        var ops = model.Graph.Ops;
        var names = session.KernelNames;
        var reasons = session.KernelChoiceReasons;
        var timings = new OperatorTiming[slots];
        for (int k = 0; k < slots; k++)
        {
            bool isOp = k < ops.Count;
            string op = isOp ? ops[k].Type.ToString() : k == ops.Count ? "(input quantize)" : "(output dequantize)";
            string output = isOp && ops[k].Outputs.Length > 0 ? model.Graph.Tensors[ops[k].Outputs[0]].Name : "";
            timings[k] = new OperatorTiming(k, op, output, isOp ? names[k] : "", isOp ? reasons[k] : "", BenchCommand.Summarize(perSlot[k]).Median);
        }
        return timings;
    }
}
