using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// A kernel that can keep its state between runs: the streaming session turns <see cref="CarryState"/> on so that
/// each run continues the sequence of the previous one, and calls <see cref="ResetState"/> to start a new sequence.
/// </summary>
public interface IStatefulKernel
{
    bool CarryState { get; set; }
    void ResetState();
}

/// <summary>LSTM, GRU and RNN (docs/operators.md, "Recurrent operators"), float32 and int8.</summary>
public static class RecurrentKernels
{
    public static void Register(List<KernelEntry> list)
    {
        foreach (var op in new[] { OpType.Lstm, OpType.Gru, OpType.Rnn })
        {
            list.Add(new KernelEntry($"{op}Float32_Reference", op, DataType.Float32, s => new RecurrentKernel(s, op, quantized: false)));
            list.Add(new KernelEntry($"{op}Int8_Reference", op, DataType.Int8, s => new RecurrentKernel(s, op, quantized: true)));
        }
    }

    /// <summary>Number of gates (rows of W per direction are Gates * hidden) and of activation functions per direction.</summary>
    public static (int Gates, int Activations) Shape(OpType op) => op switch
    {
        OpType.Lstm => (4, 3),
        OpType.Gru => (3, 2),
        _ => (1, 1),
    };

    /// <summary>Inputs in ONNX order (the sequence_lens slot is always absent).</summary>
    public const int InputX = 0, InputW = 1, InputR = 2, InputB = 3, InputSequenceLens = 4, InputInitialH = 5, InputInitialC = 6, InputP = 7;

    /// <summary>
    /// Runs the ONNX recurrence one (direction, step, batch row) at a time. Gate pre-activations are float:
    /// in the float32 form they are float dot products; in the int8 form they are int32 dot products of int8 x and
    /// int8 h with int8 weights, scaled per weight row. Non-linearities and the cell state are float in both
    /// (deterministic <see cref="RecurrentMath"/>); the int8 form stores h quantized with the scale of Y, and the next
    /// step reads that quantized h, so Y, Y_h and the carried state are the same bytes.
    /// </summary>
    private sealed class RecurrentKernel : OpKernel, IStatefulKernel
    {
        private readonly OpType _op;
        private readonly bool _quantized;
        private readonly string _name;
        private readonly int _x, _w, _r, _b, _h0, _c0, _p, _y, _yh, _yc;
        private readonly int _steps, _batch, _inputSize, _hidden, _directions, _gates, _layout;
        private readonly bool _reverseOnly;
        private readonly int[] _act;          // [direction * actsPerDirection + k]
        private readonly float[] _alpha, _beta;
        private readonly int _actsPerDirection;
        private readonly float _clip;
        private readonly bool _linearBeforeReset, _inputForget;

        // Scratch and state, sized once.
        private readonly float[] _gx, _gr, _hPrev;
        private readonly float[] _hState, _cState;   // [direction, batch, hidden]
        private readonly sbyte[] _hStateQ;            // int8 form: quantized hidden state
        private readonly sbyte[] _resetHiddenQ;       // int8 GRU with linear_before_reset = 0: r ⊙ h, quantized like h

        // int8 form: dot product to float per weight row, zero points, hidden quantization.
        private readonly float[] _wRowScale = [], _rRowScale = [];
        private readonly int _xZero, _hZero;
        private readonly float _hScale, _hInverseScale;
        private readonly bool _ycQuantized;
        private readonly float _ycInverseScale;
        private readonly int _ycZero;

        private readonly QuantizationInfo? _h0Quant, _c0Quant; // int8 initial states
        private bool _needsInit = true;

        public RecurrentKernel(KernelSetup s, OpType op, bool quantized)
        {
            _op = op;
            _quantized = quantized;
            _name = $"{op}{(quantized ? "Int8" : "Float32")}_Reference";
            (_gates, _actsPerDirection) = Shape(op);
            int outputs = op == OpType.Lstm ? 3 : 2;
            s.ExpectCounts(3, 8, outputs);
            if (s.HasInput(InputSequenceLens)) throw s.Fail("the sequence_lens input is not supported (all sequences have the full length)");
            if (op != OpType.Lstm && (s.HasInput(InputInitialC) || s.HasInput(InputP))) throw s.Fail("only LSTM has initial_c and P inputs");

            var x = s.Input(InputX);
            var w = s.Input(InputW);
            var r = s.Input(InputR);
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
            _directions = direction == 2 ? 2 : 1;
            _reverseOnly = direction == 1;
            _layout = s.Attributes.GetInt(AttributeKey.Layout, 0);
            if (_layout is not (0 or 1)) throw s.Fail($"Layout {_layout} must be 0 or 1");
            if (x.Rank != 3) throw s.Fail($"X must have rank 3, has shape [{ShapeUtil.Format(x.Shape)}]");
            _steps = _layout == 0 ? x.Shape[0] : x.Shape[1];
            _batch = _layout == 0 ? x.Shape[1] : x.Shape[0];
            _inputSize = x.Shape[2];

            // Float weights keep the ONNX shape [D, G*H, I]; int8 weights are [D*G*H, I] with one scale per row.
            int rows;
            if (quantized)
            {
                if (w.Rank != 2 || r.Rank != 2) throw s.Fail($"int8 W and R must be [directions*gates*hidden, columns], are [{ShapeUtil.Format(w.Shape)}] and [{ShapeUtil.Format(r.Shape)}]");
                _hidden = r.Shape[1];
                rows = _directions * _gates * _hidden;
                if (w.Shape[0] != rows || w.Shape[1] != _inputSize || r.Shape[0] != rows)
                    throw s.Fail($"W [{ShapeUtil.Format(w.Shape)}] and R [{ShapeUtil.Format(r.Shape)}] do not match {_directions} direction(s), {_gates} gate(s), input size {_inputSize}");
            }
            else
            {
                if (w.Rank != 3 || r.Rank != 3) throw s.Fail($"W and R must have rank 3, are [{ShapeUtil.Format(w.Shape)}] and [{ShapeUtil.Format(r.Shape)}]");
                _hidden = r.Shape[2];
                rows = _directions * _gates * _hidden;
                if (w.Shape[0] != _directions || w.Shape[1] != _gates * _hidden || w.Shape[2] != _inputSize
                    || r.Shape[0] != _directions || r.Shape[1] != _gates * _hidden)
                    throw s.Fail($"W [{ShapeUtil.Format(w.Shape)}] and R [{ShapeUtil.Format(r.Shape)}] do not match {_directions} direction(s), {_gates} gate(s), input size {_inputSize}");
            }
            if (_hidden <= 0) throw s.Fail("hidden size must be positive");

            _x = s.InputId(InputX);
            _w = s.InputId(InputW);
            _r = s.InputId(InputR);
            _b = ConstantFloatInput(s, InputB, [_directions, 2 * _gates * _hidden], "B");
            _p = ConstantFloatInput(s, InputP, [_directions, 3 * _hidden], "P");
            int[] stateShape = _layout == 0 ? [_directions, _batch, _hidden] : [_batch, _directions, _hidden];
            _h0 = StateInput(s, InputInitialH, stateShape, "initial_h", quantized, out _h0Quant);
            _c0 = StateInput(s, InputInitialC, stateShape, "initial_c", quantized, out _c0Quant);

            int[] yShape = _layout == 0 ? [_steps, _directions, _batch, _hidden] : [_batch, _steps, _directions, _hidden];
            if (!y.Shape.AsSpan().SequenceEqual(yShape)) throw s.Fail($"Y has shape [{ShapeUtil.Format(y.Shape)}], expected [{ShapeUtil.Format(yShape)}]");
            if (!yh.Shape.AsSpan().SequenceEqual(stateShape)) throw s.Fail($"Y_h has shape [{ShapeUtil.Format(yh.Shape)}], expected [{ShapeUtil.Format(stateShape)}]");
            _y = s.OutputId(0);
            _yh = s.OutputId(1);
            _yc = -1;
            if (op == OpType.Lstm)
            {
                var yc = s.Output(2);
                if (!yc.Shape.AsSpan().SequenceEqual(stateShape)) throw s.Fail($"Y_c has shape [{ShapeUtil.Format(yc.Shape)}], expected [{ShapeUtil.Format(stateShape)}]");
                if (yc.Type == DataType.Int8 && quantized)
                {
                    var q = s.Quant(yc);
                    _ycQuantized = true;
                    _ycInverseScale = 1f / q.Scale;
                    _ycZero = q.ZeroPoint;
                }
                else s.ExpectType(yc, DataType.Float32);
                _yc = s.OutputId(2);
            }

            var act = s.Attributes.GetInts(AttributeKey.Activations);
            int actCount = _directions * _actsPerDirection;
            _act = new int[actCount];
            _alpha = new float[actCount];
            _beta = new float[actCount];
            if (act == null)
            {
                for (int d = 0; d < _directions; d++)
                {
                    // ONNX defaults: LSTM (Sigmoid, Tanh, Tanh), GRU (Sigmoid, Tanh), RNN (Tanh).
                    for (int k = 0; k < _actsPerDirection; k++)
                        _act[d * _actsPerDirection + k] = (int)(op != OpType.Rnn && k == 0 ? RecurrentActivation.Sigmoid : RecurrentActivation.Tanh);
                }
            }
            else
            {
                if (act.Length != actCount) throw s.Fail($"Activations has {act.Length} entries, expected {actCount} ({_actsPerDirection} per direction)");
                for (int i = 0; i < actCount; i++)
                {
                    if (!RecurrentMath.IsKnown(act[i])) throw s.Fail($"Activations[{i}] = {act[i]} is not a known activation");
                    _act[i] = act[i];
                }
                var alpha = s.Attributes.GetFloats(AttributeKey.ActivationAlpha);
                var beta = s.Attributes.GetFloats(AttributeKey.ActivationBeta);
                if (alpha != null && alpha.Length != actCount) throw s.Fail($"ActivationAlpha has {alpha.Length} entries, expected {actCount}");
                if (beta != null && beta.Length != actCount) throw s.Fail($"ActivationBeta has {beta.Length} entries, expected {actCount}");
                alpha?.CopyTo(_alpha, 0);
                beta?.CopyTo(_beta, 0);
            }
            _clip = s.Attributes.GetFloat(AttributeKey.Clip, float.PositiveInfinity);
            if (!(_clip > 0f)) throw s.Fail($"Clip {_clip} must be positive");
            _linearBeforeReset = s.Attributes.GetInt(AttributeKey.LinearBeforeReset, 0) != 0;
            _inputForget = s.Attributes.GetInt(AttributeKey.InputForget, 0) != 0;
            if (_linearBeforeReset && op != OpType.Gru) throw s.Fail("LinearBeforeReset applies to GRU only");
            if (_inputForget && op != OpType.Lstm) throw s.Fail("InputForget applies to LSTM only");

            _gx = new float[_gates * _hidden];
            _gr = new float[_gates * _hidden];
            _hPrev = new float[_hidden];
            _hState = new float[_directions * _batch * _hidden];
            _cState = new float[_directions * _batch * _hidden];
            _hStateQ = [];
            _resetHiddenQ = [];
            if (quantized)
            {
                var xq = s.Quant(x);
                var wq = s.Quant(w);
                var rq = s.Quant(r);
                var yq = s.Quant(y);
                var yhq = s.Quant(yh);
                if (xq.IsPerChannel || yq.IsPerChannel) throw s.Fail("X and Y must be quantized per tensor");
                if (yhq.Scale != yq.Scale || yhq.ZeroPoint != yq.ZeroPoint) throw s.Fail("Y_h must have the quantization of Y (both hold the hidden state)");
                _wRowScale = RowScales(s, wq, rows, xq.Scale, "W");
                _rRowScale = RowScales(s, rq, rows, yq.Scale, "R");
                _xZero = xq.ZeroPoint;
                _hZero = yq.ZeroPoint;
                _hScale = yq.Scale;
                _hInverseScale = 1f / yq.Scale;
                _hStateQ = new sbyte[_directions * _batch * _hidden];
                if (op == OpType.Gru && !_linearBeforeReset) _resetHiddenQ = new sbyte[_hidden];
            }
        }

        public override string Name => _name;

        public bool CarryState { get; set; }

        public void ResetState() => _needsInit = true;

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
        private int XOffset(int t, int b) => (_layout == 0 ? t * _batch + b : b * _steps + t) * _inputSize;
        private int YOffset(int t, int d, int b) => (_layout == 0 ? (t * _directions + d) * _batch + b : (b * _steps + t) * _directions + d) * _hidden;
        private int StateOffset(int d, int b) => (_layout == 0 ? d * _batch + b : b * _directions + d) * _hidden;

        public override void Run(TensorMemory memory)
        {
            if (!CarryState || _needsInit)
            {
                InitializeState(memory);
                _needsInit = false;
            }
            for (int d = 0; d < _directions; d++)
            {
                bool reverse = _reverseOnly || d == 1;
                for (int step = 0; step < _steps; step++)
                {
                    int t = reverse ? _steps - 1 - step : step;
                    for (int b = 0; b < _batch; b++) Cell(memory, d, t, b);
                }
            }
            WriteFinalState(memory);
        }

        private void InitializeState(TensorMemory memory)
        {
            var h0 = _h0 >= 0 && _h0Quant == null ? memory.Read<float>(_h0) : default;
            var c0 = _c0 >= 0 && _c0Quant == null ? memory.Read<float>(_c0) : default;
            var h0q = _h0Quant != null ? memory.Read<sbyte>(_h0) : default;
            var c0q = _c0Quant != null ? memory.Read<sbyte>(_c0) : default;
            for (int d = 0; d < _directions; d++)
            {
                for (int b = 0; b < _batch; b++)
                {
                    int state = (d * _batch + b) * _hidden, source = StateOffset(d, b);
                    for (int j = 0; j < _hidden; j++)
                    {
                        float h = _h0 < 0 ? 0f : _h0Quant != null ? _h0Quant.Scale * (h0q[source + j] - _h0Quant.ZeroPoint) : h0[source + j];
                        if (_quantized)
                        {
                            // The state is what the next step reads: the quantized value.
                            sbyte q = FixedPoint.QuantizeValue(h, _hInverseScale, _hZero);
                            _hStateQ[state + j] = q;
                            h = _hScale * (q - _hZero);
                        }
                        _hState[state + j] = h;
                        _cState[state + j] = _c0 < 0 ? 0f : _c0Quant != null ? _c0Quant.Scale * (c0q[source + j] - _c0Quant.ZeroPoint) : c0[source + j];
                    }
                }
            }
        }

        private void WriteFinalState(TensorMemory memory)
        {
            for (int d = 0; d < _directions; d++)
            {
                for (int b = 0; b < _batch; b++)
                {
                    int state = (d * _batch + b) * _hidden, target = StateOffset(d, b);
                    if (_quantized) _hStateQ.AsSpan(state, _hidden).CopyTo(memory.Write<sbyte>(_yh).Slice(target, _hidden));
                    else _hState.AsSpan(state, _hidden).CopyTo(memory.Write<float>(_yh).Slice(target, _hidden));
                    if (_yc < 0) continue;
                    if (_ycQuantized)
                    {
                        var yc = memory.Write<sbyte>(_yc);
                        for (int j = 0; j < _hidden; j++) yc[target + j] = FixedPoint.QuantizeValue(_cState[state + j], _ycInverseScale, _ycZero);
                    }
                    else _cState.AsSpan(state, _hidden).CopyTo(memory.Write<float>(_yc).Slice(target, _hidden));
                }
            }
        }

        /// <summary>gx = W·x + Wb over all gate rows of direction d.</summary>
        private void InputProducts(TensorMemory memory, int d, int t, int b)
        {
            int rows = _gates * _hidden, k = _inputSize;
            var bias = _b >= 0 ? memory.Read<float>(_b).Slice(d * 2 * rows, rows) : default;
            if (_quantized)
            {
                var x = memory.Read<sbyte>(_x).Slice(XOffset(t, b), k);
                var w = memory.Read<sbyte>(_w);
                int zx = _xZero;
                for (int row = 0; row < rows; row++)
                {
                    int global = d * rows + row;
                    var wr = w.Slice(global * k, k);
                    int acc = 0;
                    for (int i = 0; i < k; i++) acc += (x[i] - zx) * wr[i];
                    _gx[row] = acc * _wRowScale[global] + (_b >= 0 ? bias[row] : 0f);
                }
            }
            else
            {
                var x = memory.Read<float>(_x).Slice(XOffset(t, b), k);
                var w = memory.Read<float>(_w);
                for (int row = 0; row < rows; row++)
                {
                    var wr = w.Slice((d * rows + row) * k, k);
                    float acc = 0f;
                    for (int i = 0; i < k; i++) acc += x[i] * wr[i];
                    _gx[row] = acc + (_b >= 0 ? bias[row] : 0f);
                }
            }
        }

        /// <summary>gr[rows] = R·h + Rb for gate rows [first, first + count) of direction d, h the given hidden vector.</summary>
        private void RecurrentProducts(TensorMemory memory, int d, int first, int count, ReadOnlySpan<float> h, ReadOnlySpan<sbyte> hq)
        {
            int rows = _gates * _hidden, k = _hidden;
            var bias = _b >= 0 ? memory.Read<float>(_b).Slice(d * 2 * rows + rows, rows) : default;
            if (_quantized)
            {
                var r = memory.Read<sbyte>(_r);
                int zh = _hZero;
                for (int row = first; row < first + count; row++)
                {
                    int global = d * rows + row;
                    var rr = r.Slice(global * k, k);
                    int acc = 0;
                    for (int i = 0; i < k; i++) acc += (hq[i] - zh) * rr[i];
                    _gr[row] = acc * _rRowScale[global] + (_b >= 0 ? bias[row] : 0f);
                }
            }
            else
            {
                var r = memory.Read<float>(_r);
                for (int row = first; row < first + count; row++)
                {
                    var rr = r.Slice((d * rows + row) * k, k);
                    float acc = 0f;
                    for (int i = 0; i < k; i++) acc += h[i] * rr[i];
                    _gr[row] = acc + (_b >= 0 ? bias[row] : 0f);
                }
            }
        }

        private float Clip(float v) => v > _clip ? _clip : v < -_clip ? -_clip : v;

        private float Activate(int d, int k, float v)
        {
            int a = d * _actsPerDirection + k;
            return RecurrentMath.Apply(_act[a], _alpha[a], _beta[a], Clip(v));
        }

        private void Cell(TensorMemory memory, int d, int t, int b)
        {
            int n = _hidden, state = (d * _batch + b) * n;
            var hState = _hState.AsSpan(state, n);
            var hStateQ = _quantized ? _hStateQ.AsSpan(state, n) : default;
            var c = _cState.AsSpan(state, n);
            hState.CopyTo(_hPrev);
            var hPrev = _hPrev.AsSpan();

            InputProducts(memory, d, t, b);
            bool deferCandidate = _op == OpType.Gru && !_linearBeforeReset;
            RecurrentProducts(memory, d, 0, deferCandidate ? 2 * n : _gates * n, hPrev, hStateQ);

            switch (_op)
            {
                case OpType.Lstm:
                {
                    // Gate rows: i, o, f, c. Peepholes P: i, o, f.
                    var p = _p >= 0 ? memory.Read<float>(_p).Slice(d * 3 * n, 3 * n) : default;
                    bool peep = _p >= 0;
                    for (int j = 0; j < n; j++)
                    {
                        float cPrev = c[j];
                        float i = Activate(d, 0, _gx[j] + _gr[j] + (peep ? p[j] * cPrev : 0f));
                        float f = _inputForget ? 1f - i : Activate(d, 0, _gx[2 * n + j] + _gr[2 * n + j] + (peep ? p[2 * n + j] * cPrev : 0f));
                        float g = Activate(d, 1, _gx[3 * n + j] + _gr[3 * n + j]);
                        float cNew = f * cPrev + i * g;
                        float o = Activate(d, 0, _gx[n + j] + _gr[n + j] + (peep ? p[n + j] * cNew : 0f));
                        c[j] = cNew;
                        hState[j] = o * Activate(d, 2, cNew);
                    }
                    break;
                }
                case OpType.Gru:
                {
                    // Gate rows: z, r, h. _hState receives the update gate z first, then the new hidden state.
                    for (int j = 0; j < n; j++) hState[j] = Activate(d, 0, _gx[j] + _gr[j]);
                    if (_linearBeforeReset)
                    {
                        for (int j = 0; j < n; j++)
                        {
                            float r = Activate(d, 0, _gx[n + j] + _gr[n + j]);
                            float candidate = Activate(d, 1, _gx[2 * n + j] + r * _gr[2 * n + j]);
                            float z = hState[j];
                            hState[j] = (1f - z) * candidate + z * hPrev[j];
                        }
                    }
                    else
                    {
                        // (r ⊙ h)·Rh: r ⊙ h goes through the recurrent product like h (quantized with h's scale in int8).
                        var rh = _gx.AsSpan(0, n); // the z and r rows of gx are consumed: reuse them for r ⊙ h
                        for (int j = 0; j < n; j++) rh[j] = Activate(d, 0, _gx[n + j] + _gr[n + j]) * hPrev[j];
                        if (_quantized)
                            for (int j = 0; j < n; j++) _resetHiddenQ[j] = FixedPoint.QuantizeValue(rh[j], _hInverseScale, _hZero);
                        RecurrentProducts(memory, d, 2 * n, n, rh, _resetHiddenQ);
                        for (int j = 0; j < n; j++)
                        {
                            float candidate = Activate(d, 1, _gx[2 * n + j] + _gr[2 * n + j]);
                            float z = hState[j];
                            hState[j] = (1f - z) * candidate + z * hPrev[j];
                        }
                    }
                    break;
                }
                default:
                    for (int j = 0; j < n; j++) hState[j] = Activate(d, 0, _gx[j] + _gr[j]);
                    break;
            }

            int y = YOffset(t, d, b);
            if (_quantized)
            {
                var yq = memory.Write<sbyte>(_y).Slice(y, n);
                for (int j = 0; j < n; j++)
                {
                    sbyte q = FixedPoint.QuantizeValue(hState[j], _hInverseScale, _hZero);
                    hStateQ[j] = q;
                    yq[j] = q;
                    hState[j] = _hScale * (q - _hZero);
                }
            }
            else hState.CopyTo(memory.Write<float>(_y).Slice(y, n));
        }
    }
}
