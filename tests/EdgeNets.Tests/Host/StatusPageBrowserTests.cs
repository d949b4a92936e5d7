using EdgeNets.Host;
using EdgeNets.Host.Sources;
using EdgeNets.Runtime;
using EdgeNets.Tests.Support;
using Microsoft.Playwright;
using NUnit.Framework;

namespace EdgeNets.Tests.Host;

/// <summary>
/// The status page in headless Chromium (Debian's chromium package; Playwright never downloads a browser here) while
/// the host replays the gesture photos: the page loads without console errors, the model input image updates and the
/// score chart is drawn. The screenshot is kept as a test artifact.
/// </summary>
public class StatusPageBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Test]
    public async Task PageShowsTheLiveInputAndDrawsTheChart()
    {
        if (!File.Exists(Chromium)) Assert.Ignore($"{Chromium} is missing (apt-get install chromium)");
        string enet = Path.Combine(RepoPaths.GestureModel, "model.enet");
        if (!File.Exists(enet)) Assert.Ignore($"{enet} is not built yet");
        string inputs = Path.Combine(RepoPaths.GestureModel, "test_inputs.npy");
        // The photos paced at 20 per second on the real clock, looping: the page sees new inputs for as long as it runs.
        var source = new NpySource(SourceUri.Parse($"npy:{inputs}?rate=20&loop=true"));
        using var served = StatusPageTests.Serve(Model.Load(enet), source, TimeProvider.System, modelPath: enet);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => served.Pipeline.Run(stop.Token));
        try
        {
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--no-sandbox"],
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 900 } });
            var errors = new List<string>();
            page.Console += (_, message) => { if (message.Type == "error") lock (errors) errors.Add(message.Text); };
            page.PageError += (_, error) => { lock (errors) errors.Add(error); };

            await page.GotoAsync(served.Url("/").ToString());
            // The image: loaded (decoded by the browser, 32 x 32) and then replaced by a newer input.
            var loaded = "() => { const i = document.getElementById('input'); return i.complete && i.naturalWidth > 0 && i.dataset.prediction !== undefined; }";
            await page.WaitForFunctionAsync(loaded, null, new PageWaitForFunctionOptions { Timeout = 30_000 });
            long first = long.Parse(await page.GetAttributeAsync("#input", "data-prediction") ?? "-1");
            await page.WaitForFunctionAsync($"() => Number(document.getElementById('input').dataset.prediction) > {first}", null,
                new PageWaitForFunctionOptions { Timeout = 30_000 });
            await page.WaitForFunctionAsync(loaded, null, new PageWaitForFunctionOptions { Timeout = 30_000 });
            Assert.That(await page.EvaluateAsync<int>("() => document.getElementById('input').naturalWidth"), Is.EqualTo(32));

            // The chart: points plotted, and pixels of the classes' colours on the canvas.
            await page.WaitForFunctionAsync("() => Number(document.getElementById('chart').dataset.points) > 5", null,
                new PageWaitForFunctionOptions { Timeout = 30_000 });
            int coloured = await page.EvaluateAsync<int>("""
                () => {
                  const c = document.getElementById('chart'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let n = 0;
                  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) n++;
                  return n;
                }
                """);
            Assert.That(coloured, Is.GreaterThan(20), "plotted points in class colours");
            Assert.That(await page.TextContentAsync("#class"), Does.Match(@"^class \d$"));
            Assert.That(await page.TextContentAsync("#card"), Does.Contain("int8").And.Contain("[1, 3, 32, 32]"));

            string shot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "status-page.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            TestContext.AddTestAttachment(shot, "the status page during a gesture replay");
            lock (errors) Assert.That(errors, Is.Empty, "console errors");
        }
        finally
        {
            stop.Cancel();
            await loop;
        }
    }
}
