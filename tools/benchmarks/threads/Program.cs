// enet-threads MODEL.enet INPUT.f32 THREADS N
// Creates a session with THREADS threads and calls Session.Run N times on one float32 input (raw little-endian),
// between two armcount markers (a prctl option no kernel knows: no effect unless armcost's plugin is loaded).
// armcost-threads.sh counts it with N = N1 and N = N2 and takes the per-thread difference, so loading, session
// set-up, the workers' start and the first run's one-off work drop out.
using System.Runtime.InteropServices;
using EdgeNets.Runtime;

static partial class Program
{
    [LibraryImport("libc.so.6", EntryPoint = "prctl")]
    private static partial int Prctl(int option, nint a2, nint a3, nint a4, nint a5);

    private static void Mark() => Prctl(0x41524d43, 0, 0, 0, 0);

    private static int Main(string[] args)
    {
        if (args.Length != 4 || !int.TryParse(args[2], out int threads) || !int.TryParse(args[3], out int runs))
        {
            Console.Error.WriteLine("usage: enet-threads MODEL.enet INPUT.f32 THREADS N");
            return 2;
        }
        var model = Model.Load(args[0]);
        var g = model.Graph;
        if (g.Inputs.Count != 1 || g.Outputs.Count != 1)
        {
            Console.Error.WriteLine($"enet-threads: {args[0]}: only models with one input and one output");
            return 1;
        }
        var input = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(args[1])).ToArray();
        if (input.Length != g.Tensors[g.Inputs[0]].ElementCount)
        {
            Console.Error.WriteLine($"enet-threads: {args[1]} holds {input.Length} float32 values, the input needs {g.Tensors[g.Inputs[0]].ElementCount}");
            return 1;
        }
        var output = new float[g.Tensors[g.Outputs[0]].ElementCount];
        using var session = model.CreateSession(new SessionOptions { Threads = threads });
        Mark();
        for (int r = 0; r < runs; r++) session.Run(input, output);
        Mark();
        // FNV-1a of the output's bytes: the same for every thread count when the split changes nothing.
        uint hash = 2166136261;
        foreach (byte b in MemoryMarshal.AsBytes(output.AsSpan())) hash = (hash ^ b) * 16777619;
        Console.WriteLine($"enet-threads: {runs} runs, {threads} threads, output hash {hash:x8}");
        return 0;
    }
}
