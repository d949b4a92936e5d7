using EdgeNets.Runtime.IO;

namespace EdgeNets.Converter.Quantization;

/// <summary>
/// The calibration samples, read one at a time: the calibrator never holds more than the sample it runs, so a set of
/// any size streams through (<see cref="FromNpy"/> reads each sample from the file when it is needed).
/// </summary>
public abstract class CalibrationData
{
    /// <summary>Number of samples.</summary>
    public abstract int Count { get; }

    /// <summary>
    /// Sample <paramref name="sample"/>: one array of values per graph input. The arrays may be reused by the next call;
    /// the caller reads them before asking for another sample.
    /// </summary>
    public abstract IReadOnlyList<float[]> Read(int sample);

    /// <summary>Samples already in memory: per sample, one float array per graph input.</summary>
    public static CalibrationData FromSamples(IReadOnlyList<float[][]> samples) => new InMemory(samples);

    /// <summary>A single-input model's samples stacked on the first axis of a .npy file, read one at a time.</summary>
    public static CalibrationData FromNpy(NpySampleReader reader) => new NpyStream(reader);

    private sealed class InMemory(IReadOnlyList<float[][]> samples) : CalibrationData
    {
        public override int Count => samples.Count;
        public override IReadOnlyList<float[]> Read(int sample) => samples[sample];
    }

    private sealed class NpyStream : CalibrationData
    {
        private readonly NpySampleReader _reader;
        private readonly float[][] _sample;

        public NpyStream(NpySampleReader reader)
        {
            _reader = reader;
            _sample = [new float[reader.SampleSize]];
        }

        public override int Count => _reader.SampleCount;

        public override IReadOnlyList<float[]> Read(int sample)
        {
            _reader.Read(sample, _sample[0]);
            return _sample;
        }
    }
}
