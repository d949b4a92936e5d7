using EdgeNets.Converter.Passes;
using EdgeNets.Runtime.Graph;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>
/// Softmax, LayerNormalization, InstanceNormalization (as LayerNorm) and BatchNormalization (folded or lowered by the
/// passes).
/// </summary>
internal sealed partial class GraphImporter
{
    private static Lowering[] NormalizationLowerings =>
    [
        new("Softmax", (g, n) => g.LowerSoftmax(n)),
        new("LayerNormalization", (g, n) => g.LowerLayerNorm(n)),
        new("InstanceNormalization", (g, n) => g.LowerInstanceNorm(n)),
        new("BatchNormalization", (g, n) => g.LowerBatchNorm(n)),
    ];

    private void LowerSoftmax(NodeProto n)
    {
        var x = Input(n, 0);
        int rank = x.Shape.Length;
        int axis = ConstantFolder.NormalizeAxis(OnnxNodeAttributes.Int(n, "axis", _opset >= 13 ? -1 : 1), rank, "axis", m => Fail(n, m));
        if (_opset >= 13 || axis == rank - 1)
        {
            Emit(n, OpType.Softmax, [x.Name], x.Shape, new OpAttributes().Set(AttributeKey.Axis, axis));
            return;
        }
        // Before opset 13 Softmax normalizes over all dimensions from axis on: flatten them into one.
        int[] flat = [ConstantFolder.Count(x.Shape[..axis]), ConstantFolder.Count(x.Shape[axis..])];
        string flatIn = Temp(n, "flat"), flatOut = Temp(n, "flat_softmax");
        EmitTo(n, OpType.Reshape, [x.Name], flatIn, flat);
        EmitTo(n, OpType.Softmax, [flatIn], flatOut, flat, new OpAttributes().Set(AttributeKey.Axis, 1));
        EmitTo(n, OpType.Reshape, [flatOut], n.Output[0], x.Shape);
    }

    private void LowerLayerNorm(NodeProto n)
    {
        var x = Input(n, 0);
        int rank = x.Shape.Length;
        long axis = OnnxNodeAttributes.Int(n, "axis", -1);
        if (axis < -rank || axis >= rank) throw Fail(n, $"axis {axis} is out of range for rank {rank}");
        if (axis < 0) axis += rank;
        for (int o = 1; o < n.Output.Count; o++)
            if (IsOutputUsed(n, o)) throw Fail(n, $"output {o} '{n.Output[o]}' (mean or inverse deviation) is used; only the normalized output is supported");
        int length = x.Shape.Skip((int)axis).Aggregate(1, (p, d) => p * d);
        string Parameter(int index, string role)
        {
            var c = FloatConstInput(n, index, role);
            if (c.Count != length) throw Fail(n, $"{role} has {c.Count} values, the normalized axes [{ShapeUtil.Format(x.Shape[(int)axis..])}] {length}");
            return Input(n, index).Name;
        }
        var inputs = new List<string> { x.Name, Parameter(1, "Scale") };
        if (HasInput(n, 2)) inputs.Add(Parameter(2, "B"));
        var attributes = new OpAttributes().Set(AttributeKey.Axis, (int)axis).Set(AttributeKey.Alpha, OnnxNodeAttributes.Float(n, "epsilon", 1e-5f));
        Emit(n, OpType.LayerNorm, inputs, x.Shape, attributes);
    }

    /// <summary>
    /// InstanceNormalization normalizes each (sample, channel) over its spatial positions: a LayerNorm over the last axis of
    /// [N, C, spatial...] flattened to [N, C, S] (unit scale), then the per-channel scale and bias as Mul and Add, so it
    /// takes LayerNorm's int8 form.
    /// </summary>
    private void LowerInstanceNorm(NodeProto n)
    {
        var x = Input(n, 0);
        if (x.Shape.Length < 3) throw Fail(n, $"input shape [{ShapeUtil.Format(x.Shape)}] must be [N, C, spatial...] (rank 3 or more)");
        int channels = x.Shape[1];
        float[] Parameter(int index, string role)
        {
            var c = FloatConstInput(n, index, role);
            if (c.Count != channels) throw Fail(n, $"{role} input '{n.Input[index]}' has {c.Count} values, expected {channels} (channels)");
            return c.Floats!;
        }
        float[] scale = Parameter(1, "scale"), bias = Parameter(2, "B");
        int[] flat = [x.Shape[0], channels, ConstantFolder.Count(x.Shape[2..])];
        bool reshape = x.Shape.Length > 3;
        string normalizeIn = x.Name;
        if (reshape) EmitTo(n, OpType.Reshape, [x.Name], normalizeIn = Temp(n, "flat"), flat);
        string unitScale = Constant(n, "unit_scale", [flat[2]], Enumerable.Repeat(1f, flat[2]).ToArray());
        string normalized = Temp(n, "normalized");
        EmitTo(n, OpType.LayerNorm, [normalizeIn, unitScale], normalized, flat,
            new OpAttributes().Set(AttributeKey.Axis, 2).Set(AttributeKey.Alpha, OnnxNodeAttributes.Float(n, "epsilon", 1e-5f)));
        if (reshape) EmitTo(n, OpType.Reshape, [normalized], normalized = Temp(n, "unflat"), x.Shape);
        var channelShape = new int[x.Shape.Length - 1];
        Array.Fill(channelShape, 1);
        channelShape[0] = channels;
        string scaled = Temp(n, "scaled");
        EmitTo(n, OpType.Mul, [normalized, Constant(n, "scale", channelShape, scale)], scaled, x.Shape);
        Emit(n, OpType.Add, [scaled, Constant(n, "bias", channelShape, bias)], x.Shape);
    }

    private void LowerBatchNorm(NodeProto n)
    {
        var x = Input(n, 0);
        if (OnnxNodeAttributes.Int(n, "training_mode", 0) != 0) throw Fail(n, "attribute 'training_mode' = 1 is not supported (inference only)");
        if (OnnxNodeAttributes.Int(n, "spatial", 1) != 1) throw Fail(n, "attribute 'spatial' = 0 is not supported");
        for (int o = 1; o < n.Output.Count; o++)
            if (IsOutputUsed(n, o)) throw Fail(n, $"output '{n.Output[o]}' (training statistics) is used; only inference-mode BatchNormalization is supported");
        if (x.Shape.Length < 2) throw Fail(n, $"input shape [{ShapeUtil.Format(x.Shape)}] must have rank 2 or more");
        var inputs = new List<string> { x.Name };
        string[] roles = ["scale", "B", "mean", "var"];
        for (int i = 1; i <= 4; i++)
        {
            var c = FloatConstInput(n, i, roles[i - 1]);
            if (c.Count != x.Shape[1]) throw Fail(n, $"{roles[i - 1]} input '{n.Input[i]}' has {c.Count} values, expected {x.Shape[1]} (channels)");
            inputs.Add(Input(n, i).Name);
        }
        _g.AddActivation(n.Output[0], x.Shape);
        _g.Nodes.Add(new IrNode(OpType.BatchNormalization, NodeName(n), inputs, [n.Output[0]],
            new OpAttributes().Set(AttributeKey.Alpha, OnnxNodeAttributes.Float(n, "epsilon", 1e-5f))));
    }
}
