using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>Slice: a contiguous range of one axis (e.g. the last time step of a sequence), a block copy.</summary>
public static class SliceKernels
{
    public static void Register(List<KernelEntry> list)
    {
        list.Add(new KernelEntry("SliceFloat32_Reference", OpType.Slice, DataType.Float32, s => new SliceKernel(s, DataType.Float32)));
        list.Add(new KernelEntry("SliceInt8_Reference", OpType.Slice, DataType.Int8, s => new SliceKernel(s, DataType.Int8)));
    }

    private sealed class SliceKernel : OpKernel
    {
        private readonly int _input, _output;
        private readonly int _outer, _inputBlock, _outputBlock, _startByte;
        private readonly string _name;

        public SliceKernel(KernelSetup s, DataType type)
        {
            s.ExpectCounts(1, 1, 1);
            var x = s.Input(0);
            var y = s.Output(0);
            s.ExpectType(x, type);
            s.ExpectType(y, type);
            int axis = s.RequireInts(AttributeKey.Axis, 1)[0];
            int start = s.RequireInts(AttributeKey.Starts, 1)[0];
            int end = s.RequireInts(AttributeKey.Ends, 1)[0];
            if (axis < 0 || axis >= x.Rank) throw s.Fail($"Axis {axis} is outside rank {x.Rank}");
            if (start < 0 || end <= start || end > x.Shape[axis])
                throw s.Fail($"range [{start}, {end}) is empty or outside dimension {x.Shape[axis]} of axis {axis}");
            var kept = (int[])x.Shape.Clone();
            kept[axis] = end - start;
            var dropped = x.Shape.Where((_, i) => i != axis).ToArray();
            bool shapeOk = y.Shape.AsSpan().SequenceEqual(kept) || (end - start == 1 && y.Shape.AsSpan().SequenceEqual(dropped));
            if (!shapeOk) throw s.Fail($"output shape [{ShapeUtil.Format(y.Shape)}] is not [{ShapeUtil.Format(kept)}]{(end - start == 1 ? $" or [{ShapeUtil.Format(dropped)}]" : "")}");
            int size = type.SizeInBytes();
            int inner = size;
            for (int d = axis + 1; d < x.Rank; d++) inner *= x.Shape[d];
            _outer = 1;
            for (int d = 0; d < axis; d++) _outer *= x.Shape[d];
            _inputBlock = x.Shape[axis] * inner;
            _outputBlock = (end - start) * inner;
            _startByte = start * inner;
            _input = s.InputId(0);
            _output = s.OutputId(0);
            _name = $"Slice{ShapeKernels.Suffix(type)}_Reference";
        }

        public override string Name => _name;

        public override void Run(TensorMemory memory)
        {
            var x = memory.Bytes(_input);
            var y = memory.Bytes(_output);
            for (int o = 0; o < _outer; o++)
                x.Slice(o * _inputBlock + _startByte, _outputBlock).CopyTo(y.Slice(o * _outputBlock, _outputBlock));
        }
    }
}
