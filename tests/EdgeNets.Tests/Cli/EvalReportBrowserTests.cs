using System.Globalization;
using Program = EdgeNets.Cli.Program;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;
using EdgeNets.Tests.Support;
using Microsoft.Playwright;
using NUnit.Framework;

namespace EdgeNets.Tests.Cli;

/// <summary>
/// `eval --report` opened in Debian's headless Chromium (driven by Playwright, never a downloaded browser): the charts
/// render with one element per layer, channel, class pair and operator, nothing is fetched, nothing logs an error.
/// A screenshot of each page is kept under artifacts/test-screenshots/ and attached to the test result.
/// </summary>
[NonParallelizable]
public class EvalReportBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [TestCase("gesture-digits", "test_labels.npy")]
    [TestCase("airquality-forecast", null)]
    public async Task TheReportRendersItsChartsOffline(string name, string? labelsFile)
    {
        if (!File.Exists(Chromium)) Assert.Ignore($"{Chromium} is missing: install Debian's chromium (tools/setup.sh does) to check the HTML report in a browser");
        string modelDir = Path.Combine(RepoPaths.Models, name);
        string onnx = Path.Combine(modelDir, "model.onnx"), enet = Path.Combine(modelDir, "model.enet"), inputs = Path.Combine(modelDir, "test_inputs.npy");
        string dir = RepoPaths.TempDirectory();
        try
        {
            string report = Path.Combine(dir, "report.html"), json = Path.Combine(dir, "eval.json");
            var args = new List<string> { "eval", onnx, enet, "--input", inputs, "--limit", "64", "--report", report, "--json" };
            if (labelsFile != null) args.AddRange(["--labels", Path.Combine(modelDir, labelsFile)]);
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            Assert.That(Program.Run(args.ToArray(), stdout, stderr), Is.Zero, stderr.ToString());
            using var evalJson = System.Text.Json.JsonDocument.Parse(stdout.ToString());
            int layers = evalJson.RootElement.GetProperty("layers").GetArrayLength();
            Assert.That(layers, Is.GreaterThan(2));
            var model = Model.Load(enet);
            var g = model.Graph;
            // Weighted layers: a convolution's, Gemm's or MatMul's constant weights, a recurrent layer's W and R.
            int weightTensors = g.Ops.Sum(op => op.Type switch
            {
                OpType.Conv or OpType.ConvTranspose or OpType.Gemm or OpType.MatMul => g.Tensors[op.Inputs[1]].IsConstant ? 1 : 0,
                OpType.Lstm or OpType.Gru or OpType.Rnn => 2,
                _ => 0,
            });

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--no-sandbox"],   // CI runs as root, where Chromium's sandbox refuses to start
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
            var problems = new List<string>();
            var requests = new List<string>();
            page.Console += (_, m) => { if (m.Type is "error" or "warning") problems.Add($"console {m.Type}: {m.Text}"); };
            page.PageError += (_, e) => problems.Add($"page error: {e}");
            page.Request += (_, r) => requests.Add(r.Url);
            string url = new Uri(report).AbsoluteUri;
            await page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Load });

            Assert.That(await page.Locator("svg rect.sqnr-bar").CountAsync(), Is.EqualTo(layers), "one SQNR bar per layer");
            Assert.That(await page.Locator("svg rect.cosine-bar").CountAsync(), Is.EqualTo(layers), "one cosine bar per layer");
            Assert.That(await page.Locator("svg.hist-chart path.hist").CountAsync(), Is.EqualTo(layers), "one activation histogram per layer");
            Assert.That(await page.Locator("svg.weight-chart path.wrange").CountAsync(), Is.EqualTo(weightTensors), "one weight chart per weight tensor");
            Assert.That(await page.Locator("svg.error-chart path.err-hist").CountAsync(), Is.EqualTo(g.Outputs.Count), "one error histogram per output");
            Assert.That(await page.Locator("svg rect.latency-bar").CountAsync(), Is.EqualTo(g.Ops.Count + 2), "every operator, the input quantization and output dequantization");
            var firstBar = await page.Locator("svg rect.sqnr-bar").First.BoundingBoxAsync();
            var firstHistogram = await page.Locator("svg.hist-chart path.hist").First.BoundingBoxAsync();
            Assert.That(firstBar?.Width, Is.GreaterThan(0), "the SQNR bar is drawn");
            Assert.That(firstHistogram?.Height, Is.GreaterThan(0), "the histogram is drawn");

            var cells = page.Locator("svg.confusion rect.cm-cell");
            if (labelsFile != null)
            {
                int classes = g.Tensors[g.Outputs[0]].ElementCount;
                Assert.That(await cells.CountAsync(), Is.EqualTo(classes * classes));
                // The matrix against the labels and the predictions `run` writes, counted here.
                string predictionsPath = Path.Combine(dir, "y.npy"), firstInputs = Path.Combine(dir, "x.npy");
                var x = NpyFile.Read(inputs);
                int sampleSize = g.Tensors[g.Inputs[0]].ElementCount;
                NpyFile.WriteFloat32(firstInputs, [64, .. x.Shape[1..]], x.ToFloat32().AsSpan(0, 64 * sampleSize));
                Assert.That(Program.Run(["run", enet, "--input", firstInputs, "--output", predictionsPath], TextWriter.Null, TextWriter.Null), Is.Zero);
                var scores = NpyFile.Read(predictionsPath).ToFloat32();
                var labels = NpyFile.Read(Path.Combine(modelDir, labelsFile)).ToInt32();
                var expected = new long[classes, classes];
                for (int s = 0; s < 64; s++)
                {
                    var row = scores.AsSpan(s * classes, classes);
                    int predicted = 0;
                    for (int c = 1; c < classes; c++) if (row[c] > row[predicted]) predicted = c;
                    expected[labels[s], predicted]++;
                }
                foreach (var cell in await cells.AllAsync())
                {
                    int t = Attribute(await cell.GetAttributeAsync("data-true")), p = Attribute(await cell.GetAttributeAsync("data-predicted"));
                    Assert.That(Attribute(await cell.GetAttributeAsync("data-count")), Is.EqualTo(expected[t, p]), $"true {t}, predicted {p}");
                }
            }
            else Assert.That(await cells.CountAsync(), Is.Zero, "no labels, no confusion matrix");

            Assert.That(problems, Is.Empty);
            Assert.That(requests, Does.Contain(url), "requests are seen (the page's own)");
            Assert.That(requests.Where(r => r != url), Is.Empty, "the report fetches nothing");

            string shots = Path.Combine(RepoPaths.Root, "artifacts", "test-screenshots");
            Directory.CreateDirectory(shots);
            string shot = Path.Combine(shots, $"eval-report-{name}.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            TestContext.AddTestAttachment(shot, $"eval --report of models/{name}");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static int Attribute(string? value) => int.Parse(value!, CultureInfo.InvariantCulture);
}
