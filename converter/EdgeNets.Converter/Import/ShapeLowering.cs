using EdgeNets.Runtime.Graph;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>Reshapes (Flatten, Squeeze, Unsqueeze too), Transpose, Concat, Pad, Resize, Gather and Slice of run-time tensors, Cast to float.</summary>
internal sealed partial class GraphImporter
{
    private static Lowering[] ShapeLowerings =>
    [
        new("Reshape", (g, n) => g.LowerReshape(n), IntegerConstants: true),
        new("Flatten", (g, n) => g.LowerFlatten(n)),
        new("Squeeze", (g, n) => g.LowerSqueeze(n), IntegerConstants: true),
        new("Unsqueeze", (g, n) => g.LowerUnsqueeze(n), IntegerConstants: true),
        new("Transpose", (g, n) => g.LowerTranspose(n)),
        new("Concat", (g, n) => g.LowerConcat(n)),
        new("Pad", (g, n) => g.LowerPad(n), IntegerConstants: true),
        new("Resize", (g, n) => g.LowerResize(n), IntegerConstants: true),
        new("Upsample", (g, n) => g.LowerResize(n)),
        new("Gather", (g, n) => g.LowerGather(n), IntegerConstants: true),
        new("Slice", (g, n) => g.LowerSlice(n), IntegerConstants: true),
        new("Cast", (g, n) => g.LowerCast(n)),
    ];

    private void LowerReshape(NodeProto n)
    {
        var x = Input(n, 0);
        var target = ConstInput(n, 1, "shape").AsLongs();
        Emit(n, OpType.Reshape, [x.Name], ConstantFolder.ReshapeShape(x.Shape, target, OnnxNodeAttributes.Int(n, "allowzero", 0) != 0, m => Fail(n, m)));
    }

    private void LowerFlatten(NodeProto n)
    {
        var x = Input(n, 0);
        Emit(n, OpType.Reshape, [x.Name], ConstantFolder.FlattenShape(x.Shape, OnnxNodeAttributes.Int(n, "axis", 1), m => Fail(n, m)));
    }

    private void LowerSqueeze(NodeProto n)
    {
        var x = Input(n, 0);
        var axes = _opset >= 13 ? (HasInput(n, 1) ? ConstInput(n, 1, "axes").AsLongs() : null) : OnnxNodeAttributes.Ints(n, "axes");
        Emit(n, OpType.Reshape, [x.Name], ConstantFolder.SqueezeShape(x.Shape, axes, m => Fail(n, m)));
    }

    private void LowerUnsqueeze(NodeProto n)
    {
        var x = Input(n, 0);
        var axes = _opset >= 13 ? ConstInput(n, 1, "axes").AsLongs() : OnnxNodeAttributes.Ints(n, "axes") ?? throw Fail(n, "attribute 'axes' is required");
        Emit(n, OpType.Reshape, [x.Name], ConstantFolder.UnsqueezeShape(x.Shape, axes, m => Fail(n, m)));
    }

    private void LowerTranspose(NodeProto n)
    {
        var x = Input(n, 0);
        var perm = ConstantFolder.TransposePerm(x.Shape.Length, OnnxNodeAttributes.Ints(n, "perm"), m => Fail(n, m));
        Emit(n, OpType.Transpose, [x.Name], perm.Select(p => x.Shape[p]).ToArray(), new OpAttributes().Set(AttributeKey.Perm, perm));
    }

    /// <summary>Cast of a run-time tensor to float is the identity: every run-time tensor is float.</summary>
    private void LowerCast(NodeProto n)
    {
        long to = OnnxNodeAttributes.Int(n, "to", 0);
        if (to != ConstTensor.Float) throw Fail(n, $"attribute 'to' = {ConstTensor.TypeName((int)to)}: casting a run-time tensor to a non-float type is not supported");
        _alias[n.Output[0]] = Input(n, 0).Name;
    }

    private void LowerConcat(NodeProto n)
    {
        var inputs = Enumerable.Range(0, n.Input.Count).Where(i => HasInput(n, i)).Select(i => Input(n, i)).ToList();
        if (inputs.Count == 0) throw Fail(n, "has no inputs");
        var first = inputs[0].Shape;
        if (OnnxNodeAttributes.Find(n, "axis") == null) throw Fail(n, "attribute 'axis' is required");
        int axis = ConstantFolder.NormalizeAxis(OnnxNodeAttributes.Int(n, "axis", 0), first.Length, "axis", m => Fail(n, m));
        var shape = (int[])first.Clone();
        shape[axis] = 0;
        foreach (var v in inputs)
        {
            if (v.Shape.Length != first.Length || v.Shape.Where((d, i) => i != axis && d != first[i]).Any())
                throw Fail(n, $"input '{v.Name}' shape [{ShapeUtil.Format(v.Shape)}] does not match [{ShapeUtil.Format(first)}] outside axis {axis}");
            shape[axis] += v.Shape[axis];
        }
        Emit(n, OpType.Concat, inputs.Select(v => v.Name), shape, new OpAttributes().Set(AttributeKey.Axis, axis));
    }

    private void LowerPad(NodeProto n)
    {
        var x = Input(n, 0);
        string mode = OnnxNodeAttributes.String(n, "mode", "constant");
        if (mode != "constant") throw Fail(n, $"attribute 'mode' = '{mode}' is not supported (only 'constant')");
        if (HasInput(n, 3)) throw Fail(n, "the 'axes' input is not supported");
        long[] pads;
        float value;
        if (_opset < 11)
        {
            pads = OnnxNodeAttributes.Ints(n, "pads") ?? throw Fail(n, "attribute 'pads' is required");
            value = OnnxNodeAttributes.Float(n, "value", 0f);
        }
        else
        {
            pads = ConstInput(n, 1, "pads").AsLongs();
            value = HasInput(n, 2) ? (float)ConstInput(n, 2, "constant_value").Get(0) : 0f;
        }
        int rank = x.Shape.Length;
        if (pads.Length != 2 * rank) throw Fail(n, $"pads [{MessageText.List(pads)}] must have {2 * rank} values for input rank {rank}");
        if (pads.Any(p => p < 0 || p > int.MaxValue)) throw Fail(n, $"pads [{MessageText.List(pads)}] has a negative value; cropping is not supported");
        var shape = x.Shape.Select((d, i) => d + (int)pads[i] + (int)pads[i + rank]).ToArray();
        Emit(n, OpType.Pad, [x.Name], shape, new OpAttributes().Set(AttributeKey.Pads, pads.Select(p => (int)p).ToArray()).Set(AttributeKey.PadValue, value));
    }

    /// <summary>
    /// Resize (and the older Upsample): the Upsample operator. Nearest mode upsamples by whole factors; for those every
    /// nearest rounding and coordinate mode but align_corners picks input ⌊i / factor⌋. Linear mode resizes the last
    /// two axes of a rank-4 tensor to any size (bilinear). Other modes and shapes are rejected by name.
    /// </summary>
    private void LowerResize(NodeProto n)
    {
        var x = Input(n, 0);
        int rank = x.Shape.Length;
        string mode = OnnxNodeAttributes.String(n, "mode", "nearest");
        if (mode is not ("nearest" or "linear"))
            throw Fail(n, $"mode '{mode}' is not supported; only nearest (by whole factors) and linear (bilinear) are");
        string coordinates = OnnxNodeAttributes.String(n, "coordinate_transformation_mode", n.OpType == "Upsample" ? "asymmetric" : "half_pixel");
        if (OnnxNodeAttributes.Int(n, "antialias", 0) != 0) throw Fail(n, "antialias is not supported");
        if (n.Attribute.Any(a => a.Name == "axes")) throw Fail(n, "the axes attribute is not supported; give a scale or size for every axis");
        var (output, scales) = ResizeTarget(n, x.Shape);
        if (mode == "linear")
        {
            var transform = coordinates switch
            {
                "half_pixel" => ResizeCoordinates.HalfPixel,
                "pytorch_half_pixel" => ResizeCoordinates.PytorchHalfPixel,
                "align_corners" => ResizeCoordinates.AlignCorners,
                "asymmetric" => ResizeCoordinates.Asymmetric,
                _ => throw Fail(n, $"coordinate_transformation_mode '{coordinates}' is not supported in linear mode"),
            };
            if (rank != 4 || output[0] != x.Shape[0] || output[1] != x.Shape[1])
                throw Fail(n, $"linear mode resizes [{ShapeUtil.Format(x.Shape)}] to [{ShapeUtil.Format(output)}]; only the last two axes of a rank-4 tensor can be resized");
            Emit(n, OpType.Upsample, [x.Name], output, new OpAttributes()
                .Set(AttributeKey.ResizeMode, 1).Set(AttributeKey.CoordinateTransform, (int)transform).Set(AttributeKey.Scales, scales));
            return;
        }
        if (coordinates is "align_corners" or "tf_crop_and_resize")
            throw Fail(n, $"coordinate_transformation_mode '{coordinates}' is not supported");
        for (int d = 0; d < rank; d++)
            if (output[d] < x.Shape[d] || output[d] % x.Shape[d] != 0)
                throw Fail(n, $"axis {d} resizes {x.Shape[d]} to {output[d]}; only upsampling by whole factors is supported");
        Emit(n, OpType.Upsample, [x.Name], output);
    }

    /// <summary>The output shape of a Resize/Upsample and ONNX's scale per axis: the given scales, or output / input for sizes.</summary>
    private (int[] Output, float[] Scales) ResizeTarget(NodeProto n, int[] shape)
    {
        int rank = shape.Length;
        var output = new int[rank];
        var scales = new float[rank];
        int scalesInput = n.OpType == "Upsample" ? 1 : _opset >= 11 ? 2 : 1;
        if (n.OpType == "Resize" && _opset >= 11 && HasInput(n, 3))
        {
            var sizes = ConstInput(n, 3, "sizes").AsLongs();
            if (sizes.Length != rank) throw Fail(n, $"sizes has {sizes.Length} values for rank {rank}");
            if (OnnxNodeAttributes.String(n, "keep_aspect_ratio_policy", "stretch") != "stretch")
                throw Fail(n, "keep_aspect_ratio_policy other than 'stretch' is not supported");
            for (int d = 0; d < rank; d++)
            {
                output[d] = sizes[d] is > 0 and <= int.MaxValue ? (int)sizes[d] : throw Fail(n, $"size {sizes[d]} is out of range");
                scales[d] = (float)output[d] / shape[d];
            }
            return (output, scales);
        }
        var given = FloatConstInput(n, scalesInput, "scales").Floats!;
        if (given.Length != rank) throw Fail(n, $"scales has {given.Length} values for rank {rank}");
        for (int d = 0; d < rank; d++)
        {
            double size = Math.Floor(shape[d] * (double)given[d]);
            if (!(size >= 1) || size > int.MaxValue) throw Fail(n, $"scale {given[d]} of axis {d} gives no valid size");
            output[d] = (int)size;
            scales[d] = given[d];
        }
        return (output, scales);
    }

    /// <summary>Gather with one constant index on a run-time tensor: a one-element Slice (axis dropped for a scalar index).</summary>
    private void LowerGather(NodeProto n)
    {
        var x = Input(n, 0);
        var indices = ConstInput(n, 1, "indices");
        if (indices.Count != 1 || indices.Shape.Length > 1)
            throw Fail(n, $"indices of shape [{ShapeUtil.Format(indices.Shape)}]: only a single constant index is supported on a run-time tensor");
        int axis = ConstantFolder.NormalizeAxis(OnnxNodeAttributes.Int(n, "axis", 0), x.Shape.Length, "axis", m => Fail(n, m));
        long index = indices.GetLong(0);
        if (index < 0) index += x.Shape[axis];
        if (index < 0 || index >= x.Shape[axis]) throw Fail(n, $"index {indices.GetLong(0)} is outside dimension {x.Shape[axis]} of axis {axis}");
        var shape = indices.Shape.Length == 0 ? x.Shape.Where((_, i) => i != axis).ToArray() : x.Shape.Select((d, i) => i == axis ? 1 : d).ToArray();
        Emit(n, OpType.Slice, [x.Name], shape, SliceAttributes(axis, (int)index, (int)index + 1));
    }

    /// <summary>Slice of a run-time tensor with step 1: one Slice operator per axis that is actually cut.</summary>
    private void LowerSlice(NodeProto n)
    {
        var x = Input(n, 0);
        int rank = x.Shape.Length;
        long[] starts, ends;
        long[]? axes, steps = null;
        if (_opset < 10)
        {
            starts = OnnxNodeAttributes.Ints(n, "starts") ?? throw Fail(n, "attribute 'starts' is required");
            ends = OnnxNodeAttributes.Ints(n, "ends") ?? throw Fail(n, "attribute 'ends' is required");
            axes = OnnxNodeAttributes.Ints(n, "axes");
        }
        else
        {
            starts = ConstInput(n, 1, "starts").AsLongs();
            ends = ConstInput(n, 2, "ends").AsLongs();
            axes = HasInput(n, 3) ? ConstInput(n, 3, "axes").AsLongs() : null;
            steps = HasInput(n, 4) ? ConstInput(n, 4, "steps").AsLongs() : null;
        }
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || (steps != null && steps.Length != starts.Length))
            throw Fail(n, "starts, ends, axes and steps differ in length");
        var cuts = new List<(int Axis, int Start, int End)>();
        for (int i = 0; i < starts.Length; i++)
        {
            if (steps != null && steps[i] != 1) throw Fail(n, $"step {steps[i]} on a run-time tensor is not supported (only 1)");
            int axis = ConstantFolder.NormalizeAxis(axes[i], rank, "axes", m => Fail(n, m));
            long dim = x.Shape[axis];
            long start = starts[i] < 0 ? starts[i] + dim : starts[i];
            long end = ends[i] < 0 ? ends[i] + dim : ends[i];
            start = Math.Clamp(start, 0, dim);
            end = Math.Clamp(end, 0, dim);
            if (end <= start) throw Fail(n, $"the slice [{starts[i]}, {ends[i]}) of axis {axis} is empty; empty tensors are not supported");
            if (start > 0 || end < dim) cuts.Add((axis, (int)start, (int)end));
        }
        if (cuts.Count == 0) { _alias[n.Output[0]] = x.Name; return; }
        string current = x.Name;
        var shape = (int[])x.Shape.Clone();
        for (int c = 0; c < cuts.Count; c++)
        {
            var (axis, start, end) = cuts[c];
            shape = (int[])shape.Clone();
            shape[axis] = end - start;
            string output = c == cuts.Count - 1 ? n.Output[0] : Temp(n, "slice" + c);
            EmitTo(n, OpType.Slice, [current], output, shape, SliceAttributes(axis, start, end));
            current = output;
        }
    }

    private static OpAttributes SliceAttributes(int axis, int start, int end) =>
        new OpAttributes().Set(AttributeKey.Axis, axis).Set(AttributeKey.Starts, start).Set(AttributeKey.Ends, end);
}
