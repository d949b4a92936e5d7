using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Cli.Report;

/// <summary>The smallest and largest weight of every output channel of one weight tensor, dequantized.</summary>
internal sealed record ChannelRanges(string OpName, OpType OpType, string TensorName, int[] Shape, string Precision, int Axis, float[] Min, float[] Max)
{
    /// <summary>
    /// The weights of a convolution, Gemm or MatMul (input 1) and of a recurrent layer (inputs 1 and 2: W and R), when
    /// they are constant int8 or float32 tensors. Channels lie along the tensor's per-channel quantization axis;
    /// otherwise along axis 0 ([M, C, kH, kW] convolution and recurrent weights), or the last axis for MatMul's [K, N].
    /// </summary>
    public static IEnumerable<ChannelRanges> Of(Session session, OpInfo op)
    {
        var g = session.Model.Graph;
        foreach (int id in WeightInputs(op))
        {
            var t = g.Tensors[id];
            if (!t.IsConstant || t.Rank < 2 || t.Type is not (DataType.Int8 or DataType.Float32)) continue;
            int axis = t.Quantization is { IsPerChannel: true } q ? q.Axis : op.Type == OpType.MatMul ? t.Rank - 1 : 0;
            var values = new float[t.ElementCount];
            session.ReadTensorAsFloat(id, values);
            var (min, max) = Compute(values, t.Shape, axis);
            yield return new ChannelRanges(op.Name, op.Type, t.Name, t.Shape, Precisions.Of(t), axis, min, max);
        }
    }

    private static IEnumerable<int> WeightInputs(OpInfo op)
    {
        int[] positions = op.Type switch
        {
            OpType.Conv or OpType.ConvTranspose or OpType.Gemm or OpType.MatMul => [1],
            OpType.Lstm or OpType.Gru or OpType.Rnn => [1, 2],
            _ => [],
        };
        return positions.Where(p => p < op.Inputs.Length && op.Inputs[p] >= 0).Select(p => op.Inputs[p]);
    }

    /// <summary>Per index along <paramref name="axis"/> of a row-major tensor of <paramref name="shape"/>: its min and max.</summary>
    public static (float[] Min, float[] Max) Compute(ReadOnlySpan<float> values, int[] shape, int axis)
    {
        int channels = shape[axis];
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        var min = new float[channels];
        var max = new float[channels];
        Array.Fill(min, float.PositiveInfinity);
        Array.Fill(max, float.NegativeInfinity);
        for (int o = 0; o < outer; o++)
            for (int c = 0; c < channels; c++)
            {
                var row = values.Slice((o * channels + c) * inner, inner);
                foreach (float v in row)
                {
                    if (v < min[c]) min[c] = v;
                    if (v > max[c]) max[c] = v;
                }
            }
        return (min, max);
    }
}
