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
        private readonly RecurrentLayer _layer;
        private readonly OpType _op;
        private readonly bool _quantized;
        private readonly string _name;
        private readonly int _x, _w, _r, _b, _p, _y;
        private readonly int _steps, _batch, _inputSize, _hidden, _directions, _gates;
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
        private readonly float[] _wRowScale, _rRowScale;
        private readonly int _xZero, _hZero;
        private readonly float _hScale, _hInverseScale;

        private bool _needsInit = true;

        public RecurrentKernel(KernelSetup s, OpType op, bool quantized)
        {
            var layer = _layer = new RecurrentLayer(s, op, quantized);
            _op = op;
            _quantized = quantized;
            _name = $"{op}{(quantized ? "Int8" : "Float32")}_Reference";
            (_x, _w, _r, _b, _p, _y) = (layer.X, layer.W, layer.R, layer.B, layer.P, layer.Y);
            (_steps, _batch, _inputSize, _hidden, _directions, _gates) = (layer.Steps, layer.Batch, layer.InputSize, layer.Hidden, layer.Directions, layer.Gates);
            _reverseOnly = layer.ReverseOnly;
            (_act, _alpha, _beta, _actsPerDirection) = (layer.Activations, layer.Alpha, layer.Beta, layer.ActivationsPerDirection);
            (_clip, _linearBeforeReset, _inputForget) = (layer.Clip, layer.LinearBeforeReset, layer.InputForget);
            (_wRowScale, _rRowScale, _xZero, _hZero, _hScale, _hInverseScale) = (layer.WRowScale, layer.RRowScale, layer.XZero, layer.HZero, layer.HScale, layer.HInverseScale);

            _gx = new float[_gates * _hidden];
            _gr = new float[_gates * _hidden];
            _hPrev = new float[_hidden];
            _hState = new float[_directions * _batch * _hidden];
            _cState = new float[_directions * _batch * _hidden];
            _hStateQ = [];
            _resetHiddenQ = [];
            if (quantized)
            {
                _hStateQ = new sbyte[_directions * _batch * _hidden];
                if (op == OpType.Gru && !_linearBeforeReset) _resetHiddenQ = new sbyte[_hidden];
            }
        }

        public override string Name => _name;

        public bool CarryState { get; set; }

        public void ResetState() => _needsInit = true;

        private int XOffset(int t, int b) => _layer.XOffset(t, b);
        private int YOffset(int t, int d, int b) => _layer.YOffset(t, d, b);

        public override void Run(TensorMemory memory)
        {
            if (!CarryState || _needsInit)
            {
                _layer.InitializeState(memory, _hState, _hStateQ, _cState, _hidden);
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
            _layer.WriteFinalState(memory, _hState, _hStateQ, _cState, _hidden);
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
