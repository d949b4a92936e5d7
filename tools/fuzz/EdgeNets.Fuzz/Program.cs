using EdgeNets.Tests.Fuzzing;
using SharpFuzz;

// One AFL++ target per input kind; an exception escaping the action is what AFL++ records as a crash.
//   enet: the bytes, resealed (checksum recomputed, so mutations reach the graph checks), loaded, and when accepted run
//         on the optimized kernels (one and two threads) and on the scalar reference: different bytes are a crash.
//   onnx: the bytes imported, calibrated, converted and run the same way; anything but a one-line refusal naming the
//         file is a crash.
//   replay: runs each file given through both checks in-process and prints the verdicts (no AFL++).
if (args.Length < 1 || args[0] is not ("enet" or "onnx" or "replay"))
{
    Console.Error.WriteLine("usage: edgenets-fuzz enet|onnx   (under afl-fuzz)   or   edgenets-fuzz replay FILE...");
    return 2;
}
if (args[0] == "replay")
{
    foreach (var path in args.Skip(1)) Console.WriteLine($"{path}: {Describe(path, File.ReadAllBytes(path))}");
    return 0;
}
Action<Stream> target = args[0] == "enet" ? stream => Enet(ReadAll(stream)) : stream => Onnx(ReadAll(stream));
Fuzzer.OutOfProcess.Run(target);
return 0;

static byte[] ReadAll(Stream stream)
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    return buffer.ToArray();
}

static void Enet(byte[] file)
{
    EnetMutator.Reseal(file);
    var (outcome, detail) = LoaderFuzzer.Check(file);
    if (outcome is LoaderFuzzOutcome.LoadCrash or LoaderFuzzOutcome.RunCrash or LoaderFuzzOutcome.Mismatch)
        throw new InvalidOperationException($"{outcome}: {detail}");
}

static void Onnx(byte[] file)
{
    var outcome = ImporterFuzzer.Run(file, "fuzz.onnx");
    if (outcome.Verdict == FuzzVerdict.Bug) throw new InvalidOperationException($"{outcome.Class}: {outcome.Message}");
}

static string Describe(string path, byte[] bytes)
{
    try
    {
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) Onnx(bytes);
        else Enet(bytes);
        return "ok";
    }
    catch (Exception e) { return e.Message; }
}
