namespace EdgeNets.Converter;

/// <summary>
/// Sizes the converter refuses to go past, checked before anything of that size is allocated, so a hostile or broken
/// model (a 130-byte ConstantOfShape of 2^30 elements) fails with one line instead of exhausting memory or time.
/// docs/importer.md states them.
/// </summary>
public static class ConversionLimits
{
    /// <summary>Largest tensor: initializer, folded constant or activation, counted as float32.</summary>
    public const long MaxTensorBytes = 256L << 20;

    /// <summary><see cref="MaxTensorBytes"/> in elements.</summary>
    public const int MaxTensorElements = (int)(MaxTensorBytes / sizeof(float));

    /// <summary>Largest planned arena; calibration keeps every activation at once, and their sum is held to it too.</summary>
    public const long MaxArenaBytes = 256L << 20;

    /// <summary>Highest rank of any tensor, constants of shape computations included (the runtime's own limit is lower).</summary>
    public const int MaxRank = 32;

    /// <summary>Product of the dimensions, without overflow: it saturates at <see cref="long.MaxValue"/>; any negative dimension gives -1.</summary>
    public static long ElementCount(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (int d in shape) if (d < 0) return -1;
        foreach (int d in shape) count = MultiplySaturating(count, d);
        return count;
    }

    /// <summary>a * b for non-negative a and b, <see cref="long.MaxValue"/> where the product would overflow.</summary>
    public static long MultiplySaturating(long a, long b) => a == 0 || b == 0 ? 0 : a > long.MaxValue / b ? long.MaxValue : a * b;

    /// <summary>
    /// The element count of a tensor about to be created. Refuses a negative dimension or more than
    /// <see cref="MaxTensorElements"/> elements with a <see cref="ConversionDetailException"/> (the caller names the node).
    /// </summary>
    internal static int CheckedElementCount(ReadOnlySpan<int> shape)
    {
        if (shape.Length > MaxRank) throw new ConversionDetailException($"a tensor of rank {shape.Length} is over the limit of rank {MaxRank}");
        long count = ElementCount(shape);
        if (count < 0) throw new ConversionDetailException($"shape [{Format(shape)}] has a negative dimension");
        if (count > MaxTensorElements) throw new ConversionDetailException(TooLarge(shape, count));
        return (int)count;
    }

    internal static string TooLarge(ReadOnlySpan<int> shape, long count) =>
        $"a tensor of shape [{Format(shape)}] ({(count == long.MaxValue ? "more than 2^63" : count.ToString(System.Globalization.CultureInfo.InvariantCulture))} elements) is over the limit of {MaxTensorElements} elements ({MaxTensorBytes >> 20} MB of float32)";

    private static string Format(ReadOnlySpan<int> shape) => MessageText.List(shape.ToArray());
}
