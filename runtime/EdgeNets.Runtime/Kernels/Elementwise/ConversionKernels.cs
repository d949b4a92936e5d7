using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Optimized;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// Quantize (float32 to int8) and Dequantize (int8 or int16 to float32) between int8 or int16 layers and layers kept in float32: the same
/// conversions <see cref="Session.SetInput"/> and <see cref="Session.GetOutput"/> apply at the model's boundaries.
/// </summary>
public static class ConversionKernels
{
    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry("QuantizeInt8_Reference", OpType.Quantize, DataType.Int8, s => new QuantizeKernel(s)));
        list.Add(new KernelEntry("DequantizeFloat32_Reference", OpType.Dequantize, DataType.Float32, s => new DequantizeKernel(s)));
    }

    /// <summary>The per-tensor quantization of the int8 side, checked with the shapes.</summary>
    internal static QuantizationInfo Prepare(KernelSetup s, DataType from, DataType to, TensorInfo quantized)
    {
        s.ExpectCounts(1, 1, 1);
        s.ExpectType(s.Input(0), from);
        s.ExpectType(s.Output(0), to);
        if (!ShapeUtil.SameShape(s.Input(0).Shape, s.Output(0).Shape))
            throw s.Fail($"input [{ShapeUtil.Format(s.Input(0).Shape)}] and output [{ShapeUtil.Format(s.Output(0).Shape)}] differ");
        var q = s.Quant(quantized);
        if (q.IsPerChannel) throw s.Fail($"tensor '{quantized.Name}' must be quantized per tensor");
        return q;
    }

    /// <summary>FixedPoint.QuantizeValue of every value (through its vector form, as graph inputs are).</summary>
    private sealed class QuantizeKernel : OpKernel
    {
        private readonly int _input, _output;
        private readonly float _inverseScale;
        private readonly int _zeroPoint;

        public QuantizeKernel(KernelSetup s)
        {
            var q = Prepare(s, DataType.Float32, DataType.Int8, s.Output(0));
            _inverseScale = 1f / q.Scale;
            _zeroPoint = q.ZeroPoint;
            _input = s.InputId(0);
            _output = s.OutputId(0);
        }

        public override string Name => "QuantizeInt8_Reference";

        public override void Run(TensorMemory memory) =>
            QuantizeVector.Quantize(memory.Read<float>(_input), memory.Write<sbyte>(_output), _inverseScale, _zeroPoint);
    }

    /// <summary>scale·(q − zero point), the dequantization of graph outputs; of int8 or int16 (zero point 0) inputs.</summary>
    private sealed class DequantizeKernel : OpKernel
    {
        private readonly int _input, _output;
        private readonly float _scale;
        private readonly int _zeroPoint;
        private readonly bool _int16;

        public DequantizeKernel(KernelSetup s)
        {
            _int16 = s.Input(0).Type == DataType.Int16;
            var q = Prepare(s, _int16 ? DataType.Int16 : DataType.Int8, DataType.Float32, s.Input(0));
            _scale = q.Scale;
            _zeroPoint = q.ZeroPoint;
            _input = s.InputId(0);
            _output = s.OutputId(0);
        }

        public override string Name => "DequantizeFloat32_Reference";

        public override void Run(TensorMemory memory)
        {
            if (_int16)
            {
                var x16 = memory.Read<short>(_input);
                var y16 = memory.Write<float>(_output);
                for (int i = 0; i < x16.Length; i++) y16[i] = _scale * x16[i];
                return;
            }
            var x = memory.Read<sbyte>(_input);
            var y = memory.Write<float>(_output);
            float scale = _scale;
            int zp = _zeroPoint;
            for (int i = 0; i < x.Length; i++) y[i] = scale * (x[i] - zp);
        }
    }
}
