using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Ops;

/// <summary>Add and Mul: two operands with numpy broadcasting.</summary>
internal sealed class BinarySchema(OpType type) : OperatorSchema(type)
{
    public override QuantizationRule Quantization => Type == OpType.Add ? QuantizationRule.Sum : QuantizationRule.ElementwiseProduct;
    public override bool FusesActivation => Type == OpType.Add;

    /// <summary>The timed operands' axes must line up after broadcasting; an untimed one must be constant along time.</summary>
    public override int OutputTimeAxis(TimeAxes t)
    {
        var op = t.Op;
        int rank = t.OutputShape.Length;
        int timed = -1;
        for (int i = 0; i < 2; i++)
        {
            int a = t.Input(i);
            if (a == TimeAxes.None) continue;
            int aligned = a + rank - t.InputTensor(i).Rank;
            if (timed >= 0 && timed != aligned) throw t.Fail($"{op}: the inputs' time axes do not line up");
            timed = aligned;
        }
        for (int i = 0; i < 2; i++)
        {
            var operand = t.InputTensor(i);
            if (t.Input(i) != TimeAxes.None) continue;
            int aligned = timed - (rank - operand.Rank);
            if (aligned >= 0 && operand.Shape[aligned] != 1)
                throw t.Fail($"{op}: operand '{operand.Name}' varies along the time axis but is not streamed");
        }
        return timed;
    }
}
