using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Quantization;

/// <summary>Error of one tensor of a converted model against the float reference, over all inputs compared.</summary>
public sealed record LayerError(string TensorName, string OpName, OpType? FloatOpType, double SqnrDb, double MaxAbsError);

/// <summary>
/// Compares every activation of a float model with the same-named activation of its int8 conversion:
/// signal-to-quantization-noise ratio 10·log10(Σ f² / Σ (f - dequantized)²) per tensor, in execution order.
/// </summary>
public static class PerLayerError
{
    /// <summary>Single-input models: one float array per sample.</summary>
    public static IReadOnlyList<LayerError> Compute(Model floatModel, Model quantizedModel, IReadOnlyList<float[]> samples) =>
        Compute(floatModel, quantizedModel, samples.Select(s => new[] { s }).ToArray());

    public static IReadOnlyList<LayerError> Compute(Model floatModel, Model quantizedModel, IReadOnlyList<float[][]> samples)
    {
        ArgumentNullException.ThrowIfNull(floatModel);
        ArgumentNullException.ThrowIfNull(quantizedModel);
        ArgumentNullException.ThrowIfNull(samples);
        var fg = floatModel.Graph;
        var qg = quantizedModel.Graph;

        // Graph inputs first, then each op's outputs in execution order; only tensors both models have.
        var rows = new List<(int F, int Q, string Op, OpType? Type)>();
        void Consider(int f, string opName, OpType? type)
        {
            var ft = fg.Tensors[f];
            int q = qg.FindTensor(ft.Name);
            if (q < 0 || qg.Tensors[q].IsConstant || qg.Tensors[q].ElementCount != ft.ElementCount) return;
            if (rows.Any(r => r.F == f)) return;
            rows.Add((f, q, opName, type));
        }
        foreach (int f in fg.Inputs) Consider(f, "(input)", null);
        foreach (var op in fg.Ops) foreach (int f in op.Outputs) Consider(f, op.Name, op.Type);

        var signal = new double[rows.Count];
        var noise = new double[rows.Count];
        var maxAbs = new double[rows.Count];
        using var fs = floatModel.CreateSession(new SessionOptions { KeepAllActivations = true });
        using var qs = quantizedModel.CreateSession(new SessionOptions { KeepAllActivations = true });
        var fBuffer = new float[rows.Count == 0 ? 0 : rows.Max(r => fg.Tensors[r.F].ElementCount)];
        var qBuffer = new float[fBuffer.Length];
        foreach (var sample in samples)
        {
            if (sample.Length != fg.Inputs.Count || sample.Length != qg.Inputs.Count)
                throw new ConversionException($"a sample has {sample.Length} inputs; the models have {fg.Inputs.Count} and {qg.Inputs.Count}");
            for (int i = 0; i < sample.Length; i++)
            {
                fs.SetInput(i, sample[i]);
                qs.SetInput(i, sample[i]);
            }
            fs.Invoke();
            qs.Invoke();
            for (int r = 0; r < rows.Count; r++)
            {
                int n = fg.Tensors[rows[r].F].ElementCount;
                var f = fBuffer.AsSpan(0, n);
                var q = qBuffer.AsSpan(0, n);
                fs.ReadTensorAsFloat(rows[r].F, f);
                qs.ReadTensorAsFloat(rows[r].Q, q);
                for (int i = 0; i < n; i++)
                {
                    double d = (double)f[i] - q[i];
                    signal[r] += (double)f[i] * f[i];
                    noise[r] += d * d;
                    maxAbs[r] = Math.Max(maxAbs[r], Math.Abs(d));
                }
            }
        }

        var result = new LayerError[rows.Count];
        for (int r = 0; r < rows.Count; r++)
            result[r] = new LayerError(fg.Tensors[rows[r].F].Name, rows[r].Op, rows[r].Type, Sqnr(signal[r], noise[r]), maxAbs[r]);
        return result;
    }

    /// <summary>SQNR in dB; +infinity when there is no noise at all.</summary>
    public static double Sqnr(double signalEnergy, double noiseEnergy) =>
        noiseEnergy == 0 ? double.PositiveInfinity : 10 * Math.Log10(signalEnergy / noiseEnergy);
}
