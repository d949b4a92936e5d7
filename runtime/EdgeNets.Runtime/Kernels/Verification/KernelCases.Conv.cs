using System.Runtime.InteropServices;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels;

/// <summary>Conv cases (see <see cref="KernelCases"/>).</summary>
public static partial class KernelCases
{
    /// <summary>A single int8 Conv case with random data (for benchmarks): input [N, C, H, W], M filters, square kernel, same padding.</summary>
    public static KernelCase Conv2dInt8(int[] input, int outChannels, int kernel, int stride = 1, int seed = 1, int group = 1)
    {
        int pad = kernel / 2;
        return ConvInt8(new Random(seed), new ConvGeometry(input, outChannels, [kernel, kernel], [stride, stride], [pad, pad, pad, pad], [1, 1], group));
    }

    /// <summary>One Conv geometry: input [N, C, (H,) W], M output channels, kernel, strides, ONNX pads, dilations, group.
    /// Extreme: int8 data at the corner that gives the largest sums (input 127 with zero point -128, weights -128).
    /// ConverterWeights: weights in [-127, 127], the converter's range (with Extreme: input -128, weights -127, the
    /// largest products of that range).</summary>
    private readonly record struct ConvGeometry(int[] Input, int M, int[] Kernel, int[] Strides, int[] Pads, int[] Dilations, int Group = 1, bool Extreme = false,
        bool ConverterWeights = false)
    {
        public int[] OutputShape()
        {
            int spatial = Input.Length - 2;
            var output = new int[Input.Length];
            output[0] = Input[0];
            output[1] = M;
            for (int a = 0; a < spatial; a++)
            {
                int extent = (Kernel[a] - 1) * Dilations[a] + 1;
                output[2 + a] = (Input[2 + a] + Pads[a] + Pads[spatial + a] - extent) / Strides[a] + 1;
            }
            return output;
        }

        public void SetAttributes(OpAttributes attributes)
        {
            attributes.Set(AttributeKey.KernelShape, Kernel);
            attributes.Set(AttributeKey.Strides, Strides);
            attributes.Set(AttributeKey.Pads, Pads);
            attributes.Set(AttributeKey.Dilations, Dilations);
            if (Group != 1) attributes.Set(AttributeKey.Group, Group);
        }

        public string Describe() =>
            $"[{ShapeUtil.Format(Input)}] -> [{ShapeUtil.Format(OutputShape())}], kernel [{ShapeUtil.Format(Kernel)}], strides [{ShapeUtil.Format(Strides)}], " +
            $"pads [{ShapeUtil.Format(Pads)}], dilations [{ShapeUtil.Format(Dilations)}], group {Group}";
    }

    private static IEnumerable<ConvGeometry> ConvShapes()
    {
        // 1x1: odd channels, pixel tails, a 128-channel layer.
        yield return new([1, 5, 7, 9], 7, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 16, 4, 4], 32, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 33, 3, 5], 17, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 128, 5, 5], 128, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 8, 9, 9], 6, [1, 1], [2, 2], [0, 0, 0, 0], [1, 1]);
        // 3x3 same padding, like the gesture model's layers.
        yield return new([1, 3, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 16, 9, 11], 13, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 32, 8, 8], 64, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 1, 5, 5], 1, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 64, 6, 6], 20, [3, 3], [1, 1], [0, 0, 0, 0], [1, 1]);
        // 3x3 stride 1 for the Winograd kernels: 1x1 and 3x5 maps, odd sizes (partial edge tiles), tile rows that are
        // not a multiple of the 8-tile input transform, channel counts 1, 3, 5, 16, 33, asymmetric and wide pads, a batch.
        yield return new([1, 1, 1, 1], 3, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 3, 3, 5], 5, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 5, 7, 9], 6, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 33, 9, 7], 9, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 9, 7, 9], 5, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 8, 12, 13], 11, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([2, 16, 5, 18], 17, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 4, 7, 6], 5, [3, 3], [1, 1], [0, 1, 2, 0], [1, 1]);
        yield return new([1, 2, 4, 4], 4, [3, 3], [1, 1], [2, 2, 2, 2], [1, 1]);
        yield return new([1, 3, 37, 35], 8, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        // The largest sums: x − zx = 255 against weights of -128 everywhere, at the Winograd kernels' channel limit
        // (interior pixels sum all 9 taps; 16 tiles, so the registry's Winograd variants take it and the self-test
        // checks it on every CPU).
        yield return new([1, 1827, 8, 8], 2, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], Extreme: true);
        // Stride 2, dilation, asymmetric pads, kernels larger than the input, batches.
        yield return new([1, 7, 9, 10], 6, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 4, 11, 9], 5, [3, 3], [1, 1], [2, 2, 2, 2], [2, 2]);
        yield return new([1, 6, 10, 13], 9, [3, 2], [2, 1], [0, 1, 2, 0], [1, 3]);
        yield return new([1, 5, 12, 7], 11, [5, 3], [1, 2], [2, 1, 2, 1], [1, 1]);
        yield return new([1, 3, 1, 1], 4, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 2, 2, 3], 3, [3, 3], [1, 1], [3, 0, 1, 2], [1, 1]);
        yield return new([2, 9, 6, 5], 10, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([3, 4, 5, 5], 3, [2, 2], [2, 2], [0, 0, 1, 1], [1, 1]);
        // Rows longer than the 16- and 32-pixel im2col vectors with tails, stride 1 and 2.
        yield return new([1, 6, 5, 45], 11, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 3, 9, 70], 8, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1]);
        // Groups and depthwise.
        yield return new([1, 6, 7, 7], 4, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 2);
        yield return new([1, 12, 5, 9], 9, [1, 3], [1, 1], [0, 1, 0, 1], [1, 1], 3);
        yield return new([2, 15, 5, 7], 6, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 3);   // grouped 1x1, odd channels per group
        yield return new([1, 8, 9, 9], 8, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 8);
        yield return new([1, 19, 10, 7], 19, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 19);
        yield return new([2, 5, 6, 17], 10, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 5);
        // Depthwise stride 2 (MobileNet's downsampling): 16-pixel blocks and tails, even and wide kernels, one-sided pads.
        yield return new([1, 5, 9, 40], 5, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 5);
        yield return new([1, 3, 7, 67], 3, [3, 3], [2, 2], [0, 0, 1, 1], [1, 1], 3);
        yield return new([1, 4, 8, 35], 4, [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], 4);
        yield return new([1, 2, 11, 50], 2, [5, 5], [2, 2], [2, 2, 2, 2], [1, 1], 2);
        yield return new([2, 3, 6, 33], 3, [3, 3], [2, 2], [1, 1, 1, 1], [2, 2], 3);
        yield return new([1, 6, 50], 6, [3], [2], [1, 1], [1], 6);
        // Depthwise stride 1 at widths around the 8- and 16-pixel blocks, even and wide kernels.
        yield return new([1, 3, 5, 16], 3, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 3);
        yield return new([1, 4, 6, 37], 4, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 4);
        yield return new([1, 2, 7, 24], 2, [2, 2], [1, 1], [0, 0, 1, 1], [1, 1], 2);
        yield return new([1, 3, 9, 33], 3, [5, 5], [1, 1], [2, 2, 2, 2], [1, 1], 3);
        yield return new([1, 5, 41], 5, [4], [1], [2, 1], [1], 5);
        // Depthwise 3x3 rows of 32 pixels and more (the AVX-512 kernel's 32-output blocks, then a 16-output one):
        // MobileNet's 48x48 layer, and 64-pixel rows.
        yield return new([1, 8, 48, 48], 8, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 8);
        yield return new([1, 5, 3, 64], 5, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 5);
        // Depthwise on MobileNet's small maps (whole-plane blocks on the AdvSimd kernel), TensorFlow's one-sided stride-2
        // pads, stride 2 from widths under and over 32 (odd and even), 5x5 stride 1 and 2, dilated stride 2, mixed
        // strides, a batch, and the largest sums (every weight -128: taps may not pair).
        yield return new([1, 128, 6, 6], 128, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 128);
        yield return new([1, 40, 3, 3], 40, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 40);
        yield return new([1, 32, 12, 12], 32, [3, 3], [2, 2], [0, 0, 1, 1], [1, 1], 32);
        yield return new([1, 16, 24, 24], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 16);
        yield return new([1, 8, 6, 6], 8, [3, 3], [2, 2], [0, 0, 1, 1], [1, 1], 8);
        yield return new([1, 4, 9, 33], 4, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 4);
        yield return new([1, 4, 8, 65], 4, [3, 3], [2, 2], [0, 0, 1, 1], [1, 1], 4);
        yield return new([1, 3, 5, 31], 3, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 3);
        yield return new([1, 6, 14, 14], 6, [5, 5], [1, 1], [2, 2, 2, 2], [1, 1], 6);
        yield return new([1, 6, 15, 15], 6, [5, 5], [2, 2], [2, 2, 2, 2], [1, 1], 6);
        yield return new([1, 4, 13, 21], 4, [3, 3], [2, 2], [2, 2, 2, 2], [2, 2], 4);
        yield return new([1, 5, 10, 20], 5, [3, 3], [2, 1], [1, 1, 1, 1], [1, 1], 5);
        yield return new([1, 5, 10, 20], 5, [3, 3], [1, 2], [1, 0, 1, 2], [1, 1], 5);
        yield return new([3, 7, 5, 5], 7, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 7);
        yield return new([1, 9, 7, 18], 9, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 9, Extreme: true);
        yield return new([1, 9, 9, 9], 9, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 9, Extreme: true);
        yield return new([1, 4, 31], 4, [3], [2], [1, 1], [1], 4);
        // Depthwise with the channels along the lanes: 16-channel groups with a partial last one, maps under 16 pixels,
        // exactly 16 and with an overlapping last block, 5x5 stride 1 and 2, a batch, and the largest sums.
        yield return new([1, 40, 3, 3], 40, [5, 5], [1, 1], [2, 2, 2, 2], [1, 1], 40);
        yield return new([2, 24, 7, 7], 24, [5, 5], [2, 2], [2, 2, 2, 2], [1, 1], 24);
        yield return new([1, 32, 9, 9], 32, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 32);
        yield return new([1, 48, 6, 6], 48, [3, 3], [2, 2], [0, 0, 1, 1], [1, 1], 48);
        yield return new([1, 20, 5, 5], 20, [5, 5], [1, 1], [2, 2, 2, 2], [1, 1], 20, Extreme: true);
        // The AVX-512 lane kernel's pair rows: a narrow map (keyword spotting's 25x5), rows dilated with columns not, an
        // even kernel width (its last pair has no zero tap), mixed strides and one-sided pads.
        yield return new([1, 20, 25, 5], 20, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 20);
        yield return new([1, 17, 8, 6], 17, [3, 2], [1, 2], [2, 0, 2, 1], [2, 1], 17);
        // Depthwise where the float kernel's interior columns run as vector blocks: rows of 8-pixel blocks and tails
        // beside scalar borders, stride 3 (three column phases), dilated stride 1, and a kernel wider than its padded
        // input (no interior column).
        yield return new([1, 3, 6, 27], 3, [3, 3], [1, 1], [2, 2, 2, 2], [1, 1], 3);
        yield return new([1, 2, 7, 40], 2, [3, 3], [3, 3], [1, 1, 1, 1], [1, 1], 2);
        yield return new([1, 3, 8, 29], 3, [3, 3], [1, 1], [2, 2, 2, 2], [2, 2], 3);
        yield return new([1, 2, 5, 3], 2, [5, 5], [1, 1], [2, 2, 2, 2], [1, 1], 2);
        // Small maps with many output channels (the channel-lane GEMM): partial 32-channel blocks, maps of 9 and 35
        // pixels (partial 8-pixel tiles, 16-pixel epilogue tails), stride 2, groups of 32 and more, a batch, 1x1, and
        // the largest sums.
        yield return new([1, 24, 3, 3], 40, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 17, 5, 7], 70, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 12, 9, 9], 33, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1]);
        yield return new([2, 8, 4, 6], 96, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 2);
        yield return new([2, 40, 3, 5], 64, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 64, 4, 4], 32, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], Extreme: true);
        // Wide maps on few channels, which the direct AVX-VNNI kernel takes: ResNet-8's first two layer shapes, a
        // 64-pixel row with an odd channel count.
        yield return new([1, 3, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 16, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 5, 3, 64], 7, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        // 1x1 Convs on one-pixel maps (squeeze-excite after the global pool): whole 4-block passes and single blocks, odd
        // input channels, a partial last block, a batch, and the largest sums.
        yield return new([1, 96, 1, 1], 72, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([2, 37, 1, 1], 21, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 7, 1, 1], 130, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], Extreme: true);
        // 1x1 Convs, whose planes the direct kernel runs as one row each (63 and 36 pixels, a batch of 2).
        yield return new([1, 24, 7, 9], 13, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([2, 40, 6, 6], 17, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        // 1-D (NCW): the activity model's layers (rows of 124 and 120 in 32-pixel blocks), a batch, a tail past a block.
        yield return new([1, 5, 30], 9, [5], [1], [2, 2], [1]);
        yield return new([2, 7, 19], 4, [3], [2], [1, 0], [2]);
        yield return new([1, 6, 128], 32, [5], [1], [0, 0], [1]);
        yield return new([1, 32, 124], 32, [5], [1], [0, 0], [1]);
        yield return new([2, 3, 70], 6, [3], [1], [1, 1], [1]);
    }

    private static KernelCase ConvInt8(Random rng, ConvGeometry geometry)
    {
        var g = new CaseGraph();
        var input = geometry.Input;
        int cpg = input[1] / geometry.Group, taps = cpg;
        foreach (int k in geometry.Kernel) taps *= k;
        var output = geometry.OutputShape();
        var (x, w, qx, qy) = ConvInt8Operands(g, rng, geometry, cpg);
        var (attributes, biasBytes, how) = Int8Requantization(rng, geometry.M, taps);
        var inputs = new List<int> { x, w };
        if (biasBytes != null) inputs.Add(g.Constant("b", DataType.Int32, [geometry.M], biasBytes, null));
        int y = g.Output("y", DataType.Int8, output, qy);
        geometry.SetAttributes(attributes);
        g.Op(OpType.Conv, [.. inputs], y, attributes);
        return g.Build($"Conv int8 {geometry.Describe()}, zx={qx.ZeroPoint} zy={qy.ZeroPoint}, {how}{(geometry.Extreme ? ", extreme sums" : "")}" +
            (geometry.ConverterWeights ? ", weights in [-127, 127]" : ""));
    }

    /// <summary>
    /// Conv shapes with weights in the converter's range [-127, 127] (the other cases almost all hold a -128), which the
    /// AdvSimd kernel multiplies two products to an int16 lane for: every im2col path (1x1 straight from the input,
    /// stride 1 and 2 with 16-pixel tails, other strides and dilations, groups, 1-D) and the largest sums of that range.
    /// </summary>
    private static IEnumerable<ConvGeometry> ConverterWeightConvShapes()
    {
        yield return new([1, 16, 4, 4], 32, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], ConverterWeights: true);
        yield return new([1, 33, 3, 5], 17, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], ConverterWeights: true);
        yield return new([2, 15, 5, 7], 6, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], 3, ConverterWeights: true);
        yield return new([1, 8, 9, 9], 6, [1, 1], [2, 2], [0, 0, 0, 0], [1, 1], ConverterWeights: true);
        yield return new([1, 16, 9, 11], 13, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], ConverterWeights: true);
        yield return new([1, 3, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], ConverterWeights: true);
        yield return new([1, 7, 9, 10], 6, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], ConverterWeights: true);
        yield return new([1, 3, 9, 70], 8, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], ConverterWeights: true);
        yield return new([1, 6, 10, 13], 9, [3, 2], [2, 1], [0, 1, 2, 0], [1, 3], ConverterWeights: true);
        yield return new([1, 32, 124], 32, [5], [1], [0, 0], [1], ConverterWeights: true);
        yield return new([1, 64, 8, 8], 2, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], Extreme: true, ConverterWeights: true);
        // MobileNet's small 1x1 maps for the ARM GEMMs' 16-pixel blocks: 6x6 (two whole blocks and a tail of 4), 3x3
        // (9 pixels, one SDOT block of 16) and 29 pixels (a last AdvSimd block of 13).
        yield return new([1, 24, 6, 6], 20, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], ConverterWeights: true);
        yield return new([1, 40, 3, 3], 36, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], ConverterWeights: true);
        yield return new([1, 12, 1, 29], 10, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], ConverterWeights: true);
        // The ARM kernels' implicit form (no im2col: stride 1 along rows, whole channel quadruplets, rows of 16 or 8
        // pixels for AdvSimd or SDOT) and the rows around it: asymmetric pads, row stride 2, a 5x3 kernel, dilation, a batch.
        yield return new([1, 8, 7, 13], 5, [3, 3], [1, 1], [0, 2, 1, 0], [1, 1], ConverterWeights: true);
        yield return new([1, 12, 6, 20], 9, [5, 3], [2, 1], [2, 1, 2, 1], [1, 1], ConverterWeights: true);
        yield return new([1, 8, 6, 16], 11, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], ConverterWeights: true);
        yield return new([2, 4, 9, 32], 6, [3, 3], [1, 1], [2, 2, 2, 2], [2, 2], ConverterWeights: true);
    }

    /// <summary>
    /// The int8 input and weights of a Conv case with random scales and zero points; extreme geometries get the
    /// largest sums (input 127 with zero point -128, every weight -128).
    /// </summary>
    private static (int X, int W, QuantizationInfo Qx, QuantizationInfo Qy) ConvInt8Operands(CaseGraph g, Random rng, ConvGeometry geometry, int channelsPerGroup)
    {
        var input = geometry.Input;
        var qx = Quant(rng);
        var qy = Quant(rng);
        int[] weightShape = [geometry.M, channelsPerGroup, .. geometry.Kernel];
        var inputValues = Int8Values(rng, ShapeUtil.ElementCount(input));
        var weightValues = Int8Values(rng, ShapeUtil.ElementCount(weightShape));
        if (geometry.Extreme && geometry.ConverterWeights)
        {
            Array.Fill(inputValues, unchecked((byte)sbyte.MinValue));
            Array.Fill(weightValues, unchecked((byte)(sbyte)-127));
        }
        else if (geometry.Extreme)
        {
            qx = QuantizationInfo.PerTensor(qx.Scales[0], -128);
            Array.Fill(inputValues, (byte)127);
            Array.Fill(weightValues, unchecked((byte)sbyte.MinValue));
        }
        else if (geometry.ConverterWeights) ToConverterRange(weightValues);
        int x = g.Input("x", DataType.Int8, input, inputValues, qx);
        int w = g.Constant("w", DataType.Int8, weightShape, weightValues, null);
        return (x, w, qx, qy);
    }

    /// <summary>
    /// Conv + MaxPool 2x2/2 pairs for the fused kernels (<see cref="ConvPoolFusion"/>): two-operator graphs, Ops[0] the
    /// Conv, Ops[1] the MaxPool reading its output (an intermediate, not a graph output), Outputs[0] the pooled output.
    /// </summary>
    public static IReadOnlyList<KernelCase> ConvPoolPairs(int seed = 20240611)
    {
        var rng = new Random(seed);
        var cases = new List<KernelCase>();
        foreach (var (geometry, leftShift) in ConvPoolShapes()) cases.Add(ConvPoolInt8(rng, geometry, leftShift));
        return cases;
    }

    /// <summary>
    /// Conv + LookupTable and Conv + Add pairs for the Conv kernels with an epilogue (<see cref="ConvEpilogueFusion"/>):
    /// two-operator graphs, Ops[0] the Conv, Ops[1] the operator reading its output (an intermediate), Outputs[0] the
    /// operator's output; an Add's residual is a graph input of the output's shape, on either side of the Add.
    /// </summary>
    public static IReadOnlyList<KernelCase> ConvEpiloguePairs(int seed = 20240611)
    {
        var rng = new Random(seed);
        var cases = new List<KernelCase>();
        int i = 0;
        foreach (var geometry in ConvEpilogueShapes())
        {
            cases.Add(ConvEpilogueInt8(rng, geometry, OpType.LookupTable, convFirst: true));
            cases.Add(ConvEpilogueInt8(rng, geometry, OpType.Add, convFirst: i++ % 2 == 0));
        }
        return cases;
    }

    private static IEnumerable<ConvGeometry> ConvEpilogueShapes()
    {
        // 1x1 projections (MobileNetV2/ResNet block ends): pixel counts with tails of every block width, odd channels.
        yield return new([1, 16, 12, 12], 24, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 5, 7, 9], 7, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 33, 3, 5], 17, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 64, 6, 6], 40, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        yield return new([1, 8, 9, 9], 6, [1, 1], [2, 2], [0, 0, 0, 0], [1, 1]);
        yield return new([2, 12, 5, 7], 9, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]);
        // 3x3 (ResNet's second conv, stems): rows of whole 16- and 8-pixel blocks (the ARM kernels without im2col), tails, stride 2.
        yield return new([1, 16, 8, 16], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 8, 6, 8], 12, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 3, 17, 19], 16, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1]);
        yield return new([1, 16, 9, 11], 13, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]);
        // A 1-D Conv, and the largest sums.
        yield return new([1, 6, 37], 10, [3], [1], [1, 1], [1]);
        yield return new([1, 300, 4, 4], 5, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], Extreme: true);
    }

    private static KernelCase ConvEpilogueInt8(Random rng, ConvGeometry geometry, OpType consumer, bool convFirst)
    {
        var g = new CaseGraph();
        var input = geometry.Input;
        int taps = input[1];
        foreach (int k in geometry.Kernel) taps *= k;
        var shape = geometry.OutputShape();
        var (x, w, qx, qy) = ConvInt8Operands(g, rng, geometry, input[1]);
        var (attributes, biasBytes, how) = Int8Requantization(rng, geometry.M, taps);
        var inputs = new List<int> { x, w };
        if (biasBytes != null) inputs.Add(g.Constant("b", DataType.Int32, [geometry.M], biasBytes, null));
        int y = g.Intermediate("y", DataType.Int8, shape, qy);
        geometry.SetAttributes(attributes);
        g.Op(OpType.Conv, [.. inputs], y, attributes);
        var qz = Quant(rng);
        string what;
        if (consumer == OpType.LookupTable)
        {
            var table = new byte[256];
            rng.NextBytes(table);
            int t = g.Constant("table", DataType.Int8, [256], table, null);
            int z = g.Output("z", DataType.Int8, shape, qz);
            g.Op(OpType.LookupTable, [y, t], z, new OpAttributes());
            what = "LookupTable";
        }
        else
        {
            var qr = Quant(rng);
            int r = g.Input("r", DataType.Int8, shape, Int8Values(rng, ShapeUtil.ElementCount(shape)), qr);
            int z = g.Output("z", DataType.Int8, shape, qz);
            var addAttributes = new OpAttributes();
            bool raw = rng.Next(3) == 0;
            AddRequantization(rng, raw, convFirst ? qy : qr, convFirst ? qr : qy, qz, addAttributes);
            BinaryClamp(rng, qz, addAttributes);
            g.Op(OpType.Add, convFirst ? [y, r] : [r, y], z, addAttributes);
            what = $"Add ({(convFirst ? "Conv first" : "residual first")}, {(raw ? "raw" : "scale")} multipliers, zr={qr.ZeroPoint})";
        }
        return g.Build($"Conv int8 {geometry.Describe()} + {what}, zx={qx.ZeroPoint} zy={qy.ZeroPoint} zz={qz.ZeroPoint}, {how}{(geometry.Extreme ? ", extreme sums" : "")}");
    }

    /// <summary>A single Conv 3x3 (same padding) + MaxPool 2x2/2 pair with random data (for benchmarks), as in <see cref="ConvPoolPairs"/>.</summary>
    public static KernelCase Conv3x3MaxPoolInt8(int[] input, int outChannels, int seed = 1) =>
        ConvPoolInt8(new Random(seed), new ConvGeometry(input, outChannels, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), leftShift: false);

    private static IEnumerable<(ConvGeometry Geometry, bool LeftShift)> ConvPoolShapes()
    {
        // The gesture model's three layers, also with left-shift multipliers (requantize before the max).
        yield return (new([1, 3, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 16, 16, 16], 32, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 32, 8, 8], 64, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 3, 32, 32], 16, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), true);
        yield return (new([1, 12, 16, 16], 10, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), true);
        // Input channels 1..33 (odd ones, one unpaired), odd output channels, one tile, tile counts that are not a
        // multiple of the 4/8/16/32-tile blocks, a batch of 2, unpadded and wide-padded maps, a large map.
        yield return (new([1, 1, 2, 2], 3, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 2, 4, 6], 5, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 5, 6, 10], 7, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 7, 30, 34], 13, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([2, 16, 6, 18], 17, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([2, 9, 12, 12], 8, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), true);
        yield return (new([1, 33, 8, 8], 9, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 8, 12, 14], 11, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 4, 10, 12], 5, [3, 3], [1, 1], [0, 0, 0, 0], [1, 1]), false);
        yield return (new([1, 2, 4, 4], 4, [3, 3], [1, 1], [2, 2, 2, 2], [1, 1]), false);
        yield return (new([1, 6, 9, 7], 6, [3, 3], [1, 1], [0, 1, 1, 2], [1, 1]), false);
        yield return (new([1, 3, 64, 64], 8, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), false);
        yield return (new([1, 24, 20, 20], 19, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]), true);
        // Rows of 16+ pixels copied 16 at a time from even left pads (the other column parity), with a tail.
        yield return (new([1, 3, 18, 20], 5, [3, 3], [1, 1], [0, 0, 0, 0], [1, 1]), false);
        yield return (new([1, 5, 14, 17], 6, [3, 3], [1, 1], [2, 2, 2, 1], [1, 1]), false);
        // The largest sums at the Winograd channel limit.
        yield return (new([1, 1827, 8, 8], 2, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], Extreme: true), false);
    }

    private static KernelCase ConvPoolInt8(Random rng, ConvGeometry geometry, bool leftShift)
    {
        var g = new CaseGraph();
        var input = geometry.Input;
        int taps = input[1] * geometry.Kernel[0] * geometry.Kernel[1];
        var convShape = geometry.OutputShape();
        int[] pooledShape = [convShape[0], convShape[1], convShape[2] / 2, convShape[3] / 2];
        var (x, w, qx, qy) = ConvInt8Operands(g, rng, geometry, input[1]);
        var (attributes, biasBytes, how) = Int8Requantization(rng, geometry.M, taps);
        if (leftShift)
        {
            // Left shifts of 1..4 with small multipliers: x·2^shift wraps for large sums, so the max of the
            // accumulators is not the max of the requantized values.
            var multipliers = new int[geometry.M];
            var shifts = new int[geometry.M];
            for (int m = 0; m < geometry.M; m++) (multipliers[m], shifts[m]) = (rng.Next(1 << 20, 1 << 26), rng.Next(1, 5));
            attributes.Set(AttributeKey.OutputMultiplier, multipliers);
            attributes.Set(AttributeKey.OutputShift, shifts);
            how += ", left shifts";
        }
        var inputs = new List<int> { x, w };
        if (biasBytes != null) inputs.Add(g.Constant("b", DataType.Int32, [geometry.M], biasBytes, null));
        int y = g.Intermediate("y", DataType.Int8, convShape, qy);
        geometry.SetAttributes(attributes);
        g.Op(OpType.Conv, [.. inputs], y, attributes);
        var poolAttributes = new OpAttributes();
        poolAttributes.Set(AttributeKey.KernelShape, [2, 2]);
        poolAttributes.Set(AttributeKey.Strides, [2, 2]);
        string clamp = PoolClamp(rng, poolAttributes);
        int pooled = g.Output("pooled", DataType.Int8, pooledShape, qy);
        g.Op(OpType.MaxPool, [y], pooled, poolAttributes);
        return g.Build($"Conv int8 {geometry.Describe()} + MaxPool 2x2/2{clamp}, zx={qx.ZeroPoint} zy={qy.ZeroPoint}, {how}{(geometry.Extreme ? ", extreme sums" : "")}");
    }

    /// <summary>
    /// Float Conv on the int8 geometries: inputs with specials (NaN, infinities, signed zeros, subnormals); weights
    /// finite, or in one case in eight with specials too; bias absent, random, or holding a -0 (what variants that add
    /// padded taps as zeros must decline).
    /// </summary>
    private static KernelCase ConvFloat(Random rng, ConvGeometry geometry)
    {
        var g = new CaseGraph();
        var input = geometry.Input;
        int cpg = input[1] / geometry.Group;
        var output = geometry.OutputShape();
        int x = g.Input("x", DataType.Float32, input, FloatValues(rng, ShapeUtil.ElementCount(input)));
        int[] weightShape = [geometry.M, cpg, .. geometry.Kernel];
        bool specialWeights = rng.Next(8) == 0;
        int w = g.Constant("w", DataType.Float32, weightShape, specialWeights ? FloatValues(rng, ShapeUtil.ElementCount(weightShape)) : FiniteFloats(rng, ShapeUtil.ElementCount(weightShape)));
        var inputs = new List<int> { x, w };
        string bias = FloatBias(rng, g, geometry.M, inputs);
        int y = g.Output("y", DataType.Float32, output);
        var attributes = FloatClamp(rng, out string clamp);
        geometry.SetAttributes(attributes);
        g.Op(OpType.Conv, [.. inputs], y, attributes);
        return g.Build($"Conv float32 {geometry.Describe()}{(specialWeights ? ", special weights" : "")}, {bias}{clamp}");
    }
}
