using EdgeNets.Converter.Passes;
using EdgeNets.Runtime.Graph;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>Softmax, LayerNormalization and BatchNormalization (folded or lowered by the passes).</summary>
internal sealed partial class GraphImporter
{
    private static Lowering[] NormalizationLowerings =>
    [
        new("Softmax", (g, n) => g.LowerSoftmax(n)),
        new("LayerNormalization", (g, n) => g.LowerLayerNorm(n)),
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
