using System.Text;
using static EdgeNets.Cli.Report.HtmlText;

namespace EdgeNets.Cli.Report;

/// <summary>
/// The report's charts as inline SVG (no script, no external resource). Hovering an element shows its figures (SVG
/// &lt;title&gt;). Class names (sqnr-bar, hist, cm-cell, ...) are what the styles and the browser test address.
/// </summary>
internal static class ReportCharts
{
    private const double Width = 300, Height = 112, Left = 6, Right = 294, Top = 8, Bottom = 86;

    /// <summary>A horizontal bar filling <paramref name="fraction"/> of a small track.</summary>
    public static void Bar(StringBuilder sb, string cssClass, double fraction, string title)
    {
        double w = 120 * Math.Clamp(double.IsNaN(fraction) ? 0 : fraction, 0, 1);
        sb.Append("<svg class=\"bar\" viewBox=\"0 0 120 12\" width=\"120\" height=\"12\" role=\"img\"><title>").Append(Escape(title)).Append("</title>")
          .Append("<rect class=\"track\" x=\"0\" y=\"0\" width=\"120\" height=\"12\" rx=\"2\"/>")
          .Append("<rect class=\"").Append(cssClass).Append("\" x=\"0\" y=\"0\" width=\"").Append(Coord(w)).Append("\" height=\"12\" rx=\"2\"/></svg>");
    }

    /// <summary>
    /// A histogram on a log scale (activations span orders of magnitude, ReLU's zeros above all): bins inside the range
    /// in one path, outside it in another; a quantization range shaded with its ends marked, values beyond the axis
    /// counted at its ends.
    /// </summary>
    public static void Histogram(StringBuilder sb, string chartClass, string pathClass, ValueHistogram h, string title)
    {
        int bins = h.Counts.Length;
        double binWidth = (Right - Left) / bins;
        double X(int bin) => Left + bin * binWidth;
        long peak = Math.Max(1, h.Counts.Max());
        double Y(long count) => Bottom - (Bottom - Top) * Math.Log(1 + count) / Math.Log(1 + peak);

        sb.Append("<svg class=\"chart ").Append(chartClass).Append("\" viewBox=\"0 0 ").Append(Coord(Width)).Append(' ').Append(Coord(Height))
          .Append("\" role=\"img\"><title>").Append(Escape(title)).Append("</title>");
        double x0 = X(ValueHistogram.MarginBins), x1 = X(ValueHistogram.MarginBins + ValueHistogram.RangeBins);
        if (h.IsQuantizationRange)
            sb.Append("<rect class=\"range\" x=\"").Append(Coord(x0)).Append("\" y=\"").Append(Coord(Top - 4)).Append("\" width=\"").Append(Coord(x1 - x0))
              .Append("\" height=\"").Append(Coord(Bottom - Top + 4)).Append("\"/>");
        var inside = new StringBuilder();
        var outside = new StringBuilder();
        for (int b = 0; b < bins; b++)
        {
            if (h.Counts[b] == 0) continue;
            bool isInside = b >= ValueHistogram.MarginBins && b < ValueHistogram.MarginBins + ValueHistogram.RangeBins;
            (isInside ? inside : outside).Append('M').Append(Coord(X(b))).Append(',').Append(Coord(Bottom))
                .Append('V').Append(Coord(Y(h.Counts[b]))).Append('H').Append(Coord(X(b + 1) - 0.3)).Append('V').Append(Coord(Bottom)).Append('Z');
        }
        sb.Append("<path class=\"").Append(pathClass).Append("\" d=\"").Append(inside).Append("\"/>");
        if (outside.Length > 0) sb.Append("<path class=\"hist-out\" d=\"").Append(outside).Append("\"/>");
        sb.Append("<line class=\"axis\" x1=\"").Append(Coord(Left)).Append("\" y1=\"").Append(Coord(Bottom)).Append("\" x2=\"").Append(Coord(Right))
          .Append("\" y2=\"").Append(Coord(Bottom)).Append("\"/>");
        if (h.IsQuantizationRange)
        {
            foreach (double x in new[] { x0, x1 })
                sb.Append("<line class=\"range-end\" x1=\"").Append(Coord(x)).Append("\" y1=\"").Append(Coord(Top - 4)).Append("\" x2=\"").Append(Coord(x))
                  .Append("\" y2=\"").Append(Coord(Bottom)).Append("\"/>");
        }
        else if (h.Low < 0 && h.High > 0)
        {
            double zero = x0 + (x1 - x0) * -h.Low / (h.High - h.Low);
            sb.Append("<line class=\"zero\" x1=\"").Append(Coord(zero)).Append("\" y1=\"").Append(Coord(Top)).Append("\" x2=\"").Append(Coord(zero))
              .Append("\" y2=\"").Append(Coord(Bottom)).Append("\"/>");
        }
        Label(sb, x0, Bottom + 12, "middle", Number(h.Low));
        Label(sb, x1, Bottom + 12, "middle", Number(h.High));
        if (h.Below > 0) Label(sb, Left, Top + 6, "start", $"◀ {Count(h.Below)}", "beyond", $"{Count(h.Below)} values below {Number(h.Low - ValueHistogram.MarginBins * h.BinWidth)}");
        if (h.Above > 0) Label(sb, Right, Top + 6, "end", $"{Count(h.Above)} ▶", "beyond", $"{Count(h.Above)} values above {Number(h.High + ValueHistogram.MarginBins * h.BinWidth)}");
        sb.Append("</svg>");
    }

    /// <summary>Every output channel's weights as a vertical line from its smallest to its largest, around zero.</summary>
    public static void ChannelRanges(StringBuilder sb, ChannelRanges w, string title)
    {
        int channels = w.Min.Length;
        double bound = 0;
        for (int c = 0; c < channels; c++) bound = Math.Max(bound, Math.Max(Math.Abs(w.Min[c]), Math.Abs(w.Max[c])));
        if (bound == 0) bound = 1;
        double mid = (Top + Bottom) / 2, half = (Bottom - Top) / 2;
        double Y(double v) => mid - half * v / bound;
        double step = (Right - Left) / Math.Max(channels, 1);
        sb.Append("<svg class=\"chart weight-chart\" viewBox=\"0 0 ").Append(Coord(Width)).Append(' ').Append(Coord(Height)).Append("\" role=\"img\"><title>")
          .Append(Escape(title)).Append("</title>");
        sb.Append("<line class=\"zero\" x1=\"").Append(Coord(Left)).Append("\" y1=\"").Append(Coord(mid)).Append("\" x2=\"").Append(Coord(Right))
          .Append("\" y2=\"").Append(Coord(mid)).Append("\"/>");
        sb.Append("<path class=\"wrange\" stroke-width=\"").Append(Coord(Math.Clamp(step * 0.6, 0.4, 6))).Append("\" d=\"");
        for (int c = 0; c < channels; c++)
        {
            double x = Left + (c + 0.5) * step;
            double y0 = Y(w.Max[c]), y1 = Y(w.Min[c]);
            if (y1 - y0 < 0.6) (y0, y1) = ((y0 + y1) / 2 - 0.3, (y0 + y1) / 2 + 0.3);   // a constant channel stays visible
            sb.Append('M').Append(Coord(x)).Append(',').Append(Coord(y0)).Append('V').Append(Coord(y1));
        }
        sb.Append("\"/>");
        Label(sb, Left, Top + 2, "start", "+" + Number(bound));
        Label(sb, Left, Bottom + 4, "start", "−" + Number(bound));
        Label(sb, Right, Bottom + 16, "end", $"{channels} channels");
        sb.Append("</svg>");
    }

    /// <summary>
    /// Rows: true class, columns: predicted class; a cell's colour is its share of the row (blue on the diagonal, red
    /// off it), its count written when the matrix is small enough to read.
    /// </summary>
    public static void ConfusionMatrix(StringBuilder sb, ConfusionMatrix m)
    {
        int k = m.Classes;
        double cell = Math.Clamp(360.0 / k, 8, 30), offset = 26, size = offset + k * cell + 4;
        bool writeCounts = cell >= 18;
        sb.Append("<svg class=\"chart confusion\" viewBox=\"0 0 ").Append(Coord(size)).Append(' ').Append(Coord(size)).Append("\" style=\"max-width:")
          .Append(Coord(Math.Max(size * 1.2, 240))).Append("px\" role=\"img\"><title>confusion matrix: rows true class, columns predicted class</title>");
        Label(sb, offset + k * cell / 2, 9, "middle", "predicted →");
        sb.Append("<text class=\"label\" transform=\"translate(9 ").Append(Coord(offset + k * cell / 2)).Append(") rotate(-90)\" text-anchor=\"middle\">true →</text>");
        for (int t = 0; t < k; t++)
        {
            long row = m.RowTotal(t);
            if (writeCounts || t % Math.Max(1, k / 10) == 0)
            {
                Label(sb, offset + (t + 0.5) * cell, offset - 4, "middle", t.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Label(sb, offset - 4, offset + (t + 0.5) * cell + 3, "end", t.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            for (int p = 0; p < k; p++)
            {
                long n = m[t, p];
                double share = row == 0 ? 0 : (double)n / row;
                string kind = t == p ? "diag" : "off";
                sb.Append("<rect class=\"cm-cell ").Append(kind).Append(n == 0 ? " empty" : "").Append("\" x=\"").Append(Coord(offset + p * cell)).Append("\" y=\"")
                  .Append(Coord(offset + t * cell)).Append("\" width=\"").Append(Coord(cell - 1)).Append("\" height=\"").Append(Coord(cell - 1))
                  .Append("\" fill-opacity=\"").Append(Coord(n == 0 ? 1 : 0.12 + 0.88 * share)).Append("\" data-true=\"").Append(t).Append("\" data-predicted=\"").Append(p)
                  .Append("\" data-count=\"").Append(n).Append("\"><title>")
                  .Append(Escape($"true {t}, predicted {p}: {Count(n)} of {Count(row)} samples ({Percent(share, 1)})")).Append("</title></rect>");
                if (writeCounts && n > 0)
                    sb.Append("<text class=\"cm-count").Append(share > 0.55 ? " light" : "").Append("\" x=\"").Append(Coord(offset + (p + 0.5) * cell - 0.5)).Append("\" y=\"")
                      .Append(Coord(offset + (t + 0.5) * cell + 3)).Append("\" text-anchor=\"middle\">").Append(Count(n)).Append("</text>");
            }
        }
        sb.Append("</svg>");
    }

    private static void Label(StringBuilder sb, double x, double y, string anchor, string text, string cssClass = "label", string? title = null)
    {
        sb.Append("<text class=\"").Append(cssClass).Append("\" x=\"").Append(Coord(x)).Append("\" y=\"").Append(Coord(y)).Append("\" text-anchor=\"")
          .Append(anchor).Append("\">").Append(Escape(text));
        if (title != null) sb.Append("<title>").Append(Escape(title)).Append("</title>");
        sb.Append("</text>");
    }
}
