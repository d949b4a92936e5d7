using EdgeNets.Converter.Passes;
using EdgeNets.Runtime.Graph;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>Convolutions, pools and reductions (lowered to global pools).</summary>
internal sealed partial class GraphImporter
{
    private static Lowering[] ConvLowerings =>
    [
        new("Conv", (g, n) => g.LowerConv(n)),
        new("ConvTranspose", (g, n) => g.LowerConvTranspose(n)),
        new("MaxPool", (g, n) => g.LowerPool(n, OpType.MaxPool)),
        new("AveragePool", (g, n) => g.LowerPool(n, OpType.AveragePool)),
        new("GlobalAveragePool", (g, n) => g.LowerGlobalPool(n, OpType.GlobalAveragePool)),
        new("GlobalMaxPool", (g, n) => g.LowerGlobalPool(n, OpType.GlobalMaxPool)),
        new("ReduceMean", (g, n) => g.LowerReduce(n, OpType.GlobalAveragePool)),
        new("ReduceMax", (g, n) => g.LowerReduce(n, OpType.GlobalMaxPool)),
    ];

    private int[] SpatialInts(NodeProto n, string attribute, int spatial, int defaultValue)
    {
        var values = OnnxNodeAttributes.Ints(n, attribute);
        if (values == null) return Enumerable.Repeat(defaultValue, spatial).ToArray();
        if (values.Length != spatial) throw Fail(n, $"attribute '{attribute}' = [{MessageText.List(values)}] must have {spatial} values");
        if (values.Any(v => v < 1 || v > int.MaxValue)) throw Fail(n, $"attribute '{attribute}' = [{MessageText.List(values)}] must be positive");
        return values.Select(v => (int)v).ToArray();
    }

    /// <summary>Explicit begin/end pads and output sizes of a sliding window, auto_pad and ceil_mode resolved.</summary>
    private (int[] Pads, int[] Output) Window(NodeProto n, int[] input, int[] kernel, int[] strides, int[] dilations, bool ceilMode)
    {
        int spatial = input.Length;
        var pads = new int[2 * spatial];
        var output = new int[spatial];
        string autoPad = OnnxNodeAttributes.String(n, "auto_pad", "NOTSET");
        switch (autoPad)
        {
            case "NOTSET" or "":
            {
                var p = OnnxNodeAttributes.Ints(n, "pads");
                if (p != null)
                {
                    if (p.Length != 2 * spatial) throw Fail(n, $"attribute 'pads' = [{MessageText.List(p)}] must have {2 * spatial} values");
                    if (p.Any(v => v < 0 || v > int.MaxValue)) throw Fail(n, $"attribute 'pads' = [{MessageText.List(p)}] has a negative value");
                    for (int i = 0; i < p.Length; i++) pads[i] = (int)p[i];
                }
                break;
            }
            case "VALID": break;
            case "SAME_UPPER" or "SAME_LOWER":
                for (int d = 0; d < spatial; d++)
                {
                    int o = (input[d] + strides[d] - 1) / strides[d];
                    int extent = (kernel[d] - 1) * dilations[d] + 1;
                    int total = Math.Max(0, (o - 1) * strides[d] + extent - input[d]);
                    pads[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                    pads[d + spatial] = total - pads[d];
                }
                break;
            default: throw Fail(n, $"attribute 'auto_pad' = '{autoPad}' is not supported");
        }
        for (int d = 0; d < spatial; d++)
        {
            int extent = (kernel[d] - 1) * dilations[d] + 1;
            int span = input[d] + pads[d] + pads[d + spatial] - extent;
            if (span < 0) throw Fail(n, $"kernel extent {extent} is larger than the padded input ({input[d] + pads[d] + pads[d + spatial]}) on spatial axis {d}");
            int o = (ceilMode ? (span + strides[d] - 1) / strides[d] : span / strides[d]) + 1;
            // With ceil_mode the last window must still start inside the input or its begin padding.
            if (ceilMode && (o - 1) * strides[d] >= input[d] + pads[d]) o--;
            output[d] = o;
        }
        return (pads, output);
    }

    /// <summary>The kernel's spatial sizes (the weights' axes from 2 on), checked against kernel_shape when it is given.</summary>
    private int[] KernelOfWeights(NodeProto n, IrValue w)
    {
        var kernel = w.Shape[2..];
        var declared = OnnxNodeAttributes.Ints(n, "kernel_shape");
        if (declared != null && !declared.Select(k => (int)k).SequenceEqual(kernel))
            throw Fail(n, $"attribute 'kernel_shape' = [{MessageText.List(declared)}] does not match weights [{ShapeUtil.Format(w.Shape)}]");
        return kernel;
    }

    private IrValue SpatialInput(NodeProto n)
    {
        var x = Input(n, 0);
        if (x.Shape.Length is not (3 or 4))
            throw Fail(n, $"input '{x.Name}' has shape [{ShapeUtil.Format(x.Shape)}]; only 1-D and 2-D (rank 3 or 4) inputs are supported");
        return x;
    }

    private void LowerConv(NodeProto n)
    {
        var x = SpatialInput(n);
        int spatial = x.Shape.Length - 2;
        var w = Input(n, 1);
        if (w.Constant == null) throw Fail(n, $"weights input '{n.Input[1]}' must be a constant initializer; run-time weights are not supported");
        if (w.Shape.Length != x.Shape.Length) throw Fail(n, $"weights shape [{ShapeUtil.Format(w.Shape)}] does not match input rank {x.Shape.Length}");
        long group = OnnxNodeAttributes.Int(n, "group", 1);
        int channels = x.Shape[1], m = w.Shape[0];
        if (group < 1 || channels % group != 0 || w.Shape[1] * group != channels || m % group != 0)
            throw Fail(n, $"attribute 'group' = {group} does not fit input channels {channels} and weights [{ShapeUtil.Format(w.Shape)}]");
        var kernel = KernelOfWeights(n, w);
        var strides = SpatialInts(n, "strides", spatial, 1);
        var dilations = SpatialInts(n, "dilations", spatial, 1);
        var (pads, output) = Window(n, x.Shape[2..], kernel, strides, dilations, false);
        var inputs = new List<string> { x.Name, w.Name };
        if (HasInput(n, 2))
        {
            var b = FloatConstInput(n, 2, "bias");
            if (b.Count != m) throw Fail(n, $"bias '{n.Input[2]}' has {b.Count} values, expected {m}");
            inputs.Add(Input(n, 2).Name);
        }
        var attributes = new OpAttributes().Set(AttributeKey.Strides, strides).Set(AttributeKey.Pads, pads)
            .Set(AttributeKey.Dilations, dilations).Set(AttributeKey.Group, (int)group);
        Emit(n, OpType.Conv, inputs, [x.Shape[0], m, .. output], attributes);
    }

    /// <summary>
    /// ConvTranspose: the weights reordered from ONNX's [C, M/group, kernel...] to Conv's [M, C/group, kernel...] (so
    /// the int8 weights are per output channel on axis 0 as Conv's), pads resolved from auto_pad or output_shape, and
    /// output_padding folded into the output size.
    /// </summary>
    private void LowerConvTranspose(NodeProto n)
    {
        var x = SpatialInput(n);
        int spatial = x.Shape.Length - 2;
        var w = Input(n, 1);
        if (w.Constant?.Floats == null) throw Fail(n, $"weights input '{n.Input[1]}' must be a constant float initializer; run-time weights are not supported");
        if (w.Shape.Length != x.Shape.Length) throw Fail(n, $"weights shape [{ShapeUtil.Format(w.Shape)}] does not match input rank {x.Shape.Length}");
        long group = OnnxNodeAttributes.Int(n, "group", 1);
        int channels = x.Shape[1];
        if (group < 1 || group > channels || channels % group != 0 || w.Shape[0] != channels)
            throw Fail(n, $"attribute 'group' = {group} does not fit input channels {channels} and weights [{ShapeUtil.Format(w.Shape)}]");
        int g = (int)group, cpg = channels / g, mpg = w.Shape[1], m = mpg * g;
        var kernel = KernelOfWeights(n, w);
        var strides = SpatialInts(n, "strides", spatial, 1);
        var dilations = SpatialInts(n, "dilations", spatial, 1);
        var outputPadding = OnnxNodeAttributes.Ints(n, "output_padding") ?? new long[spatial];
        if (outputPadding.Length != spatial || outputPadding.Select((p, d) => p < 0 || p >= strides[d]).Any(bad => bad))
            throw Fail(n, $"attribute 'output_padding' = [{MessageText.List(outputPadding)}] must have {spatial} values each below its stride");
        var input = x.Shape[2..];
        var full = new int[spatial]; // the output size before padding is taken off
        for (int d = 0; d < spatial; d++) full[d] = (input[d] - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 + (int)outputPadding[d];
        var pads = new int[2 * spatial];
        var output = new int[spatial];
        var outputShape = OnnxNodeAttributes.Ints(n, "output_shape");
        string autoPad = OnnxNodeAttributes.String(n, "auto_pad", "NOTSET");
        if (outputShape != null || autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            if (outputShape != null && outputShape.Length != spatial)
                throw Fail(n, $"attribute 'output_shape' = [{MessageText.List(outputShape)}] must have {spatial} values (the spatial sizes)");
            for (int d = 0; d < spatial; d++)
            {
                // As ONNX Runtime: an output_shape larger than the taps reach is filled with the bias; auto_pad's
                // target input·stride only ever takes pads off.
                int target = outputShape != null ? (int)outputShape[d] : input[d] * strides[d];
                if (outputShape != null) output[d] = target;
                int total = Math.Max(0, full[d] - target);
                // As the ONNX spec and its conformance data: SAME_UPPER puts the odd pad at the end, the others at the start.
                pads[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                pads[d + spatial] = total - pads[d];
            }
        }
        else if (autoPad is "NOTSET" or "" or "VALID")
        {
            var p = autoPad == "VALID" ? null : OnnxNodeAttributes.Ints(n, "pads");
            if (p != null)
            {
                if (p.Length != 2 * spatial || p.Any(v => v < 0 || v > int.MaxValue))
                    throw Fail(n, $"attribute 'pads' = [{MessageText.List(p)}] must have {2 * spatial} values, none negative");
                for (int i = 0; i < p.Length; i++) pads[i] = (int)p[i];
            }
        }
        else throw Fail(n, $"attribute 'auto_pad' = '{autoPad}' is not supported");
        for (int d = 0; d < spatial; d++)
        {
            if (output[d] == 0) output[d] = full[d] - pads[d] - pads[d + spatial];
            if (output[d] < 1) throw Fail(n, $"pads [{MessageText.List(pads)}] leave no output on spatial axis {d}");
        }

        // ONNX w[c, j, k...] (input channel c of group c / cpg, its output channel j) is w'[group·mpg + j, c mod cpg, k...].
        var source = w.Constant.Floats;
        int kernelSize = kernel.Aggregate(1, (a, b) => a * b);
        var reordered = new float[source.Length];
        for (int c = 0; c < channels; c++)
            for (int j = 0; j < mpg; j++)
                Array.Copy(source, (c * mpg + j) * kernelSize, reordered, (((c / cpg) * mpg + j) * cpg + c % cpg) * kernelSize, kernelSize);
        var inputs = new List<string> { x.Name, Constant(n, "weights", [m, cpg, .. kernel], reordered) };
        if (HasInput(n, 2))
        {
            var b = FloatConstInput(n, 2, "bias");
            if (b.Count != m) throw Fail(n, $"bias '{n.Input[2]}' has {b.Count} values, expected {m}");
            inputs.Add(Input(n, 2).Name);
        }
        var attributes = new OpAttributes().Set(AttributeKey.Strides, strides).Set(AttributeKey.Pads, pads)
            .Set(AttributeKey.Dilations, dilations).Set(AttributeKey.Group, g);
        Emit(n, OpType.ConvTranspose, inputs, [x.Shape[0], m, .. output], attributes);
    }

    private void LowerPool(NodeProto n, OpType op)
    {
        var x = SpatialInput(n);
        int spatial = x.Shape.Length - 2;
        if (IsOutputUsed(n, 1)) throw Fail(n, $"the Indices output '{n.Output[1]}' is used; MaxPool indices are not supported");
        var kernel = SpatialInts(n, "kernel_shape", spatial, 0);
        if (OnnxNodeAttributes.Ints(n, "kernel_shape") == null) throw Fail(n, "attribute 'kernel_shape' is required");
        var strides = SpatialInts(n, "strides", spatial, 1);
        var dilations = SpatialInts(n, "dilations", spatial, 1);
        if (op == OpType.AveragePool && dilations.Any(d => d != 1)) throw Fail(n, $"attribute 'dilations' = [{MessageText.List(dilations)}] is not supported for AveragePool");
        long ceil = OnnxNodeAttributes.Int(n, "ceil_mode", 0);
        var (pads, output) = Window(n, x.Shape[2..], kernel, strides, dilations, ceil != 0);
        var attributes = new OpAttributes().Set(AttributeKey.KernelShape, kernel).Set(AttributeKey.Strides, strides).Set(AttributeKey.Pads, pads);
        if (op == OpType.MaxPool) attributes.Set(AttributeKey.Dilations, dilations);
        else attributes.Set(AttributeKey.CountIncludePad, (int)OnnxNodeAttributes.Int(n, "count_include_pad", 0));
        Emit(n, op, [x.Name], [x.Shape[0], x.Shape[1], .. output], attributes);
    }

    private void LowerGlobalPool(NodeProto n, OpType op)
    {
        var x = Input(n, 0);
        if (x.Shape.Length < 3) throw Fail(n, $"input shape [{ShapeUtil.Format(x.Shape)}] must have rank 3 or more");
        var shape = x.Shape.Select((d, i) => i < 2 ? d : 1).ToArray();
        Emit(n, op, [x.Name], shape);
    }

    /// ReduceMean / ReduceMax over any axes as a global pool: the reduced axes moved last (a Transpose, when they are
    /// not last already), the kept ones and the reduced ones each flattened (Reshape to [1, kept, reduced]), the pool over
    /// the last axis, and a Reshape to the output shape. Mean pooling over time, squeeze-excite's mean and spatial means
    /// all run on the pool kernels.
    /// </summary>
    /// <summary>
    private void LowerReduce(NodeProto n, OpType pool)
    {
        var x = Input(n, 0);
        int rank = x.Shape.Length;
        if (rank == 0) throw Fail(n, "input is a scalar; there is no axis to reduce");
        var reduced = new bool[rank];
        var axes = OnnxNodeAttributes.Ints(n, "axes");
        if (axes == null) Array.Fill(reduced, true);
        else
            foreach (long a in axes)
            {
                long axis = a < 0 ? a + rank : a;
                if (axis < 0 || axis >= rank) throw Fail(n, $"axis {a} is out of range for rank {rank}");
                if (reduced[axis]) throw Fail(n, $"axis {a} is listed twice");
                reduced[axis] = true;
            }
        bool keepDims = OnnxNodeAttributes.Int(n, "keepdims", 1) != 0;
        int[] kept = Enumerable.Range(0, rank).Where(d => !reduced[d]).ToArray();
        int[] gone = Enumerable.Range(0, rank).Where(d => reduced[d]).ToArray();
        long keptCount = kept.Aggregate(1L, (p, d) => p * x.Shape[d]), goneCount = gone.Aggregate(1L, (p, d) => p * x.Shape[d]);
        if (goneCount == 0) throw Fail(n, "the reduced axes are empty");
        if (keptCount > int.MaxValue || goneCount > int.MaxValue) throw Fail(n, $"input shape [{ShapeUtil.Format(x.Shape)}] is too large");
        string current = x.Name;
        int[] perm = [.. kept, .. gone];
        if (!perm.SequenceEqual(Enumerable.Range(0, rank)))
        {
            string moved = Temp(n, "reduced_last");
            EmitTo(n, OpType.Transpose, [current], moved, perm.Select(d => x.Shape[d]).ToArray(), new OpAttributes().Set(AttributeKey.Perm, perm));
            current = moved;
        }
        string flat = Temp(n, "flat");
        EmitTo(n, OpType.Reshape, [current], flat, [1, (int)keptCount, (int)goneCount]);
        string pooled = Temp(n, "pooled");
        EmitTo(n, pool, [flat], pooled, [1, (int)keptCount, 1]);
        int[] output = keepDims ? x.Shape.Select((d, i) => reduced[i] ? 1 : d).ToArray() : kept.Select(d => x.Shape[d]).ToArray();
        Emit(n, OpType.Reshape, [pooled], output);
    }
}
