using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>Operators that only move bytes: Reshape (also Flatten/Squeeze/Unsqueeze), Transpose, Concat, Pad.</summary>
public static class ShapeKernels
{
    public static void Register(List<KernelEntry> list)
    {
        foreach (var type in new[] { DataType.Float32, DataType.Int8 })
        {
            list.Add(new KernelEntry($"Reshape{Suffix(type)}_Reference", OpType.Reshape, type, s => new ReshapeKernel(s, type)));
            list.Add(new KernelEntry($"Pad{Suffix(type)}_Reference", OpType.Pad, type, s => new PadKernel(s, type)));
        }
        list.Add(new KernelEntry("TransposeFloat32_Reference", OpType.Transpose, DataType.Float32, s => new TransposeKernel<float>(s, DataType.Float32)));
        list.Add(new KernelEntry("TransposeInt8_Reference", OpType.Transpose, DataType.Int8, s => new TransposeKernel<sbyte>(s, DataType.Int8)));
        list.Add(new KernelEntry("ConcatFloat32_Reference", OpType.Concat, DataType.Float32, s => new ConcatKernel(s, DataType.Float32)));
        list.Add(new KernelEntry("ConcatInt8_Reference", OpType.Concat, DataType.Int8, s => new ConcatKernel(s, DataType.Int8)));
    }

    internal static string Suffix(DataType type) => type == DataType.Float32 ? "Float32" : "Int8";

    /// <summary>Same elements, new shape: a copy (quantization, if any, is unchanged).</summary>
    private sealed class ReshapeKernel : OpKernel
    {
        private readonly int _input, _output;
        private readonly string _name;

        public ReshapeKernel(KernelSetup s, DataType type)
        {
            s.ExpectCounts(1, 2, 1);
            var x = s.Input(0);
            var y = s.Output(0);
            s.ExpectType(x, type);
            s.ExpectType(y, type);
            if (x.ElementCount != y.ElementCount)
                throw s.Fail($"input [{ShapeUtil.Format(x.Shape)}] and output [{ShapeUtil.Format(y.Shape)}] differ in element count");
            _input = s.InputId(0);
            _output = s.OutputId(0);
            _name = $"Reshape{Suffix(type)}_Reference";
        }

        public override string Name => _name;

        public override void Run(TensorMemory memory) => memory.Bytes(_input).CopyTo(memory.Bytes(_output));
    }

    /// <summary>Output dimension d walks input dimension Perm[d]; row-major rows of the output are gathered from the input.</summary>
    private sealed class TransposeKernel<T> : OpKernel where T : unmanaged
    {
        private readonly int _input, _output;
        private readonly int[] _outerDims;        // output dimensions except the last
        private readonly int[] _outerInputStride; // input element stride of each of those
        private readonly int _rowLength, _rowInputStride, _rowCount;
        private readonly string _name;

        public TransposeKernel(KernelSetup s, DataType type)
        {
            s.ExpectCounts(1, 1, 1);
            var x = s.Input(0);
            var y = s.Output(0);
            s.ExpectType(x, type);
            s.ExpectType(y, type);
            int rank = x.Rank;
            var perm = s.Attributes.GetInts(AttributeKey.Perm);
            if (perm == null)
            {
                // ONNX default: reverse the axes.
                perm = new int[rank];
                for (int d = 0; d < rank; d++) perm[d] = rank - 1 - d;
            }
            if (perm.Length != rank) throw s.Fail($"Perm has {perm.Length} entries for an input of rank {rank}");
            var seen = new bool[rank];
            foreach (int p in perm)
            {
                if (p < 0 || p >= rank || seen[p]) throw s.Fail($"Perm [{ShapeUtil.Format(perm)}] is not a permutation of the axes");
                seen[p] = true;
            }
            var expected = new int[rank];
            for (int d = 0; d < rank; d++) expected[d] = x.Shape[perm[d]];
            if (!ShapeUtil.SameShape(expected, y.Shape))
                throw s.Fail($"output [{ShapeUtil.Format(y.Shape)}] should be [{ShapeUtil.Format(expected)}]");

            var inputStrides = ShapeUtil.Strides(x.Shape);
            if (rank == 0)
            {
                _outerDims = [];
                _outerInputStride = [];
                _rowLength = 1;
                _rowInputStride = 0;
            }
            else
            {
                _outerDims = expected[..^1];
                _outerInputStride = new int[rank - 1];
                for (int d = 0; d < rank - 1; d++) _outerInputStride[d] = inputStrides[perm[d]];
                _rowLength = expected[^1];
                _rowInputStride = inputStrides[perm[^1]];
            }
            _rowCount = _rowLength == 0 ? 0 : y.ElementCount / _rowLength;
            _input = s.InputId(0);
            _output = s.OutputId(0);
            _name = $"Transpose{Suffix(type)}_Reference";
        }

        public override string Name => _name;

        public override void Run(TensorMemory memory)
        {
            var x = memory.Read<T>(_input);
            var y = memory.Write<T>(_output);
            int length = _rowLength, step = _rowInputStride;
            for (int row = 0; row < _rowCount; row++)
            {
                int rest = row, ix = 0;
                for (int d = _outerDims.Length - 1; d >= 0; d--)
                {
                    int n = _outerDims[d];
                    ix += rest % n * _outerInputStride[d];
                    rest /= n;
                }
                int o = row * length;
                if (step == 1) x.Slice(ix, length).CopyTo(y.Slice(o, length)); // the last axis stays last: rows are contiguous
                else for (int i = 0; i < length; i++, ix += step) y[o + i] = x[ix];
            }
        }
    }

    /// <summary>
    /// What a Concat kernel needs, checked once: per input its arena id and block length (its axis length times the
    /// inner size, the elements it contributes per outer index), the outer count, and for int8 each input's zero point
    /// and (InputMultiplier, InputShift) to the output's scale, and the output's zero point.
    /// </summary>
    internal sealed class ConcatLayout
    {
        public required int[] Inputs { get; init; }
        public required int[] BlockLength { get; init; }
        public required int Output { get; init; }
        public required int OuterCount { get; init; }
        public required int OutputBlockLength { get; init; }
        public int[] ZeroPoints { get; init; } = [];
        public int[] Multipliers { get; init; } = [];
        public int[] Shifts { get; init; } = [];
        public int OutputZeroPoint { get; init; }
    }

    internal static ConcatLayout PrepareConcat(KernelSetup s, DataType type)
    {
        s.ExpectCounts(1, int.MaxValue, 1);
        var y = s.Output(0);
        s.ExpectType(y, type);
        int rank = y.Rank;
        if (rank == 0) throw s.Fail("cannot concatenate scalars");
        int rawAxis = s.RequireInts(AttributeKey.Axis, 1)[0];
        if (rawAxis < -rank || rawAxis >= rank) throw s.Fail($"axis {rawAxis} is out of range for rank {rank}");
        int axis = rawAxis < 0 ? rawAxis + rank : rawAxis;

        int n = s.InputCount;
        var inputs = new int[n];
        var blockLength = new int[n];
        int inner = 1, outer = 1, axisTotal = 0;
        for (int d = axis + 1; d < rank; d++) inner *= y.Shape[d];
        for (int d = 0; d < axis; d++) outer *= y.Shape[d];
        for (int i = 0; i < n; i++)
        {
            var x = s.Input(i);
            s.ExpectType(x, type);
            bool fits = x.Rank == rank;
            for (int d = 0; fits && d < rank; d++) fits = d == axis || x.Shape[d] == y.Shape[d];
            if (!fits) throw s.Fail($"input {i} [{ShapeUtil.Format(x.Shape)}] does not match output [{ShapeUtil.Format(y.Shape)}] off axis {axis}");
            axisTotal += x.Shape[axis];
            inputs[i] = s.InputId(i);
            blockLength[i] = x.Shape[axis] * inner;
        }
        if (axisTotal != y.Shape[axis]) throw s.Fail($"inputs sum to {axisTotal} along axis {axis}, output has {y.Shape[axis]}");
        if (type != DataType.Int8)
            return new ConcatLayout { Inputs = inputs, BlockLength = blockLength, Output = s.OutputId(0), OuterCount = outer, OutputBlockLength = axisTotal * inner };

        var zeroPoints = new int[n];
        var multipliers = new int[n];
        var shifts = new int[n];
        for (int i = 0; i < n; i++)
        {
            zeroPoints[i] = ElementwiseKernels.PerTensorQuant(s, s.Input(i)).ZeroPoint;
            (multipliers[i], shifts[i]) = ElementwiseKernels.RequireMultiplier(s, AttributeKey.InputMultiplier, AttributeKey.InputShift, n, i);
        }
        return new ConcatLayout
        {
            Inputs = inputs, BlockLength = blockLength, Output = s.OutputId(0), OuterCount = outer, OutputBlockLength = axisTotal * inner,
            ZeroPoints = zeroPoints, Multipliers = multipliers, Shifts = shifts, OutputZeroPoint = ElementwiseKernels.PerTensorQuant(s, y).ZeroPoint,
        };
    }

    /// <summary>
    /// Concatenation along Axis. Float copies blocks; int8 rescales each input to the output's scale and zero point
    /// with that input's (InputMultiplier, InputShift).
    /// </summary>
    private sealed class ConcatKernel : OpKernel
    {
        private readonly ConcatLayout _l;
        private readonly bool _isInt8;
        private readonly string _name;

        public ConcatKernel(KernelSetup s, DataType type)
        {
            _l = PrepareConcat(s, type);
            _isInt8 = type == DataType.Int8;
            _name = $"Concat{Suffix(type)}_Reference";
        }

        public override string Name => _name;

        public override void Run(TensorMemory memory)
        {
            if (_isInt8) RunInt8(memory);
            else RunFloat32(memory);
        }

        private void RunFloat32(TensorMemory memory)
        {
            var l = _l;
            var y = memory.Write<float>(l.Output);
            int start = 0;
            for (int i = 0; i < l.Inputs.Length; i++)
            {
                var x = memory.Read<float>(l.Inputs[i]);
                int block = l.BlockLength[i];
                for (int o = 0; o < l.OuterCount; o++)
                    x.Slice(o * block, block).CopyTo(y.Slice(o * l.OutputBlockLength + start, block));
                start += block;
            }
        }

        private void RunInt8(TensorMemory memory)
        {
            var l = _l;
            var y = memory.Write<sbyte>(l.Output);
            int start = 0;
            for (int i = 0; i < l.Inputs.Length; i++)
            {
                var x = memory.Read<sbyte>(l.Inputs[i]);
                int block = l.BlockLength[i], zx = l.ZeroPoints[i], m = l.Multipliers[i], sh = l.Shifts[i];
                for (int o = 0; o < l.OuterCount; o++)
                {
                    int ix = o * block, iy = o * l.OutputBlockLength + start;
                    for (int j = 0; j < block; j++)
                        y[iy + j] = FixedPoint.Requantize(x[ix + j] - zx, m, sh, l.OutputZeroPoint, -128, 127);
                }
                start += block;
            }
        }
    }

    /// <summary>Constant padding: the output is filled with the pad value, then each input row is copied into place.</summary>
    private sealed class PadKernel : OpKernel
    {
        private readonly int _input, _output;
        private readonly bool _isInt8;
        private readonly float _floatValue;
        private readonly sbyte _int8Value;
        private readonly int[] _outerDims;       // input dimensions except the last
        private readonly int[] _outerOutputStride;
        private readonly int _rowLength, _rowCount, _rowStart;
        private readonly string _name;

        public PadKernel(KernelSetup s, DataType type)
        {
            s.ExpectCounts(1, 1, 1);
            var x = s.Input(0);
            var y = s.Output(0);
            s.ExpectType(x, type);
            s.ExpectType(y, type);
            int rank = x.Rank;
            var pads = s.RequireInts(AttributeKey.Pads, 2 * rank);
            var expected = new int[rank];
            for (int d = 0; d < rank; d++)
            {
                if (pads[d] < 0 || pads[rank + d] < 0) throw s.Fail($"Pads [{ShapeUtil.Format(pads)}] must not be negative");
                expected[d] = x.Shape[d] + pads[d] + pads[rank + d];
            }
            if (!ShapeUtil.SameShape(expected, y.Shape))
                throw s.Fail($"output [{ShapeUtil.Format(y.Shape)}] should be [{ShapeUtil.Format(expected)}]");

            _isInt8 = type == DataType.Int8;
            if (_isInt8)
            {
                // Absent: the input's zero point, i.e. a real 0 as ONNX's default.
                int value = s.Attributes.GetInt(AttributeKey.QuantizedPadValue, s.Quant(x).ZeroPoint);
                if (value < -128 || value > 127) throw s.Fail($"QuantizedPadValue {value} is outside int8");
                _int8Value = (sbyte)value;
            }
            else
            {
                _floatValue = s.Attributes.GetFloat(AttributeKey.PadValue, 0f);
            }

            var outputStrides = ShapeUtil.Strides(y.Shape);
            int start = 0;
            for (int d = 0; d < rank; d++) start += pads[d] * outputStrides[d];
            _rowStart = start;
            if (rank == 0)
            {
                _outerDims = [];
                _outerOutputStride = [];
                _rowLength = 1;
            }
            else
            {
                _outerDims = x.Shape[..^1];
                _outerOutputStride = outputStrides[..^1];
                _rowLength = x.Shape[^1];
            }
            _rowCount = _rowLength == 0 ? 0 : x.ElementCount / _rowLength;
            _input = s.InputId(0);
            _output = s.OutputId(0);
            _name = $"Pad{Suffix(type)}_Reference";
        }

        public override string Name => _name;

        public override void Run(TensorMemory memory)
        {
            if (_isInt8) Pad(memory.Read<sbyte>(_input), memory.Write<sbyte>(_output), _int8Value);
            else Pad(memory.Read<float>(_input), memory.Write<float>(_output), _floatValue);
        }

        private void Pad<T>(ReadOnlySpan<T> x, Span<T> y, T value) where T : unmanaged
        {
            y.Fill(value);
            int length = _rowLength;
            for (int row = 0; row < _rowCount; row++)
            {
                int rest = row, iy = _rowStart;
                for (int d = _outerDims.Length - 1; d >= 0; d--)
                {
                    int n = _outerDims[d];
                    iy += rest % n * _outerOutputStride[d];
                    rest /= n;
                }
                x.Slice(row * length, length).CopyTo(y.Slice(iy, length));
            }
        }
    }
}
