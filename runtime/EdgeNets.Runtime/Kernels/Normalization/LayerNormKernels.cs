using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// LayerNormalization over the trailing axes from Axis: y = (x − mean) / √(var + ε) · Scale + B, per row of those axes
/// (docs/operators.md). Mean and variance are taken in double, in index order, so every CPU gives the same bytes. The
/// int8 form reads int8 X, computes the same in double on q − mean(q) (the zero point cancels) and requantizes once.
/// </summary>
public static class LayerNormKernels
{
    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry("LayerNormFloat32_Reference", OpType.LayerNorm, DataType.Float32, s => new LayerNormKernel(s, DataType.Float32)));
        list.Add(new KernelEntry("LayerNormInt8_Reference", OpType.LayerNorm, DataType.Int8, s => new LayerNormKernel(s, DataType.Int8)));
    }

    /// <summary>A LayerNorm node's checked parameters: rows of <see cref="Length"/> values, the affine step, ε, and the int8 scales.</summary>
    internal sealed class Parameters
    {
        public int Rows, Length, ZeroPoint, OutputZeroPoint;
        public double Epsilon, InputScale, OutputScale;
        public float[] Scale = [], Bias = [];

        public static Parameters Read(KernelSetup s, DataType type)
        {
            var p = new Parameters();
            s.ExpectCounts(2, 3, 1);
            var x = s.Input(0);
            var y = s.Output(0);
            s.ExpectType(x, type);
            s.ExpectType(y, type);
            int axis = s.SameShapeAlongAxis(x, y);
            p.Length = ShapeUtil.ElementCount(x.Shape.AsSpan(axis));
            if (p.Length == 0) throw s.Fail("the normalized axes are empty");
            p.Rows = ShapeUtil.ElementCount(x.Shape.AsSpan(0, axis));
            p.Scale = p.Parameter(s, 1, "Scale");
            p.Bias = s.HasInput(2) ? p.Parameter(s, 2, "B") : new float[p.Length];
            p.Epsilon = s.Attributes.GetFloat(AttributeKey.Alpha, 1e-5f);
            if (!(p.Epsilon >= 0) || double.IsInfinity(p.Epsilon)) throw s.Fail($"epsilon {p.Epsilon} must be finite and not negative");
            if (type == DataType.Int8)
            {
                var xq = s.Quant(x);
                var yq = s.Quant(y);
                if (xq.IsPerChannel || yq.IsPerChannel) throw s.Fail("int8 input and output must be quantized per tensor");
                (p.InputScale, p.ZeroPoint, p.OutputScale, p.OutputZeroPoint) = (xq.Scale, xq.ZeroPoint, yq.Scale, yq.ZeroPoint);
                if (!(p.InputScale > 0) || !(p.OutputScale > 0) || double.IsInfinity(p.InputScale) || double.IsInfinity(p.OutputScale))
                    throw s.Fail("quantization scales must be positive and finite");
                if (p.ZeroPoint is < -128 or > 127 || p.OutputZeroPoint is < -128 or > 127) throw s.Fail("zero points must be in [-128, 127]");
            }
            return p;
        }

        private float[] Parameter(KernelSetup s, int index, string role)
        {
            var t = s.Input(index);
            s.ExpectType(t, DataType.Float32);
            if (t.ElementCount != Length) throw s.Fail($"{role} '{t.Name}' has {t.ElementCount} values, the normalized axes {Length}");
            return s.ConstantInput<float>(index).ToArray();
        }

        /// <summary>The int8 output of one normalized value: rounded half away from zero, plus the zero point, clamped; NaN gives the zero point.</summary>
        public static sbyte Quantize(double normalized, double outputScale, int outputZeroPoint)
        {
            double value = Math.Round(normalized / outputScale, MidpointRounding.AwayFromZero) + outputZeroPoint;
            return double.IsNaN(value) ? (sbyte)outputZeroPoint : (sbyte)Math.Clamp(value, -128, 127);
        }
    }

    private sealed class LayerNormKernel : OpKernel
    {
        private readonly int _x, _y, _rows, _length, _outputZeroPoint;
        private readonly double _epsilon, _inputScale, _outputScale;
        private readonly float[] _scale, _bias;
        private readonly bool _int8;

        public LayerNormKernel(KernelSetup s, DataType type)
        {
            var p = Parameters.Read(s, type);
            (_rows, _length, _scale, _bias, _epsilon) = (p.Rows, p.Length, p.Scale, p.Bias, p.Epsilon);
            (_inputScale, _outputScale, _outputZeroPoint) = (p.InputScale, p.OutputScale, p.OutputZeroPoint);
            _int8 = type == DataType.Int8;
            _x = s.InputId(0);
            _y = s.OutputId(0);
            Name = $"LayerNorm{(_int8 ? "Int8" : "Float32")}_Reference";
        }

        public override string Name { get; }

        public override void Run(TensorMemory memory)
        {
            if (_int8) RunInt8(memory.Read<sbyte>(_x), memory.Write<sbyte>(_y));
            else RunFloat(memory.Read<float>(_x), memory.Write<float>(_y));
        }

        private void RunFloat(ReadOnlySpan<float> x, Span<float> y)
        {
            for (int r = 0; r < _rows; r++)
            {
                var row = x.Slice(r * _length, _length);
                double sum = 0;
                foreach (float v in row) sum += v;
                double mean = sum / _length, squares = 0;
                foreach (float v in row) squares += (v - mean) * (v - mean);
                double inverse = 1 / Math.Sqrt(squares / _length + _epsilon);
                var output = y.Slice(r * _length, _length);
                for (int i = 0; i < _length; i++) output[i] = (float)((row[i] - mean) * inverse * _scale[i] + _bias[i]);
            }
        }

        private void RunInt8(ReadOnlySpan<sbyte> x, Span<sbyte> y)
        {
            for (int r = 0; r < _rows; r++)
            {
                var row = x.Slice(r * _length, _length);
                long sum = 0;
                foreach (sbyte v in row) sum += v;
                double mean = (double)sum / _length, squares = 0;
                foreach (sbyte v in row) squares += (v - mean) * (v - mean);
                // x − mean(x) = s·(q − mean(q)): the zero point cancels and the scale moves under the root.
                double inverse = _inputScale / Math.Sqrt(_inputScale * _inputScale * squares / _length + _epsilon);
                var output = y.Slice(r * _length, _length);
                for (int i = 0; i < _length; i++) output[i] = Parameters.Quantize((row[i] - mean) * inverse * _scale[i] + _bias[i], _outputScale, _outputZeroPoint);
            }
        }
    }
}
