using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Nearest-neighbour Upsample by whole factors (ResizeMode 0) by rows: an output row (last axis) whose source row is
/// the previous output row's is a copy of that row; otherwise it gathers its input row through a column table (or
/// copies it when the last axis is not resized). Same element moves as the reference's gather, so the same bytes, for
/// int8 and float32 alike.
/// </summary>
internal sealed class UpsampleNearestRows : OpKernel
{
    private readonly string _name;
    private readonly int _x, _y, _elementSize, _inW, _outW;
    /// <summary>Per output row, the input row it copies; per output column, the input column.</summary>
    private readonly int[] _sourceRow, _sourceColumn;

    public static bool CanHandle(KernelSetup s) => s.Attributes.GetInt(AttributeKey.ResizeMode, 0) == 0 && s.Input(0).Rank >= 1;

    public UpsampleNearestRows(KernelSetup s, DataType type, string name)
    {
        _name = name;
        s.ExpectCounts(1, 1, 1);
        var x = s.Input(0);
        var y = s.Output(0);
        s.ExpectType(x, type);
        s.ExpectType(y, type);
        int rank = x.Rank;
        if (y.Rank != rank) throw s.Fail($"input [{ShapeUtil.Format(x.Shape)}] and output [{ShapeUtil.Format(y.Shape)}] differ in rank");
        for (int d = 0; d < rank; d++)
            if (x.Shape[d] == 0 || y.Shape[d] % x.Shape[d] != 0)
                throw s.Fail($"output [{ShapeUtil.Format(y.Shape)}] is not a whole multiple of input [{ShapeUtil.Format(x.Shape)}] along axis {d}");
        _inW = x.Shape[^1];
        _outW = y.Shape[^1];
        _sourceColumn = new int[_outW];
        for (int c = 0; c < _outW; c++) _sourceColumn[c] = c / (_outW / _inW);
        int outRows = _outW == 0 ? 0 : y.ElementCount / _outW;
        _sourceRow = new int[outRows];
        var index = new int[rank - 1];
        for (int i = 0; i < outRows; i++)
        {
            int source = 0;
            for (int d = 0; d < rank - 1; d++) source = source * x.Shape[d] + index[d] / (y.Shape[d] / x.Shape[d]);
            _sourceRow[i] = source;
            for (int d = rank - 2; d >= 0 && ++index[d] == y.Shape[d]; d--) index[d] = 0;
        }
        _elementSize = type == DataType.Float32 ? 4 : 1;
        _x = s.InputId(0);
        _y = s.OutputId(0);
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        if (_elementSize == 1) Rows(memory.Read<byte>(_x), memory.Write<byte>(_y));
        else Rows(memory.Read<int>(_x), memory.Write<int>(_y));
    }

    private void Rows<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged
    {
        int inW = _inW, outW = _outW;
        for (int i = 0; i < _sourceRow.Length; i++)
        {
            var output = y.Slice(i * outW, outW);
            if (i > 0 && _sourceRow[i] == _sourceRow[i - 1]) y.Slice((i - 1) * outW, outW).CopyTo(output);
            else
            {
                var input = x.Slice(_sourceRow[i] * inW, inW);
                if (inW == outW) input.CopyTo(output);
                else
                    for (int c = 0; c < outW; c++) output[c] = input[_sourceColumn[c]];
            }
        }
    }
}
