namespace EdgeNets.Cli.Report;

/// <summary>
/// One tensor of the converted model against the same tensor of the float model, over every sample compared:
/// signal-to-quantization-noise ratio 10·log10(Σ f² / Σ (f - q)²) and cosine similarity Σ f·q / (‖f‖ ‖q‖).
/// </summary>
internal sealed class LayerComparison
{
    private double _signal, _noise, _dot, _oursSquares;

    public void Add(ReadOnlySpan<float> reference, ReadOnlySpan<float> ours)
    {
        for (int i = 0; i < reference.Length; i++)
        {
            double f = reference[i], q = ours[i];
            _signal += f * f;
            _noise += (f - q) * (f - q);
            _dot += f * q;
            _oursSquares += q * q;
        }
    }

    /// <summary>Decibels; +∞ when the two agree exactly.</summary>
    public double SqnrDb => _noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(_signal / _noise);

    /// <summary>1 when both are all zeros (they agree), 0 when only one is.</summary>
    public double Cosine
    {
        get
        {
            if (_signal == 0 && _oursSquares == 0) return 1;
            if (_signal == 0 || _oursSquares == 0) return 0;
            return _dot / (Math.Sqrt(_signal) * Math.Sqrt(_oursSquares));
        }
    }
}
