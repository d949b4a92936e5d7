using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>Softmax along one axis (opset-13 semantics), float32 and int8 (docs/operators.md).</summary>
public static class SoftmaxKernels
{
    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry("SoftmaxFloat32_Reference", OpType.Softmax, DataType.Float32, s => new SoftmaxFloat32Kernel(s)));
        list.Add(new KernelEntry("SoftmaxInt8_Reference", OpType.Softmax, DataType.Int8, s => new SoftmaxInt8Kernel(s)));
    }

    /// <summary>Splits X into slices along the axis: outer × (axis length, stride inner) × inner.</summary>
    internal readonly record struct Slices(int Outer, int Length, int Inner)
    {
        public static Slices Of(KernelSetup s, TensorInfo x, TensorInfo y)
        {
            int axis = s.SameShapeAlongAxis(x, y);
            int outer = 1, inner = 1;
            for (int d = 0; d < axis; d++) outer *= x.Shape[d];
            for (int d = axis + 1; d < x.Rank; d++) inner *= x.Shape[d];
            return new Slices(outer, x.Shape[axis], inner);
        }
    }

    /// <summary>An int8 Softmax node's checks: int8 X and Y, a constant ExpTable of 256 floats, a positive output scale.</summary>
    internal static (Slices Slices, float OutputScale, int OutputZeroPoint) CheckInt8(KernelSetup s)
    {
        s.ExpectCounts(2, 2, 1);
        var x = s.Input(0);
        var table = s.Input(1);
        var y = s.Output(0);
        s.ExpectType(x, DataType.Int8);
        s.ExpectType(table, DataType.Float32);
        s.ExpectType(y, DataType.Int8);
        if (!table.IsConstant || table.ElementCount != 256)
            throw s.Fail($"ExpTable '{table.Name}' must be a constant of 256 floats");
        var slices = Slices.Of(s, x, y);
        var quant = ElementwiseKernels.PerTensorQuant(s, y);
        if (!(quant.Scale > 0)) throw s.Fail($"output scale {quant.Scale} must be positive");
        return (slices, quant.Scale, quant.ZeroPoint);
    }

    private sealed class SoftmaxFloat32Kernel : OpKernel
    {
        private readonly int _input, _output;
        private readonly Slices _slices;

        public SoftmaxFloat32Kernel(KernelSetup s)
        {
            s.ExpectCounts(1, 1, 1);
            var x = s.Input(0);
            var y = s.Output(0);
            s.ExpectType(x, DataType.Float32);
            s.ExpectType(y, DataType.Float32);
            _slices = Slices.Of(s, x, y);
            _input = s.InputId(0);
            _output = s.OutputId(0);
        }

        public override string Name => "SoftmaxFloat32_Reference";

        public override void Run(TensorMemory memory)
        {
            var x = memory.Read<float>(_input);
            var y = memory.Write<float>(_output);
            int length = _slices.Length, inner = _slices.Inner;
            for (int o = 0; o < _slices.Outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int start = o * length * inner + i;
                    // Subtracting the maximum keeps exp() finite for large inputs without changing the result.
                    float max = float.NegativeInfinity;
                    for (int k = 0; k < length; k++) max = Math.Max(max, x[start + k * inner]);
                    float sum = 0;
                    for (int k = 0; k < length; k++)
                    {
                        float e = MathF.Exp(x[start + k * inner] - max);
                        y[start + k * inner] = e;
                        sum += e;
                    }
                    float inverse = 1f / sum;
                    for (int k = 0; k < length; k++) y[start + k * inner] *= inverse;
                }
        }
    }

    /// <summary>
    /// int8 Softmax: the weight of each code is ExpTable[max - q] = exp(-(max - q) · sx), normalised by the float sum
    /// and quantized to the output (scale 1/256, zero point -128).
    /// </summary>
    private sealed class SoftmaxInt8Kernel : OpKernel
    {
        private readonly int _input, _table, _output;
        private readonly Slices _slices;
        private readonly float _outputScale;
        private readonly int _outputZeroPoint;

        public SoftmaxInt8Kernel(KernelSetup s)
        {
            (_slices, _outputScale, _outputZeroPoint) = CheckInt8(s);
            _input = s.InputId(0);
            _table = s.InputId(1);
            _output = s.OutputId(0);
        }

        public override string Name => "SoftmaxInt8_Reference";

        public override void Run(TensorMemory memory)
        {
            var x = memory.Read<sbyte>(_input);
            var table = memory.Read<float>(_table);
            var y = memory.Write<sbyte>(_output);
            int length = _slices.Length, inner = _slices.Inner;
            float sy = _outputScale;
            int zy = _outputZeroPoint;
            for (int o = 0; o < _slices.Outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int start = o * length * inner + i;
                    int max = -128;
                    for (int k = 0; k < length; k++) max = Math.Max(max, x[start + k * inner]);
                    float sum = 0;
                    for (int k = 0; k < length; k++) sum += table[max - x[start + k * inner]];
                    for (int k = 0; k < length; k++)
                    {
                        float v = MathF.Round(table[max - x[start + k * inner]] / sum / sy, MidpointRounding.AwayFromZero) + zy;
                        y[start + k * inner] = (sbyte)Math.Clamp(v, -128f, 127f);
                    }
                }
        }
    }
}
