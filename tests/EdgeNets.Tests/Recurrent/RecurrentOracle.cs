using EdgeNets.Runtime.Graph;

namespace EdgeNets.Tests.Recurrent;

/// <summary>One recurrent layer to test: operator, attributes and float data in ONNX shapes.</summary>
public sealed class RecurrentCase
{
    public OpType Op;
    public int Steps, Batch, InputSize, Hidden;
    public int Direction;               // 0 forward, 1 reverse, 2 bidirectional
    public int Layout;
    public bool LinearBeforeReset, InputForget;
    public float? Clip;
    public RecurrentActivation[]? Activations; // per direction, ONNX order (null: defaults)
    public float[]? Alpha, Beta;
    public float[] X = [], W = [], R = [];
    public float[]? B, P, InitialH, InitialC;

    public int Directions => Direction == 2 ? 2 : 1;
    public int Gates => Op == OpType.Lstm ? 4 : Op == OpType.Gru ? 3 : 1;
    public int ActivationsPerDirection => Op == OpType.Lstm ? 3 : Op == OpType.Gru ? 2 : 1;
    public int[] XShape => Layout == 0 ? [Steps, Batch, InputSize] : [Batch, Steps, InputSize];
    public int[] YShape => Layout == 0 ? [Steps, Directions, Batch, Hidden] : [Batch, Steps, Directions, Hidden];
    public int[] StateShape => Layout == 0 ? [Directions, Batch, Hidden] : [Batch, Directions, Hidden];
}

/// <summary>
/// The ONNX LSTM/GRU/RNN equations written out literally in double precision (Math.Exp, Math.Tanh), the oracle of
/// the recurrent kernels. With <c>hiddenQuantization</c> it also rounds h to the int8 grid after every step, the one
/// rounding the int8 scheme adds to the recurrence (x and the weights are passed already dequantized).
/// </summary>
public static class RecurrentOracle
{
    public static (double[] Y, double[] Yh, double[] Yc) Run(RecurrentCase c, (double Scale, int Zero)? hiddenQuantization = null)
    {
        int T = c.Steps, Bn = c.Batch, I = c.InputSize, H = c.Hidden, D = c.Directions, G = c.Gates;
        var y = new double[T * D * Bn * H];
        var yh = new double[D * Bn * H];
        var yc = new double[D * Bn * H];
        int XIndex(int t, int b, int i) => c.Layout == 0 ? (t * Bn + b) * I + i : (b * T + t) * I + i;
        int YIndex(int t, int d, int b, int j) => c.Layout == 0 ? ((t * D + d) * Bn + b) * H + j : ((b * T + t) * D + d) * H + j;
        int SIndex(int d, int b, int j) => c.Layout == 0 ? (d * Bn + b) * H + j : (b * D + d) * H + j;

        for (int d = 0; d < D; d++)
        {
            double F(int k, double v)
            {
                if (c.Clip is float clip) v = Math.Clamp(v, -clip, clip);
                int a = d * c.ActivationsPerDirection + k;
                var f = c.Activations?[a] ?? (c.Op != OpType.Rnn && k == 0 ? RecurrentActivation.Sigmoid : RecurrentActivation.Tanh);
                double alpha = c.Alpha?[a] ?? 0, beta = c.Beta?[a] ?? 0;
                return f switch
                {
                    RecurrentActivation.Sigmoid => 1 / (1 + Math.Exp(-v)),
                    RecurrentActivation.Tanh => Math.Tanh(v),
                    RecurrentActivation.Relu => Math.Max(0, v),
                    RecurrentActivation.Affine => alpha * v + beta,
                    RecurrentActivation.LeakyRelu => v >= 0 ? v : alpha * v,
                    RecurrentActivation.ThresholdedRelu => v > alpha ? v : 0,
                    RecurrentActivation.ScaledTanh => alpha * Math.Tanh(beta * v),
                    RecurrentActivation.HardSigmoid => Math.Clamp(alpha * v + beta, 0, 1),
                    RecurrentActivation.Elu => v >= 0 ? v : alpha * (Math.Exp(v) - 1),
                    RecurrentActivation.Softsign => v / (1 + Math.Abs(v)),
                    RecurrentActivation.Softplus => Math.Log(1 + Math.Exp(v)),
                    _ => throw new ArgumentException(f.ToString()),
                };
            }
            double Wx(int gate, int j, int t, int b)
            {
                int row = gate * H + j;
                double s = c.B == null ? 0 : c.B[d * 2 * G * H + row];
                for (int i = 0; i < I; i++) s += (double)c.W[(d * G * H + row) * I + i] * c.X[XIndex(t, b, i)];
                return s;
            }
            double Rh(int gate, int j, double[] h)
            {
                int row = gate * H + j;
                double s = c.B == null ? 0 : c.B[d * 2 * G * H + G * H + row];
                for (int i = 0; i < H; i++) s += (double)c.R[(d * G * H + row) * H + i] * h[i];
                return s;
            }
            double Quantized(double v)
            {
                if (hiddenQuantization is not var (scale, zero)) return v;
                double q = Math.Clamp(Math.Round(v / scale, MidpointRounding.AwayFromZero) + zero, -128, 127);
                return scale * (q - zero);
            }

            for (int b = 0; b < Bn; b++)
            {
                var h = new double[H];
                var cell = new double[H];
                for (int j = 0; j < H; j++)
                {
                    h[j] = Quantized(c.InitialH?[SIndex(d, b, j)] ?? 0);
                    cell[j] = c.InitialC?[SIndex(d, b, j)] ?? 0;
                }
                for (int step = 0; step < T; step++)
                {
                    int t = c.Direction == 1 || d == 1 ? T - 1 - step : step;
                    var hNew = new double[H];
                    var cNew = new double[H];
                    if (c.Op == OpType.Lstm)
                    {
                        double P(int gate, int j) => c.P == null ? 0 : c.P[d * 3 * H + gate * H + j];
                        for (int j = 0; j < H; j++)
                        {
                            double it = F(0, Wx(0, j, t, b) + Rh(0, j, h) + P(0, j) * cell[j]);
                            double ft = c.InputForget ? 1 - it : F(0, Wx(2, j, t, b) + Rh(2, j, h) + P(2, j) * cell[j]);
                            double ct = F(1, Wx(3, j, t, b) + Rh(3, j, h));
                            cNew[j] = ft * cell[j] + it * ct;
                            double ot = F(0, Wx(1, j, t, b) + Rh(1, j, h) + P(1, j) * cNew[j]);
                            hNew[j] = ot * F(2, cNew[j]);
                        }
                    }
                    else if (c.Op == OpType.Gru)
                    {
                        var r = new double[H];
                        for (int j = 0; j < H; j++) r[j] = F(0, Wx(1, j, t, b) + Rh(1, j, h));
                        var rh = new double[H];
                        for (int j = 0; j < H; j++) rh[j] = Quantized(r[j] * h[j]);
                        for (int j = 0; j < H; j++)
                        {
                            double z = F(0, Wx(0, j, t, b) + Rh(0, j, h));
                            double candidate = c.LinearBeforeReset
                                ? F(1, Wx(2, j, t, b) + r[j] * Rh(2, j, h))
                                : F(1, Wx(2, j, t, b) + Rh(2, j, rh));
                            hNew[j] = (1 - z) * candidate + z * h[j];
                        }
                    }
                    else
                    {
                        for (int j = 0; j < H; j++) hNew[j] = F(0, Wx(0, j, t, b) + Rh(0, j, h));
                    }
                    for (int j = 0; j < H; j++)
                    {
                        h[j] = Quantized(hNew[j]);
                        if (c.Op == OpType.Lstm) cell[j] = cNew[j];
                        y[YIndex(t, d, b, j)] = h[j];
                    }
                }
                for (int j = 0; j < H; j++)
                {
                    yh[SIndex(d, b, j)] = h[j];
                    yc[SIndex(d, b, j)] = cell[j];
                }
            }
        }
        return (y, yh, yc);
    }
}
