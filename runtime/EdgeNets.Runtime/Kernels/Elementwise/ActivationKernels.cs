using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Reference;

/// <summary>
/// Float32 activations (every <see cref="OpTypeExtensions.IsActivation"/> operator, and PRelu) and the int8
/// LookupTable that replaces all of them in int8 models.
/// </summary>
public static class ActivationKernels
{
    public static void Register(List<KernelEntry> list)
    {
        foreach (var op in Enum.GetValues<OpType>().Where(t => t.IsActivation()))
            list.Add(new KernelEntry($"{op}Float32_Reference", op, DataType.Float32, s => new UnaryFloat32Kernel(s, op)));
        list.Add(new KernelEntry("PReluFloat32_Reference", OpType.PRelu, DataType.Float32, s => new PReluFloat32Kernel(s)));
        list.Add(new KernelEntry("LookupTableInt8_Reference", OpType.LookupTable, DataType.Int8, s => new LookupTableInt8Kernel(s)));
    }

    /// <summary>One elementwise function of X (<see cref="ActivationFunction"/>, the function the converter tabulates for int8).</summary>
    private sealed class UnaryFloat32Kernel : OpKernel
    {
        private readonly int _input, _output;
        private readonly ActivationFunction _f;

        public UnaryFloat32Kernel(KernelSetup s, OpType op)
        {
            s.ExpectUnary(DataType.Float32);
            if (op == OpType.Clip) ElementwiseKernels.FloatClamp(s); // rejects an empty or NaN range
            _f = ActivationFunction.For(op, s.Attributes) ?? throw s.Fail($"{op} is not an activation");
            _input = s.InputId(0);
            _output = s.OutputId(0);
            Name = $"{op}Float32_Reference";
        }

        public override string Name { get; }

        public override void Run(TensorMemory memory)
        {
            var x = memory.Read<float>(_input);
            var y = memory.Write<float>(_output);
            for (int i = 0; i < x.Length; i++) y[i] = _f.Invoke(x[i]);
        }
    }

    /// <summary>PRelu: negative inputs are scaled by Slope, which broadcasts to X (ONNX unidirectional broadcasting).</summary>
    private sealed class PReluFloat32Kernel : OpKernel
    {
        private readonly int _input, _slope, _output;
        private readonly BroadcastPlan _plan;

        public PReluFloat32Kernel(KernelSetup s)
        {
            s.ExpectCounts(2, 2, 1);
            var x = s.Input(0);
            var slope = s.Input(1);
            var y = s.Output(0);
            s.ExpectType(x, DataType.Float32);
            s.ExpectType(slope, DataType.Float32);
            s.ExpectType(y, DataType.Float32);
            if (!ShapeUtil.SameShape(x.Shape, y.Shape))
                throw s.Fail($"input [{ShapeUtil.Format(x.Shape)}] and output [{ShapeUtil.Format(y.Shape)}] differ");
            _plan = BroadcastPlan.Create(x.Shape, slope.Shape, y.Shape)
                ?? throw s.Fail($"slope [{ShapeUtil.Format(slope.Shape)}] does not broadcast to input [{ShapeUtil.Format(x.Shape)}]");
            _input = s.InputId(0);
            _slope = s.InputId(1);
            _output = s.OutputId(0);
        }

        public override string Name => "PReluFloat32_Reference";

        public override void Run(TensorMemory memory)
        {
            var x = memory.Read<float>(_input);
            var slope = memory.Read<float>(_slope);
            var y = memory.Write<float>(_output);
            var plan = _plan;
            int inner = plan.InnerCount, stepX = plan.InnerStrideA, stepSlope = plan.InnerStrideB;
            for (int row = 0; row < plan.OuterCount; row++)
            {
                plan.RowOffsets(row, out int ix, out int isl);
                int o = row * inner;
                for (int i = 0; i < inner; i++, ix += stepX, isl += stepSlope)
                    y[o + i] = x[ix] < 0 ? slope[isl] * x[ix] : x[ix];
            }
        }
    }

    /// <summary>
    /// Checks of an int8 LookupTable (shared by its variants): the channels with a table of their own (1 for one table)
    /// and how many consecutive elements share a channel's table.
    /// </summary>
    internal static (int Channels, int Inner) LookupTableLayout(KernelSetup s)
    {
        s.ExpectCounts(2, 2, 1);
        var x = s.Input(0);
        var table = s.Input(1);
        var y = s.Output(0);
        s.ExpectType(x, DataType.Int8);
        s.ExpectType(table, DataType.Int8);
        s.ExpectType(y, DataType.Int8);
        if (!table.IsConstant) throw s.Fail($"table '{table.Name}' must be a constant");
        if (!ShapeUtil.SameShape(x.Shape, y.Shape))
            throw s.Fail($"input [{ShapeUtil.Format(x.Shape)}] and output [{ShapeUtil.Format(y.Shape)}] differ");
        if (table.Rank == 1 && table.Shape[0] == 256) return (1, x.ElementCount);
        if (table.Rank == 2 && table.Shape[1] == 256)
        {
            int rawAxis = s.RequireInts(AttributeKey.Axis, 1)[0];
            if (rawAxis < -x.Rank || rawAxis >= x.Rank) throw s.Fail($"axis {rawAxis} is out of range for rank {x.Rank}");
            int axis = rawAxis < 0 ? rawAxis + x.Rank : rawAxis;
            int channels = table.Shape[0];
            if (x.Shape[axis] != channels)
                throw s.Fail($"table has {channels} channels, input [{ShapeUtil.Format(x.Shape)}] has {x.Shape[axis]} along axis {axis}");
            int inner = 1;
            for (int d = axis + 1; d < x.Rank; d++) inner *= x.Shape[d];
            return (channels, inner);
        }
        throw s.Fail($"table shape [{ShapeUtil.Format(table.Shape)}] is neither [256] nor [C,256]");
    }

    /// <summary>y = Table[c][x + 128], with one 256-entry table for the whole tensor or one per channel along Axis.</summary>
    private sealed class LookupTableInt8Kernel : OpKernel
    {
        private readonly int _input, _table, _output;
        private readonly int _channels, _inner;

        public LookupTableInt8Kernel(KernelSetup s)
        {
            (_channels, _inner) = LookupTableLayout(s);
            _input = s.InputId(0);
            _table = s.InputId(1);
            _output = s.OutputId(0);
        }

        public override string Name => "LookupTableInt8_Reference";

        public override void Run(TensorMemory memory)
        {
            var x = memory.Read<sbyte>(_input);
            var table = memory.Read<sbyte>(_table);
            var y = memory.Write<sbyte>(_output);
            if (_channels == 1)
            {
                for (int i = 0; i < x.Length; i++) y[i] = table[x[i] + 128];
                return;
            }
            for (int i = 0; i < x.Length; i++)
            {
                int c = i / _inner % _channels;
                y[i] = table[c * 256 + x[i] + 128];
            }
        }
    }
}
