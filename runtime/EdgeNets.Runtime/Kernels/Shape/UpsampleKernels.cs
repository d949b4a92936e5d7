using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// Nearest-neighbour upsampling by a whole factor per axis (output dimension = factor · input dimension): output
/// element i along an axis copies input element ⌊i / factor⌋. A byte move, so int8 keeps its quantization.
/// In linear mode (<see cref="AttributeKey.ResizeMode"/> 1) the node is bilinear resizing instead: <see cref="LinearResizeKernel"/>.
/// </summary>
public static class UpsampleKernels
{
    public static void Register(List<KernelEntry> list)
    {
        foreach (var type in new[] { DataType.Float32, DataType.Int8 })
            list.Add(new KernelEntry($"Upsample{ShapeKernels.Suffix(type)}_Reference", OpType.Upsample, type, 
                s => s.Attributes.GetInt(AttributeKey.ResizeMode, 0) == 1 ? new LinearResizeKernel(s, type) : new UpsampleKernel(s, type)));
    }

    private sealed class UpsampleKernel : OpKernel
    {
        private readonly int _x, _y, _elementSize;
        /// <summary>Per output element, the input element it copies (computed once; the run is a gather).</summary>
        private readonly int[] _source;

        public UpsampleKernel(KernelSetup s, DataType type)
        {
            s.ExpectCounts(1, 1, 1);
            var x = s.Input(0);
            var y = s.Output(0);
            s.ExpectType(x, type);
            s.ExpectType(y, type);
            if (x.Rank != y.Rank) throw s.Fail($"input [{ShapeUtil.Format(x.Shape)}] and output [{ShapeUtil.Format(y.Shape)}] differ in rank");
            var factors = new int[x.Rank];
            for (int d = 0; d < x.Rank; d++)
            {
                if (x.Shape[d] == 0 || y.Shape[d] % x.Shape[d] != 0)
                    throw s.Fail($"output [{ShapeUtil.Format(y.Shape)}] is not a whole multiple of input [{ShapeUtil.Format(x.Shape)}] along axis {d}");
                factors[d] = y.Shape[d] / x.Shape[d];
            }
            if (y.ElementCount > 1 << 28) throw s.Fail($"output [{ShapeUtil.Format(y.Shape)}] is too large");
            _source = new int[y.ElementCount];
            var index = new int[y.Rank];
            for (int i = 0; i < _source.Length; i++)
            {
                int source = 0;
                for (int d = 0; d < y.Rank; d++) source = source * x.Shape[d] + index[d] / factors[d];
                _source[i] = source;
                for (int d = y.Rank - 1; d >= 0 && ++index[d] == y.Shape[d]; d--) index[d] = 0;
            }
            _elementSize = type == DataType.Float32 ? 4 : 1;
            _x = s.InputId(0);
            _y = s.OutputId(0);
            Name = $"Upsample{ShapeKernels.Suffix(type)}_Reference";
        }

        public override string Name { get; }

        public override void Run(TensorMemory memory)
        {
            var x = memory.Bytes(_x);
            var y = memory.Bytes(_y);
            if (_elementSize == 1)
                for (int i = 0; i < _source.Length; i++) y[i] = x[_source[i]];
            else
                for (int i = 0; i < _source.Length; i++) x.Slice(_source[i] * 4, 4).CopyTo(y.Slice(i * 4, 4));
        }
    }
}
