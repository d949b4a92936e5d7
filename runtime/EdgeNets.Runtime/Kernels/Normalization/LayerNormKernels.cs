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

    private sealed class LayerNormKernel : OpKernel
    {
        private readonly int _x, _y, _rows, _length, _zeroPoint, _outputZeroPoint;
        private readonly double _epsilon, _inputScale, _outputScale;
        private readonly float[] _scale, _bias;
        private readonly bool _int8;

        public LayerNormKernel(KernelSetup s, DataType type)
        {
            s.ExpectCounts(2, 3, 1);
            var x = s.Input(0);
            var y = s.Output(0);
            s.ExpectType(x, type);
            s.ExpectType(y, type);
            int axis = s.SameShapeAlongAxis(x, y);
            _length = ShapeUtil.ElementCount(x.Shape.AsSpan(axis));
            if (_length == 0) throw s.Fail("the normalized axes are empty");
            _rows = ShapeUtil.ElementCount(x.Shape.AsSpan(0, axis));
            _scale = Parameter(s, 1, "Scale");
            _bias = s.HasInput(2) ? Parameter(s, 2, "B") : new float[_length];
            _epsilon = s.Attributes.GetFloat(AttributeKey.Alpha, 1e-5f);
            if (!(_epsilon >= 0) || double.IsInfinity(_epsilon)) throw s.Fail($"epsilon {_epsilon} must be finite and not negative");
            _int8 = type == DataType.Int8;
            if (_int8)
            {
                var xq = s.Quant(x);
                var yq = s.Quant(y);
                if (xq.IsPerChannel || yq.IsPerChannel) throw s.Fail("int8 input and output must be quantized per tensor");
                (_inputScale, _zeroPoint, _outputScale, _outputZeroPoint) = (xq.Scale, xq.ZeroPoint, yq.Scale, yq.ZeroPoint);
                if (!(_inputScale > 0) || !(_outputScale > 0) || double.IsInfinity(_inputScale) || double.IsInfinity(_outputScale))
                    throw s.Fail("quantization scales must be positive and finite");
                if (_zeroPoint is < -128 or > 127 || _outputZeroPoint is < -128 or > 127) throw s.Fail("zero points must be in [-128, 127]");
            }
            _x = s.InputId(0);
            _y = s.OutputId(0);
            Name = $"LayerNorm{(_int8 ? "Int8" : "Float32")}_Reference";
        }

        private float[] Parameter(KernelSetup s, int index, string role)
        {
            var t = s.Input(index);
            s.ExpectType(t, DataType.Float32);
            if (t.ElementCount != _length) throw s.Fail($"{role} '{t.Name}' has {t.ElementCount} values, the normalized axes {_length}");
            return s.ConstantInput<float>(index).ToArray();
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
                for (int i = 0; i < _length; i++)
                {
                    double value = Math.Round(((row[i] - mean) * inverse * _scale[i] + _bias[i]) / _outputScale, MidpointRounding.AwayFromZero) + _outputZeroPoint;
                    output[i] = double.IsNaN(value) ? (sbyte)_outputZeroPoint : (sbyte)Math.Clamp(value, -128, 127);
                }
            }
        }
    }
}
