using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Ops;

/// <summary>LSTM, GRU and RNN (ONNX semantics; outputs Y, Y_h and for LSTM Y_c).</summary>
internal sealed class RecurrentSchema(OpType type, int gates, int activations) : OperatorSchema(type)
{
    /// <summary>Number of gates: the rows of W and R per direction are Gates * hidden.</summary>
    public int Gates => gates;

    /// <summary>Number of activation functions per direction (ONNX 'activations').</summary>
    public int Activations => activations;

    /// <summary>Gates and activations per direction of a recurrent operator, read by the importer, the quantizer and the kernels.</summary>
    public static (int Gates, int Activations) Shape(OpType op) =>
        OperatorSchemas.For(op) is RecurrentSchema r ? (r.Gates, r.Activations) : (1, 1);

    public override QuantizationRule Quantization => QuantizationRule.Recurrent;
    public override bool IsRecurrent => true;

    /// <summary>The time axis of X is the sequence axis of its layout; only a forward layer runs one step at a time.</summary>
    public override int OutputTimeAxis(TimeAxes t)
    {
        var op = t.Op;
        int layout = op.Attributes.GetInt(AttributeKey.Layout, 0);
        if (t.X != (layout == 0 ? 0 : 1)) throw t.Fail($"{op}: the time axis of X is axis {t.X}, not the sequence axis of layout {layout}");
        if (op.Attributes.GetInt(AttributeKey.Direction, 0) != 0) throw t.Fail($"{op} is reverse or bidirectional: it needs the whole sequence (run it per window)");
        t.RequireUntimedFrom(1);
        return layout == 0 ? 0 : 1; // Y_h, Y_c: the state after the step
    }

    /// <summary>The sequence length of X (axis 0, or 1 with layout 1).</summary>
    public static int Steps(ModelGraph g, OpInfo op) => g.Tensors[op.Inputs[0]].Shape[op.Attributes.GetInt(AttributeKey.Layout, 0) == 0 ? 0 : 1];
}
