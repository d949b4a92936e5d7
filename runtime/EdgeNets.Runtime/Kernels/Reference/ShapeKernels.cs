using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>Operators that only move bytes: Reshape (also Flatten/Squeeze/Unsqueeze), Transpose, Concat, Pad.</summary>
public static class ShapeKernels
{
    public static void Register(List<KernelEntry> list)
    {
        foreach (var type in new[] { DataType.Float32, DataType.Int8 })
            list.Add(new KernelEntry($"Reshape{Suffix(type)}_Reference", OpType.Reshape, type, s => new ReshapeKernel(s, type)));
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
}
