using System.Globalization;
using EdgeNets.Cli.Terminal;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;

namespace EdgeNets.Cli.Commands;

/// <summary>`edgenets inspect MODEL.enet`: operators, shapes, quantization, weight and arena bytes, chosen kernels.</summary>
public static class InspectCommand
{
    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new Arguments("inspect", args, new HashSet<string>(), new HashSet<string>());
        string path = a.Positional(0, "model file (MODEL.enet)");
        a.ExpectPositionals(1);
        var model = Model.Load(path);
        using var session = model.CreateSession();
        var g = model.Graph;
        var inv = CultureInfo.InvariantCulture;

        stdout.WriteLine($"model: {path}");
        foreach (var (k, v) in g.Metadata) stdout.WriteLine($"  {k}: {v}");
        stdout.WriteLine($"file bytes: {new FileInfo(path).Length}");
        stdout.WriteLine($"weight bytes: {model.WeightBytes}");
        stdout.WriteLine($"arena bytes: {model.ArenaBytes}");
        stdout.WriteLine($"cpu features: {CpuFeatures.Describe()}");
        foreach (int i in g.Inputs) stdout.WriteLine($"input:  {Describe(g.Tensors[i])}");
        foreach (int o in g.Outputs) stdout.WriteLine($"output: {Describe(g.Tensors[o])}");
        stdout.WriteLine();
        stdout.WriteLine($"{"#",3}  {"op",-18} {"kernel",-40} {"output",-34} {"params",-12} name");
        var kernels = session.KernelNames;
        var reasons = session.KernelChoiceReasons;
        for (int i = 0; i < g.Ops.Count; i++)
        {
            var op = g.Ops[i];
            var outTensor = g.Tensors[op.Outputs[0]];
            long weights = op.Inputs.Where(t => t >= 0 && g.Tensors[t].IsConstant).Sum(t => (long)g.Tensors[t].ByteLength);
            stdout.WriteLine($"{i,3}  {op.Type,-18} {kernels[i],-40} {Describe(outTensor),-34} {weights.ToString(inv) + " B",-12} {op.Name}");
            stdout.WriteLine($"       kernel chosen: {reasons[i]}");
            foreach (var (key, values) in op.Attributes.Ints)
                stdout.WriteLine($"       {key} = [{Abbreviate(values.Select(v => v.ToString(inv)))}]");
            foreach (var (key, values) in op.Attributes.Floats)
                stdout.WriteLine($"       {key} = [{Abbreviate(values.Select(v => v.ToString("G6", inv)))}]");
        }
        return 0;
    }

    private static string Describe(TensorInfo t)
    {
        string s = $"{t.Type.ToShortName()}[{string.Join('x', t.Shape)}]";
        if (t.Quantization is { } q)
        {
            var inv = CultureInfo.InvariantCulture;
            s += q.IsPerChannel
                ? $" q(per-channel axis {q.Axis})"
                : $" q(s={q.Scale.ToString("G4", inv)}, zp={q.ZeroPoint})";
        }
        return s;
    }

    private static string Abbreviate(IEnumerable<string> values)
    {
        var list = values.Take(9).ToList();
        string joined = string.Join(", ", list.Take(8));
        return list.Count > 8 ? joined + ", ..." : joined;
    }
}
