using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Ops;

namespace EdgeNets.Converter.Quantization;

public static partial class Quantizer
{
    private sealed partial class Builder
    {
        /// <summary>
        /// LSTM/GRU/RNN (docs/quantization.md, "Recurrent layers"): W and R become int8 [directions*gates*hidden, columns],
        /// symmetric per row (one scale per gate and output channel); X stays the int8 activation it is; Y and Y_h share
        /// the calibrated range of the hidden state (Y's range, widened to a constant initial_h); Y_c gets its own.
        /// Biases, peepholes and float initial states stay float32: the gate arithmetic after the int32 dot products is float.
        /// </summary>
        private void Recurrent(OpInfo op)
        {
            var (gates, _) = RecurrentSchema.Shape(op.Type);
            int outputs = op.Type == OpType.Lstm ? 3 : 2;
            if (op.Inputs.Length < 3 || op.Inputs.Length > 8 || op.Outputs.Length != outputs)
                throw new ConversionException($"quantizer: {op}: expects 3..8 inputs and {outputs} outputs");
            int x = Mapped(op.Inputs[RecurrentKernels.InputX], op);
            var inputs = new int[op.Inputs.Length];
            Array.Fill(inputs, -1);
            inputs[RecurrentKernels.InputX] = x;
            inputs[RecurrentKernels.InputW] = PerRow(op, RecurrentKernels.InputW);
            inputs[RecurrentKernels.InputR] = PerRow(op, RecurrentKernels.InputR);
            for (int i = RecurrentKernels.InputB; i < op.Inputs.Length; i++)
                if (i != RecurrentKernels.InputW && i != RecurrentKernels.InputR && op.Inputs[i] >= 0) inputs[i] = CarryOver(op.Inputs[i], op);

            var yf = _f.Tensors[op.Outputs[0]];
            if (_given?.For(yf.Name) is { } given)
            {
                // Y and Y_h share one quantization: a QDQ model's own (EdgeNets' export gives both the same).
                var yq = QuantizationInfo.PerTensor(given.Scale, given.ZeroPoint);
                EmitRecurrent(op, inputs, yq, outputs);
                return;
            }
            var (min, max) = CalibratedRange(yf.Name);
            var (hMin, hMax) = CalibratedRange(_f.Tensors[op.Outputs[1]].Name);
            min = Math.Min(min, hMin);
            max = Math.Max(max, hMax);
            int h0 = RecurrentKernels.InputInitialH;
            if (h0 < op.Inputs.Length && op.Inputs[h0] >= 0 && _f.Tensors[op.Inputs[h0]].IsConstant)
            {
                foreach (float v in FloatData(_f.Tensors[op.Inputs[h0]])) { min = Math.Min(min, v); max = Math.Max(max, v); }
            }
            EmitRecurrent(op, inputs, QuantParams.Asymmetric(min, max), outputs);
        }

        private void EmitRecurrent(OpInfo op, int[] inputs, QuantizationInfo hq, int outputs)
        {
            var ids = new int[outputs];
            ids[0] = NewActivation(op.Outputs[0], hq);
            ids[1] = NewActivation(op.Outputs[1], QuantizationInfo.PerTensor(hq.Scale, hq.ZeroPoint));
            if (outputs == 3) ids[2] = NewActivation(op.Outputs[2], Calibrated(_f.Tensors[op.Outputs[2]]));
            Emit(op, op.Type, inputs, ids, op.Attributes.Clone());
        }

        private int PerRow(OpInfo op, int index)
        {
            var wf = FloatConstant(op, index);
            if (wf.Rank != 3) throw new ConversionException($"quantizer: {op}: '{wf.Name}' must have rank 3, has shape [{ShapeUtil.Format(wf.Shape)}]");
            float[] w = FloatData(wf);
            int rows = wf.Shape[0] * wf.Shape[1], columns = wf.Shape[2];
            var scales = new float[rows];
            var q = new sbyte[w.Length];
            for (int r = 0; r < rows; r++)
            {
                double maxAbs = 0;
                for (int i = 0; i < columns; i++) maxAbs = Math.Max(maxAbs, Math.Abs(w[r * columns + i]));
                scales[r] = QuantParams.SymmetricScale(maxAbs);
                for (int i = 0; i < columns; i++) q[r * columns + i] = QuantParams.QuantizeSymmetric(w[r * columns + i], scales[r]);
            }
            return AddConstant(wf.Name, DataType.Int8, [rows, columns], q, new QuantizationInfo(scales, 0, axis: 0));
        }
    }
}
