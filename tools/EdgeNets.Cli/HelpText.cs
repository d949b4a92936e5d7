namespace EdgeNets.Cli;

/// <summary>
/// What `edgenets --help` and `edgenets COMMAND --help` print: a usage line, the options and examples. The verbs and
/// flags are a public contract (DESIGN.md section 2); README.md shows <see cref="Overview"/>.
/// </summary>
internal static class HelpText
{
    public const string Overview = """
        usage: edgenets COMMAND [options]      (edgenets COMMAND --help: its options and examples)

        Converts trained ONNX models to compact int8 models and runs them with zero allocations per inference.

        commands:
          convert    ONNX model -> int8 (or float32) .enet model, calibrated on sample inputs
          run        run a .enet model on .npy inputs, write the outputs as .npy
          inspect    operators, shapes, quantization, weight and arena bytes, kernels chosen on this CPU
          eval       a .enet model against its ONNX model in ONNX Runtime: accuracy, errors, per-layer SQNR
          bench      latency, allocations and memory, beside ONNX Runtime; --kernels: kernel throughput
          selftest   every kernel variant this CPU runs, against the scalar reference

        options:
          -h, --help     this text
          --version      the version of edgenets

        examples:
          edgenets convert model.onnx -o model.enet --calibration calibration.npy
          edgenets eval model.onnx model.enet --input test_inputs.npy --labels test_labels.npy
          edgenets run model.enet --input x.npy --output y.npy

        Errors are one line on stderr; exit code 0 on success, 1 on a failure, 2 on a usage error.
        """;

    public const string Convert = """
        usage: edgenets convert MODEL.onnx -o MODEL.enet --calibration DATA.npy [options]
               edgenets convert MODEL.onnx -o MODEL.enet --precision float32 [options]
               edgenets convert --list-operators

        Imports a float ONNX model, simplifies it, quantizes it to int8 on sample inputs (calibration) and writes a
        checksummed .enet model (its folder is created). A pre-quantized model (QuantizeLinear/DequantizeLinear pairs,
        e.g. from PyTorch or ONNX Runtime's quantize_static) keeps its own scales and needs no --calibration.

        options:
          -o, --output FILE              the .enet file to write
          --calibration DATA.npy         sample inputs, stacked on axis 0 (int8 only), scaled as the model's real inputs
          --calibration-method M         each activation's range: minmax (default), percentile, entropy (least KL
                                         divergence, as TensorRT), mse (least rounding + clipping error) or auto
                                         (per tensor, the one of these that reconstructs the samples best)
          --percentile P                 with percentile or auto: the percentile of |values| kept (default 99.99)
          --precision P                  int8 (default) or float32 (no calibration)
          --float-layers NAME,NAME       operators (as inspect names them) kept in float32 inside the int8 model
          --int16-layers NAME,NAME       Conv/Gemm operators computed with int16 activations and int8 weights
                                         (TFLite's 16x8 scheme) inside the int8 model
          --accuracy-target T            raises the fewest layers (Conv/Gemm to int16 activations first, float32 where
                                         that is not enough) until T holds against the float model: sqnr>=DB (output
                                         SQNR), top1-agreement>=PERCENT, top1-drop<=POINTS (needs --accuracy-labels);
                                         several separated by commas, all must hold
          --accuracy-precisions P,P      what layers may be raised to, cheapest first (default int16,float32)
          --accuracy-data X.npy          the samples the target is measured on (default: the calibration samples)
          --accuracy-labels Y.npy        their classes (for top1-drop)
          --batch N                      the batch size to fix when the model's batch dimension is dynamic (default 1)
          --input-shape NAME=1x100x40    fixes an input's dimensions, dynamic ones included (repeat per input)
          --input-mean M0,M1,..          the training normalization ((x - mean) / std per channel, or one value),
          --input-std S0,S1,..           kept in the model for edgenets-host
          --export-qdq FILE.onnx         also writes ONNX Runtime's int8 (QDQ) form, with the same scales
          --qdq-activations T            uint8 (default) or int8 activations in that QDQ model
          --list-operators               prints the ONNX operators the importer takes (docs/onnx-support.md)

        examples:
          edgenets convert model.onnx -o model.enet --calibration calibration.npy
          edgenets convert model.onnx -o model.enet --calibration calibration.npy --calibration-method percentile
          edgenets convert model.onnx -o model.enet --calibration calibration.npy --calibration-method auto
          edgenets convert kws.onnx -o kws.enet --calibration mfcc.npy --input-shape input=1x49x10
          edgenets convert model.onnx -o model.enet --calibration calibration.npy --float-layers /fc2/Gemm
          edgenets convert model.onnx -o model.enet --calibration calibration.npy --int16-layers /conv1/Conv,/fc2/Gemm
          edgenets convert model.onnx -o model.enet --calibration calibration.npy --accuracy-target sqnr>=30
          edgenets convert model.onnx -o model.enet --calibration cal.npy --accuracy-target 'top1-drop<=0.5' --accuracy-data x.npy --accuracy-labels y.npy
          edgenets convert model.onnx -o model-float.enet --precision float32
          edgenets convert model.qdq.onnx -o model.enet
        """;

    public const string Run = """
        usage: edgenets run MODEL.enet --input X.npy --output Y.npy [options]
               edgenets run MODEL.enet --stream --input X.npy --output Y.npy

        Runs every sample of X (N samples stacked on axis 0) and writes the N outputs stacked the same way (float32).
        Reports input values outside the range the model was calibrated on (they saturate after quantization).

        options:
          --input X.npy | NAME=X.npy     the input data (NAME=FILE, repeated, for a model with several inputs)
          --output Y.npy | NAME=Y.npy    where to write each output (its folder is created)
          --threads N                    threads per inference (default 1)
          --stream                       sequence models: X is one sequence [T, one step], fed one step at a time

        examples:
          edgenets run model.enet --input test_inputs.npy --output scores.npy
          edgenets run two-inputs.enet --input audio=a.npy --input meta=m.npy --output y.npy
          edgenets run forecast.enet --stream --input hours.npy --output forecasts.npy
        """;

    public const string Inspect = """
        usage: edgenets inspect MODEL.enet [--verbose]

        Prints the model's metadata, inputs and outputs, weight and arena bytes, and one line per operator: its
        kernel on this CPU, output tensor, weight bytes and name.

        options:
          --verbose    also why each kernel was chosen and every operator's attributes (requantization multipliers, shifts)

        examples:
          edgenets inspect model.enet
          edgenets inspect model.enet --verbose
        """;

    public const string Eval = """
        usage: edgenets eval MODEL.onnx MODEL.enet --input X.npy [options]

        Runs the float ONNX model in ONNX Runtime and the .enet model side by side on every sample of X: top-1
        agreement, accuracy (with labels) or mean absolute error (with targets), each output's errors and a per-layer
        SQNR and cosine table. The two models must have the same inputs and outputs; a warning says when the .enet was
        converted from another ONNX file. --report also writes one self-contained HTML page (no network needed to
        view it): per-layer SQNR and cosine with each layer's precision, activation histograms against the quantization
        range with the saturated share, weight ranges per output channel, the confusion matrix (with labels) and output
        error histograms, and the time of every operator (a short profiled run).

        options:
          --input X.npy          the samples, stacked on axis 0
          --labels Y.npy         class labels: float and int8 accuracy
          --targets T.npy        regression targets for the first output: float and int8 mean absolute error
          --limit N              the first N samples only
          --json                 one JSON object on stdout
          --report FILE.html     also the HTML report (its folder is created)

        examples:
          edgenets eval model.onnx model.enet --input test_inputs.npy --labels test_labels.npy
          edgenets eval model.onnx model.enet --input test_inputs.npy --labels test_labels.npy --report report.html
          edgenets eval model.onnx model.enet --input test_inputs.npy --limit 100 --json
        """;

    public const string Bench = """
        usage: edgenets bench MODEL.enet [--onnx MODEL.onnx] [options]
               edgenets bench --kernels [MODEL.enet]

        Times the model on a fixed input: median and p99 latency, bytes allocated per run (0), arena bytes. With
        --onnx, ONNX Runtime runs the same input in the same process (float32, and for an int8 .enet also ONNX
        Runtime's own int8 form made from MODEL.onnx and the .enet's scales), and the ratios are printed.

        options:
          --onnx MODEL.onnx           the float model, timed in ONNX Runtime (it must have the .enet's inputs and outputs)
          --onnx-int8 QDQ.onnx        time this int8 (QDQ) ONNX model instead of making one
          --no-onnx-int8              time no ONNX Runtime int8 model
          --threads N                 threads per inference, both runtimes (default 1)
          --runs N                    timed runs (default 300)
          --warmup N                  warm-up runs (default 30, and at least one second)
          --profile                   also the median time of every operator
          --json                      one JSON object on stdout
          --kernels                   GMAC/s of every int8 conv/gemm kernel this CPU runs, against its int8 peak

        examples:
          edgenets bench model.enet
          edgenets bench model.enet --onnx model.onnx --runs 2000
          edgenets bench model.enet --profile
          edgenets bench --kernels
        """;

    public const string Selftest = """
        usage: edgenets selftest

        Runs every kernel variant this CPU supports against the scalar reference kernel on random shapes; prints the
        CPU features seen and "N passed, N failed"; exit code 1 on any mismatch.

        examples:
          edgenets selftest
          DOTNET_EnableAVX2=0 edgenets selftest
        """;
}
