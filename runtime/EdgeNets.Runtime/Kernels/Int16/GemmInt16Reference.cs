using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Int16;

/// <summary>
/// Gemm (fully connected) with int16 activations and int8 weights [N, K]: int64 bias and sums, per-output-channel
/// requantization as <see cref="ConvInt16Reference"/>. The spec of the int16 Gemm variants.
/// </summary>
internal sealed class GemmInt16Reference : OpKernel
{
    public const string KernelName = "GemmInt16_Reference";

    private readonly int _a, _w, _b, _y;
    private readonly GemmKernels.GemmShape _shape;
    private readonly Int16Requantization _q;

    public GemmInt16Reference(KernelSetup s)
    {
        _shape = new GemmKernels.GemmShape(s, DataType.Int16, DataType.Int64, DataType.Int8);
        _q = Int16Requantization.Read(s, _shape.N, _shape.K);
        _a = s.InputId(0);
        _w = s.InputId(1);
        _b = s.InputId(2);
        _y = s.OutputId(0);
    }

    public override string Name => KernelName;

    public override void Run(TensorMemory memory)
    {
        var a = memory.Read<short>(_a);
        var w = memory.Read<sbyte>(_w);
        var bias = _b >= 0 ? memory.Read<long>(_b) : default;
        var y = memory.Write<short>(_y);
        int rows = _shape.Rows, n = _shape.N, k = _shape.K;
        for (int r = 0; r < rows; r++)
        {
            var row = a.Slice(r * k, k);
            for (int j = 0; j < n; j++)
            {
                var weights = w.Slice(j * k, k);
                long acc = _b >= 0 ? bias[j] : 0;
                for (int i = 0; i < k; i++) acc += row[i] * weights[i];
                y[r * n + j] = FixedPoint.RequantizeInt16(acc, _q.Multipliers[j], _q.Shifts[j], _q.Min, _q.Max);
            }
        }
    }
}
