using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Int16;

/// <summary>
/// Where int16 layers meet the others: Quantize float32 to int16 (after a float32 layer or a float graph input), and
/// Requantize int8 to int16 and back (next to int8 layers). Dequantize of int16 is <see cref="ConversionKernels"/>' one.
/// </summary>
internal static class Int16ConversionKernels
{
    public const string QuantizeName = "QuantizeInt16_Reference";
    public const string RequantizeInt16Name = "RequantizeInt16_Reference";
    public const string RequantizeInt8Name = "RequantizeInt8_Reference";

    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry(QuantizeName, OpType.Quantize, DataType.Int16, s => new QuantizeInt16Kernel(s)));
        list.Add(new KernelEntry(RequantizeInt16Name, OpType.Requantize, DataType.Int16, s => new RequantizeKernel(s, DataType.Int8, DataType.Int16)));
        list.Add(new KernelEntry(RequantizeInt8Name, OpType.Requantize, DataType.Int8, s => new RequantizeKernel(s, DataType.Int16, DataType.Int8)));
    }

    /// <summary><see cref="FixedPoint.QuantizeInt16"/> of every value.</summary>
    private sealed class QuantizeInt16Kernel : OpKernel
    {
        private readonly int _input, _output;
        private readonly float _inverseScale;

        public QuantizeInt16Kernel(KernelSetup s)
        {
            var q = ConversionKernels.Prepare(s, DataType.Float32, DataType.Int16, s.Output(0));
            Int16Requantization.ExpectSymmetric(s, s.Output(0));
            _inverseScale = 1f / q.Scale;
            _input = s.InputId(0);
            _output = s.OutputId(0);
        }

        public override string Name => QuantizeName;

        public override void Run(TensorMemory memory)
        {
            var x = memory.Read<float>(_input);
            var y = memory.Write<short>(_output);
            for (int i = 0; i < x.Length; i++) y[i] = FixedPoint.QuantizeInt16(x[i], _inverseScale);
        }
    }

    /// <summary>
    /// y = clamp(MultiplyByQuantizedMultiplier(x − zx, multiplier, shift) + zy) to the output type, one (multiplier,
    /// shift) pair for the tensor. The shift is bounded so that (x − zx)·2^shift never leaves int32.
    /// </summary>
    private sealed class RequantizeKernel : OpKernel
    {
        private readonly int _input, _output, _inputZeroPoint, _outputZeroPoint, _multiplier, _shift, _min, _max;
        private readonly bool _toInt16;

        public RequantizeKernel(KernelSetup s, DataType from, DataType to)
        {
            var xq = ConversionKernels.Prepare(s, from, to, s.Input(0));
            var yq = ConversionKernels.Prepare(s, from, to, s.Output(0));
            _toInt16 = to == DataType.Int16;
            if (_toInt16) Int16Requantization.ExpectSymmetric(s, s.Output(0));
            else Int16Requantization.ExpectSymmetric(s, s.Input(0));
            _inputZeroPoint = xq.ZeroPoint;
            _outputZeroPoint = yq.ZeroPoint;
            var (multipliers, shifts) = ConvKernels.ReadRequantization(s, 1);
            _multiplier = multipliers[0];
            _shift = shifts[0];
            long largest = _toInt16 ? sbyte.MaxValue - (long)sbyte.MinValue : -(long)short.MinValue;
            if (_shift > 0 && largest << _shift > int.MaxValue)
                throw s.Fail($"OutputShift = {_shift} overflows int32 for {from} inputs");
            (_min, _max) = _toInt16 ? (short.MinValue, short.MaxValue) : (sbyte.MinValue, sbyte.MaxValue);
            _input = s.InputId(0);
            _output = s.OutputId(0);
        }

        public override string Name => _toInt16 ? RequantizeInt16Name : RequantizeInt8Name;

        public override void Run(TensorMemory memory)
        {
            if (_toInt16)
            {
                var x = memory.Read<sbyte>(_input);
                var y = memory.Write<short>(_output);
                for (int i = 0; i < x.Length; i++) y[i] = (short)Rescale(x[i]);
            }
            else
            {
                var x = memory.Read<short>(_input);
                var y = memory.Write<sbyte>(_output);
                for (int i = 0; i < x.Length; i++) y[i] = (sbyte)Rescale(x[i]);
            }
        }

        private int Rescale(int x) =>
            Math.Clamp(FixedPoint.MultiplyByQuantizedMultiplier(x - _inputZeroPoint, _multiplier, _shift) + _outputZeroPoint, _min, _max);
    }
}
