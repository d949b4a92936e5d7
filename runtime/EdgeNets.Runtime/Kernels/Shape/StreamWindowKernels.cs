using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// A kernel that decides whether the rest of a streaming step runs: after it has run, <see cref="Ready"/> false means
/// the operators after it have no new input this step (a window over time is still filling, or a strided step).
/// </summary>
public interface IStreamGate
{
    bool Ready { get; }
}

/// <summary>
/// StreamWindow (streaming only): appends one time step of its input to a history of the last KernelShape steps along
/// Axis and outputs that history, oldest step first, so the Conv or pool after it sees exactly the window it would see
/// in the whole-sequence run. Pads[0] leading steps start out as the padding value (the input's zero point in int8,
/// 0 in float32), as the operator's own padding would give at the start of the sequence. The window is ready when it
/// holds KernelShape steps counting those pads, then every Strides[0] steps.
/// </summary>
public static class StreamWindowKernels
{
    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry("StreamWindowFloat32_Reference", OpType.StreamWindow, DataType.Float32, s => new StreamWindowKernel(s, DataType.Float32)));
        list.Add(new KernelEntry("StreamWindowInt8_Reference", OpType.StreamWindow, DataType.Int8, s => new StreamWindowKernel(s, DataType.Int8)));
    }

    private sealed class StreamWindowKernel : OpKernel, IStatefulKernel, IStreamGate
    {
        private readonly string _name;
        private readonly int _input, _output;
        private readonly int _outer, _stepBytes, _span, _leadingPads, _stride;
        private readonly byte _padByte;
        /// <summary>The window, laid out like the output: per outer index, _span steps of _stepBytes.</summary>
        private readonly byte[] _history;
        private long _filled;
        private bool _needsInit = true;

        public StreamWindowKernel(KernelSetup s, DataType type)
        {
            s.ExpectCounts(1, 1, 1);
            var x = s.Input(0);
            var y = s.Output(0);
            s.ExpectType(x, type);
            s.ExpectType(y, type);
            int axis = s.RequireInts(AttributeKey.Axis, 1)[0];
            _span = s.RequireInts(AttributeKey.KernelShape, 1)[0];
            _stride = s.RequireInts(AttributeKey.Strides, 1)[0];
            _leadingPads = s.RequireInts(AttributeKey.Pads, 1)[0];
            if (axis < 0 || axis >= x.Rank || x.Rank != y.Rank) throw s.Fail($"Axis {axis} is outside rank {x.Rank}");
            if (_span < 1 || _stride < 1 || _leadingPads < 0 || _leadingPads >= _span)
                throw s.Fail($"window {_span}, stride {_stride} and {_leadingPads} leading pads do not make a window");
            var expected = (int[])x.Shape.Clone();
            if (x.Shape[axis] != 1) throw s.Fail($"input [{ShapeUtil.Format(x.Shape)}] must hold one step along axis {axis}");
            expected[axis] = _span;
            if (!y.Shape.AsSpan().SequenceEqual(expected)) throw s.Fail($"output shape [{ShapeUtil.Format(y.Shape)}] is not [{ShapeUtil.Format(expected)}]");
            int inner = type.SizeInBytes();
            for (int d = axis + 1; d < x.Rank; d++) inner *= x.Shape[d];
            _outer = 1;
            for (int d = 0; d < axis; d++) _outer *= x.Shape[d];
            _stepBytes = inner;
            if (type == DataType.Int8)
            {
                var q = s.Quant(x);
                var qy = s.Quant(y);
                if (q.IsPerChannel || qy.IsPerChannel || q.Scale != qy.Scale || q.ZeroPoint != qy.ZeroPoint)
                    throw s.Fail("input and output must share one per-tensor quantization");
                _padByte = unchecked((byte)(sbyte)q.ZeroPoint);
            }
            _history = new byte[y.ByteLength];
            _input = s.InputId(0);
            _output = s.OutputId(0);
            _name = $"StreamWindow{ShapeKernels.Suffix(type)}_Reference";
        }

        public override string Name => _name;

        public bool CarryState { get; set; }

        public bool Ready { get; private set; }

        public void ResetState() => _needsInit = true;

        public override void Run(TensorMemory memory)
        {
            if (!CarryState || _needsInit)
            {
                // Steps before the sequence start read as padding; the caller never sees them through a ready window
                // except as the operator's leading pads.
                _history.AsSpan().Fill(_padByte);
                _filled = _leadingPads;
                _needsInit = false;
            }
            var x = memory.Bytes(_input);
            int block = _span * _stepBytes;
            for (int o = 0; o < _outer; o++)
            {
                var window = _history.AsSpan(o * block, block);
                window[_stepBytes..].CopyTo(window);
                x.Slice(o * _stepBytes, _stepBytes).CopyTo(window[(block - _stepBytes)..]);
            }
            _filled++;
            Ready = _filled >= _span && (_filled - _span) % _stride == 0;
            if (Ready) _history.CopyTo(memory.Bytes(_output));
        }
    }
}
