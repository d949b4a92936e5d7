using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;

namespace EdgeNets.Runtime.Kernels;

/// <summary>ConvTranspose and Upsample cases (see <see cref="KernelCases"/>).</summary>
public static partial class KernelCases
{
    /// <summary>
    /// ConvTranspose geometries (ONNX pads: begin then end; the output padding lengthens the end): the U-Net's 2x2/2,
    /// kernels wider and narrower than the stride (overlapping taps, and outputs no tap reaches), pads that crop,
    /// output padding, dilation, groups, odd channel counts (an unpaired last channel), pixel counts on and off the
    /// GEMM's 32-pixel blocks, 1-D, a batch, kernels larger than the input, and the largest sums.
    /// </summary>
    private static IEnumerable<(ConvGeometry Geometry, int[] OutputPadding)> ConvTransposeShapes(Random rng)
    {
        yield return (new([1, 64, 16, 16], 32, [2, 2], [2, 2], [0, 0, 0, 0], [1, 1]), [0, 0]);
        yield return (new([1, 4, 5, 6], 4, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1]), [1, 1]);
        yield return (new([1, 5, 7, 9], 7, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1]), [1, 0]);
        yield return (new([1, 33, 3, 3], 17, [4, 4], [2, 2], [1, 1, 1, 1], [1, 1]), [0, 0]);
        yield return (new([1, 16, 6, 6], 9, [2, 2], [3, 3], [0, 0, 0, 0], [1, 1]), [2, 1]);
        yield return (new([2, 3, 4, 5], 5, [2, 3], [1, 2], [0, 1, 2, 0], [2, 1]), [0, 1]);
        yield return (new([1, 6, 5, 5], 6, [3, 3], [2, 2], [0, 0, 0, 0], [1, 1], Group: 3), [0, 0]);
        yield return (new([1, 8, 1, 1], 3, [3, 3], [1, 1], [0, 0, 0, 0], [1, 1]), [0, 0]);
        yield return (new([1, 4, 9], 6, [4], [2], [1, 1], [1], Group: 2), [0]);
        yield return (new([1, 7, 31], 5, [3], [1], [2, 0], [3]), [0]);
        yield return (new([1, 3, 11, 13], 2, [5, 5], [1, 1], [2, 2, 2, 2], [1, 1]), [0, 0]);
        yield return (new([1, 12, 8, 8], 10, [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], ConverterWeights: true), [0, 0]);
        yield return (new([1, 300, 4, 4], 3, [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], Extreme: true), [0, 0]);
        yield return (new([2, 6, 3, 13], 4, [3, 1], [3, 1], [0, 0, 0, 0], [1, 1], Group: 2), [0, 0]);
        yield return (new([1, 5, 11], 3, [2], [2], [0, 0], [1]), [0]);
        for (int i = 0; i < 6; i++)
        {
            int group = rng.Next(3) == 0 ? 2 : 1;
            int k = rng.Next(1, 5), s = rng.Next(1, 4), pad = rng.Next(0, (k + 1) / 2);
            yield return (new([1, group * rng.Next(1, 12), rng.Next(1, 9), rng.Next(1, 20)], group * rng.Next(1, 9), [k, k], [s, s], [pad, pad, pad, pad], [1, 1], group),
                [rng.Next(0, s), rng.Next(0, s)]);
        }
    }

    private static int[] ConvTransposeOutput(ConvGeometry geometry, int[] outputPadding)
    {
        var input = geometry.Input;
        int spatial = input.Length - 2;
        var output = new int[input.Length];
        output[0] = input[0];
        output[1] = geometry.M;
        for (int a = 0; a < spatial; a++)
            output[2 + a] = (input[2 + a] - 1) * geometry.Strides[a] - geometry.Pads[a] - geometry.Pads[spatial + a] + (geometry.Kernel[a] - 1) * geometry.Dilations[a] + 1
                + outputPadding[a];
        return output;
    }

    private static KernelCase ConvTransposeInt8(Random rng, ConvGeometry geometry, int[] outputPadding)
    {
        var g = new CaseGraph();
        int cpg = geometry.Input[1] / geometry.Group, taps = cpg;
        foreach (int k in geometry.Kernel) taps *= k;
        var output = ConvTransposeOutput(geometry, outputPadding);
        var (x, w, qx, qy) = ConvInt8Operands(g, rng, geometry, cpg);
        var (attributes, biasBytes, how) = Int8Requantization(rng, geometry.M, taps);
        var inputs = new List<int> { x, w };
        if (biasBytes != null) inputs.Add(g.Constant("b", DataType.Int32, [geometry.M], biasBytes, null));
        int y = g.Output("y", DataType.Int8, output, qy);
        geometry.SetAttributes(attributes);
        g.Op(OpType.ConvTranspose, [.. inputs], y, attributes);
        return g.Build($"ConvTranspose int8 [{ShapeUtil.Format(geometry.Input)}] -> [{ShapeUtil.Format(output)}], kernel [{ShapeUtil.Format(geometry.Kernel)}], " +
            $"strides [{ShapeUtil.Format(geometry.Strides)}], pads [{ShapeUtil.Format(geometry.Pads)}], dilations [{ShapeUtil.Format(geometry.Dilations)}], " +
            $"group {geometry.Group}, zx={qx.ZeroPoint} zy={qy.ZeroPoint}, {how}{(geometry.Extreme ? ", extreme sums" : "")}");
    }

    /// <summary>Float ConvTranspose on the int8 geometries: inputs with specials, bias absent, random or holding a −0, sometimes a clamp.</summary>
    private static KernelCase ConvTransposeFloat(Random rng, ConvGeometry geometry, int[] outputPadding)
    {
        var g = new CaseGraph();
        var input = geometry.Input;
        int cpg = input[1] / geometry.Group;
        var output = ConvTransposeOutput(geometry, outputPadding);
        int x = g.Input("x", DataType.Float32, input, FloatValues(rng, ShapeUtil.ElementCount(input)));
        int[] weightShape = [geometry.M, cpg, .. geometry.Kernel];
        int w = g.Constant("w", DataType.Float32, weightShape, FiniteFloats(rng, ShapeUtil.ElementCount(weightShape)));
        var inputs = new List<int> { x, w };
        string bias = FloatBias(rng, g, geometry.M, inputs);
        int y = g.Output("y", DataType.Float32, output);
        var attributes = FloatClamp(rng, out string clamp);
        geometry.SetAttributes(attributes);
        g.Op(OpType.ConvTranspose, [.. inputs], y, attributes);
        return g.Build($"ConvTranspose float32 [{ShapeUtil.Format(input)}] -> [{ShapeUtil.Format(output)}], kernel [{ShapeUtil.Format(geometry.Kernel)}], " +
            $"strides [{ShapeUtil.Format(geometry.Strides)}], pads [{ShapeUtil.Format(geometry.Pads)}], group {geometry.Group}, {bias}{clamp}");
    }

    /// <summary>Nearest upsampling by whole factors: on the last axis or not, on leading axes, rank 1 to 5, widths around vectors.</summary>
    private static IEnumerable<(int[] Input, int[] Output)> NearestUpsampleShapes()
    {
        yield return ([1, 3, 4, 5], [1, 3, 8, 10]);
        yield return ([1, 2, 3, 3], [1, 2, 9, 6]);
        yield return ([2, 3, 5], [2, 6, 5]);
        yield return ([1, 1, 1, 1], [1, 1, 4, 4]);
        yield return ([7], [21]);
        yield return ([1, 16, 16, 16], [1, 16, 32, 32]);
        yield return ([1, 2, 2, 2], [2, 2, 2, 2]);
        yield return ([1, 3, 2, 17], [1, 3, 4, 17]);
        yield return ([2, 1, 2, 3, 2], [2, 2, 2, 6, 4]);
    }

    /// <summary>
    /// Bilinear resizing: (input, output, scales of H and W) in every coordinate mode, up and down, whole and
    /// fractional scales, output widths below, at and past whole vectors, single-pixel inputs, the U-Net's 2x.
    /// </summary>
    private static IEnumerable<(int[] Input, int[] Output, float ScaleH, float ScaleW)> LinearUpsampleShapes()
    {
        yield return ([1, 32, 32, 32], [1, 32, 64, 64], 2f, 2f);
        yield return ([1, 3, 4, 5], [1, 3, 8, 10], 2f, 2f);
        yield return ([1, 2, 5, 7], [1, 2, 15, 21], 3f, 3f);
        yield return ([2, 3, 6, 9], [2, 3, 9, 13], 1.5f, 1.5f);
        yield return ([1, 4, 8, 12], [1, 4, 4, 6], 0.5f, 0.5f);
        yield return ([1, 1, 1, 1], [1, 1, 3, 17], 3f, 17f);
        yield return ([1, 2, 3, 1], [1, 2, 7, 33], 7f / 3, 33f);
        yield return ([1, 5, 2, 8], [1, 5, 2, 16], 1f, 2f);
        yield return ([1, 2, 9, 4], [1, 2, 20, 3], 20f / 9, 0.75f);
    }

    private static KernelCase NearestUpsample(Random rng, DataType type, int[] input, int[] output)
    {
        var g = new CaseGraph();
        var q = type == DataType.Int8 ? Quant(rng) : null;
        int count = ShapeUtil.ElementCount(input);
        int x = g.Input("x", type, input, type == DataType.Int8 ? Int8Values(rng, count) : FloatValues(rng, count), q);
        int y = g.Output("y", type, output, q);
        g.Op(OpType.Upsample, [x], y, new OpAttributes());
        return g.Build($"Upsample nearest {ShapeKernels.Suffix(type)} [{ShapeUtil.Format(input)}] -> [{ShapeUtil.Format(output)}]");
    }

    private static KernelCase LinearUpsample(Random rng, DataType type, int[] input, int[] output, float scaleH, float scaleW, ResizeCoordinates coordinates)
    {
        var g = new CaseGraph();
        var q = type == DataType.Int8 ? Quant(rng) : null;
        int count = ShapeUtil.ElementCount(input);
        int x = g.Input("x", type, input, type == DataType.Int8 ? Int8Values(rng, count) : FloatValues(rng, count), q);
        int y = g.Output("y", type, output, q);
        var attributes = new OpAttributes().Set(AttributeKey.ResizeMode, 1).Set(AttributeKey.CoordinateTransform, (int)coordinates)
            .Set(AttributeKey.Scales, new[] { 1f, 1f, scaleH, scaleW });
        g.Op(OpType.Upsample, [x], y, attributes);
        return g.Build($"Upsample linear {ShapeKernels.Suffix(type)} [{ShapeUtil.Format(input)}] -> [{ShapeUtil.Format(output)}], {coordinates}");
    }

    private static void AddUpsampleCases(Random rng, DataType type, List<KernelCase> cases)
    {
        foreach (var (input, output) in NearestUpsampleShapes()) cases.Add(NearestUpsample(rng, type, input, output));
        foreach (var (input, output, scaleH, scaleW) in LinearUpsampleShapes())
            foreach (var coordinates in Enum.GetValues<ResizeCoordinates>()) cases.Add(LinearUpsample(rng, type, input, output, scaleH, scaleW, coordinates));
    }
}
