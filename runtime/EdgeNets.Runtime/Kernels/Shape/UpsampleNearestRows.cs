using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Nearest-neighbour Upsample by whole factors (ResizeMode 0) by rows: an output row (last axis) whose source row is
/// the previous output row's is a copy of that row; otherwise it gathers its input row through a byte table (or copies
/// it when the last axis is not resized): 16 output bytes at a time by one byte shuffle (pshufb, tbl) of 16 input bytes
/// where the 16 sources lie within such a window, byte by byte elsewhere. Same element moves as the reference's
/// gather, so the same bytes, for int8 and float32 alike.
/// </summary>
internal sealed class UpsampleNearestRows : OpKernel
{
    private readonly string _name;
    private readonly int _x, _y, _inW, _outW;
    /// <summary>Per output row, the input row it copies; per output byte of a row, the input byte.</summary>
    private readonly int[] _sourceRow, _sourceByte;
    /// <summary>Per 16-byte chunk of an output row: the start of the 16 input bytes it shuffles (−1: byte by byte) and the shuffle.</summary>
    private readonly int[] _chunkBase;
    private readonly Vector128<byte>[] _chunkShuffle;
    private readonly bool _shuffles = Ssse3.IsSupported || AdvSimd.Arm64.IsSupported;

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
        int elementSize = type == DataType.Float32 ? 4 : 1;
        int factor = y.Shape[^1] / x.Shape[^1];
        // Rows as bytes: both element types move the same way.
        _inW = x.Shape[^1] * elementSize;
        _outW = y.Shape[^1] * elementSize;
        _sourceByte = new int[_outW];
        for (int b = 0; b < _outW; b++) _sourceByte[b] = b / elementSize / factor * elementSize + b % elementSize;
        _chunkBase = new int[_outW / 16];
        _chunkShuffle = new Vector128<byte>[_outW / 16];
        for (int chunk = 0; chunk < _chunkBase.Length; chunk++)
        {
            int first = _sourceByte[16 * chunk], last = _sourceByte[16 * chunk + 15];
            int start = Math.Min(first, _inW - 16);
            _chunkBase[chunk] = start >= 0 && last - start < 16 ? start : -1;
            var shuffle = new byte[16];
            for (int i = 0; i < 16; i++) shuffle[i] = (byte)(_sourceByte[16 * chunk + i] - start);
            _chunkShuffle[chunk] = Vector128.Create(shuffle);
        }
        int outRows = y.Shape[^1] == 0 ? 0 : y.ElementCount / y.Shape[^1];
        _sourceRow = new int[outRows];
        var index = new int[rank - 1];
        for (int i = 0; i < outRows; i++)
        {
            int source = 0;
            for (int d = 0; d < rank - 1; d++) source = source * x.Shape[d] + index[d] / (y.Shape[d] / x.Shape[d]);
            _sourceRow[i] = source;
            for (int d = rank - 2; d >= 0 && ++index[d] == y.Shape[d]; d--) index[d] = 0;
        }
        _x = s.InputId(0);
        _y = s.OutputId(0);
    }

    public override string Name => _name;

    public override void Run(TensorMemory memory)
    {
        var x = memory.Bytes(_x);
        var y = memory.Bytes(_y);
        int inW = _inW, outW = _outW;
        for (int i = 0; i < _sourceRow.Length; i++)
        {
            var output = y.Slice(i * outW, outW);
            if (i > 0 && _sourceRow[i] == _sourceRow[i - 1]) y.Slice((i - 1) * outW, outW).CopyTo(output);
            else if (inW == outW) x.Slice(_sourceRow[i] * inW, inW).CopyTo(output);
            else Gather(x.Slice(_sourceRow[i] * inW, inW), output);
        }
    }

    private void Gather(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int b = 0;
        if (_shuffles)
        {
            ref byte source = ref MemoryMarshal.GetReference(input);
            ref byte target = ref MemoryMarshal.GetReference(output);
            for (int chunk = 0; chunk < _chunkBase.Length; chunk++)
            {
                int start = _chunkBase[chunk];
                if (start < 0) continue;
                var window = Vector128.LoadUnsafe(ref source, (nuint)start);
                var moved = Ssse3.IsSupported ? Ssse3.Shuffle(window, _chunkShuffle[chunk]) : AdvSimd.Arm64.VectorTableLookup(window, _chunkShuffle[chunk]);
                moved.StoreUnsafe(ref target, (nuint)(16 * chunk));
            }
            b = 16 * _chunkBase.Length;
            for (int chunk = 0; chunk < _chunkBase.Length; chunk++)
                if (_chunkBase[chunk] < 0)
                    for (int i = 16 * chunk; i < 16 * chunk + 16; i++) output[i] = input[_sourceByte[i]];
        }
        for (; b < output.Length; b++) output[b] = input[_sourceByte[b]];
    }
}
