using EdgeNets.Runtime.Graph;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>Arithmetic with broadcasting (Sub and Div as Add and Mul) and the activations.</summary>
internal sealed partial class GraphImporter
{
    private static Lowering[] ElementwiseLowerings =>
    [
        new("Add", (g, n) => g.LowerBinary(n, OpType.Add, g.Input(n, 0).Name, g.Input(n, 1).Name)),
        new("Mul", (g, n) => g.LowerBinary(n, OpType.Mul, g.Input(n, 0).Name, g.Input(n, 1).Name)),
        new("Sub", (g, n) => g.LowerSub(n)),
        new("Div", (g, n) => g.LowerDiv(n)),
        new("Relu", (g, n) => g.LowerUnary(n, OpType.Relu)),
        new("Sigmoid", (g, n) => g.LowerUnary(n, OpType.Sigmoid)),
        new("Tanh", (g, n) => g.LowerUnary(n, OpType.Tanh)),
        new("HardSwish", (g, n) => g.LowerUnary(n, OpType.HardSwish)),
        new("Erf", (g, n) => g.LowerUnary(n, OpType.Erf)),
        new("Softplus", (g, n) => g.LowerUnary(n, OpType.Softplus)),
        new("Sqrt", (g, n) => g.LowerUnary(n, OpType.Sqrt)),
        new("Exp", (g, n) => g.LowerUnary(n, OpType.Exp)),
        new("Pow", (g, n) => g.LowerPow(n), IntegerConstants: true),
        new("LeakyRelu", (g, n) => g.LowerUnary(n, OpType.LeakyRelu, new OpAttributes().Set(AttributeKey.Alpha, OnnxNodeAttributes.Float(n, "alpha", 0.01f)))),
        new("HardSigmoid", (g, n) => g.LowerUnary(n, OpType.HardSigmoid, new OpAttributes()
            .Set(AttributeKey.Alpha, OnnxNodeAttributes.Float(n, "alpha", 0.2f))
            .Set(AttributeKey.Beta, OnnxNodeAttributes.Float(n, "beta", 0.5f)))),
        new("Clip", (g, n) => g.LowerClip(n), IntegerConstants: true),
        new("PRelu", (g, n) => g.LowerPRelu(n)),
    ];

    private void LowerUnary(NodeProto n, OpType op, OpAttributes? attributes = null)
    {
        var x = Input(n, 0);
        Emit(n, op, [x.Name], x.Shape, attributes);
    }

    private int[] BroadcastShape(NodeProto n, string a, string b) =>
        ShapeUtil.Broadcast(_g.Value(a).Shape, _g.Value(b).Shape)
        ?? throw Fail(n, $"input shapes [{ShapeUtil.Format(_g.Value(a).Shape)}] and [{ShapeUtil.Format(_g.Value(b).Shape)}] do not broadcast");

    private void LowerBinary(NodeProto n, OpType op, string a, string b, string? output = null) =>
        EmitTo(n, op, [a, b], output ?? n.Output[0], BroadcastShape(n, a, b));

    private void LowerSub(NodeProto n)
    {
        var a = Input(n, 0);
        var b = Input(n, 1);
        if (b.Constant != null)
        {
            string negated = Constant(n, "negated", b.Shape, b.Constant.Floats!.Select(v => -v).ToArray());
            LowerBinary(n, OpType.Add, a.Name, negated);
            return;
        }
        // a - b = a + (-1 * b)
        string minusB = Temp(n, "negated");
        LowerBinary(n, OpType.Mul, b.Name, Constant(n, "minus_one", [1], [-1f]), minusB);
        LowerBinary(n, OpType.Add, a.Name, minusB);
    }

    private void LowerDiv(NodeProto n)
    {
        var a = Input(n, 0);
        var b = Input(n, 1);
        string reciprocal;
        if (b.Constant != null) reciprocal = Constant(n, "reciprocal", b.Shape, b.Constant.Floats!.Select(v => 1f / v).ToArray());
        else EmitTo(n, OpType.Pow, [b.Name], reciprocal = Temp(n, "reciprocal"), b.Shape, new OpAttributes().Set(AttributeKey.Alpha, -1f));
        LowerBinary(n, OpType.Mul, a.Name, reciprocal);
    }

    /// <summary>Pow with a one-value constant exponent (x², √x, x⁻¹ as exporters write them); a run-time exponent is not supported.</summary>
    private void LowerPow(NodeProto n)
    {
        var x = Input(n, 0);
        if (x.Constant != null && !x.Constant.IsFloat) throw Fail(n, $"base '{n.Input[0]}' is a {ConstTensor.TypeName(x.Constant.OnnxType)} tensor; only float tensors are supported");
        if (Input(n, 1).Constant == null) throw Fail(n, $"exponent '{n.Input[1]}' must be a constant; a run-time exponent is not supported");
        var exponent = ConstInput(n, 1, "exponent");
        if (exponent.Count != 1) throw Fail(n, $"exponent '{n.Input[1]}' has {exponent.Count} values; only a single exponent is supported");
        Emit(n, OpType.Pow, [x.Name], x.Shape, new OpAttributes().Set(AttributeKey.Alpha, (float)exponent.Get(0)));
    }

    private void LowerClip(NodeProto n)
    {
        var x = Input(n, 0);
        float? min, max;
        if (_opset < 11)
        {
            min = OnnxNodeAttributes.Find(n, "min") != null ? OnnxNodeAttributes.Float(n, "min", 0) : null;
            max = OnnxNodeAttributes.Find(n, "max") != null ? OnnxNodeAttributes.Float(n, "max", 0) : null;
        }
        else
        {
            min = HasInput(n, 1) ? (float)ConstInput(n, 1, "min").Get(0) : null;
            max = HasInput(n, 2) ? (float)ConstInput(n, 2, "max").Get(0) : null;
        }
        var attributes = new OpAttributes();
        if (min != null) attributes.Set(AttributeKey.ActivationMin, min.Value);
        if (max != null) attributes.Set(AttributeKey.ActivationMax, max.Value);
        Emit(n, OpType.Clip, [x.Name], x.Shape, attributes);
    }

    private void LowerPRelu(NodeProto n)
    {
        var x = Input(n, 0);
        var slope = FloatConstInput(n, 1, "slope");
        string slopeName = Input(n, 1).Name;
        if (_opset < 7 && slope.Shape.Length == 1 && x.Shape.Length >= 2 && slope.Count == x.Shape[1] && slope.Count > 1)
        {
            // Before opset 7 a 1-D slope is one value per channel (axis 1), not numpy-broadcast.
            int[] channelShape = [slope.Count, .. Enumerable.Repeat(1, x.Shape.Length - 2)];
            slopeName = _g.NewConstant(slopeName + "_per_channel", slope.WithShape(channelShape));
            slope = slope.WithShape(channelShape);
        }
        var shape = ShapeUtil.Broadcast(x.Shape, slope.Shape);
        if (shape == null || !shape.SequenceEqual(x.Shape))
            throw Fail(n, $"slope shape [{ShapeUtil.Format(slope.Shape)}] does not broadcast to input shape [{ShapeUtil.Format(x.Shape)}]");
        Emit(n, OpType.PRelu, [x.Name, slopeName], x.Shape);
    }
}
