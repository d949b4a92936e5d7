using System.Text;
using EdgeNets.Cli.Commands;
using static EdgeNets.Cli.Report.HtmlText;

namespace EdgeNets.Cli.Report;

/// <summary>
/// `eval --report`: one self-contained HTML page (inline styles and SVG, no script, no font or file fetched; its
/// Content-Security-Policy forbids any request) that says first how the converted model fares, then why, layer by layer.
/// </summary>
internal static class HtmlReportWriter
{
    /// <summary>How many of the worst layers the summary names.</summary>
    private const int WorstLayers = 3;
    /// <summary>Above this share of saturated values a layer's range is flagged.</summary>
    private const double SaturationFlag = 0.01;
    /// <summary>Up to this many classes the confusion matrix is drawn; past it, the most frequent confusions are listed.</summary>
    private const int MaxMatrixClasses = 40;

    public static void Write(string path, EvalReport report)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, Render(report), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
    }

    public static string Render(EvalReport r)
    {
        var sb = new StringBuilder(64 * 1024);
        string title = $"{Path.GetFileName(r.EnetPath)}: accuracy report";
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
          .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">")
          .Append("<title>").Append(Escape(title)).Append("</title><style>").Append(Styles).Append("</style></head>\n<body><main>\n");
        sb.Append("<header><h1>").Append(Escape(Path.GetFileName(r.EnetPath))).Append(" <span class=\"muted\">against its float model</span></h1><p class=\"muted\">")
          .Append(Escape(r.Precision)).Append(" model <code>").Append(Escape(r.EnetPath)).Append("</code> against <code>").Append(Escape(r.OnnxPath))
          .Append("</code> in ONNX Runtime (float32), on ").Append(Count(r.Samples)).Append(" samples of <code>").Append(Escape(r.InputPath)).Append("</code>.</p></header>\n");
        Summary(sb, r);
        sb.Append("<nav><a href=\"#layers\">Layers</a><a href=\"#activations\">Activation ranges</a><a href=\"#weights\">Weights</a>")
          .Append("<a href=\"#outputs\">Outputs</a><a href=\"#latency\">Latency</a><a href=\"#guide\">Reading guide</a></nav>\n");
        Layers(sb, r);
        Activations(sb, r);
        Weights(sb, r);
        Outputs(sb, r);
        Latency(sb, r);
        Guide(sb, r);
        sb.Append("</main></body></html>\n");
        return sb.ToString();
    }

    private static void Summary(StringBuilder sb, EvalReport r)
    {
        sb.Append("<section class=\"cards\">");
        if (r.Top1Agreement is { } agreement)
            Card(sb, "Top-1 agreement", Percent(agreement), "samples whose top class is the float model's", agreement >= 0.99 ? "good" : agreement >= 0.95 ? "fair" : "poor");
        if (r.FloatAccuracy is { } fa && r.QuantizedAccuracy is { } qa)
        {
            double delta = (qa - fa) * 100;
            Card(sb, "Accuracy", $"{Percent(qa)}", $"{r.Precision}; float {Percent(fa)} ({(delta >= 0 ? "+" : "−")}{Fixed(Math.Abs(delta), 2)} points)",
                delta >= -0.5 ? "good" : delta >= -2 ? "fair" : "poor");
        }
        if (r.Outputs.Count > 0)
        {
            var o = r.Outputs[0];
            Card(sb, r.Outputs.Count > 1 ? $"SQNR of '{o.Name}'" : "Output SQNR", Db(o.SqnrDb), $"max abs error {Number(o.MaxAbsError)}", SqnrClass(o.SqnrDb));
        }
        var saturated = r.Layers.Where(l => l.Histogram.SaturationShare > SaturationFlag).ToList();
        Card(sb, "Saturated layers", saturated.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"over {Percent(SaturationFlag, 0)} of float values outside the range", saturated.Count == 0 ? "good" : "fair");
        double total = r.Timings.Sum(t => t.MedianMicroseconds);
        Card(sb, "Latency", $"{Fixed(total, total < 100 ? 1 : 0)} µs", "sum of operator medians, 1 thread", "");
        sb.Append("</section>\n");

        var ranked = r.Layers.Select((l, i) => (Layer: l, Index: i)).ToList();
        var worst = ranked.Where(x => !double.IsPositiveInfinity(x.Layer.SqnrDb))
            .OrderBy(x => double.IsNaN(x.Layer.SqnrDb) ? double.NegativeInfinity : x.Layer.SqnrDb).Take(WorstLayers).ToList();
        var drops = ranked.Where(x => x.Layer.DropDb is { } d && double.IsFinite(d) && d > 0).OrderByDescending(x => x.Layer.DropDb).Take(WorstLayers).ToList();
        if (worst.Count + drops.Count == 0) return;
        sb.Append("<section class=\"worst\">");
        if (worst.Count > 0)
        {
            sb.Append("<div><h2>Worst layers</h2><ol>");
            foreach (var (l, i) in worst) LayerItem(sb, l, i, $"cosine {Fixed(l.Cosine, 5)}");
            sb.Append("</ol></div>");
        }
        if (drops.Count > 0)
        {
            sb.Append("<div><h2>Where the error enters</h2><ol>");
            foreach (var (l, i) in drops) LayerItem(sb, l, i, $"loses {Fixed(l.DropDb!.Value, 1)} dB from its input");
            sb.Append("</ol></div>");
        }
        sb.Append("</section>\n");
    }

    private static void LayerItem(StringBuilder sb, ReportLayer l, int index, string detail) =>
        sb.Append("<li><a href=\"#layer-").Append(index).Append("\"><code>").Append(Escape(l.Name)).Append("</code></a> <span class=\"muted\">").Append(Escape(l.Op))
          .Append("</span> <span class=\"pill ").Append(SqnrClass(l.SqnrDb)).Append("\">").Append(Db(l.SqnrDb)).Append("</span> <span class=\"muted small\">")
          .Append(Escape(detail)).Append("</span></li>");

    private static void Card(StringBuilder sb, string label, string value, string detail, string status) =>
        sb.Append("<div class=\"card ").Append(status).Append("\"><div class=\"label\">").Append(Escape(label)).Append("</div><div class=\"value\">")
          .Append(Escape(value)).Append("</div><div class=\"detail\">").Append(Escape(detail)).Append("</div></div>");

    private static void Layers(StringBuilder sb, EvalReport r)
    {
        sb.Append("<section id=\"layers\"><h2>Layers</h2><p class=\"muted\">Every activation both models name, in execution order: its error against ")
          .Append("the float model (SQNR bar to 50 dB, cosine bar from 0.9 to 1), its precision, and the share of float values outside its range.</p>");
        if (r.Layers.Count == 0)
        {
            sb.Append("<p>No intermediate tensor of the converted model has a namesake in the ONNX graph.</p></section>\n");
            return;
        }
        var timeByTensor = r.Timings.Where(t => t.OutputName.Length > 0).GroupBy(t => t.OutputName).ToDictionary(g => g.Key, g => g.Sum(t => t.MedianMicroseconds));
        sb.Append("<div class=\"scroll\"><table class=\"layers\"><thead><tr><th>#</th><th>layer</th><th>precision</th><th>shape</th><th>SQNR</th><th>cosine</th>")
          .Append("<th class=\"num\">saturated</th><th class=\"num\">time</th></tr></thead><tbody>");
        for (int i = 0; i < r.Layers.Count; i++)
        {
            var l = r.Layers[i];
            string status = double.IsNaN(l.SqnrDb) ? "poor" : SqnrClass(l.SqnrDb);
            sb.Append("<tr id=\"layer-").Append(i).Append("\"><td class=\"num muted\">").Append(i).Append("</td><td class=\"name\"><a href=\"#act-").Append(i).Append("\"><code>")
              .Append(Escape(l.Name)).Append("</code></a><div class=\"muted small\">").Append(Escape(l.Op)).Append("</div></td><td><span class=\"badge\">")
              .Append(Escape(l.Precision)).Append("</span></td><td class=\"muted small\">").Append(Shape(l.Shape)).Append("</td><td class=\"metric\">");
            ReportCharts.Bar(sb, "sqnr-bar " + status, double.IsPositiveInfinity(l.SqnrDb) ? 1 : l.SqnrDb / 50, $"{l.Name}: SQNR {Db(l.SqnrDb)}");
            sb.Append("<span>").Append(Db(l.SqnrDb)).Append("</span></td><td class=\"metric\">");
            ReportCharts.Bar(sb, "cosine-bar", (l.Cosine - 0.9) / 0.1, $"{l.Name}: cosine similarity {Fixed(l.Cosine, 6)}");
            sb.Append("<span>").Append(Fixed(l.Cosine, 5)).Append("</span></td><td class=\"num\">");
            if (l.Histogram.SaturationShare is { } s) sb.Append(s > SaturationFlag ? "<b class=\"warn\">" : "<span>").Append(SmallPercent(s)).Append(s > SaturationFlag ? "</b>" : "</span>");
            else sb.Append("<span class=\"muted\">–</span>");
            sb.Append("</td><td class=\"num\">").Append(timeByTensor.TryGetValue(l.Name, out double us) ? Fixed(us, 2) + " µs" : "").Append("</td></tr>");
        }
        sb.Append("</tbody></table></div></section>\n");
    }

    private static void Activations(StringBuilder sb, EvalReport r)
    {
        sb.Append("<section id=\"activations\"><h2>Activation ranges</h2><p class=\"muted\">The float model's values of each layer (log scale) and the ")
          .Append("range its integers represent (shaded, between the blue lines); values outside it saturate, drawn red. ◀ ▶ count values beyond the axis.</p><div class=\"grid\">");
        for (int i = 0; i < r.Layers.Count; i++)
        {
            var l = r.Layers[i];
            var h = l.Histogram;
            sb.Append("<figure id=\"act-").Append(i).Append("\"><figcaption><a href=\"#layer-").Append(i).Append("\"><code>").Append(Escape(l.Name)).Append("</code></a> <span class=\"muted\">")
              .Append(Escape(l.Op)).Append("</span> <span class=\"badge\">").Append(Escape(l.Precision)).Append("</span>");
            if (h.SaturationShare > SaturationFlag) sb.Append(" <span class=\"pill poor\">").Append(Percent(h.SaturationShare.Value, 1)).Append(" saturated</span>");
            sb.Append("</figcaption>");
            ReportCharts.Histogram(sb, "hist-chart", "hist", h, $"{l.Name}: {Count(h.Total)} float values");
            sb.Append("<p class=\"small muted\">");
            if (h.IsQuantizationRange) sb.Append("range [").Append(Number(h.Low)).Append(", ").Append(Number(h.High)).Append("] · saturated ").Append(SmallPercent(h.SaturationShare ?? 0)).Append(" · ");
            else sb.Append("not quantized · ");
            sb.Append(h.Total == h.NonFinite ? "no finite value" : $"seen [{Number(h.Min)}, {Number(h.Max)}]");
            if (h.NonFinite > 0) sb.Append(" · <b class=\"warn\">").Append(Count(h.NonFinite)).Append(" not finite</b>");
            sb.Append("</p></figure>");
        }
        sb.Append("</div></section>\n");
    }

    private static void Weights(StringBuilder sb, EvalReport r)
    {
        sb.Append("<section id=\"weights\"><h2>Weights per output channel</h2><p class=\"muted\">Each line spans one output channel's smallest to largest weight. ")
          .Append("Per-channel scales follow each channel; a channel far narrower than the rest keeps few distinct values under one scale for the tensor.</p>");
        if (r.Weights.Count == 0) sb.Append("<p>No weighted layer.</p>");
        else sb.Append("<div class=\"grid\">");
        for (int j = 0; j < r.Weights.Count; j++)
        {
            var w = r.Weights[j];
            int channels = w.Min.Length;
            var widths = Enumerable.Range(0, channels).Select(c => (double)w.Max[c] - w.Min[c]).ToArray();
            int narrowest = channels == 0 ? 0 : Array.IndexOf(widths, widths.Min());
            int zeros = Enumerable.Range(0, channels).Count(c => w.Min[c] == 0 && w.Max[c] == 0);
            sb.Append("<figure id=\"weights-").Append(j).Append("\"><figcaption><code>").Append(Escape(w.OpName)).Append("</code> <span class=\"muted\">").Append(w.OpType)
              .Append(" · ").Append(Escape(w.TensorName)).Append(" [").Append(Shape(w.Shape)).Append("]</span> <span class=\"badge\">").Append(Escape(w.Precision)).Append("</span></figcaption>");
            ReportCharts.ChannelRanges(sb, w, $"{w.TensorName}: weight range of each of {channels} channels (axis {w.Axis})");
            sb.Append("<p class=\"small muted\">").Append(channels).Append(" channels · widest ").Append(Number(widths.Max())).Append(" · narrowest ")
              .Append(Number(widths[narrowest])).Append(" (channel ").Append(narrowest).Append(')');
            if (zeros > 0) sb.Append(" · <b class=\"warn\">").Append(zeros).Append(" all zero</b>");
            sb.Append("</p></figure>");
        }
        if (r.Weights.Count > 0) sb.Append("</div>");
        sb.Append("</section>\n");
    }

    private static void Outputs(StringBuilder sb, EvalReport r)
    {
        sb.Append("<section id=\"outputs\"><h2>Outputs</h2>");
        if (r.Confusion is { } m)
        {
            sb.Append("<h3>Confusion matrix of '").Append(Escape(r.Outputs[0].Name)).Append("' (").Append(Escape(r.Precision)).Append(" model against the labels)</h3>");
            if (m.OutOfRangeLabels > 0) sb.Append("<p class=\"warn\">").Append(Count(m.OutOfRangeLabels)).Append(" labels lie outside the ").Append(m.Classes).Append(" classes and are left out.</p>");
            if (m.Classes <= MaxMatrixClasses) ReportCharts.ConfusionMatrix(sb, m);
            else TopConfusions(sb, m);
        }
        sb.Append("<h3>Output errors</h3><p class=\"muted\">The converted model's output minus the float model's, every value of every sample (log scale).</p><div class=\"grid\">");
        foreach (var o in r.Outputs)
        {
            sb.Append("<figure><figcaption><code>").Append(Escape(o.Name)).Append("</code> <span class=\"muted\">[").Append(Shape(o.Shape)).Append("]</span> <span class=\"badge\">")
              .Append(Escape(o.Precision)).Append("</span></figcaption>");
            ReportCharts.Histogram(sb, "error-chart", "err-hist", o.Errors, $"{o.Name}: errors of {Count(o.ErrorsKept)} values");
            sb.Append("<p class=\"small muted\">SQNR ").Append(Db(o.SqnrDb)).Append(" · max abs error ").Append(Number(o.MaxAbsError)).Append(" · mean ").Append(Number(o.MeanAbsError));
            if (o.Top1Agreement is { } a) sb.Append(" · top-1 agreement ").Append(Percent(a));
            if (o.ErrorsKept < o.ErrorsTotal) sb.Append(" · first ").Append(Count(o.ErrorsKept)).Append(" of ").Append(Count(o.ErrorsTotal)).Append(" values drawn");
            sb.Append("</p></figure>");
        }
        sb.Append("</div></section>\n");
    }

    private static void TopConfusions(StringBuilder sb, ConfusionMatrix m)
    {
        var pairs = new List<(int Truth, int Predicted, long Count)>();
        for (int t = 0; t < m.Classes; t++)
            for (int p = 0; p < m.Classes; p++)
                if (t != p && m[t, p] > 0) pairs.Add((t, p, m[t, p]));
        sb.Append("<p class=\"muted\">").Append(m.Classes).Append(" classes: the most frequent confusions.</p><table class=\"compact\"><thead><tr><th>true</th><th>predicted</th><th class=\"num\">samples</th></tr></thead><tbody>");
        foreach (var (t, p, n) in pairs.OrderByDescending(x => x.Count).ThenBy(x => x.Truth).Take(20))
            sb.Append("<tr><td>").Append(t).Append("</td><td>").Append(p).Append("</td><td class=\"num\">").Append(Count(n)).Append("</td></tr>");
        sb.Append("</tbody></table>");
    }

    private static void Latency(StringBuilder sb, EvalReport r)
    {
        double total = r.Timings.Sum(t => t.MedianMicroseconds), peak = r.Timings.Count == 0 ? 0 : r.Timings.Max(t => t.MedianMicroseconds);
        sb.Append("<section id=\"latency\"><h2>Latency per operator</h2><p class=\"muted\">Median of ").Append(r.ProfileRuns)
          .Append(" profiled runs on the first sample, one thread, on this machine (a short run: <code>edgenets bench MODEL.enet --profile</code> times at length).</p>")
          .Append("<div class=\"scroll\"><table class=\"latency\"><thead><tr><th>#</th><th>operator</th><th>kernel</th><th></th><th class=\"num\">median</th><th class=\"num\">share</th></tr></thead><tbody>");
        foreach (var t in r.Timings)
        {
            sb.Append("<tr><td class=\"num muted\">").Append(t.Slot).Append("</td><td>").Append(Escape(t.Op)).Append("<div class=\"muted small\">").Append(Escape(t.OutputName))
              .Append("</div></td><td class=\"small\"><code>").Append(Escape(t.Kernel)).Append("</code></td><td>");
            ReportCharts.Bar(sb, "latency-bar", peak == 0 ? 0 : t.MedianMicroseconds / peak, $"{t.Op} {t.OutputName}: {Fixed(t.MedianMicroseconds, 2)} µs");
            sb.Append("</td><td class=\"num\">").Append(Fixed(t.MedianMicroseconds, 2)).Append(" µs</td><td class=\"num\">")
              .Append(total == 0 ? "" : Percent(t.MedianMicroseconds / total, 1)).Append("</td></tr>");
        }
        sb.Append("</tbody></table></div></section>\n");
    }

    private static void Guide(StringBuilder sb, EvalReport r) =>
        sb.Append("<footer id=\"guide\"><h2>Reading guide</h2><dl>")
          .Append("<dt>SQNR</dt><dd>10·log10(Σ f² / Σ (f − q)²) over all values, f the float model's and q the converted model's: 20 dB is noise about 10 % of the signal, ")
          .Append("40 dB about 1 %. Green from 30 dB, amber from 20 dB, red below. Error adds up along the network, so the last layers tend to be the worst; ")
          .Append("a layer that loses many dB from its operator's input to its output is where the error enters.</dd>")
          .Append("<dt>Cosine</dt><dd>Σ f·q / (‖f‖ ‖q‖): 1 when the two point the same way, whatever their scale.</dd>")
          .Append("<dt>Precision</dt><dd>The type each layer's output is computed in.</dd>")
          .Append("<dt>Saturated</dt><dd>The share of float values outside the range the layer's integers represent (scale × (q − zero point)): those are clamped. ")
          .Append("A range much wider than the values wastes resolution instead.</dd></dl>")
          .Append("<p class=\"muted small\">edgenets ").Append(Escape(r.Version)).Append("</p></footer>\n");

    private const string Styles = """
        :root{--text:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f7f8fa;--accent:#2f6fb0;--good:#2e8540;--fair:#c77c02;--poor:#c0392b}
        *{box-sizing:border-box}
        body{margin:0;background:var(--bg);color:var(--text);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
        main{max-width:1120px;margin:0 auto;padding:24px 20px 48px}
        h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}h3{font-size:16px;margin:20px 0 8px}
        code{font-family:ui-monospace,"SF Mono",Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
        a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
        .muted{color:var(--muted)}.small{font-size:12.5px}.warn{color:var(--poor)}
        nav{display:flex;flex-wrap:wrap;gap:6px 18px;margin:18px 0 0;font-size:14px}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px;margin-top:20px}
        .card{background:#fff;border:1px solid var(--line);border-left:4px solid var(--line);border-radius:6px;padding:10px 14px}
        .card.good{border-left-color:var(--good)}.card.fair{border-left-color:var(--fair)}.card.poor{border-left-color:var(--poor)}
        .card .label{font-size:13px;color:var(--muted)}.card .value{font-size:24px;font-weight:600}.card .detail{font-size:12.5px;color:var(--muted)}
        .worst{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:0 24px}.worst h2{border:0;margin-top:20px;font-size:16px}.worst ol{margin:0;padding-left:22px}.worst li{margin:2px 0;overflow-wrap:anywhere}
        .pill{display:inline-block;padding:0 7px;border-radius:9px;font-size:12.5px;color:#fff}.pill.good{background:var(--good)}.pill.fair{background:var(--fair)}.pill.poor{background:var(--poor)}
        .badge{display:inline-block;padding:0 6px;border:1px solid var(--line);border-radius:4px;background:#fff;font-size:12px;color:var(--muted)}
        .scroll{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:6px}
        table{border-collapse:collapse;width:100%;font-size:14px}th,td{padding:5px 10px;text-align:left;vertical-align:middle;border-bottom:1px solid var(--line)}
        th{font-weight:600;font-size:13px;color:var(--muted);background:#fbfbfc}tr:last-child td{border-bottom:0}td.num,th.num{text-align:right;white-space:nowrap}
        td.name{min-width:230px;max-width:380px}td.metric{white-space:nowrap}td.metric span{display:inline-block;min-width:58px;margin-left:8px;font-variant-numeric:tabular-nums}
        table.compact{width:auto;background:#fff;border:1px solid var(--line)}
        tr:target{background:#fff6d6}figure:target{outline:2px solid var(--fair)}
        svg.bar{vertical-align:middle}svg.bar .track{fill:#eef0f3}
        .sqnr-bar.good{fill:var(--good)}.sqnr-bar.fair{fill:var(--fair)}.sqnr-bar.poor{fill:var(--poor)}.cosine-bar{fill:#7d9fcf}.latency-bar{fill:#8a7fc7}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
        figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 10px}
        figcaption{font-size:13.5px;margin-bottom:2px;overflow-wrap:anywhere}figure p{margin:2px 0 0}
        svg.chart{display:block;width:100%;height:auto}
        svg .range{fill:rgba(47,111,176,.08)}svg .range-end{stroke:var(--accent);stroke-width:1;stroke-dasharray:3 2}
        svg .hist{fill:#6b8fc7}svg .hist-out{fill:var(--poor)}svg .err-hist{fill:#8a7fc7}svg .axis{stroke:#9aa5b1;stroke-width:.8}
        svg .zero{stroke:#9aa5b1;stroke-width:.8;stroke-dasharray:2 2}svg .wrange{stroke:#4f7dbf;fill:none}
        svg .label{font-size:9.5px;fill:var(--muted)}svg .beyond{font-size:9.5px;fill:var(--poor)}
        svg.confusion{display:block;width:100%;height:auto;background:#fff;border:1px solid var(--line);border-radius:6px;padding:6px}
        .cm-cell.diag{fill:var(--accent)}.cm-cell.off{fill:var(--poor)}.cm-cell.empty{fill:#f3f4f6}
        .cm-count{font-size:9px;fill:var(--text)}.cm-count.light{fill:#fff}
        footer{margin-top:24px}dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;font-size:14px}dt{font-weight:600}dd{margin:0}
        @media (max-width:640px){main{padding:14px 10px}td.name{max-width:180px}}
        """;
}
