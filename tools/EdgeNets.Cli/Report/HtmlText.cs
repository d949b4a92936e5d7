using System.Globalization;
using System.Net;

namespace EdgeNets.Cli.Report;

/// <summary>Text as the report writes it: HTML-escaped, numbers in the invariant culture whatever the machine's.</summary>
internal static class HtmlText
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Safe in element content and in quoted attribute values.</summary>
    public static string Escape(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A coordinate in an SVG attribute or path.</summary>
    public static string Coord(double v) => Math.Round(v, 2).ToString("0.##", Inv);

    public static string Number(double v) => !double.IsFinite(v) ? v.ToString(Inv) : v == 0 ? "0" : v.ToString("G4", Inv);

    public static string Fixed(double v, int decimals) => v.ToString("F" + decimals.ToString(Inv), Inv);

    public static string Percent(double share, int decimals = 2) => Fixed(share * 100, decimals) + " %";

    /// <summary>A share that may be tiny but must not read as none: "&lt;0.01 %" rather than "0.00 %".</summary>
    public static string SmallPercent(double share) =>
        share == 0 ? "0 %" : share < 1e-4 ? "<0.01 %" : Percent(share);

    public static string Db(double db) => double.IsPositiveInfinity(db) ? "exact" : double.IsNaN(db) ? "n/a" : Fixed(db, 1) + " dB";

    public static string Shape(int[] shape) => string.Join('×', shape);

    public static string Count(long n) => n.ToString("N0", Inv);

    /// <summary>How good an SQNR is, as a CSS class: the colour of its bar.</summary>
    public static string SqnrClass(double db) => db >= 30 ? "good" : db >= 20 ? "fair" : "poor";
}
