using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Converter.Quantization;

/// <summary>
/// Auto calibration of one tensor: the ranges of the other methods, each one's squared reconstruction error on the
/// calibration values (quantized with its scale and zero point as the runtime does, then dequantized), and the choice
/// of the least. Ties go to the earlier method of <see cref="CalibrationMethod"/> (minmax first).
/// </summary>
internal sealed class RangeCandidates
{
    private static readonly CalibrationMethod[] Methods = [CalibrationMethod.MinMax, CalibrationMethod.Percentile, CalibrationMethod.Entropy, CalibrationMethod.Mse];

    private readonly TensorStats _stats;
    private readonly (float Min, float Max)[] _ranges;
    private readonly float[] _scales;
    private readonly int[] _zeroPoints;
    private readonly double[] _errors;

    public RangeCandidates(TensorStats stats, CalibrationOptions options)
    {
        _stats = stats;
        _ranges = Methods.Select(m => stats.Range(new CalibrationOptions { Method = m, Percentile = options.Percentile })).ToArray();
        var quant = _ranges.Select(r => QuantParams.Asymmetric(r.Min, r.Max)).ToArray();
        _scales = quant.Select(q => q.Scale).ToArray();
        _zeroPoints = quant.Select(q => q.ZeroPoint).ToArray();
        _errors = new double[Methods.Length];
    }

    /// <summary>The squared error of each candidate on these values, added to its total.</summary>
    public void Add(ReadOnlySpan<float> values)
    {
        for (int m = 0; m < Methods.Length; m++)
        {
            float scale = _scales[m], inverse = 1f / scale;
            int zeroPoint = _zeroPoints[m];
            double sum = 0;
            foreach (float v in values)
            {
                double error = v - (double)scale * (FixedPoint.QuantizeValue(v, inverse, zeroPoint) - zeroPoint);
                sum += error * error;
            }
            _errors[m] += sum;
        }
    }

    /// <summary>The squared error of each method's range so far, in the order minmax, percentile, entropy, mse.</summary>
    public IReadOnlyList<double> Errors => _errors;

    /// <summary>Records the method with the least error, and its range, on the tensor's statistics.</summary>
    public void Choose()
    {
        int best = 0;
        for (int m = 1; m < Methods.Length; m++) if (_errors[m] < _errors[best]) best = m;
        _stats.Chosen = (Methods[best], _ranges[best].Min, _ranges[best].Max);
    }
}
