using EdgeNets.Cli.Commands;
using EdgeNets.Cli.Terminal;
using EdgeNets.Converter;
using EdgeNets.Runtime.Format;

namespace EdgeNets.Cli;

public static class Program
{
    public const string Usage = """
        edgenets: convert trained ONNX models to compact int8 models and run them.

        usage:
          edgenets convert MODEL.onnx -o MODEL.enet --calibration DATA.npy [--calibration-method minmax|percentile]
                           [--percentile P] [--precision int8|float32] [--batch N] [--input-shape NAME=1x100x40 ...]
                           [--input-mean M0,M1,.. --input-std S0,S1,..]   (training normalization, kept for edgenets-host)
                           [--export-qdq MODEL.qdq.onnx [--qdq-activations uint8|int8]]   (ONNX Runtime's int8 form, same scales)
          edgenets convert --list-operators   (the ONNX operators the importer takes, as docs/onnx-support.md)
          edgenets run     MODEL.enet --input X.npy --output Y.npy [--threads N]  (or --input NAME=FILE.npy, repeated)
          edgenets run     MODEL.enet --stream --input X.npy --output Y.npy   (sequence model: X [T, features] fed step by step)
          edgenets inspect MODEL.enet
          edgenets eval    MODEL.onnx MODEL.enet --input X.npy [--labels Y.npy | --targets T.npy] [--limit N] [--json]
          edgenets bench   MODEL.enet [--onnx MODEL.onnx] [--onnx-int8 MODEL_QDQ.onnx | --no-onnx-int8] [--threads N] [--runs N] [--json] [--profile]
                           (with --onnx and an int8 MODEL.enet, ONNX Runtime's int8 (QDQ) form is made from both and timed too)
          edgenets bench   --kernels [MODEL.enet]   (int8 conv/gemm GMAC/s vs this core's peak; per-op times)
          edgenets selftest                   (every kernel variant this CPU supports vs the scalar reference)
          edgenets help
        """;

    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        string command = args[0];
        var rest = args.Skip(1).ToArray();
        try
        {
            return command switch
            {
                "convert" => ConvertCommand.Run(rest, stdout, stderr),
                "run" => RunCommand.Run(rest, stdout, stderr),
                "inspect" => InspectCommand.Run(rest, stdout),
                "eval" => EvalCommand.Run(rest, stdout, stderr),
                "bench" => BenchCommand.Run(rest, stdout, stderr),
                "selftest" => SelftestCommand.Run(rest, stdout),
                _ => throw new CliException($"unknown command '{command}' (see 'edgenets help')", 2),
            };
        }
        catch (CliException e)
        {
            stderr.WriteLine($"edgenets {command}: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (e is ModelFormatException or ConversionException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"edgenets {command}: {e.Message}");
            return 1;
        }
    }
}
