using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Ops;

/// <summary>Reshape to the output's static shape (the converter's lowering of Reshape, Flatten, Squeeze, Unsqueeze).</summary>
internal sealed class ReshapeSchema() : OperatorSchema(OpType.Reshape)
{
    public override QuantizationRule Quantization => QuantizationRule.SameScale;

    /// <summary>The time axis must stay one axis of its own: same extent, the same elements before and after it.</summary>
    public override int OutputTimeAxis(TimeAxes t)
    {
        int x = t.X, length = t.Length;
        var inShape = t.InputTensor(0).Shape;
        var outShape = t.OutputShape;
        long before = Product(inShape, 0, x), after = Product(inShape, x + 1, inShape.Length);
        for (int k = 0; k < outShape.Length; k++)
            if (outShape[k] == length && Product(outShape, 0, k) == before && Product(outShape, k + 1, outShape.Length) == after)
                return k;
        throw t.Fail($"{t.Op} reshapes [{ShapeUtil.Format(inShape)}] to [{ShapeUtil.Format(outShape)}] mixing the time axis {x} with others");
    }

    private static long Product(int[] shape, int from, int to)
    {
        long p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }
}

/// <summary>Transpose by Perm (reversed axes without it).</summary>
internal sealed class TransposeSchema() : OperatorSchema(OpType.Transpose)
{
    public override QuantizationRule Quantization => QuantizationRule.SameScale;

    public override int OutputTimeAxis(TimeAxes t)
    {
        var perm = t.Op.Attributes.GetInts(AttributeKey.Perm);
        return perm == null ? t.OutputShape.Length - 1 - t.X : Array.IndexOf(perm, t.X);
    }
}

/// <summary>Constant padding by Pads (begin values of every axis, then end values) with PadValue.</summary>
internal sealed class PadSchema() : OperatorSchema(OpType.Pad)
{
    public override QuantizationRule Quantization => QuantizationRule.SameScale;

    /// <summary>Streams only with time on the batch axis and no padding along it.</summary>
    public override int OutputTimeAxis(TimeAxes t)
    {
        if (t.X == 0 && (t.Op.Attributes.GetInts(AttributeKey.Pads) is not { } pads || (pads[0] == 0 && pads[pads.Length / 2] == 0))) return 0;
        throw TimeWindows.WholeAxis(t);
    }
}

/// <summary>Contiguous range [Starts, Ends) of one axis; the axis is dropped when the output has one rank less.</summary>
internal sealed class SliceSchema() : OperatorSchema(OpType.Slice)
{
    public override QuantizationRule Quantization => QuantizationRule.SameScale;

    /// <summary>Along the time axis only the last step can be taken (each step's one-step graph then keeps its only step).</summary>
    public override int OutputTimeAxis(TimeAxes t)
    {
        int x = t.X;
        int axis = t.Op.Attributes.GetInt(AttributeKey.Axis, -1);
        bool dropped = t.OutputShape.Length < t.InputTensor(0).Rank;
        if (axis == x)
        {
            if (t.Op.Attributes.GetInt(AttributeKey.Starts, 0) != t.Length - 1)
                throw t.Fail($"{t.Op} takes a time step other than the last; only the last step can be streamed");
            return dropped ? TimeAxes.None : x;
        }
        return dropped && axis < x ? x - 1 : x;
    }

    public override void AdjustForStep(OpAttributes attributes, int inputTimeAxis)
    {
        if (inputTimeAxis == attributes.GetInt(AttributeKey.Axis, -1)) attributes.Set(AttributeKey.Starts, 0).Set(AttributeKey.Ends, 1);
    }
}

/// <summary>Nearest-neighbour upsampling by a whole factor per axis, or bilinear resizing of the last two axes (ResizeMode 1); int8 keeps the input's scale.</summary>
internal sealed class UpsampleSchema() : OperatorSchema(OpType.Upsample)
{
    public override QuantizationRule Quantization => QuantizationRule.SameScale;

    public override int OutputTimeAxis(TimeAxes t)
    {
        if (t.OutputShape[t.X] != t.Length) throw t.Fail($"{t.Op} upsamples along the time axis");
        return t.X;
    }
}

/// <summary>Concat along Axis.</summary>
internal sealed class ConcatSchema() : OperatorSchema(OpType.Concat)
{
    public override QuantizationRule Quantization => QuantizationRule.Concatenation;

    public override int OutputTimeAxis(TimeAxes t)
    {
        int x = t.X;
        if (t.Op.Attributes.GetInt(AttributeKey.Axis, -1) == x) throw t.Fail($"{t.Op} concatenates along the time axis");
        for (int i = 0; i < t.Op.Inputs.Length; i++)
            if (t.Input(i) != x) throw t.Fail($"{t.Op}: input {i} is not aligned with the time axis of input 0");
        return x;
    }
}
