using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Ops;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// A validated LSTM, GRU or RNN operator (docs/operators.md, "Recurrent operators"): tensor ids, sizes, attributes and
/// the int8 scales, plus the initial/final state handling. The reference kernel and the optimized variants share it, so
/// they accept and reject the same operators and set up and write out their state with the same operations.
/// </summary>
internal sealed class RecurrentLayer
{
    public readonly OpType Op;
    public readonly bool Quantized;
    public readonly int X, W, R, B, H0, C0, P, Y, Yh, Yc;
    public readonly int Steps, Batch, InputSize, Hidden, Directions, Gates, Layout;
    public readonly bool ReverseOnly;
    /// <summary>[direction * ActivationsPerDirection + k]: RecurrentActivation codes with their alpha and beta.</summary>
    public readonly int[] Activations;
    public readonly float[] Alpha, Beta;
    public readonly int ActivationsPerDirection;
    public readonly float Clip;
    public readonly bool LinearBeforeReset, InputForget;

    // int8 form: dot product to float per weight row, zero points, hidden quantization.
    public readonly float[] WRowScale = [], RRowScale = [];
    public readonly int XZero, HZero;
    public readonly float HScale, HInverseScale;
    public readonly bool YcQuantized;
    public readonly float YcInverseScale;
    public readonly int YcZero;
    public readonly QuantizationInfo? H0Quant, C0Quant; // int8 initial states

    /// <summary>Rows of W (and R) per direction: gates * hidden.</summary>
    public int Rows => Gates * Hidden;

    public RecurrentLayer(KernelSetup s, OpType op, bool quantized)
    {
        Op = op;
        Quantized = quantized;
        (Gates, ActivationsPerDirection) = RecurrentSchema.Shape(op);
        int outputs = op == OpType.Lstm ? 3 : 2;
        s.ExpectCounts(3, 8, outputs);
        if (s.HasInput(RecurrentKernels.InputSequenceLens)) throw s.Fail("the sequence_lens input is not supported (all sequences have the full length)");
        if (op != OpType.Lstm && (s.HasInput(RecurrentKernels.InputInitialC) || s.HasInput(RecurrentKernels.InputP))) throw s.Fail("only LSTM has initial_c and P inputs");

        var x = s.Input(RecurrentKernels.InputX);
        var w = s.Input(RecurrentKernels.InputW);
        var r = s.Input(RecurrentKernels.InputR);
        var y = s.Output(0);
        var yh = s.Output(1);
        var dataType = quantized ? DataType.Int8 : DataType.Float32;
        s.ExpectType(x, dataType);
        s.ExpectType(w, dataType);
        s.ExpectType(r, dataType);
        s.ExpectType(y, dataType);
        s.ExpectType(yh, dataType);
        if (!w.IsConstant || !r.IsConstant) throw s.Fail("W and R must be constants");

        int direction = s.Attributes.GetInt(AttributeKey.Direction, 0);
        if (direction is < 0 or > 2) throw s.Fail($"Direction {direction} must be 0 (forward), 1 (reverse) or 2 (bidirectional)");
        Directions = direction == 2 ? 2 : 1;
        ReverseOnly = direction == 1;
        Layout = s.Attributes.GetInt(AttributeKey.Layout, 0);
        if (Layout is not (0 or 1)) throw s.Fail($"Layout {Layout} must be 0 or 1");
        if (x.Rank != 3) throw s.Fail($"X must have rank 3, has shape [{ShapeUtil.Format(x.Shape)}]");
        Steps = Layout == 0 ? x.Shape[0] : x.Shape[1];
        Batch = Layout == 0 ? x.Shape[1] : x.Shape[0];
        InputSize = x.Shape[2];

        // Float weights keep the ONNX shape [D, G*H, I]; int8 weights are [D*G*H, I] with one scale per row.
        int rows;
        if (quantized)
        {
            if (w.Rank != 2 || r.Rank != 2) throw s.Fail($"int8 W and R must be [directions*gates*hidden, columns], are [{ShapeUtil.Format(w.Shape)}] and [{ShapeUtil.Format(r.Shape)}]");
            Hidden = r.Shape[1];
            rows = Directions * Gates * Hidden;
            if (w.Shape[0] != rows || w.Shape[1] != InputSize || r.Shape[0] != rows)
                throw s.Fail($"W [{ShapeUtil.Format(w.Shape)}] and R [{ShapeUtil.Format(r.Shape)}] do not match {Directions} direction(s), {Gates} gate(s), input size {InputSize}");
        }
        else
        {
            if (w.Rank != 3 || r.Rank != 3) throw s.Fail($"W and R must have rank 3, are [{ShapeUtil.Format(w.Shape)}] and [{ShapeUtil.Format(r.Shape)}]");
            Hidden = r.Shape[2];
            rows = Directions * Gates * Hidden;
            if (w.Shape[0] != Directions || w.Shape[1] != Gates * Hidden || w.Shape[2] != InputSize
                || r.Shape[0] != Directions || r.Shape[1] != Gates * Hidden)
                throw s.Fail($"W [{ShapeUtil.Format(w.Shape)}] and R [{ShapeUtil.Format(r.Shape)}] do not match {Directions} direction(s), {Gates} gate(s), input size {InputSize}");
        }
        if (Hidden <= 0) throw s.Fail("hidden size must be positive");

        X = s.InputId(RecurrentKernels.InputX);
        W = s.InputId(RecurrentKernels.InputW);
        R = s.InputId(RecurrentKernels.InputR);
        B = ConstantFloatInput(s, RecurrentKernels.InputB, [Directions, 2 * Gates * Hidden], "B");
        P = ConstantFloatInput(s, RecurrentKernels.InputP, [Directions, 3 * Hidden], "P");
        int[] stateShape = Layout == 0 ? [Directions, Batch, Hidden] : [Batch, Directions, Hidden];
        H0 = StateInput(s, RecurrentKernels.InputInitialH, stateShape, "initial_h", quantized, out H0Quant);
        C0 = StateInput(s, RecurrentKernels.InputInitialC, stateShape, "initial_c", quantized, out C0Quant);

        int[] yShape = Layout == 0 ? [Steps, Directions, Batch, Hidden] : [Batch, Steps, Directions, Hidden];
        if (!y.Shape.AsSpan().SequenceEqual(yShape)) throw s.Fail($"Y has shape [{ShapeUtil.Format(y.Shape)}], expected [{ShapeUtil.Format(yShape)}]");
        if (!yh.Shape.AsSpan().SequenceEqual(stateShape)) throw s.Fail($"Y_h has shape [{ShapeUtil.Format(yh.Shape)}], expected [{ShapeUtil.Format(stateShape)}]");
        Y = s.OutputId(0);
        Yh = s.OutputId(1);
        Yc = -1;
        if (op == OpType.Lstm)
        {
            var yc = s.Output(2);
            if (!yc.Shape.AsSpan().SequenceEqual(stateShape)) throw s.Fail($"Y_c has shape [{ShapeUtil.Format(yc.Shape)}], expected [{ShapeUtil.Format(stateShape)}]");
            if (yc.Type == DataType.Int8 && quantized)
            {
                var q = s.Quant(yc);
                YcQuantized = true;
                YcInverseScale = 1f / q.Scale;
                YcZero = q.ZeroPoint;
            }
            else s.ExpectType(yc, DataType.Float32);
            Yc = s.OutputId(2);
        }

        var act = s.Attributes.GetInts(AttributeKey.Activations);
        int actCount = Directions * ActivationsPerDirection;
        Activations = new int[actCount];
        Alpha = new float[actCount];
        Beta = new float[actCount];
        if (act == null)
        {
            for (int d = 0; d < Directions; d++)
            {
                // ONNX defaults: LSTM (Sigmoid, Tanh, Tanh), GRU (Sigmoid, Tanh), RNN (Tanh).
                for (int k = 0; k < ActivationsPerDirection; k++)
                    Activations[d * ActivationsPerDirection + k] = (int)(op != OpType.Rnn && k == 0 ? RecurrentActivation.Sigmoid : RecurrentActivation.Tanh);
            }
        }
        else
        {
            if (act.Length != actCount) throw s.Fail($"Activations has {act.Length} entries, expected {actCount} ({ActivationsPerDirection} per direction)");
            for (int i = 0; i < actCount; i++)
            {
                if (!RecurrentMath.IsKnown(act[i])) throw s.Fail($"Activations[{i}] = {act[i]} is not a known activation");
                Activations[i] = act[i];
            }
            var alpha = s.Attributes.GetFloats(AttributeKey.ActivationAlpha);
            var beta = s.Attributes.GetFloats(AttributeKey.ActivationBeta);
            if (alpha != null && alpha.Length != actCount) throw s.Fail($"ActivationAlpha has {alpha.Length} entries, expected {actCount}");
            if (beta != null && beta.Length != actCount) throw s.Fail($"ActivationBeta has {beta.Length} entries, expected {actCount}");
            alpha?.CopyTo(Alpha, 0);
            beta?.CopyTo(Beta, 0);
        }
        Clip = s.Attributes.GetFloat(AttributeKey.Clip, float.PositiveInfinity);
        if (!(Clip > 0f)) throw s.Fail($"Clip {Clip} must be positive");
        LinearBeforeReset = s.Attributes.GetInt(AttributeKey.LinearBeforeReset, 0) != 0;
        InputForget = s.Attributes.GetInt(AttributeKey.InputForget, 0) != 0;
        if (LinearBeforeReset && op != OpType.Gru) throw s.Fail("LinearBeforeReset applies to GRU only");
        if (InputForget && op != OpType.Lstm) throw s.Fail("InputForget applies to LSTM only");

        if (quantized)
        {
            var xq = s.Quant(x);
            var wq = s.Quant(w);
            var rq = s.Quant(r);
            var yq = s.Quant(y);
            var yhq = s.Quant(yh);
            if (xq.IsPerChannel || yq.IsPerChannel) throw s.Fail("X and Y must be quantized per tensor");
            if (yhq.Scale != yq.Scale || yhq.ZeroPoint != yq.ZeroPoint) throw s.Fail("Y_h must have the quantization of Y (both hold the hidden state)");
            WRowScale = RowScales(s, wq, rows, xq.Scale, "W");
            RRowScale = RowScales(s, rq, rows, yq.Scale, "R");
            XZero = xq.ZeroPoint;
            HZero = yq.ZeroPoint;
            HScale = yq.Scale;
            HInverseScale = 1f / yq.Scale;
        }
    }

    private static float[] RowScales(KernelSetup s, QuantizationInfo wq, int rows, float inputScale, string role)
    {
        if (wq.ZeroPoint != 0) throw s.Fail($"{role} must be symmetric (zero point 0)");
        if (!(wq.IsPerChannel ? wq.Axis == 0 && wq.Scales.Length == rows : wq.Scales.Length == 1))
            throw s.Fail($"{role} must be quantized per row (axis 0, {rows} scales) or per tensor");
        var scales = new float[rows];
        for (int i = 0; i < rows; i++) scales[i] = inputScale * wq.Scales[wq.IsPerChannel ? i : 0];
        return scales;
    }

    private static int ConstantFloatInput(KernelSetup s, int index, int[] shape, string role)
    {
        if (!s.HasInput(index)) return -1;
        var t = s.Input(index);
        if (!t.IsConstant) throw s.Fail($"{role} must be a constant");
        s.ExpectType(t, DataType.Float32);
        if (t.ElementCount != ShapeUtil.ElementCount(shape)) throw s.Fail($"{role} has shape [{ShapeUtil.Format(t.Shape)}], expected [{ShapeUtil.Format(shape)}]");
        return s.InputId(index);
    }

    /// <summary>An initial state: float32, or in the int8 form also int8 per tensor (dequantized when the state is set).</summary>
    private static int StateInput(KernelSetup s, int index, int[] shape, string role, bool quantized, out QuantizationInfo? quant)
    {
        quant = null;
        if (!s.HasInput(index)) return -1;
        var t = s.Input(index);
        if (quantized && t.Type == DataType.Int8)
        {
            quant = s.Quant(t);
            if (quant.IsPerChannel) throw s.Fail($"{role} must be quantized per tensor");
        }
        else s.ExpectType(t, DataType.Float32);
        if (!t.Shape.AsSpan().SequenceEqual(shape)) throw s.Fail($"{role} has shape [{ShapeUtil.Format(t.Shape)}], expected [{ShapeUtil.Format(shape)}]");
        return s.InputId(index);
    }

    // Element offsets of the layout-dependent tensors.
    public int XOffset(int t, int b) => (Layout == 0 ? t * Batch + b : b * Steps + t) * InputSize;
    public int YOffset(int t, int d, int b) => (Layout == 0 ? (t * Directions + d) * Batch + b : (b * Steps + t) * Directions + d) * Hidden;
    public int StateOffset(int d, int b) => (Layout == 0 ? d * Batch + b : b * Directions + d) * Hidden;

    /// <summary>
    /// Sets the kernel's state from initial_h/initial_c (zeros when absent). The state arrays hold one row of
    /// <paramref name="stride"/> ≥ Hidden elements per (direction, batch row); only the first Hidden are written.
    /// In the int8 form h is stored quantized (<paramref name="hStateQ"/>) and as its dequantized value.
    /// </summary>
    public void InitializeState(TensorMemory memory, Span<float> hState, Span<sbyte> hStateQ, Span<float> cState, int stride)
    {
        var h0 = H0 >= 0 && H0Quant == null ? memory.Read<float>(H0) : default;
        var c0 = C0 >= 0 && C0Quant == null ? memory.Read<float>(C0) : default;
        var h0q = H0Quant != null ? memory.Read<sbyte>(H0) : default;
        var c0q = C0Quant != null ? memory.Read<sbyte>(C0) : default;
        for (int d = 0; d < Directions; d++)
        {
            for (int b = 0; b < Batch; b++)
            {
                int state = (d * Batch + b) * stride, source = StateOffset(d, b);
                for (int j = 0; j < Hidden; j++)
                {
                    float h = H0 < 0 ? 0f : H0Quant != null ? H0Quant.Scale * (h0q[source + j] - H0Quant.ZeroPoint) : h0[source + j];
                    if (Quantized)
                    {
                        // The state is what the next step reads: the quantized value.
                        sbyte q = FixedPoint.QuantizeValue(h, HInverseScale, HZero);
                        hStateQ[state + j] = q;
                        h = HScale * (q - HZero);
                    }
                    hState[state + j] = h;
                    cState[state + j] = C0 < 0 ? 0f : C0Quant != null ? C0Quant.Scale * (c0q[source + j] - C0Quant.ZeroPoint) : c0[source + j];
                }
            }
        }
    }

    /// <summary>Writes Y_h (and Y_c) from the state arrays laid out as in <see cref="InitializeState"/>.</summary>
    public void WriteFinalState(TensorMemory memory, ReadOnlySpan<float> hState, ReadOnlySpan<sbyte> hStateQ, ReadOnlySpan<float> cState, int stride)
    {
        int n = Hidden;
        for (int d = 0; d < Directions; d++)
        {
            for (int b = 0; b < Batch; b++)
            {
                int state = (d * Batch + b) * stride, target = StateOffset(d, b);
                if (Quantized) hStateQ.Slice(state, n).CopyTo(memory.Write<sbyte>(Yh).Slice(target, n));
                else hState.Slice(state, n).CopyTo(memory.Write<float>(Yh).Slice(target, n));
                if (Yc < 0) continue;
                if (YcQuantized)
                {
                    var yc = memory.Write<sbyte>(Yc);
                    for (int j = 0; j < n; j++) yc[target + j] = FixedPoint.QuantizeValue(cState[state + j], YcInverseScale, YcZero);
                }
                else cState.Slice(state, n).CopyTo(memory.Write<float>(Yc).Slice(target, n));
            }
        }
    }
}
