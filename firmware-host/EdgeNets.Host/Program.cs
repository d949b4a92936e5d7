using System.Globalization;
using System.Runtime.InteropServices;
using EdgeNets.Host.Output;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime;

namespace EdgeNets.Host;

/// <summary>
/// edgenets-host: turns a live or recorded source into predictions from a converted model, as JSON lines on stdout.
/// </summary>
public static class Program
{
    private const string Usage = """
        usage: edgenets-host --model MODEL.enet --source SOURCE [options]
        sources:
          npy:FILE.npy[?labels=L.npy&loop=true&rate=HZ&kind=tensor|samples]
          images:DIR[?list=FILES.txt&labels=dir&loop=true&rate=HZ]
          csv:FILE.csv[?columns=a,b,c&label=COL&rate=HZ&loop=true]
          video:FILE.y4m[?loop=true&rate=HZ]
          camera:/dev/video0[?width=160&height=120&fps=30&format=yuyv|grey&buffers=4]
          rpicam:[CAMERA][?width=160&height=120&fps=30&exe=PATH]   (Pi camera module via rpicam-vid)
          imu:CHIP[?bus=1&address=0x68&rate=50&gyro=dps|rad]   CHIP: mpu6050, mpu9250, lsm9ds1 (mag-address=0x1E),
                                bno055, adxl345 (also on SPI: spi=BUS.CS instead of bus and address); accel g, gyro °/s,
                                magnetic field µT (imu:simulated for a device-free run)
          env:CHIP[?bus=1&address=0x76&rate=1]   CHIP: bme280, bme680; temperature °C, humidity %, pressure hPa,
                                gas resistance Ω (bme680) (env:simulated)
          serial:/dev/ttyUSB0[?baud=115200&columns=0,1,2]
        options:
          --crop X,Y,W,H        crop frames (source pixels) before resizing
          --mean A[,B,C]        per-channel normalization (v - mean) / std after scaling to 0..1
          --std A[,B,C]         (default: the model's input_mean/input_std metadata, else none)
          --hop N               samples between windows for sensor models (default: window length)
          --mode window|stream  sensor samples: run the model on sliding windows (default), or step a recurrent
                                model one sample at a time with a prediction per sample
          --reset N             stream mode: reset the recurrent state every N samples (default 0 = never)
          --label-offset N      subtract N from every label (1 for ids 1..K of classes 0..K-1); labels outside
                                the model's classes count as unlabelled
          --window-label last|uniform  the label of a sensor window: its newest sample's (default), or the one label
                                all its samples share (windows across a label change are unlabelled)
          --output class|value  report the top class (default for outputs of more than one value) or the values
          --output-mean A[,..]  value outputs are reported as output * std + mean (undo a target normalization)
          --output-std A[,..]
          --hold K              a class must hold K predictions before an event is reported (default 1)
          --gpio P0,P1,...      GPIO pin per class (-1: none), driven on events
          --metrics SECONDS     print a metrics line every SECONDS (default 10; 0 = off)
          --max N               stop after N predictions
          --events-only         print events, metrics and the summary, not every prediction
          --mqtt URL            also publish every line at QoS 1 to mqtt://HOST[:PORT]/PREFIX (or mqtts://) under
                                PREFIX/prediction|event|metrics|error|summary, and a retained PREFIX/status
                                online/offline (also the last will); ?client=ID sets the client id
          --mqtt-ca FILE        mqtts: PEM certificate of the authority that signed the broker's certificate
          --mqtt-credentials FILE  username on the first line, password on the second (else the environment's
                                EDGENETS_MQTT_USERNAME and EDGENETS_MQTT_PASSWORD); never on the command line
          --mqtt-cert FILE      mqtts: PEM client certificate, for brokers that require one (with --mqtt-key)
          --mqtt-key FILE       mqtts: PEM private key of --mqtt-cert
          --mqtt-queue N        lines held while the broker is away (default 10000; more are dropped and counted)
          --http [ADDRESS:]PORT serve a read-only status page (the model input, class, score history, fps, latency,
                                the model card) and /metrics (Prometheus) on 127.0.0.1:PORT, or on ADDRESS:PORT
                                when an address is given (0.0.0.0:8080: every interface)
          -h, --help            print this help
        model rollout: the --model file is watched (and reloaded on SIGHUP); a replacement is loaded and checked off the
          frame loop (same input and output shapes and types, same input normalization) and swapped in between frames
          with a "model" line, or refused with an "error" line while the running model keeps going
        examples:
          edgenets-host --model model.enet --source camera:/dev/video0 --hold 3 --gpio 17,27,-1,22 --events-only
          edgenets-host --model model.enet --source "serial:/dev/ttyUSB0?baud=115200&columns=0,1,2,3,4,5" --hop 64
          edgenets-host --model model.enet --source "npy:test_inputs.npy?labels=test_labels.npy" --metrics 0
        """;

    public static int Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        // systemd stops services with SIGTERM; Ctrl+C sends SIGINT. The first ends the loop after the current frame and
        // prints the summary; a second one (e.g. when stdout is blocked) terminates the process the default way.
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = !stop.IsCancellationRequested;
            stop.Cancel();
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        return Run(args, Console.OpenStandardOutput(), Console.Error, stop.Token);
    }

    public static int Run(string[] args, Stream stdout, TextWriter stderr, CancellationToken stop)
    {
        string? modelPath = null, sourceText = null, gpio = null, mqttUrl = null, mqttCa = null, mqttCredentials = null;
        string? mqttCertificate = null, mqttKey = null;
        System.Net.IPEndPoint? http = null;
        int mqttQueue = 10_000;
        Mqtt.MqttTarget? mqtt = null;
        var options = new HostOptions { MetricsIntervalSeconds = 10 };
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--model": modelPath = Value(); break;
                    case "--source": sourceText = Value(); break;
                    case "--crop":
                        var crop = ParseInts(Value(), "--crop");
                        if (crop.Length != 4) throw new ArgumentException("--crop needs X,Y,W,H");
                        options.Preprocess.Crop = (crop[0], crop[1], crop[2], crop[3]);
                        break;
                    case "--mean": options.Preprocess.Mean = ParseFloats(Value(), "--mean"); break;
                    case "--std": options.Preprocess.Std = ParseFloats(Value(), "--std"); break;
                    case "--hop": options.Preprocess.Hop = ParsePositive(Value(), "--hop"); break;
                    case "--mode":
                        options.Mode = Value() switch
                        {
                            "window" => HostMode.Window,
                            "stream" => HostMode.Stream,
                            var v => throw new ArgumentException($"--mode {v}: expected window or stream"),
                        };
                        break;
                    case "--reset": options.ResetEvery = ParsePositive(Value(), "--reset"); break;
                    case "--label-offset":
                        if (!int.TryParse(Value(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int offset))
                            throw new ArgumentException("--label-offset needs an integer");
                        options.LabelOffset = offset;
                        break;
                    case "--window-label":
                        options.WindowLabel = Value() switch
                        {
                            "last" => WindowLabel.Last,
                            "uniform" => WindowLabel.Uniform,
                            var v => throw new ArgumentException($"--window-label {v}: expected last or uniform"),
                        };
                        break;
                    case "--output":
                        options.Output = Value() switch
                        {
                            "class" => OutputKind.Class,
                            "value" => OutputKind.Value,
                            var v => throw new ArgumentException($"--output {v}: expected class or value"),
                        };
                        break;
                    case "--output-mean": options.OutputMean = ParseFloats(Value(), "--output-mean"); break;
                    case "--output-std": options.OutputStd = ParseFloats(Value(), "--output-std"); break;
                    case "--hold": options.HoldFrames = ParsePositive(Value(), "--hold"); break;
                    case "--gpio": gpio = Value(); break;
                    case "--metrics":
                        if (!double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out double m) || m < 0)
                            throw new ArgumentException("--metrics needs a number of seconds >= 0");
                        options.MetricsIntervalSeconds = m;
                        break;
                    case "--max": options.MaxPredictions = ParsePositive(Value(), "--max"); break;
                    case "--events-only": options.PrintPredictions = false; break;
                    case "--mqtt": mqttUrl = Value(); break;
                    case "--mqtt-ca": mqttCa = Value(); break;
                    case "--mqtt-credentials": mqttCredentials = Value(); break;
                    case "--mqtt-cert": mqttCertificate = Value(); break;
                    case "--mqtt-key": mqttKey = Value(); break;
                    case "--mqtt-queue": mqttQueue = ParsePositive(Value(), "--mqtt-queue"); break;
                    case "--http": http = Status.StatusServer.ParseEndpoint(Value()); break;
                    case "-h" or "--help":
                        // Asked-for help is the program's output (stdout, exit 0), so it can be paged or piped.
                        stdout.Write(System.Text.Encoding.UTF8.GetBytes(Usage + "\n"));
                        stdout.Flush();
                        return 0;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            if (modelPath == null || sourceText == null) throw new ArgumentException("--model and --source are required");
            if (mqttUrl != null) mqtt = Mqtt.MqttTarget.Parse(mqttUrl, mqttCa, mqttCredentials, null, mqttCertificate, mqttKey);
            else if ((mqttCa ?? mqttCredentials ?? mqttCertificate ?? mqttKey) != null)
                throw new ArgumentException("--mqtt-ca, --mqtt-credentials, --mqtt-cert and --mqtt-key need --mqtt");
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"edgenets-host: {e.Message}");
            stderr.WriteLine(Usage);
            return 2;
        }

        try
        {
            var uri = SourceUri.Parse(sourceText);
            var model = Model.Load(modelPath);
            options.Preprocess.Mean ??= MetadataFloats(model, "input_mean");
            options.Preprocess.Std ??= MetadataFloats(model, "input_std");
            using var source = SourceFactory.Create(uri, stderr, stop);
            ClassPins? pins = gpio == null ? null : new ClassPins(new GpioPinOutput(), ParseInts(gpio, "--gpio"));
            using var pipeline = new HostPipeline(model, source, stdout, options, pins);
            // A replaced --model file (or SIGHUP) is checked off the frame loop and swapped in between frames.
            using var rollout = new Rollout.ModelRollout(modelPath, model, options);
            rollout.Watch(settle: TimeSpan.FromMilliseconds(500), poll: TimeSpan.FromSeconds(2));
            using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                rollout.RequestReload();
            });
            pipeline.Rollout = rollout;
            // Disposed before the pipeline: delivers what is queued, then publishes "offline".
            using var publisher = mqtt == null ? null : new Mqtt.MqttPublisher(mqtt, mqttQueue, pipeline.LineCapacity, stderr);
            pipeline.LineSink = publisher;
            using var status = http == null ? null : StartStatusPage(http, pipeline, modelPath, options, stderr);
            pipeline.Run(stop);
            return 0;
        }
        catch (SourceUriException e)
        {
            stderr.WriteLine($"edgenets-host: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is EdgeNets.Runtime.Format.ModelFormatException or InvalidDataException or IOException
                                      or UnauthorizedAccessException or ArgumentException or PlatformNotSupportedException)
        {
            stderr.WriteLine($"edgenets-host: {e.Message}");
            return 1;
        }
    }

    private static Status.StatusServer StartStatusPage(System.Net.IPEndPoint endpoint, HostPipeline pipeline, string modelPath,
        HostOptions options, TextWriter stderr)
    {
        var input = pipeline.Session.Model.Graph.Tensors[pipeline.Session.Model.Graph.Inputs[0]];
        var board = new Status.StatusBoard(input.ByteLength, pipeline.LastOutput.Length, TimeProvider.System.TimestampFrequency);
        var content = new Status.StatusContent(board, () => pipeline.Session.Model, modelPath, options.Preprocess.Mean, options.Preprocess.Std);
        var server = new Status.StatusServer(endpoint, content);
        pipeline.Status = board;
        var served = server.LocalEndPoint;
        stderr.WriteLine($"edgenets-host: status page on http://{(served.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{served.Address}]" : served.Address)}:{served.Port}/");
        return server;
    }

    private static float[]? MetadataFloats(Model model, string key) =>
        model.Graph.Metadata.TryGetValue(key, out var text) ? ParseFloats(text, $"model metadata {key}") : null;

    private static float[] ParseFloats(string text, string what)
    {
        var parts = text.Split(',');
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                throw new ArgumentException($"{what}: '{parts[i]}' is not a number");
        return values;
    }

    private static int[] ParseInts(string text, string what)
    {
        var parts = text.Split(',');
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out values[i]))
                throw new ArgumentException($"{what}: '{parts[i]}' is not an integer");
        return values;
    }

    private static int ParsePositive(string text, string what) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw new ArgumentException($"{what} needs a positive integer");
}
