using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// Which matrix-vector code a recurrent variant runs (Avx512: the AVX2 products, gate math on Vector512; AdvSimd: int8
/// SMULL/SMLAL2 + SADALP row products, AdvSimdDot: SDOT row products, see <see cref="RecurrentVectorKernel"/>).
/// </summary>
/// <summary>
/// LSTM, GRU and RNN (float32 and int8) giving the reference kernel's bytes. Differences from the reference are in
/// how the work is arranged, not in any float operation:
/// <list type="bullet">
/// <item>W and R are packed at creation in blocks of 8 gate rows, column by column, so one vector holds 8 rows' weights
/// for one input element (int8: for two, as int16 pairs for vpmaddwd, 16 rows per block for vpmaddwd zmm in the
/// AVX-512 variant; for four int8 with AVX-VNNI). Each gate is padded to a whole number of
/// vectors (<see cref="_paddedHidden"/> rows) with zero weights and zero bias.</item>
/// <item>int8 on arm64 (AdvSimd, AdvSimdDot): row by row instead, 16 columns of a row per vector, 8 rows per block
/// (<see cref="PackRows"/>), multiplied with 16 raw int8 inputs: SMULL2 + SMLAL (8 int16 lanes of two products each)
/// + SADALP, or one SDOT, per row and 16 columns; the 4 partial sums of each row are added pairwise at the end. Each
/// row's sums start from -(zero point of x or h)·Σ w, which makes them Σ (x - zx)·w exactly. Without SDOT and with
/// weights free of -128, <see cref="RecurrentQuadProducts"/> instead: 4 rows per int32 vector, no partial sums to add.</item>
/// <item>The input products W·x + Wb of all time steps are computed before the recurrence walks them.</item>
/// <item>int8 GRU (linear_before_reset = 1, default activations) on AVX-512 and AVX-VNNI: each step computes the r rows'
/// products and sigmoids, the h rows' products and tanh, then the z rows' (<see cref="FusedGruCellInt8"/>,
/// <see cref="FusedGruCellVnni"/>).</item>
/// <item>Float32 dot products: each lane sums its row in index order starting from 0, exactly as the reference's loop,
/// then adds the bias; int8: int32 sums (any order gives the same integer), then (float)sum · rowScale + bias.</item>
/// <item>int8 default LSTM and GRU steps of the arm64 variants: gates, state and new h in one pass per pair of vectors
/// (<see cref="LstmStep"/>, <see cref="GruStep"/>).</item>
/// <item>Gate non-linearities run lane-wise (<see cref="RecurrentMathVector"/>) for Sigmoid and Tanh, in the default
/// cells two or four vectors at a time; the other
/// activations are applied per lane with the scalar <see cref="RecurrentMath.Apply"/>.</item>
/// </list>
/// Streaming state (<see cref="IStatefulKernel"/>) works as in the reference.
/// </summary>
internal sealed class RecurrentVectorKernel : OpKernel, IStatefulKernel
{
    private const int Block = 8;
    /// <summary>Rows per packed int16 block of the AVX-512 variants (vpmaddwd zmm).</summary>
    private const int Block512 = 16;

    private readonly RecurrentLayer _layer;
    private readonly string _name;
    private readonly Isa _isa;
    private readonly bool _quantized, _neon;
    private readonly int _paddedHidden, _paddedRows, _inputPairs, _hiddenPairs, _inputQuads, _hiddenQuads;
    /// <summary>arm64 int8 row products (<see cref="PackRows"/>): 16-column chunks of x and of h.</summary>
    private readonly bool _rowProducts;
    private readonly int _inputChunks, _hiddenChunks;
    /// <summary>W (R) has no -128: two products fit one int16 lane, so both halves' products share the lanes before SADALP.</summary>
    private readonly bool _wPairs, _rPairs;
    /// <summary>
    /// AdvSimd (no SDOT) and W (R) has no -128: <see cref="RecurrentQuadProducts"/>, 4 rows per vector; _w8 (_r8) and
    /// _wCorrection (_rCorrection) are in its layout.
    /// </summary>
    private readonly bool _wQuads, _rQuads;

    // Packed weights per direction: int8 as int16 [block][pair][16], float32 as [block][column][8].
    private readonly short[] _w16 = [], _r16 = [];
    private readonly float[] _wPacked = [], _rPacked = [];
    // AVX-VNNI: int8 [block][quad][8 rows][4 columns], raw inputs; the correction (zero point + 128) · Σ_k w[row, k] per
    // padded row gives Σ (x - zx)·w exactly. arm64: int8 [block][chunk][8 rows][16 columns], raw inputs; the correction
    // holds 4 starting sums per padded row (see PackRows).
    private readonly sbyte[] _w8 = [], _r8 = [], _x8 = [];
    private readonly int[] _wCorrection = [], _rCorrection = [];
    // arm64 row products: per direction and 4 padded rows, their 4 int8 row scales then their 4 biases (one load pair).
    private readonly float[] _wScaleBias = [], _rScaleBias = [];
    // Per direction and padded row: bias of W and of R, int8 row scales; peepholes [direction][3][paddedHidden].
    private readonly float[] _wBias, _rBias, _wScale = [], _rScale = [], _peepholes = [];

    // Scratch and state, sized once. State rows are _paddedHidden long per (direction, batch row).
    private readonly float[] _gx;          // [step * batch + b][paddedRows]: W·x + Wb of the direction being walked
    private readonly float[] _gr;          // [paddedRows]: R·h + Rb of the current step
    private readonly float[] _hState, _cState;
    private readonly sbyte[] _hStateQ = [];
    private readonly short[] _x16 = [], _h16 = [];  // int8: x - zx and (r ⊙ h) - zh, zero-padded to pairs
    private readonly short[] _hState16 = [];        // int8: the state's h - zh, laid out as _hStateQ
    private readonly sbyte[] _hStateBiased = [];    // AVX-VNNI: the state's q + 128 as unsigned bytes (q ^ 0x80), as _hStateQ
    private readonly float[] _resetHidden;          // GRU with linear_before_reset = 0: r ⊙ h; LSTM: the new cell state
    private readonly sbyte[] _resetHiddenQ = [];
    private readonly float[] _dequantized = [];     // int8: hScale · (q - zh) for q = -128..127
    /// <summary>
    /// GRU with linear_before_reset = 1 or LSTM without peepholes, with the default activations (Sigmoid, Tanh [, Tanh])
    /// in every direction: the step runs <see cref="DefaultGruCell"/> or <see cref="DefaultLstmCell"/>.
    /// </summary>
    private readonly bool _defaultCell;
    /// <summary>int8 default GRU cell in three stages: <see cref="FusedGruCellInt8"/> (AVX-512) or <see cref="FusedGruCellVnni"/>.</summary>
    private readonly bool _fusedGru;
    private bool _needsInit = true;

    public static bool CanHandle(KernelSetup s, OpType op, bool quantized)
    {
        try
        {
            _ = new RecurrentLayer(s, op, quantized);
            return true;
        }
        catch (Exception)
        {
            return false; // the reference kernel reports what is wrong
        }
    }

    public RecurrentVectorKernel(KernelSetup s, OpType op, bool quantized, Isa isa, string name)
    {
        var layer = _layer = new RecurrentLayer(s, op, quantized);
        _name = name;
        _isa = isa;
        _quantized = quantized;
        _neon = isa == Isa.Vector128 && AdvSimd.IsSupported;
        _defaultCell = HasDefaultActivations(layer) && (op == OpType.Gru ? layer.LinearBeforeReset : op == OpType.Lstm && layer.P < 0);
        _fusedGru = _defaultCell && quantized && op == OpType.Gru && isa is Isa.Avx512 or Isa.AvxVnni;
        int lanes = isa == Isa.Avx512 ? Vector512<float>.Count : Math.Max(Block, Vector<float>.Count);
        int hidden = layer.Hidden, gates = layer.Gates, directions = layer.Directions;
        _paddedHidden = (hidden + lanes - 1) / lanes * lanes;
        _paddedRows = gates * _paddedHidden;
        _inputPairs = (layer.InputSize + 1) / 2;
        _hiddenPairs = (hidden + 1) / 2;
        _inputQuads = (layer.InputSize + 3) / 4;
        _hiddenQuads = (hidden + 3) / 4;
        _rowProducts = quantized && isa is Isa.AdvSimd or Isa.AdvSimdDot;
        _inputChunks = Math.Max(1, (layer.InputSize + 15) / 16);
        _hiddenChunks = (hidden + 15) / 16;

        int rows = layer.Rows;
        _wBias = new float[directions * _paddedRows];
        _rBias = new float[directions * _paddedRows];
        var bias = layer.B >= 0 ? s.ConstantInput<float>(RecurrentKernels.InputB) : default;
        for (int d = 0; d < directions; d++)
            for (int row = 0; row < rows; row++)
            {
                int padded = d * _paddedRows + PaddedRow(row);
                _wBias[padded] = layer.B >= 0 ? bias[d * 2 * rows + row] : 0f;
                _rBias[padded] = layer.B >= 0 ? bias[d * 2 * rows + rows + row] : 0f;
            }
        if (layer.P >= 0)
        {
            var p = s.ConstantInput<float>(RecurrentKernels.InputP);
            _peepholes = new float[directions * 3 * _paddedHidden];
            for (int d = 0; d < directions; d++)
                for (int g = 0; g < 3; g++)
                    p.Slice((d * 3 + g) * hidden, hidden).CopyTo(_peepholes.AsSpan((d * 3 + g) * _paddedHidden));
        }

        if (quantized)
        {
            _wScale = new float[directions * _paddedRows];
            _rScale = new float[directions * _paddedRows];
            for (int d = 0; d < directions; d++)
                for (int row = 0; row < rows; row++)
                {
                    _wScale[d * _paddedRows + PaddedRow(row)] = layer.WRowScale[d * rows + row];
                    _rScale[d * _paddedRows + PaddedRow(row)] = layer.RRowScale[d * rows + row];
                }
            if (_rowProducts)
            {
                var w = s.ConstantInput<sbyte>(RecurrentKernels.InputW);
                var r = s.ConstantInput<sbyte>(RecurrentKernels.InputR);
                _wPairs = !w.Contains(sbyte.MinValue);
                _rPairs = !r.Contains(sbyte.MinValue);
                _wQuads = _wPairs && isa == Isa.AdvSimd;
                _rQuads = _rPairs && isa == Isa.AdvSimd;
                var paddedRows = new int[rows];
                for (int row = 0; row < rows; row++) paddedRows[row] = PaddedRow(row);
                (_w8, _wCorrection) = _wQuads
                    ? RecurrentQuadProducts.Pack(w, directions, rows, _paddedRows, paddedRows, layer.InputSize, _inputChunks, layer.XZero)
                    : PackRows(w, layer.InputSize, _inputChunks, layer.XZero);
                (_r8, _rCorrection) = _rQuads
                    ? RecurrentQuadProducts.Pack(r, directions, rows, _paddedRows, paddedRows, hidden, _hiddenChunks, layer.HZero)
                    : PackRows(r, hidden, _hiddenChunks, layer.HZero);
                _wScaleBias = Interleave(_wScale, _wBias);
                _rScaleBias = Interleave(_rScale, _rBias);
                _x8 = new sbyte[layer.Steps * layer.Batch * 16 * _inputChunks];
            }
            else if (isa == Isa.AvxVnni)
            {
                // vpdpbusd multiplies unsigned bytes: the AVX-VNNI products read x and h with the sign bit flipped
                // (x + 128, stored so), so the correction is (zero point + 128)·Σ w, kept negated: the sums start from it.
                bool vnni = isa == Isa.AvxVnni;
                int offset = vnni ? 128 : 0;
                (_w8, _wCorrection) = PackInt8(s.ConstantInput<sbyte>(RecurrentKernels.InputW), layer.InputSize, _inputQuads, layer.XZero + offset, negate: vnni);
                (_r8, _rCorrection) = PackInt8(s.ConstantInput<sbyte>(RecurrentKernels.InputR), hidden, _hiddenQuads, layer.HZero + offset, negate: vnni);
                _x8 = new sbyte[layer.Steps * layer.Batch * 4 * _inputQuads];
                if (vnni) _hStateBiased = new sbyte[directions * layer.Batch * _paddedHidden];
            }
            else
            {
                _w16 = PackInt16(s.ConstantInput<sbyte>(RecurrentKernels.InputW), layer.InputSize, _inputPairs);
                _r16 = PackInt16(s.ConstantInput<sbyte>(RecurrentKernels.InputR), hidden, _hiddenPairs);
                _x16 = new short[layer.Steps * layer.Batch * 2 * _inputPairs];
            }
            _h16 = new short[_paddedHidden];
            // The row products read whole 16-byte chunks of h: the last state row's may reach past _paddedHidden (the
            // bytes there meet zero weights).
            int slack = _rowProducts ? 16 : 0;
            _hStateQ = new sbyte[directions * layer.Batch * _paddedHidden + slack];
            _hState16 = new short[directions * layer.Batch * _paddedHidden];
            _resetHiddenQ = new sbyte[_paddedHidden + slack];
            _dequantized = new float[256];
            for (int q = -128; q <= 127; q++) _dequantized[q + 128] = layer.HScale * (q - layer.HZero);
        }
        else
        {
            _wPacked = PackFloat(s.ConstantInput<float>(RecurrentKernels.InputW), layer.InputSize);
            _rPacked = PackFloat(s.ConstantInput<float>(RecurrentKernels.InputR), hidden);
        }

        _gx = new float[layer.Steps * layer.Batch * _paddedRows];
        _gr = new float[_paddedRows];
        _hState = new float[directions * layer.Batch * _paddedHidden];
        _cState = new float[directions * layer.Batch * _paddedHidden];
        _resetHidden = new float[_paddedHidden];
    }

    /// <summary>Sigmoid for the gates and Tanh for the rest in every direction: the ONNX defaults for LSTM and GRU.</summary>
    private static bool HasDefaultActivations(RecurrentLayer layer)
    {
        for (int a = 0; a < layer.Activations.Length; a++)
        {
            var expected = a % layer.ActivationsPerDirection == 0 ? RecurrentActivation.Sigmoid : RecurrentActivation.Tanh;
            if ((RecurrentActivation)layer.Activations[a] != expected) return false;
        }
        return true;
    }

    public override string Name => _name;

    public bool CarryState { get; set; }

    public void ResetState() => _needsInit = true;

    /// <summary>
    /// Row of the padded layout for a row of one direction: each gate padded to _paddedHidden rows, LSTM gates stored
    /// in the order i, f, o, c (ONNX: i, o, f, c) so that the gates activated together are adjacent.
    /// </summary>
    private int PaddedRow(int row)
    {
        int gate = row / _layer.Hidden;
        if (_layer.Op == OpType.Lstm && gate is 1 or 2) gate = 3 - gate;
        return gate * _paddedHidden + row % _layer.Hidden;
    }

    /// <summary>
    /// int8 [directions * rows, columns] to int16 blocks of 8 (AVX-512: 16) padded rows by column pairs: x86 interleaves each row's
    /// pair (vpmaddwd / pmaddwd operands), AdvSimd stores the 8 rows of one column, then of the next (smlal operands).
    /// </summary>
    private short[] PackInt16(ReadOnlySpan<sbyte> weights, int columns, int pairs)
    {
        // AVX-512: blocks of 16 rows (one zmm per column pair); _paddedHidden is a multiple of 16 there.
        int size = _isa == Isa.Avx512 ? Block512 : Block;
        int rows = _layer.Rows, blocks = _paddedRows / size;
        var packed = new short[_layer.Directions * blocks * pairs * 2 * size];
        for (int d = 0; d < _layer.Directions; d++)
            for (int row = 0; row < rows; row++)
            {
                int padded = PaddedRow(row), block = d * blocks + padded / size, lane = padded % size;
                for (int k = 0; k < columns; k++)
                {
                    int pair = k / 2, within = k % 2;
                    int index = (block * pairs + pair) * 2 * size + (_neon ? within * Block + lane : lane * 2 + within);
                    packed[index] = weights[(d * rows + row) * columns + k];
                }
            }
        return packed;
    }

    /// <summary>
    /// int8 [directions * rows, columns] to SDOT blocks: per 4 columns, the 8 padded rows' 4 weights each (two vectors
    /// of 4 rows); and per padded row zeroPoint · Σ_k w[row, k] (<paramref name="negate"/>: its negative).
    /// </summary>
    private (sbyte[] Packed, int[] Correction) PackInt8(ReadOnlySpan<sbyte> weights, int columns, int quads, int zeroPoint, bool negate)
    {
        int rows = _layer.Rows, blocks = _paddedRows / Block;
        var packed = new sbyte[_layer.Directions * blocks * quads * 4 * Block];
        var correction = new int[_layer.Directions * _paddedRows];
        for (int d = 0; d < _layer.Directions; d++)
            for (int row = 0; row < rows; row++)
            {
                int padded = PaddedRow(row), block = d * blocks + padded / Block, lane = padded % Block, sum = 0;
                for (int k = 0; k < columns; k++)
                {
                    sbyte w = weights[(d * rows + row) * columns + k];
                    packed[((block * quads + k / 4) * Block + lane) * 4 + k % 4] = w;
                    sum += w;
                }
                correction[d * _paddedRows + padded] = negate ? -(zeroPoint * sum) : zeroPoint * sum;
            }
        return (packed, correction);
    }

    /// <summary>
    /// int8 [directions * rows, columns] to row blocks for the arm64 row products: per block of 8 padded rows and chunk
    /// of 16 columns, the 8 rows' 16 weights each (zero past the last column); and per padded row the starting value of
    /// its 4 partial sums: -zeroPoint · Σ_k w[row, k], 0, 0, 0.
    /// </summary>
    private (sbyte[] Packed, int[] Correction) PackRows(ReadOnlySpan<sbyte> weights, int columns, int chunks, int zeroPoint)
    {
        int rows = _layer.Rows, blocks = _paddedRows / Block;
        var packed = new sbyte[_layer.Directions * blocks * chunks * 16 * Block];
        var correction = new int[_layer.Directions * _paddedRows * 4];
        for (int d = 0; d < _layer.Directions; d++)
            for (int row = 0; row < rows; row++)
            {
                int padded = PaddedRow(row), block = d * blocks + padded / Block, lane = padded % Block, sum = 0;
                for (int k = 0; k < columns; k++)
                {
                    sbyte w = weights[(d * rows + row) * columns + k];
                    packed[((block * chunks + k / 16) * Block + lane) * 16 + k % 16] = w;
                    sum += w;
                }
                correction[(d * _paddedRows + padded) * 4] = -(zeroPoint * sum);
            }
        return (packed, correction);
    }

    /// <summary>Per 4 rows, their 4 scales then their 4 biases.</summary>
    private static float[] Interleave(float[] scales, float[] biases)
    {
        var result = new float[2 * scales.Length];
        for (int row = 0; row < scales.Length; row++)
        {
            result[(row / 4) * 8 + row % 4] = scales[row];
            result[(row / 4) * 8 + 4 + row % 4] = biases[row];
        }
        return result;
    }

    /// <summary>float [directions, rows, columns] to blocks of 8 padded rows, column by column.</summary>
    private float[] PackFloat(ReadOnlySpan<float> weights, int columns)
    {
        int rows = _layer.Rows, blocks = _paddedRows / Block;
        var packed = new float[_layer.Directions * blocks * columns * Block];
        for (int d = 0; d < _layer.Directions; d++)
            for (int row = 0; row < rows; row++)
            {
                int padded = PaddedRow(row), block = d * blocks + padded / Block, lane = padded % Block;
                for (int k = 0; k < columns; k++) packed[(block * columns + k) * Block + lane] = weights[(d * rows + row) * columns + k];
            }
        return packed;
    }

    public override void Run(TensorMemory memory)
    {
        var layer = _layer;
        if (!CarryState || _needsInit)
        {
            layer.InitializeState(memory, _hState, _hStateQ, _cState, _paddedHidden);
            for (int i = 0; i < _hState16.Length; i++) _hState16[i] = i % _paddedHidden < layer.Hidden ? (short)(_hStateQ[i] - layer.HZero) : (short)0;
            if (_hStateBiased.Length > 0) FlipSignBits(_hStateQ, _hStateBiased);
            _needsInit = false;
        }
        if (_quantized) CenterInputs(memory);
        for (int d = 0; d < layer.Directions; d++)
        {
            InputProducts(memory, d);
            bool reverse = layer.ReverseOnly || d == 1;
            for (int step = 0; step < layer.Steps; step++)
            {
                int t = reverse ? layer.Steps - 1 - step : step;
                for (int b = 0; b < layer.Batch; b++) Cell(memory, d, t, b);
            }
        }
        layer.WriteFinalState(memory, _hState, _hStateQ, _cState, _paddedHidden);
    }

    /// <summary>W·x + Wb for every (step, batch row) of direction d into _gx.</summary>
    private void InputProducts(TensorMemory memory, int d)
    {
        var layer = _layer;
        int k = layer.InputSize, blocks = _paddedRows / Block, columns = layer.Steps * layer.Batch, pairs = 2 * _inputPairs;
        // IsSupported first: a constant, so on arm64 the x86 paths are not compiled in.
        if (Avx512BW.IsSupported && _quantized && _isa == Isa.Avx512)
        {
            InputProducts<Pairs512, Vector512<int>>(d);
            return;
        }
        if (Avx2.IsSupported && _quantized && _isa == Isa.Avx2)
        {
            InputProducts<Pairs256, Vector256<int>>(d);
            return;
        }
        if (_rowProducts)
        {
            InputRowProducts(d);
            return;
        }
        int quads = 4 * _inputQuads;
        for (int c = 0; c < columns; c++)
        {
            var output = _gx.AsSpan(c * _paddedRows, _paddedRows);
            if (_isa == Isa.AvxVnni)
                ProductsVnni(_w8, d * blocks, blocks, _inputQuads, _x8.AsSpan(c * quads, quads), _wCorrection, _wScale, _wBias, d * _paddedRows, output);
            else if (_quantized) ProductsInt16(_w16, d * blocks, blocks, _inputPairs, _x16.AsSpan(c * pairs, pairs), _wScale, _wBias, d * _paddedRows, output);
            else
            {
                var x = memory.Read<float>(layer.X).Slice(layer.XOffset(c / layer.Batch, c % layer.Batch), k);
                ProductsFloat(_wPacked, d * blocks, blocks, k, x, _wBias, d * _paddedRows, output);
            }
        }
    }

    /// <summary>
    /// int8: _x16[column = t * batch + b] = x[t, b] - zx, each column zero-padded to whole pairs; for the arm64 row
    /// products _x8 holds x[t, b] itself, padded to whole chunks of 16; for AVX-VNNI x[t, b] + 128 as unsigned bytes,
    /// padded to whole quads with 128 (the padding meets zero weights).
    /// </summary>
    private void CenterInputs(TensorMemory memory)
    {
        var layer = _layer;
        var x = memory.Read<sbyte>(layer.X);
        if (_rowProducts)
        {
            int chunkBytes = 16 * _inputChunks;
            for (int c = 0; c < layer.Steps * layer.Batch; c++)
                x.Slice(layer.XOffset(c / layer.Batch, c % layer.Batch), layer.InputSize).CopyTo(_x8.AsSpan(c * chunkBytes));
            return;
        }
        if (_isa == Isa.AvxVnni)
        {
            int quads = 4 * _inputQuads;
            for (int c = 0; c < layer.Steps * layer.Batch; c++)
                x.Slice(layer.XOffset(c / layer.Batch, c % layer.Batch), layer.InputSize).CopyTo(_x8.AsSpan(c * quads));
            if (_isa == Isa.AvxVnni) FlipSignBits(_x8, _x8);
            return;
        }
        int k = layer.InputSize, width = 2 * _inputPairs, zero = layer.XZero;
        var zeroLanes = Vector128.Create((short)zero);
        for (int t = 0; t < layer.Steps; t++)
            for (int b = 0; b < layer.Batch; b++)
            {
                var source = x.Slice(layer.XOffset(t, b), k);
                var target = _x16.AsSpan((t * layer.Batch + b) * width, k);
                int i = 0;
                if (Vector128.IsHardwareAccelerated)
                {
                    ref sbyte from = ref MemoryMarshal.GetReference(source);
                    ref short to = ref MemoryMarshal.GetReference(target);
                    for (; i + 16 <= k; i += 16)
                    {
                        var (low, high) = Vector128.Widen(Vector128.LoadUnsafe(ref from, (nuint)i));
                        (low - zeroLanes).StoreUnsafe(ref to, (nuint)i);
                        (high - zeroLanes).StoreUnsafe(ref to, (nuint)(i + 8));
                    }
                }
                for (; i < k; i++) target[i] = (short)(source[i] - zero);
            }
    }

    /// <summary>to[i] = from[i] ^ 0x80, i.e. q + 128 as an unsigned byte (from and to may be the same array).</summary>
    private static void FlipSignBits(ReadOnlySpan<sbyte> from, Span<sbyte> to)
    {
        int i = 0;
        ref sbyte source = ref MemoryMarshal.GetReference(from);
        ref sbyte target = ref MemoryMarshal.GetReference(to);
        var signs = Vector128.Create(unchecked((sbyte)0x80));
        for (; i + 16 <= from.Length; i += 16) (Vector128.LoadUnsafe(ref source, (nuint)i) ^ signs).StoreUnsafe(ref target, (nuint)i);
        for (; i < from.Length; i++) Unsafe.Add(ref target, i) = (sbyte)(Unsafe.Add(ref source, i) ^ unchecked((sbyte)0x80));
    }

    /// <summary>W·x + Wb of direction d for all columns (time steps × batch rows) in register tiles (<see cref="Products{TL, TVec}"/>).</summary>
    private void InputProducts<TL, TVec>(int d) where TL : struct, IPairLanes<TVec> where TVec : struct
    {
        int lanes = TL.Count, blocks = _paddedRows / lanes;
        nuint pairs = (nuint)_inputPairs, stride = pairs * 2 * (nuint)lanes;
        Products<TL, TVec>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_w16), (nuint)(d * blocks) * stride), blocks, _layer.Steps * _layer.Batch,
            ref Unsafe.As<short, int>(ref MemoryMarshal.GetArrayDataReference(_x16)), pairs,
            ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_wScale), d * _paddedRows), ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_wBias), d * _paddedRows),
            ref MemoryMarshal.GetArrayDataReference(_gx), (nuint)_paddedRows);
    }

    /// <summary>y[at..+8] = (float)sums · scales[at..] + biases[at..] for six consecutive 8-row blocks from <paramref name="at"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScaled6(Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3, Vector256<int> s4, Vector256<int> s5,
        ref float scales, ref float biases, ref float y, nuint at)
    {
        Pairs256.StoreScaled(s0, ref scales, ref biases, ref y, at);
        Pairs256.StoreScaled(s1, ref scales, ref biases, ref y, at + Block);
        Pairs256.StoreScaled(s2, ref scales, ref biases, ref y, at + 2 * Block);
        Pairs256.StoreScaled(s3, ref scales, ref biases, ref y, at + 3 * Block);
        Pairs256.StoreScaled(s4, ref scales, ref biases, ref y, at + 4 * Block);
        Pairs256.StoreScaled(s5, ref scales, ref biases, ref y, at + 5 * Block);
    }

    /// <summary>The state's bytes the int8 dot-product variants read: q (SDOT) or q + 128 (AVX-VNNI).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<sbyte> HiddenBytes(int state, int n) => (_isa == Isa.AvxVnni ? _hStateBiased : _hStateQ).AsSpan(state, n);

    /// <summary>R·v + Rb for padded gate rows [firstRow, firstRow + count) of direction d into _gr.</summary>
    /// <remarks>
    /// Inlined, with <see cref="ProductsInt16"/> and <see cref="WriteY"/>, into the cells: the JIT does so from its
    /// profile data, NativeAOT (no profile) otherwise makes these calls every step.
    /// <see cref="Products{TL, TVec}"/> stays a call under NativeAOT: inlined three times into FusedGruCellInt8 it is slower
    /// (code size).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RecurrentProducts(int d, int firstRow, int count, ReadOnlySpan<float> v, ReadOnlySpan<short> v16, ReadOnlySpan<sbyte> v8)
    {
        int blocks = _paddedRows / Block, first = d * blocks + firstRow / Block;
        var output = _gr.AsSpan(firstRow, count);
        int rowOffset = d * _paddedRows + firstRow;
        if (_rQuads)
        {
            int groups = _paddedRows / 4;
            RecurrentQuadProducts.Run(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_r8), (nuint)((d * _hiddenChunks * 4 * groups + firstRow / 4) * 16)),
                groups, count / 4, _hiddenChunks, ref MemoryMarshal.GetReference(v8), ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rCorrection), rowOffset),
                ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rScaleBias), 2 * rowOffset), ref MemoryMarshal.GetReference(output));
        }
        else if (_rowProducts)
        {
            nuint stride = (nuint)(_hiddenChunks * 16 * Block);
            ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_r8), (nuint)first * stride);
            ref sbyte x = ref MemoryMarshal.GetReference(v8);
            ref int corrections = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rCorrection), 4 * rowOffset);
            ref float scaleBias = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rScaleBias), 2 * rowOffset);
            ref float y = ref MemoryMarshal.GetReference(output);
            if (_isa == Isa.AdvSimdDot) RowProducts<DotMac>(ref w, count / Block, _hiddenChunks, ref x, ref corrections, ref scaleBias, ref y);
            else if (_rPairs) RowProducts<PairMac>(ref w, count / Block, _hiddenChunks, ref x, ref corrections, ref scaleBias, ref y);
            else RowProducts<WideMac>(ref w, count / Block, _hiddenChunks, ref x, ref corrections, ref scaleBias, ref y);
        }
        else if (_isa == Isa.AvxVnni) ProductsVnni(_r8, first, count / Block, _hiddenQuads, v8, _rCorrection, _rScale, _rBias, rowOffset, output);
        else if (_quantized) ProductsInt16(_r16, first, count / Block, _hiddenPairs, v16, _rScale, _rBias, rowOffset, output);
        else ProductsFloat(_rPacked, first, count / Block, _layer.Hidden, v, _rBias, rowOffset, output);
    }

    /// <summary>
    /// output[8·i + lane] = (float)(Σ_k v[k]·w[row, k]) · scale[row] + bias[row] for blocks [firstBlock, firstBlock + blockCount);
    /// scale and bias are read from <paramref name="rowOffset"/> on. v holds 2·pairs int16 values (zero past the end).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ProductsInt16(short[] packed, int firstBlock, int blockCount, int pairs, ReadOnlySpan<short> v,
        float[] scale, float[] bias, int rowOffset, Span<float> output)
    {
        ref short w = ref MemoryMarshal.GetArrayDataReference(packed);
        ref int vPairs = ref Unsafe.As<short, int>(ref MemoryMarshal.GetReference(v));
        ref short vShorts = ref MemoryMarshal.GetReference(v);
        ref float scales = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(scale), rowOffset);
        ref float biases = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(bias), rowOffset);
        ref float y = ref MemoryMarshal.GetReference(output);
        int stride = pairs * 2 * Block;
        // IsSupported first: a constant, so on arm64 the x86 paths are not compiled in.
        if (Avx512BW.IsSupported && _isa == Isa.Avx512)
        {
            // 16-row blocks: firstBlock and blockCount (in 8-row blocks) are even, rows being padded to 16 per gate.
            Products<Pairs512, Vector512<int>>(ref Unsafe.Add(ref w, firstBlock / 2 * 2 * stride), blockCount / 2, 1, ref vPairs, (nuint)pairs, ref scales, ref biases, ref y, 0);
            return;
        }
        if (Avx2.IsSupported && _isa == Isa.Avx2)
        {
            Products<Pairs256, Vector256<int>>(ref Unsafe.Add(ref w, firstBlock * stride), blockCount, 1, ref vPairs, (nuint)pairs, ref scales, ref biases, ref y, 0);
            return;
        }
        for (int i = 0; i < blockCount; i++)
        {
            ref short wb = ref Unsafe.Add(ref w, (firstBlock + i) * stride);
            nuint at = (nuint)(i * Block);
            Vector128<int> low = default, high = default;
            if (_neon)
            {
                for (int p = 0; p < pairs; p++)
                {
                    var w0 = Vector128.LoadUnsafe(ref wb, (nuint)(p * 2 * Block));
                    var w1 = Vector128.LoadUnsafe(ref wb, (nuint)(p * 2 * Block + Block));
                    var x0 = Vector128.Create(Unsafe.Add(ref vShorts, 2 * p));
                    var x1 = Vector128.Create(Unsafe.Add(ref vShorts, 2 * p + 1));
                    low = AdvSimd.MultiplyWideningLowerAndAdd(low, w0.GetLower(), x0.GetLower());
                    high = AdvSimd.MultiplyWideningUpperAndAdd(high, w0, x0);
                    low = AdvSimd.MultiplyWideningLowerAndAdd(low, w1.GetLower(), x1.GetLower());
                    high = AdvSimd.MultiplyWideningUpperAndAdd(high, w1, x1);
                }
            }
            else
            {
                for (int p = 0; p < pairs; p++)
                {
                    var x = Vector128.Create(Unsafe.Add(ref vPairs, p)).AsInt16();
                    low += Sse2.MultiplyAddAdjacent(Vector128.LoadUnsafe(ref wb, (nuint)(p * 2 * Block)), x);
                    high += Sse2.MultiplyAddAdjacent(Vector128.LoadUnsafe(ref wb, (nuint)(p * 2 * Block + Block)), x);
                }
            }
            (Vector128.ConvertToSingle(low) * Vector128.LoadUnsafe(ref scales, at) + Vector128.LoadUnsafe(ref biases, at)).StoreUnsafe(ref y, at);
            (Vector128.ConvertToSingle(high) * Vector128.LoadUnsafe(ref scales, at + 4) + Vector128.LoadUnsafe(ref biases, at + 4)).StoreUnsafe(ref y, at + 4);
        }
    }

    /// <summary>
    /// y[c·rows + row] = (float)(Σ_p x_c[p]·w[row, p]) · scales[row] + biases[row] for <paramref name="blockCount"/> row
    /// blocks of <c>TL.Count</c> rows and <paramref name="columns"/> columns, in register tiles of int16-pair
    /// multiply-adds: on AVX2 (8-row blocks, 16 registers) six blocks by two columns, then four by two; on AVX-512
    /// (16-row blocks, 32 registers) three by three; then the rest of the blocks one by one.
    /// </summary>
    private static void Products<TL, TVec>(ref short w, int blockCount, int columns, ref int x, nuint pairs, ref float scales, ref float biases, ref float y, nuint rows)
        where TL : struct, IPairLanes<TVec> where TVec : struct
    {
        int i = 0;
        if (TL.Count == Block)
        {
            i = Tiles<TL, TVec, Tile6x2, Tile6x1>(i, blockCount, columns, ref w, ref x, pairs, ref scales, ref biases, ref y, rows);
            i = Tiles<TL, TVec, Tile4x2, Tile4x1>(i, blockCount, columns, ref w, ref x, pairs, ref scales, ref biases, ref y, rows);
        }
        else i = Tiles<TL, TVec, Tile3x3, Tile3x1>(i, blockCount, columns, ref w, ref x, pairs, ref scales, ref biases, ref y, rows);
        Tiles<TL, TVec, Tile1x1, Tile1x1>(i, blockCount, columns, ref w, ref x, pairs, ref scales, ref biases, ref y, rows);
    }

    /// <summary>
    /// <see cref="Products{TL, TVec}"/> for the row blocks from <paramref name="i"/> in tiles of <typeparamref name="TTile"/>,
    /// the columns that do not fill one in tiles of <typeparamref name="TColumn"/>. Returns the first block not done.
    /// </summary>
    private static int Tiles<TL, TVec, TTile, TColumn>(int i, int blockCount, int columns, ref short w, ref int x, nuint pairs,
        ref float scales, ref float biases, ref float y, nuint rows)
        where TL : struct, IPairLanes<TVec> where TVec : struct where TTile : struct, ITileShape where TColumn : struct, ITileShape
    {
        nuint lanes = (nuint)TL.Count, stride = pairs * 2 * lanes;
        for (; i + TTile.Blocks <= blockCount; i += TTile.Blocks)
        {
            ref short wi = ref Unsafe.Add(ref w, (nuint)i * stride);
            nuint at = (nuint)i * lanes;
            ref float s = ref Unsafe.Add(ref scales, at);
            ref float b = ref Unsafe.Add(ref biases, at);
            int c = 0;
            for (; c + TTile.Columns <= columns; c += TTile.Columns)
                Int16PairTile.Run<TL, TVec, TTile>(ref wi, stride, ref Unsafe.Add(ref x, (nuint)c * pairs), pairs, ref s, ref b, ref Unsafe.Add(ref y, (nuint)c * rows + at), rows);
            for (; c < columns; c++)
                Int16PairTile.Run<TL, TVec, TColumn>(ref wi, stride, ref Unsafe.Add(ref x, (nuint)c * pairs), pairs, ref s, ref b, ref Unsafe.Add(ref y, (nuint)c * rows + at), rows);
        }
        return i;
    }

    /// <summary>16 int8 products of a weight chunk and an input chunk added into the 4 int32 lanes of a row's sums.</summary>
    private interface IInt8Mac
    {
        static abstract Vector128<int> Mac(Vector128<int> sums, Vector128<sbyte> w, Vector128<sbyte> x);
    }

    /// <summary>
    /// SMULL2 + SMLAL + SADALP: each int16 lane takes two products, which fit when no weight is -128
    /// (|w·x| ≤ 127·128); 8 products per multiply instruction. The upper halves first: w's last use is then its lower
    /// half, which needs no copy of the register.
    /// </summary>
    private readonly struct PairMac : IInt8Mac
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Mac(Vector128<int> sums, Vector128<sbyte> w, Vector128<sbyte> x) =>
            AdvSimd.AddPairwiseWideningAndAdd(sums, AdvSimd.MultiplyWideningLowerAndAdd(AdvSimd.MultiplyWideningUpper(w, x), w.GetLower(), x.GetLower()));
    }

    /// <summary>SMULL2 + SADALP, SMULL + SADALP: one product per int16 lane, for any weights (-128 · -128 fits).</summary>
    private readonly struct WideMac : IInt8Mac
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Mac(Vector128<int> sums, Vector128<sbyte> w, Vector128<sbyte> x) =>
            AdvSimd.AddPairwiseWideningAndAdd(AdvSimd.AddPairwiseWideningAndAdd(sums, AdvSimd.MultiplyWideningUpper(w, x)),
                AdvSimd.MultiplyWideningLower(w.GetLower(), x.GetLower()));
    }

    /// <summary>SDOT: 16 products in one instruction.</summary>
    private readonly struct DotMac : IInt8Mac
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Mac(Vector128<int> sums, Vector128<sbyte> w, Vector128<sbyte> x) => Dp.DotProduct(sums, w, x);
    }

    /// <summary>
    /// The row sums of 8 rows (4 partial sums each, the first started from the row's correction) as two vectors of 4
    /// whole sums, to float, times the scales plus the biases into y from <paramref name="at"/>: the reference's
    /// (float)acc · rowScale + bias per row. <paramref name="scaleBias"/>: the 8 rows' scales and biases as laid out in
    /// <see cref="_rScaleBias"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3, Vector128<int> a4, Vector128<int> a5,
        Vector128<int> a6, Vector128<int> a7, ref float scaleBias, ref float y)
    {
        var low = AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a0, a1), AdvSimd.Arm64.AddPairwise(a2, a3));
        var high = AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a4, a5), AdvSimd.Arm64.AddPairwise(a6, a7));
        var s0 = Vector128.LoadUnsafe(ref scaleBias);
        var b0 = Vector128.LoadUnsafe(ref scaleBias, 4);
        var s1 = Vector128.LoadUnsafe(ref scaleBias, 8);
        var b1 = Vector128.LoadUnsafe(ref scaleBias, 12);
        var y0 = Vector128.ConvertToSingle(low) * s0 + b0;
        var y1 = Vector128.ConvertToSingle(high) * s1 + b1;
        y0.StoreUnsafe(ref y);
        y1.StoreUnsafe(ref y, 4);
    }

    /// <summary>
    /// y[8·i + lane] = (float)(Σ_k x[k]·w[row, k] - correction[row]) · scale[row] + bias[row] for the first
    /// <paramref name="blocks"/> blocks of 8 rows at w (<see cref="PackRows"/>), x holding 16·chunks int8 values; two
    /// blocks per pass (16 sums), so each load of x serves 16 rows.
    /// </summary>
    /// <remarks>
    /// The weights are read through pointers that move by a whole chunk (base + constant offsets, paired loads), each
    /// pair of loads written before the multiplies that use it.
    /// </remarks>
    private static void RowProducts<TMac>(ref sbyte w, int blocks, int chunks, ref sbyte x, ref int corrections, ref float scaleBias, ref float y)
        where TMac : struct, IInt8Mac
    {
        nuint stride = (nuint)(chunks * 16 * Block);
        ref sbyte xEnd = ref Unsafe.Add(ref x, (nuint)(16 * chunks));
        int i = 0;
        for (; i + 2 <= blocks; i += 2)
        {
            ref sbyte p = ref Unsafe.Add(ref w, (nuint)i * stride);
            ref sbyte q = ref Unsafe.Add(ref p, stride);
            ref sbyte xp = ref x;
            ref int start = ref Unsafe.Add(ref corrections, (nuint)(i * Block * 4));
            Vector128<int> a0 = Vector128.LoadUnsafe(ref start), a1 = Vector128.LoadUnsafe(ref start, 4), a2 = Vector128.LoadUnsafe(ref start, 8),
                a3 = Vector128.LoadUnsafe(ref start, 12), a4 = Vector128.LoadUnsafe(ref start, 16), a5 = Vector128.LoadUnsafe(ref start, 20),
                a6 = Vector128.LoadUnsafe(ref start, 24), a7 = Vector128.LoadUnsafe(ref start, 28);
            Vector128<int> b0 = Vector128.LoadUnsafe(ref start, 32), b1 = Vector128.LoadUnsafe(ref start, 36), b2 = Vector128.LoadUnsafe(ref start, 40),
                b3 = Vector128.LoadUnsafe(ref start, 44), b4 = Vector128.LoadUnsafe(ref start, 48), b5 = Vector128.LoadUnsafe(ref start, 52),
                b6 = Vector128.LoadUnsafe(ref start, 56), b7 = Vector128.LoadUnsafe(ref start, 60);
            do
            {
                var xv = Vector128.LoadUnsafe(ref xp);
                var w0 = Vector128.LoadUnsafe(ref p);
                var w1 = Vector128.LoadUnsafe(ref p, 16);
                a0 = TMac.Mac(a0, w0, xv);
                a1 = TMac.Mac(a1, w1, xv);
                w0 = Vector128.LoadUnsafe(ref p, 32);
                w1 = Vector128.LoadUnsafe(ref p, 48);
                a2 = TMac.Mac(a2, w0, xv);
                a3 = TMac.Mac(a3, w1, xv);
                w0 = Vector128.LoadUnsafe(ref p, 64);
                w1 = Vector128.LoadUnsafe(ref p, 80);
                a4 = TMac.Mac(a4, w0, xv);
                a5 = TMac.Mac(a5, w1, xv);
                w0 = Vector128.LoadUnsafe(ref p, 96);
                w1 = Vector128.LoadUnsafe(ref p, 112);
                a6 = TMac.Mac(a6, w0, xv);
                a7 = TMac.Mac(a7, w1, xv);
                w0 = Vector128.LoadUnsafe(ref q);
                w1 = Vector128.LoadUnsafe(ref q, 16);
                b0 = TMac.Mac(b0, w0, xv);
                b1 = TMac.Mac(b1, w1, xv);
                w0 = Vector128.LoadUnsafe(ref q, 32);
                w1 = Vector128.LoadUnsafe(ref q, 48);
                b2 = TMac.Mac(b2, w0, xv);
                b3 = TMac.Mac(b3, w1, xv);
                w0 = Vector128.LoadUnsafe(ref q, 64);
                w1 = Vector128.LoadUnsafe(ref q, 80);
                b4 = TMac.Mac(b4, w0, xv);
                b5 = TMac.Mac(b5, w1, xv);
                w0 = Vector128.LoadUnsafe(ref q, 96);
                w1 = Vector128.LoadUnsafe(ref q, 112);
                b6 = TMac.Mac(b6, w0, xv);
                b7 = TMac.Mac(b7, w1, xv);
                p = ref Unsafe.Add(ref p, 16 * Block);
                q = ref Unsafe.Add(ref q, 16 * Block);
                xp = ref Unsafe.Add(ref xp, 16);
            }
            while (Unsafe.IsAddressLessThan(ref xp, ref xEnd));
            nuint at = (nuint)(i * Block);
            StoreRows(a0, a1, a2, a3, a4, a5, a6, a7, ref Unsafe.Add(ref scaleBias, 2 * at), ref Unsafe.Add(ref y, at));
            StoreRows(b0, b1, b2, b3, b4, b5, b6, b7, ref Unsafe.Add(ref scaleBias, 2 * at + 2 * Block), ref Unsafe.Add(ref y, at + Block));
        }
        if (i < blocks)
        {
            ref sbyte p = ref Unsafe.Add(ref w, (nuint)i * stride);
            ref sbyte xp = ref x;
            ref int start = ref Unsafe.Add(ref corrections, (nuint)(i * Block * 4));
            Vector128<int> a0 = Vector128.LoadUnsafe(ref start), a1 = Vector128.LoadUnsafe(ref start, 4), a2 = Vector128.LoadUnsafe(ref start, 8),
                a3 = Vector128.LoadUnsafe(ref start, 12), a4 = Vector128.LoadUnsafe(ref start, 16), a5 = Vector128.LoadUnsafe(ref start, 20),
                a6 = Vector128.LoadUnsafe(ref start, 24), a7 = Vector128.LoadUnsafe(ref start, 28);
            do
            {
                var xv = Vector128.LoadUnsafe(ref xp);
                var w0 = Vector128.LoadUnsafe(ref p);
                var w1 = Vector128.LoadUnsafe(ref p, 16);
                a0 = TMac.Mac(a0, w0, xv);
                a1 = TMac.Mac(a1, w1, xv);
                w0 = Vector128.LoadUnsafe(ref p, 32);
                w1 = Vector128.LoadUnsafe(ref p, 48);
                a2 = TMac.Mac(a2, w0, xv);
                a3 = TMac.Mac(a3, w1, xv);
                w0 = Vector128.LoadUnsafe(ref p, 64);
                w1 = Vector128.LoadUnsafe(ref p, 80);
                a4 = TMac.Mac(a4, w0, xv);
                a5 = TMac.Mac(a5, w1, xv);
                w0 = Vector128.LoadUnsafe(ref p, 96);
                w1 = Vector128.LoadUnsafe(ref p, 112);
                a6 = TMac.Mac(a6, w0, xv);
                a7 = TMac.Mac(a7, w1, xv);
                p = ref Unsafe.Add(ref p, 16 * Block);
                xp = ref Unsafe.Add(ref xp, 16);
            }
            while (Unsafe.IsAddressLessThan(ref xp, ref xEnd));
            StoreRows(a0, a1, a2, a3, a4, a5, a6, a7, ref Unsafe.Add(ref scaleBias, (nuint)(2 * i * Block)), ref Unsafe.Add(ref y, (nuint)(i * Block)));
        }
    }

    /// <summary>
    /// <see cref="RowProducts{TMac}"/> for two inputs at once (x0 and x1, outputs y0 and y1), one block of 8 rows per
    /// pass: each weight load serves both.
    /// </summary>
    private static void RowProductsTwoColumns<TMac>(ref sbyte w, int blocks, int chunks, ref sbyte x0, ref sbyte x1, ref int corrections,
        ref float scaleBias, ref float y0, ref float y1) where TMac : struct, IInt8Mac
    {
        nuint stride = (nuint)(chunks * 16 * Block);
        ref sbyte xEnd = ref Unsafe.Add(ref x0, (nuint)(16 * chunks));
        nuint gap = (nuint)Unsafe.ByteOffset(ref x0, ref x1);
        for (int i = 0; i < blocks; i++)
        {
            ref sbyte p = ref Unsafe.Add(ref w, (nuint)i * stride);
            ref sbyte xp = ref x0;
            ref int start = ref Unsafe.Add(ref corrections, (nuint)(i * Block * 4));
            Vector128<int> a0 = Vector128.LoadUnsafe(ref start), a1 = Vector128.LoadUnsafe(ref start, 4), a2 = Vector128.LoadUnsafe(ref start, 8),
                a3 = Vector128.LoadUnsafe(ref start, 12), a4 = Vector128.LoadUnsafe(ref start, 16), a5 = Vector128.LoadUnsafe(ref start, 20),
                a6 = Vector128.LoadUnsafe(ref start, 24), a7 = Vector128.LoadUnsafe(ref start, 28);
            // Loaded again rather than copied: a load pair per two sums instead of a register move per sum.
            Vector128<int> b0 = Vector128.LoadUnsafe(ref start), b1 = Vector128.LoadUnsafe(ref start, 4), b2 = Vector128.LoadUnsafe(ref start, 8),
                b3 = Vector128.LoadUnsafe(ref start, 12), b4 = Vector128.LoadUnsafe(ref start, 16), b5 = Vector128.LoadUnsafe(ref start, 20),
                b6 = Vector128.LoadUnsafe(ref start, 24), b7 = Vector128.LoadUnsafe(ref start, 28);
            do
            {
                var xa = Vector128.LoadUnsafe(ref xp);
                var xb = Vector128.LoadUnsafe(ref xp, gap);
                var w0 = Vector128.LoadUnsafe(ref p);
                var w1 = Vector128.LoadUnsafe(ref p, 16);
                a0 = TMac.Mac(a0, w0, xa);
                b0 = TMac.Mac(b0, w0, xb);
                a1 = TMac.Mac(a1, w1, xa);
                b1 = TMac.Mac(b1, w1, xb);
                w0 = Vector128.LoadUnsafe(ref p, 32);
                w1 = Vector128.LoadUnsafe(ref p, 48);
                a2 = TMac.Mac(a2, w0, xa);
                b2 = TMac.Mac(b2, w0, xb);
                a3 = TMac.Mac(a3, w1, xa);
                b3 = TMac.Mac(b3, w1, xb);
                w0 = Vector128.LoadUnsafe(ref p, 64);
                w1 = Vector128.LoadUnsafe(ref p, 80);
                a4 = TMac.Mac(a4, w0, xa);
                b4 = TMac.Mac(b4, w0, xb);
                a5 = TMac.Mac(a5, w1, xa);
                b5 = TMac.Mac(b5, w1, xb);
                w0 = Vector128.LoadUnsafe(ref p, 96);
                w1 = Vector128.LoadUnsafe(ref p, 112);
                a6 = TMac.Mac(a6, w0, xa);
                b6 = TMac.Mac(b6, w0, xb);
                a7 = TMac.Mac(a7, w1, xa);
                b7 = TMac.Mac(b7, w1, xb);
                p = ref Unsafe.Add(ref p, 16 * Block);
                xp = ref Unsafe.Add(ref xp, 16);
            }
            while (Unsafe.IsAddressLessThan(ref xp, ref xEnd));
            nuint at = (nuint)(i * Block);
            StoreRows(a0, a1, a2, a3, a4, a5, a6, a7, ref Unsafe.Add(ref scaleBias, 2 * at), ref Unsafe.Add(ref y0, at));
            StoreRows(b0, b1, b2, b3, b4, b5, b6, b7, ref Unsafe.Add(ref scaleBias, 2 * at), ref Unsafe.Add(ref y1, at));
        }
    }

    /// <summary>W·x + Wb of direction d for all columns with the arm64 row products (SDOT: two columns at a time).</summary>
    private void InputRowProducts(int d)
    {
        if (_wQuads) InputQuadProducts(d);
        else if (_isa == Isa.AdvSimdDot) InputRowProducts<DotMac>(d);
        else if (_wPairs) InputRowProducts<PairMac>(d);
        else InputRowProducts<WideMac>(d);
    }

    /// <summary>W·x + Wb of direction d for all columns with <see cref="RecurrentQuadProducts"/>.</summary>
    private void InputQuadProducts(int d)
    {
        int groups = _paddedRows / 4, chunks = _inputChunks, columns = _layer.Steps * _layer.Batch;
        nuint width = (nuint)(16 * chunks), rows = (nuint)_paddedRows;
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_w8), (nuint)(d * chunks * 4 * groups * 16));
        ref sbyte x = ref MemoryMarshal.GetArrayDataReference(_x8);
        ref int start = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_wCorrection), d * _paddedRows);
        ref float scaleBias = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_wScaleBias), 2 * d * _paddedRows);
        ref float y = ref MemoryMarshal.GetArrayDataReference(_gx);
        for (int c = 0; c < columns; c++)
            RecurrentQuadProducts.Run(ref w, groups, groups, chunks, ref Unsafe.Add(ref x, (nuint)c * width), ref start, ref scaleBias, ref Unsafe.Add(ref y, (nuint)c * rows));
    }

    private void InputRowProducts<TMac>(int d) where TMac : struct, IInt8Mac
    {
        int blocks = _paddedRows / Block, chunks = _inputChunks, columns = _layer.Steps * _layer.Batch;
        nuint width = (nuint)(16 * chunks), rows = (nuint)_paddedRows;
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_w8), (nuint)(d * blocks * chunks * 16 * Block));
        ref sbyte x = ref MemoryMarshal.GetArrayDataReference(_x8);
        ref int corrections = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_wCorrection), 4 * d * _paddedRows);
        ref float scaleBias = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_wScaleBias), 2 * d * _paddedRows);
        ref float y = ref MemoryMarshal.GetArrayDataReference(_gx);
        int c = 0;
        // SMULL/SMLAL: one column at a time on 16 rows measured fewer instructions than two columns on 8 (the shared
        // weights' lower halves cost a register copy each).
        if (typeof(TMac) == typeof(DotMac))
            for (; c + 2 <= columns; c += 2)
                RowProductsTwoColumns<TMac>(ref w, blocks, chunks, ref Unsafe.Add(ref x, (nuint)c * width), ref Unsafe.Add(ref x, (nuint)(c + 1) * width),
                ref corrections, ref scaleBias, ref Unsafe.Add(ref y, (nuint)c * rows), ref Unsafe.Add(ref y, (nuint)(c + 1) * rows));
        for (; c < columns; c++)
            RowProducts<TMac>(ref w, blocks, chunks, ref Unsafe.Add(ref x, (nuint)c * width), ref corrections, ref scaleBias, ref Unsafe.Add(ref y, (nuint)c * rows));
    }

    /// <summary>
    /// As <see cref="ProductsInt16"/> with AVX-VNNI's vpdpbusd (unsigned × signed bytes, 8 rows × 4 columns per
    /// instruction) on v + 128 (v holds it: the sign bits flipped where v is stored): the sum of (v + 128)·w started
    /// from correction[row] (-(zero point + 128)·Σ w) is Σ (v - zero point)·w.
    /// </summary>
    private static void ProductsVnni(sbyte[] packed, int firstBlock, int blockCount, int quads, ReadOnlySpan<sbyte> v,
        int[] correction, float[] scale, float[] bias, int rowOffset, Span<float> output)
    {
        nuint stride = (nuint)(quads * 4 * Block);
        ProductsVnni(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(packed), (nuint)firstBlock * stride)), blockCount, quads,
            ref Unsafe.As<sbyte, int>(ref MemoryMarshal.GetReference(v)), ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(correction), rowOffset),
            ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(scale), rowOffset), ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(bias), rowOffset),
            ref MemoryMarshal.GetReference(output));
    }

    /// <summary>
    /// <see cref="ProductsVnni(sbyte[], int, int, int, ReadOnlySpan{sbyte}, int[], float[], float[], int, Span{float})"/>
    /// on references: six blocks share each broadcast quadruplet (6 sums and the broadcast fit the 16 ymm registers;
    /// the six chains of vpdpbusd overlap), then four, then one.
    /// </summary>
    private static void ProductsVnni(ref byte w, int blockCount, int quads, ref int x, ref int corrections, ref float scales, ref float biases, ref float y)
    {
        nuint stride = (nuint)(quads * 4 * Block);
        int i = 0;
        for (; i + 6 <= blockCount; i += 6)
        {
            ref byte w0 = ref Unsafe.Add(ref w, (nuint)i * stride);
            ref byte w1 = ref Unsafe.Add(ref w0, stride);
            ref byte w2 = ref Unsafe.Add(ref w1, stride);
            ref byte w3 = ref Unsafe.Add(ref w2, stride);
            ref byte w4 = ref Unsafe.Add(ref w3, stride);
            ref byte w5 = ref Unsafe.Add(ref w4, stride);
            nuint at = (nuint)(i * Block);
            var s0 = Vector256.LoadUnsafe(ref corrections, at);
            var s1 = Vector256.LoadUnsafe(ref corrections, at + Block);
            var s2 = Vector256.LoadUnsafe(ref corrections, at + 2 * Block);
            var s3 = Vector256.LoadUnsafe(ref corrections, at + 3 * Block);
            var s4 = Vector256.LoadUnsafe(ref corrections, at + 4 * Block);
            var s5 = Vector256.LoadUnsafe(ref corrections, at + 5 * Block);
            for (nuint q = 0, o = 0; q < (nuint)quads; q++, o += 4 * Block)
            {
                var xq = Vector256.Create(Unsafe.Add(ref x, q)).AsByte();
                s0 = AvxVnni.MultiplyWideningAndAdd(s0, xq, Vector256.LoadUnsafe(ref w0, o).AsSByte());
                s1 = AvxVnni.MultiplyWideningAndAdd(s1, xq, Vector256.LoadUnsafe(ref w1, o).AsSByte());
                s2 = AvxVnni.MultiplyWideningAndAdd(s2, xq, Vector256.LoadUnsafe(ref w2, o).AsSByte());
                s3 = AvxVnni.MultiplyWideningAndAdd(s3, xq, Vector256.LoadUnsafe(ref w3, o).AsSByte());
                s4 = AvxVnni.MultiplyWideningAndAdd(s4, xq, Vector256.LoadUnsafe(ref w4, o).AsSByte());
                s5 = AvxVnni.MultiplyWideningAndAdd(s5, xq, Vector256.LoadUnsafe(ref w5, o).AsSByte());
            }
            StoreScaled6(s0, s1, s2, s3, s4, s5, ref scales, ref biases, ref y, at);
        }
        for (; i + 4 <= blockCount; i += 4)
        {
            ref byte w0 = ref Unsafe.Add(ref w, (nuint)i * stride);
            ref byte w1 = ref Unsafe.Add(ref w0, stride);
            ref byte w2 = ref Unsafe.Add(ref w1, stride);
            ref byte w3 = ref Unsafe.Add(ref w2, stride);
            nuint at = (nuint)(i * Block);
            var s0 = Vector256.LoadUnsafe(ref corrections, at);
            var s1 = Vector256.LoadUnsafe(ref corrections, at + Block);
            var s2 = Vector256.LoadUnsafe(ref corrections, at + 2 * Block);
            var s3 = Vector256.LoadUnsafe(ref corrections, at + 3 * Block);
            for (nuint q = 0, o = 0; q < (nuint)quads; q++, o += 4 * Block)
            {
                var xq = Vector256.Create(Unsafe.Add(ref x, q)).AsByte();
                s0 = AvxVnni.MultiplyWideningAndAdd(s0, xq, Vector256.LoadUnsafe(ref w0, o).AsSByte());
                s1 = AvxVnni.MultiplyWideningAndAdd(s1, xq, Vector256.LoadUnsafe(ref w1, o).AsSByte());
                s2 = AvxVnni.MultiplyWideningAndAdd(s2, xq, Vector256.LoadUnsafe(ref w2, o).AsSByte());
                s3 = AvxVnni.MultiplyWideningAndAdd(s3, xq, Vector256.LoadUnsafe(ref w3, o).AsSByte());
            }
            Pairs256.StoreScaled(s0, ref scales, ref biases, ref y, at);
            Pairs256.StoreScaled(s1, ref scales, ref biases, ref y, at + Block);
            Pairs256.StoreScaled(s2, ref scales, ref biases, ref y, at + 2 * Block);
            Pairs256.StoreScaled(s3, ref scales, ref biases, ref y, at + 3 * Block);
        }
        for (; i < blockCount; i++)
        {
            ref byte wb = ref Unsafe.Add(ref w, (nuint)i * stride);
            nuint at = (nuint)(i * Block);
            var sum = Vector256.LoadUnsafe(ref corrections, at);
            for (nuint q = 0, o = 0; q < (nuint)quads; q++, o += 4 * Block)
                sum = AvxVnni.MultiplyWideningAndAdd(sum, Vector256.Create(Unsafe.Add(ref x, q)).AsByte(), Vector256.LoadUnsafe(ref wb, o).AsSByte());
            Pairs256.StoreScaled(sum, ref scales, ref biases, ref y, at);
        }
    }

    /// <summary>
    /// output[8·i + lane] = (Σ_k v[k]·w[row, k], summed from 0 in index order) + bias[row]: per lane the reference's
    /// float operations in the reference's order.
    /// </summary>
    private void ProductsFloat(float[] packed, int firstBlock, int blockCount, int columns, ReadOnlySpan<float> v,
        float[] bias, int rowOffset, Span<float> output)
    {
        ref float w = ref MemoryMarshal.GetArrayDataReference(packed);
        ref float x = ref MemoryMarshal.GetReference(v);
        ref float biases = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(bias), rowOffset);
        ref float y = ref MemoryMarshal.GetReference(output);
        int stride = columns * Block;
        int i = 0;
        // Two blocks at a time: their sums are independent, so the adds of one overlap the other's latency.
        for (; i + 2 <= blockCount; i += 2)
        {
            ref float w0 = ref Unsafe.Add(ref w, (firstBlock + i) * stride);
            ref float w1 = ref Unsafe.Add(ref w0, stride);
            nuint at = (nuint)(i * Block);
            if (_isa is Isa.Avx2 or Isa.Avx512)
            {
                Vector256<float> s0 = default, s1 = default;
                for (int k = 0; k < columns; k++)
                {
                    var xv = Vector256.Create(Unsafe.Add(ref x, k));
                    s0 += xv * Vector256.LoadUnsafe(ref w0, (nuint)(k * Block));
                    s1 += xv * Vector256.LoadUnsafe(ref w1, (nuint)(k * Block));
                }
                (s0 + Vector256.LoadUnsafe(ref biases, at)).StoreUnsafe(ref y, at);
                (s1 + Vector256.LoadUnsafe(ref biases, at + Block)).StoreUnsafe(ref y, at + Block);
            }
            else
            {
                Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default;
                for (int k = 0; k < columns; k++)
                {
                    var xv = Vector128.Create(Unsafe.Add(ref x, k));
                    nuint o = (nuint)(k * Block);
                    s0 += xv * Vector128.LoadUnsafe(ref w0, o);
                    s1 += xv * Vector128.LoadUnsafe(ref w0, o + 4);
                    s2 += xv * Vector128.LoadUnsafe(ref w1, o);
                    s3 += xv * Vector128.LoadUnsafe(ref w1, o + 4);
                }
                (s0 + Vector128.LoadUnsafe(ref biases, at)).StoreUnsafe(ref y, at);
                (s1 + Vector128.LoadUnsafe(ref biases, at + 4)).StoreUnsafe(ref y, at + 4);
                (s2 + Vector128.LoadUnsafe(ref biases, at + 8)).StoreUnsafe(ref y, at + 8);
                (s3 + Vector128.LoadUnsafe(ref biases, at + 12)).StoreUnsafe(ref y, at + 12);
            }
        }
        for (; i < blockCount; i++)
        {
            ref float w0 = ref Unsafe.Add(ref w, (firstBlock + i) * stride);
            nuint at = (nuint)(i * Block);
            Vector128<float> s0 = default, s1 = default;
            for (int k = 0; k < columns; k++)
            {
                var xv = Vector128.Create(Unsafe.Add(ref x, k));
                s0 += xv * Vector128.LoadUnsafe(ref w0, (nuint)(k * Block));
                s1 += xv * Vector128.LoadUnsafe(ref w0, (nuint)(k * Block + 4));
            }
            (s0 + Vector128.LoadUnsafe(ref biases, at)).StoreUnsafe(ref y, at);
            (s1 + Vector128.LoadUnsafe(ref biases, at + 4)).StoreUnsafe(ref y, at + 4);
        }
    }

    /// <summary>
    /// values[j] = the activation in slot k of direction d of the clipped values[j], as the reference's Activate.
    /// The length is a multiple of Vector&lt;float&gt;.Count.
    /// </summary>
    private void Activate(int d, int k, Span<float> values)
    {
        var layer = _layer;
        ref float v = ref MemoryMarshal.GetReference(values);
        nuint length = (nuint)values.Length, lanes = (nuint)Vector<float>.Count;
        float clip = layer.Clip;
        if (clip != float.PositiveInfinity)
        {
            var high = new Vector<float>(clip);
            var low = new Vector<float>(-clip);
            for (nuint j = 0; j < length; j += lanes)
            {
                var x = Vector.LoadUnsafe(ref v, j);
                x = Vector.ConditionalSelect(Vector.GreaterThan(x, high), high, Vector.ConditionalSelect(Vector.LessThan(x, low), low, x));
                x.StoreUnsafe(ref v, j);
            }
        }
        int a = d * layer.ActivationsPerDirection + k;
        switch ((RecurrentActivation)layer.Activations[a])
        {
            // Two vectors per iteration: each function is a long chain of dependent operations, two chains overlap.
            case RecurrentActivation.Sigmoid:
            {
                nuint j = 0;
                for (; j + 2 * lanes <= length; j += 2 * lanes)
                {
                    var a0 = RecurrentMathVector.Sigmoid(Vector.LoadUnsafe(ref v, j));
                    var a1 = RecurrentMathVector.Sigmoid(Vector.LoadUnsafe(ref v, j + lanes));
                    a0.StoreUnsafe(ref v, j);
                    a1.StoreUnsafe(ref v, j + lanes);
                }
                if (j < length) RecurrentMathVector.Sigmoid(Vector.LoadUnsafe(ref v, j)).StoreUnsafe(ref v, j);
                break;
            }
            case RecurrentActivation.Tanh:
            {
                nuint j = 0;
                for (; j + 2 * lanes <= length; j += 2 * lanes)
                {
                    var a0 = RecurrentMathVector.Tanh(Vector.LoadUnsafe(ref v, j));
                    var a1 = RecurrentMathVector.Tanh(Vector.LoadUnsafe(ref v, j + lanes));
                    a0.StoreUnsafe(ref v, j);
                    a1.StoreUnsafe(ref v, j + lanes);
                }
                if (j < length) RecurrentMathVector.Tanh(Vector.LoadUnsafe(ref v, j)).StoreUnsafe(ref v, j);
                break;
            }
            default:
                for (int j = 0; j < values.Length; j++) values[j] = RecurrentMath.Apply(layer.Activations[a], layer.Alpha[a], layer.Beta[a], values[j]);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(float[] array, int offset) => Vector.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(array), (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector<float> v, float[] array, int offset) => v.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(array), (nuint)offset);

    /// <summary>
    /// One step of one batch row of direction d. The gate math runs in passes over the padded hidden vector: sums of
    /// the pre-activations into _gr, the activations over whole gates, then the state update; per element these are
    /// the reference's operations in the reference's order.
    /// </summary>
    private void Cell(TensorMemory memory, int d, int t, int b)
    {
        var layer = _layer;
        if (_defaultCell)
        {
            if (_fusedGru && _isa == Isa.AvxVnni) FusedGruCellVnni(memory, d, t, b);
            else if (_fusedGru) FusedGruCellInt8(memory, d, t, b);
            else if (_isa == Isa.Avx512)
            {
                if (layer.Op == OpType.Gru) DefaultGruCell512(memory, d, t, b);
                else DefaultLstmCell512(memory, d, t, b);
            }
            else if (layer.Op == OpType.Gru) DefaultGruCell(memory, d, t, b);
            else DefaultLstmCell(memory, d, t, b);
            return;
        }
        int n = _paddedHidden, state = (d * layer.Batch + b) * n, lanes = Vector<float>.Count;
        int gx = (t * layer.Batch + b) * _paddedRows;
        bool deferCandidate = layer.Op == OpType.Gru && !layer.LinearBeforeReset;
        RecurrentProducts(d, 0, deferCandidate ? 2 * n : _paddedRows, _hState.AsSpan(state, layer.Hidden),
            _quantized ? _hState16.AsSpan(state, n) : default, _quantized ? HiddenBytes(state, n) : default);
        var gr = _gr.AsSpan();

        switch (layer.Op)
        {
            case OpType.Lstm:
            {
                // Packed gate rows i, f, o, c (see PaddedRow); peepholes i, o, f. _resetHidden holds c' for the
                // output activation. Without peepholes o does not wait for c', so i, f and o are one sigmoid span
                // (long spans keep many independent chains of operations in flight).
                bool peep = layer.P >= 0;
                int p = d * 3 * n, f = n, o = 2 * n, c = 3 * n;
                for (int j = 0; j < n; j += lanes)
                {
                    var cPrev = Load(_cState, state + j);
                    Store(Load(_gx, gx + j) + Load(_gr, j) + (peep ? Load(_peepholes, p + j) * cPrev : Vector<float>.Zero), _gr, j);
                    Store(Load(_gx, gx + f + j) + Load(_gr, f + j) + (peep ? Load(_peepholes, p + 2 * n + j) * cPrev : Vector<float>.Zero), _gr, f + j);
                    if (!peep) Store(Load(_gx, gx + o + j) + Load(_gr, o + j) + Vector<float>.Zero, _gr, o + j);
                    Store(Load(_gx, gx + c + j) + Load(_gr, c + j), _gr, c + j);
                }
                Activate(d, 0, gr.Slice(0, peep ? 2 * n : 3 * n)); // with input_forget the f rows are not used
                Activate(d, 1, gr.Slice(c, n));
                for (int j = 0; j < n; j += lanes)
                {
                    var i = Load(_gr, j);
                    var forget = layer.InputForget ? Vector<float>.One - i : Load(_gr, f + j);
                    var cNew = forget * Load(_cState, state + j) + i * Load(_gr, c + j);
                    Store(cNew, _cState, state + j);
                    Store(cNew, _resetHidden, j);
                    if (peep) Store(Load(_gx, gx + o + j) + Load(_gr, o + j) + Load(_peepholes, p + n + j) * cNew, _gr, o + j);
                }
                if (peep) Activate(d, 0, gr.Slice(o, n));
                Activate(d, 2, _resetHidden);
                for (int j = 0; j < n; j += lanes) Store(Load(_gr, o + j) * Load(_resetHidden, j), _hState, state + j);
                break;
            }
            case OpType.Gru when layer.LinearBeforeReset:
            {
                // Gate rows: z, r, h.
                for (int j = 0; j < 2 * n; j += lanes) Store(Load(_gx, gx + j) + Load(_gr, j), _gr, j);
                Activate(d, 0, gr.Slice(0, 2 * n));
                for (int j = 0; j < n; j += lanes) Store(Load(_gx, gx + 2 * n + j) + Load(_gr, n + j) * Load(_gr, 2 * n + j), _gr, 2 * n + j);
                Activate(d, 1, gr.Slice(2 * n, n));
                for (int j = 0; j < n; j += lanes)
                {
                    var z = Load(_gr, j);
                    Store((Vector<float>.One - z) * Load(_gr, 2 * n + j) + z * Load(_hState, state + j), _hState, state + j);
                }
                break;
            }
            case OpType.Gru:
            {
                // (r ⊙ h)·Rh: r ⊙ h goes through the recurrent product like h (quantized with h's scale in int8).
                for (int j = 0; j < 2 * n; j += lanes) Store(Load(_gx, gx + j) + Load(_gr, j), _gr, j);
                Activate(d, 0, gr.Slice(0, 2 * n));
                for (int j = 0; j < n; j += lanes) Store(Load(_gr, n + j) * Load(_hState, state + j), _resetHidden, j);
                if (_quantized) QuantizeHidden(_resetHidden.AsSpan(0, layer.Hidden), _resetHiddenQ, _h16, dequantized: false);
                if (_isa == Isa.AvxVnni) FlipSignBits(_resetHiddenQ, _resetHiddenQ);
                RecurrentProducts(d, 2 * n, n, _resetHidden.AsSpan(0, layer.Hidden), _h16, _resetHiddenQ);
                for (int j = 0; j < n; j += lanes) Store(Load(_gx, gx + 2 * n + j) + Load(_gr, 2 * n + j), _gr, 2 * n + j);
                Activate(d, 1, gr.Slice(2 * n, n));
                for (int j = 0; j < n; j += lanes)
                {
                    var z = Load(_gr, j);
                    Store((Vector<float>.One - z) * Load(_gr, 2 * n + j) + z * Load(_hState, state + j), _hState, state + j);
                }
                break;
            }
            default:
                for (int j = 0; j < n; j += lanes) Store(Load(_gx, gx + j) + Load(_gr, j), _hState, state + j);
                Activate(d, 0, _hState.AsSpan(state, n));
                break;
        }

        int hidden = layer.Hidden, y = layer.YOffset(t, d, b);
        if (_quantized)
        {
            var hq = _hStateQ.AsSpan(state, hidden);
            QuantizeHidden(_hState.AsSpan(state, hidden), hq, _hState16.AsSpan(state, hidden), dequantized: true);
            if (_hStateBiased.Length > 0) FlipSignBits(hq, _hStateBiased.AsSpan(state, hidden));
            hq.CopyTo(memory.Write<sbyte>(layer.Y).Slice(y, hidden));
        }
        else _hState.AsSpan(state, hidden).CopyTo(memory.Write<float>(layer.Y).Slice(y, hidden));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Clip(Vector<float> x, bool clip, Vector<float> high, Vector<float> low) =>
        clip ? Vector.ConditionalSelect(Vector.GreaterThan(x, high), high, Vector.ConditionalSelect(Vector.LessThan(x, low), low, x)) : x;

    /// <summary>
    /// <see cref="Cell"/> for GRU with linear_before_reset = 1 and the default activations: one pass of the independent
    /// z and r sigmoids straight from gx + gr, then one pass that computes the candidate, the new h and its quantized
    /// forms per vector. Per element the reference's operations in its order.
    /// </summary>
    private void DefaultGruCell(TensorMemory memory, int d, int t, int b)
    {
        var layer = _layer;
        int n = _paddedHidden, lanes = Vector<float>.Count, state = (d * layer.Batch + b) * n;
        int gx = (t * layer.Batch + b) * _paddedRows;
        RecurrentProducts(d, 0, _paddedRows, _hState.AsSpan(state, layer.Hidden),
            _quantized ? _hState16.AsSpan(state, n) : default, _quantized ? HiddenBytes(state, n) : default);
        if (_rowProducts)
        {
            GruStep(gx, state);
            WriteY(memory, d, t, b, state);
            return;
        }
        bool clip = layer.Clip != float.PositiveInfinity;
        var high = new Vector<float>(layer.Clip);
        var low = new Vector<float>(-layer.Clip);
        // Gate rows: z, r, h. Two vectors at a time (the functions' paired forms interleave their chains); 2n is a
        // whole number of pairs.
        for (int j = 0; j < 2 * n; j += 2 * lanes)
        {
            RecurrentMathVector.Sigmoid(Clip(Load(_gx, gx + j) + Load(_gr, j), clip, high, low),
                Clip(Load(_gx, gx + j + lanes) + Load(_gr, j + lanes), clip, high, low), out var s0, out var s1);
            Store(s0, _gr, j);
            Store(s1, _gr, j + lanes);
        }
        int m = 0;
        for (; m + 2 * lanes <= n; m += 2 * lanes)
        {
            int k = m + lanes;
            RecurrentMathVector.Tanh(Clip(Load(_gx, gx + 2 * n + m) + Load(_gr, n + m) * Load(_gr, 2 * n + m), clip, high, low),
                Clip(Load(_gx, gx + 2 * n + k) + Load(_gr, n + k) * Load(_gr, 2 * n + k), clip, high, low), out var candidate0, out var candidate1);
            var z0 = Load(_gr, m);
            var z1 = Load(_gr, k);
            StoreHidden((Vector<float>.One - z0) * candidate0 + z0 * Load(_hState, state + m), state + m);
            StoreHidden((Vector<float>.One - z1) * candidate1 + z1 * Load(_hState, state + k), state + k);
        }
        for (; m < n; m += lanes)
        {
            var z = Load(_gr, m);
            var candidate = RecurrentMathVector.Tanh(Clip(Load(_gx, gx + 2 * n + m) + Load(_gr, n + m) * Load(_gr, 2 * n + m), clip, high, low));
            StoreHidden((Vector<float>.One - z) * candidate + z * Load(_hState, state + m), state + m);
        }
        WriteY(memory, d, t, b, state);
    }

    /// <summary>
    /// <see cref="Cell"/> for LSTM without peepholes and with the default activations: one pass computes the gates
    /// and the new cell state per vector (the o gate waits in _gr), the next the new h and its quantized forms.
    /// </summary>
    private void DefaultLstmCell(TensorMemory memory, int d, int t, int b)
    {
        var layer = _layer;
        int n = _paddedHidden, state = (d * layer.Batch + b) * n;
        RecurrentProducts(d, 0, _paddedRows, _hState.AsSpan(state, layer.Hidden),
            _quantized ? _hState16.AsSpan(state, n) : default, _quantized ? HiddenBytes(state, n) : default);
        if (_rowProducts) LstmStep((t * layer.Batch + b) * _paddedRows, state);
        else
        {
            LstmGates((t * layer.Batch + b) * _paddedRows, state);
            LstmHidden(state);
        }
        WriteY(memory, d, t, b, state);
    }

    /// <summary>
    /// <see cref="LstmGates"/> and <see cref="LstmHidden"/> in one pass for the arm64 row-product variants: each pair
    /// of vectors of units gets its gates, new cell state and new h at once (o and c stay in registers), read through
    /// references set up once. The reference's absent peephole term + 0f is left out: it only turns -0 into +0, and
    /// the sigmoid of either is the same (e^±0 is exactly 1 either way). Per element the reference's operations.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LstmStep(int gx, int state)
    {
        var layer = _layer;
        int n = _paddedHidden, lanes = Vector<float>.Count, j = 0;
        bool clip = layer.Clip != float.PositiveInfinity, inputForget = layer.InputForget;
        var high = new Vector<float>(layer.Clip);
        var low = new Vector<float>(-layer.Clip);
        // Packed gate rows i, f, o, c (see PaddedRow).
        ref float x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_gx), gx);
        ref float r = ref MemoryMarshal.GetArrayDataReference(_gr);
        ref float cells = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_cState), state);
        ref float xf = ref Unsafe.Add(ref x, n), xo = ref Unsafe.Add(ref x, 2 * n), xc = ref Unsafe.Add(ref x, 3 * n);
        ref float rf = ref Unsafe.Add(ref r, n), ro = ref Unsafe.Add(ref r, 2 * n), rc = ref Unsafe.Add(ref r, 3 * n);
        ref sbyte q = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_hStateQ), state);
        var inverseScale = Vector128.Create(layer.HInverseScale);
        var zeroPoint = Vector128.Create(layer.HZero);
        for (; j + 2 * lanes <= n; j += 2 * lanes)
        {
            nuint a = (nuint)j, b = (nuint)(j + lanes);
            Vector<float> i0, i1, forget0, forget1;
            if (inputForget)
            {
                RecurrentMathVector.Sigmoid(Clip(Vector.LoadUnsafe(ref x, a) + Vector.LoadUnsafe(ref r, a), clip, high, low),
                    Clip(Vector.LoadUnsafe(ref x, b) + Vector.LoadUnsafe(ref r, b), clip, high, low), out i0, out i1);
                (forget0, forget1) = (Vector<float>.One - i0, Vector<float>.One - i1);
            }
            else
                RecurrentMathVector.Sigmoid(Clip(Vector.LoadUnsafe(ref x, a) + Vector.LoadUnsafe(ref r, a), clip, high, low),
                    Clip(Vector.LoadUnsafe(ref x, b) + Vector.LoadUnsafe(ref r, b), clip, high, low),
                    Clip(Vector.LoadUnsafe(ref xf, a) + Vector.LoadUnsafe(ref rf, a), clip, high, low),
                    Clip(Vector.LoadUnsafe(ref xf, b) + Vector.LoadUnsafe(ref rf, b), clip, high, low), out i0, out i1, out forget0, out forget1);
            RecurrentMathVector.Tanh(Clip(Vector.LoadUnsafe(ref xc, a) + Vector.LoadUnsafe(ref rc, a), clip, high, low),
                Clip(Vector.LoadUnsafe(ref xc, b) + Vector.LoadUnsafe(ref rc, b), clip, high, low), out var candidate0, out var candidate1);
            var c0 = forget0 * Vector.LoadUnsafe(ref cells, a) + i0 * candidate0;
            var c1 = forget1 * Vector.LoadUnsafe(ref cells, b) + i1 * candidate1;
            c0.StoreUnsafe(ref cells, a);
            c1.StoreUnsafe(ref cells, b);
            RecurrentMathVector.Sigmoid(Clip(Vector.LoadUnsafe(ref xo, a) + Vector.LoadUnsafe(ref ro, a), clip, high, low),
                Clip(Vector.LoadUnsafe(ref xo, b) + Vector.LoadUnsafe(ref ro, b), clip, high, low), out var o0, out var o1);
            RecurrentMathVector.Tanh(Clip(c0, clip, high, low), Clip(c1, clip, high, low), out var t0, out var t1);
            StoreQuantized(Quantize((o0 * t0).AsVector128(), inverseScale, zeroPoint), ref q, a);
            StoreQuantized(Quantize((o1 * t1).AsVector128(), inverseScale, zeroPoint), ref q, b);
        }
        for (; j < n; j += lanes)
        {
            nuint a = (nuint)j;
            var i = RecurrentMathVector.Sigmoid(Clip(Vector.LoadUnsafe(ref x, a) + Vector.LoadUnsafe(ref r, a), clip, high, low));
            var forget = inputForget ? Vector<float>.One - i
                : RecurrentMathVector.Sigmoid(Clip(Vector.LoadUnsafe(ref xf, a) + Vector.LoadUnsafe(ref rf, a), clip, high, low));
            var candidate = RecurrentMathVector.Tanh(Clip(Vector.LoadUnsafe(ref xc, a) + Vector.LoadUnsafe(ref rc, a), clip, high, low));
            var c = forget * Vector.LoadUnsafe(ref cells, a) + i * candidate;
            c.StoreUnsafe(ref cells, a);
            var o = RecurrentMathVector.Sigmoid(Clip(Vector.LoadUnsafe(ref xo, a) + Vector.LoadUnsafe(ref ro, a), clip, high, low));
            StoreQuantized(Quantize((o * RecurrentMathVector.Tanh(Clip(c, clip, high, low))).AsVector128(), inverseScale, zeroPoint), ref q, a);
        }
    }

    /// <summary>
    /// FixedPoint.QuantizeValue on 4 lanes as int32 values ≥ -128 - 2^31 (see <see cref="StoreQuantized"/>): fcvtas
    /// rounds h · (1/scale) half away from zero as MathF.Round does (saturating where the float is out of the int32
    /// range, 0 for NaN), and the saturating add of the zero point keeps the sign of the large ones. The saturating
    /// narrowing to int8 then gives the reference's clamp: its float add of the zero point is exact up to 2^24, and
    /// past that clamps to the same end; NaN gives the zero point.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Quantize(Vector128<float> h, Vector128<float> inverseScale, Vector128<int> zeroPoint) =>
        AdvSimd.AddSaturate(AdvSimd.ConvertToInt32RoundAwayFromZero(h * inverseScale), zeroPoint);

    /// <summary>The 4 int8 values of <see cref="Quantize"/>'s lanes (saturating) into q at <paramref name="at"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector64<sbyte> StoreQuantized(Vector128<int> lanes, ref sbyte q, nuint at)
    {
        var bytes = AdvSimd.ExtractNarrowingSaturateLower(AdvSimd.ExtractNarrowingSaturateLower(lanes).ToVector128Unsafe());
        Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref q, at)), bytes.AsInt32().ToScalar());
        return bytes;
    }

    /// <summary>
    /// <see cref="DefaultGruCell"/>'s gate math for the arm64 row-product variants, one pass: per pair of vectors of
    /// units the z and r sigmoids, the candidate's tanh and the new h, its q and hScale · (q - zh) as the float state.
    /// Per element the reference's operations in its order.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void GruStep(int gx, int state)
    {
        var layer = _layer;
        int n = _paddedHidden, lanes = Vector<float>.Count, j = 0;
        bool clip = layer.Clip != float.PositiveInfinity;
        var high = new Vector<float>(layer.Clip);
        var low = new Vector<float>(-layer.Clip);
        // Gate rows: z, r, h.
        ref float x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_gx), gx);
        ref float r = ref MemoryMarshal.GetArrayDataReference(_gr);
        ref float xr = ref Unsafe.Add(ref x, n), xh = ref Unsafe.Add(ref x, 2 * n);
        ref float rr = ref Unsafe.Add(ref r, n), rh = ref Unsafe.Add(ref r, 2 * n);
        ref float h = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_hState), state);
        ref sbyte q = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_hStateQ), state);
        var inverseScale = Vector128.Create(layer.HInverseScale);
        var zeroPoint = Vector128.Create(layer.HZero);
        var scale = Vector128.Create(layer.HScale);
        for (; j + 2 * lanes <= n; j += 2 * lanes)
        {
            nuint a = (nuint)j, b = (nuint)(j + lanes);
            RecurrentMathVector.Sigmoid(Clip(Vector.LoadUnsafe(ref x, a) + Vector.LoadUnsafe(ref r, a), clip, high, low),
                Clip(Vector.LoadUnsafe(ref x, b) + Vector.LoadUnsafe(ref r, b), clip, high, low),
                Clip(Vector.LoadUnsafe(ref xr, a) + Vector.LoadUnsafe(ref rr, a), clip, high, low),
                Clip(Vector.LoadUnsafe(ref xr, b) + Vector.LoadUnsafe(ref rr, b), clip, high, low), out var z0, out var z1, out var r0, out var r1);
            RecurrentMathVector.Tanh(Clip(Vector.LoadUnsafe(ref xh, a) + r0 * Vector.LoadUnsafe(ref rh, a), clip, high, low),
                Clip(Vector.LoadUnsafe(ref xh, b) + r1 * Vector.LoadUnsafe(ref rh, b), clip, high, low), out var candidate0, out var candidate1);
            var h0 = (Vector<float>.One - z0) * candidate0 + z0 * Vector.LoadUnsafe(ref h, a);
            var h1 = (Vector<float>.One - z1) * candidate1 + z1 * Vector.LoadUnsafe(ref h, b);
            StoreGruHidden(h0.AsVector128(), inverseScale, zeroPoint, scale, ref q, ref h, a);
            StoreGruHidden(h1.AsVector128(), inverseScale, zeroPoint, scale, ref q, ref h, b);
        }
        for (; j < n; j += lanes)
        {
            nuint a = (nuint)j;
            var z = RecurrentMathVector.Sigmoid(Clip(Vector.LoadUnsafe(ref x, a) + Vector.LoadUnsafe(ref r, a), clip, high, low));
            var reset = RecurrentMathVector.Sigmoid(Clip(Vector.LoadUnsafe(ref xr, a) + Vector.LoadUnsafe(ref rr, a), clip, high, low));
            var candidate = RecurrentMathVector.Tanh(Clip(Vector.LoadUnsafe(ref xh, a) + reset * Vector.LoadUnsafe(ref rh, a), clip, high, low));
            StoreGruHidden(((Vector<float>.One - z) * candidate + z * Vector.LoadUnsafe(ref h, a)).AsVector128(), inverseScale, zeroPoint, scale, ref q, ref h, a);
        }
    }

    /// <summary>q = FixedPoint.QuantizeValue(h) into q at <paramref name="at"/> and hScale · (q - zh) into the float state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreGruHidden(Vector128<float> value, Vector128<float> inverseScale, Vector128<int> zeroPoint, Vector128<float> scale,
        ref sbyte q, ref float h, nuint at)
    {
        var bytes = StoreQuantized(Quantize(value, inverseScale, zeroPoint), ref q, at);
        var wide = AdvSimd.SignExtendWideningLower(AdvSimd.SignExtendWideningLower(bytes).GetLower());
        (Vector128.ConvertToSingle(wide - zeroPoint) * scale).StoreUnsafe(ref h, at);
    }

    /// <summary>
    /// The gates and the new cell state of <see cref="DefaultLstmCell"/> (the o gate waits in _gr). A method of its own,
    /// as is <see cref="LstmHidden"/>: inlined into the cell with the products, the JIT's inlining budget ran out and
    /// left calls to the vector helpers in the loops.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LstmGates(int gx, int state)
    {
        var layer = _layer;
        int n = _paddedHidden, lanes = Vector<float>.Count;
        bool clip = layer.Clip != float.PositiveInfinity, inputForget = layer.InputForget;
        var high = new Vector<float>(layer.Clip);
        var low = new Vector<float>(-layer.Clip);
        // Packed gate rows i, f, o, c (see PaddedRow). The reference adds its absent peephole term as + 0f to i, f, o.
        int f = n, o = 2 * n, c = 3 * n, j = 0;
        // Two vectors of each gate at a time (the functions' paired forms interleave their chains).
        for (; j + 2 * lanes <= n; j += 2 * lanes)
        {
            int k = j + lanes;
            Vector<float> i0, i1, forget0, forget1;
            if (inputForget)
            {
                RecurrentMathVector.Sigmoid(Clip(Load(_gx, gx + j) + Load(_gr, j) + Vector<float>.Zero, clip, high, low),
                    Clip(Load(_gx, gx + k) + Load(_gr, k) + Vector<float>.Zero, clip, high, low), out i0, out i1);
                (forget0, forget1) = (Vector<float>.One - i0, Vector<float>.One - i1);
            }
            else
                RecurrentMathVector.Sigmoid(Clip(Load(_gx, gx + j) + Load(_gr, j) + Vector<float>.Zero, clip, high, low),
                    Clip(Load(_gx, gx + k) + Load(_gr, k) + Vector<float>.Zero, clip, high, low),
                    Clip(Load(_gx, gx + f + j) + Load(_gr, f + j) + Vector<float>.Zero, clip, high, low),
                    Clip(Load(_gx, gx + f + k) + Load(_gr, f + k) + Vector<float>.Zero, clip, high, low), out i0, out i1, out forget0, out forget1);
            RecurrentMathVector.Tanh(Clip(Load(_gx, gx + c + j) + Load(_gr, c + j), clip, high, low),
                Clip(Load(_gx, gx + c + k) + Load(_gr, c + k), clip, high, low), out var candidate0, out var candidate1);
            Store(forget0 * Load(_cState, state + j) + i0 * candidate0, _cState, state + j);
            Store(forget1 * Load(_cState, state + k) + i1 * candidate1, _cState, state + k);
            RecurrentMathVector.Sigmoid(Clip(Load(_gx, gx + o + j) + Load(_gr, o + j) + Vector<float>.Zero, clip, high, low),
                Clip(Load(_gx, gx + o + k) + Load(_gr, o + k) + Vector<float>.Zero, clip, high, low), out var o0, out var o1);
            Store(o0, _gr, o + j);
            Store(o1, _gr, o + k);
        }
        for (; j < n; j += lanes)
        {
            var i = RecurrentMathVector.Sigmoid(Clip(Load(_gx, gx + j) + Load(_gr, j) + Vector<float>.Zero, clip, high, low));
            var forget = inputForget ? Vector<float>.One - i
                : RecurrentMathVector.Sigmoid(Clip(Load(_gx, gx + f + j) + Load(_gr, f + j) + Vector<float>.Zero, clip, high, low));
            var candidate = RecurrentMathVector.Tanh(Clip(Load(_gx, gx + c + j) + Load(_gr, c + j), clip, high, low));
            Store(forget * Load(_cState, state + j) + i * candidate, _cState, state + j);
            Store(RecurrentMathVector.Sigmoid(Clip(Load(_gx, gx + o + j) + Load(_gr, o + j) + Vector<float>.Zero, clip, high, low)), _gr, o + j);
        }
    }

    /// <summary>h = o ⊙ tanh(c) of <see cref="DefaultLstmCell"/> and its quantized forms.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LstmHidden(int state)
    {
        var layer = _layer;
        int n = _paddedHidden, lanes = Vector<float>.Count, o = 2 * n, j = 0;
        bool clip = layer.Clip != float.PositiveInfinity;
        var high = new Vector<float>(layer.Clip);
        var low = new Vector<float>(-layer.Clip);
        for (; j + 2 * lanes <= n; j += 2 * lanes)
        {
            int k = j + lanes;
            RecurrentMathVector.Tanh(Clip(Load(_cState, state + j), clip, high, low), Clip(Load(_cState, state + k), clip, high, low), out var t0, out var t1);
            StoreHidden(Load(_gr, o + j) * t0, state + j);
            StoreHidden(Load(_gr, o + k) * t1, state + k);
        }
        for (; j < n; j += lanes)
            StoreHidden(Load(_gr, o + j) * RecurrentMathVector.Tanh(Clip(Load(_cState, state + j), clip, high, low)), state + j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Load512(float[] array, int offset) => Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(array), (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(Vector512<float> v, float[] array, int offset) => v.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(array), (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Clip(Vector512<float> x, bool clip, Vector512<float> high, Vector512<float> low) =>
        clip ? Vector512.ConditionalSelect(Vector512.GreaterThan(x, high), high, Vector512.ConditionalSelect(Vector512.LessThan(x, low), low, x)) : x;

    /// <summary>
    /// <see cref="DefaultGruCell"/> with the gate math on Vector512 (16 lanes: fewer, wider operations for the long
    /// chains of the sigmoids and tanhs). Per element the same operations.
    /// </summary>
    private void DefaultGruCell512(TensorMemory memory, int d, int t, int b)
    {
        var layer = _layer;
        int n = _paddedHidden, lanes = Vector512<float>.Count, state = (d * layer.Batch + b) * n;
        int gx = (t * layer.Batch + b) * _paddedRows;
        RecurrentProducts(d, 0, _paddedRows, _hState.AsSpan(state, layer.Hidden),
            _quantized ? _hState16.AsSpan(state, n) : default, _quantized ? HiddenBytes(state, n) : default);
        bool clip = layer.Clip != float.PositiveInfinity;
        var high = Vector512.Create(layer.Clip);
        var low = Vector512.Create(-layer.Clip);
        // Gate rows: z, r, h. The candidate waits for r; z is only needed at the end, so its sigmoids run beside the
        // candidate's tanhs.
        for (int j = n; j < 2 * n; j += lanes)
            Store512(RecurrentMathVector.Sigmoid(Clip(Load512(_gx, gx + j) + Load512(_gr, j), clip, high, low)), _gr, j);
        for (int j = 0; j < n; j += lanes)
        {
            var z = RecurrentMathVector.Sigmoid(Clip(Load512(_gx, gx + j) + Load512(_gr, j), clip, high, low));
            var candidate = RecurrentMathVector.Tanh(Clip(Load512(_gx, gx + 2 * n + j) + Load512(_gr, n + j) * Load512(_gr, 2 * n + j), clip, high, low));
            StoreHidden512((Vector512<float>.One - z) * candidate + z * Load512(_hState, state + j), state + j);
        }
        WriteY(memory, d, t, b, state);
    }

    /// <summary>
    /// <see cref="DefaultGruCell512"/> for int8 with 16-row blocks (vpmaddwd zmm) in three stages: the r rows' products
    /// and at once their sigmoids, the h rows' products and the candidate's tanh, then the z rows' products, sigmoids
    /// and the new h. Each stage's sigmoids or tanh are long dependent chains that the next stage's products do not
    /// wait for, so they overlap. The new h is stored after the last product has read the old one. Per element the
    /// same operations as <see cref="DefaultGruCell512"/>. (On AVX2 this order measured no faster than
    /// <see cref="DefaultGruCell"/>, which that variant keeps.)
    /// </summary>
    private void FusedGruCellInt8(TensorMemory memory, int d, int t, int b)
    {
        var layer = _layer;
        int n = _paddedHidden, state = (d * layer.Batch + b) * n, gx = (t * layer.Batch + b) * _paddedRows;
        // 16-row blocks (see PackInt16).
        int pairs = _hiddenPairs, gate512 = n / Block512, stride512 = pairs * 2 * Block512;
        ref short w512 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_r16), (nuint)(d * (_paddedRows / Block512) * stride512));
        ref int v = ref Unsafe.As<short, int>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_hState16), state));
        ref float scales = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rScale), d * _paddedRows);
        ref float biases = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rBias), d * _paddedRows);
        ref float gr = ref MemoryMarshal.GetArrayDataReference(_gr);
        bool clip = layer.Clip != float.PositiveInfinity;
        // Gate rows: z, r, h.
        Products<Pairs512, Vector512<int>>(ref Unsafe.Add(ref w512, gate512 * stride512), gate512, 1, ref v, (nuint)pairs, ref Unsafe.Add(ref scales, n), ref Unsafe.Add(ref biases, n), ref Unsafe.Add(ref gr, n), 0);
        var high = Vector512.Create(layer.Clip);
        var low = Vector512.Create(-layer.Clip);
        for (int j = n; j < 2 * n; j += Vector512<float>.Count)
            Store512(RecurrentMathVector.Sigmoid(Clip(Load512(_gx, gx + j) + Load512(_gr, j), clip, high, low)), _gr, j);
        Products<Pairs512, Vector512<int>>(ref Unsafe.Add(ref w512, 2 * gate512 * stride512), gate512, 1, ref v, (nuint)pairs, ref Unsafe.Add(ref scales, 2 * n), ref Unsafe.Add(ref biases, 2 * n), ref Unsafe.Add(ref gr, 2 * n), 0);
        for (int j = 0; j < n; j += Vector512<float>.Count)
            Store512(RecurrentMathVector.Tanh(Clip(Load512(_gx, gx + 2 * n + j) + Load512(_gr, n + j) * Load512(_gr, 2 * n + j), clip, high, low)), _gr, 2 * n + j);
        Products<Pairs512, Vector512<int>>(ref w512, gate512, 1, ref v, (nuint)pairs, ref scales, ref biases, ref gr, 0);
        for (int j = 0; j < n; j += Vector512<float>.Count)
        {
            var z = RecurrentMathVector.Sigmoid(Clip(Load512(_gx, gx + j) + Load512(_gr, j), clip, high, low));
            StoreHidden512((Vector512<float>.One - z) * Load512(_gr, 2 * n + j) + z * Load512(_hState, state + j), state + j);
        }
        WriteY(memory, d, t, b, state);
    }

    /// <summary>
    /// <see cref="FusedGruCellInt8"/> for AVX-VNNI: the r rows' products and sigmoids, the h rows' products and the
    /// candidate's tanh, then the z rows' products, sigmoids and the new h, each stage's functions two vectors at a
    /// time. Per element the same operations as <see cref="DefaultGruCell"/>.
    /// </summary>
    private void FusedGruCellVnni(TensorMemory memory, int d, int t, int b)
    {
        var layer = _layer;
        int n = _paddedHidden, lanes = Vector<float>.Count, state = (d * layer.Batch + b) * n, gx = (t * layer.Batch + b) * _paddedRows;
        int quads = _hiddenQuads, gateBlocks = n / Block, stride = quads * 4 * Block;
        ref byte w = ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_r8), (nuint)(d * (_paddedRows / Block) * stride)));
        ref int v = ref Unsafe.As<sbyte, int>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_hStateBiased), state));
        ref int corrections = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rCorrection), d * _paddedRows);
        ref float scales = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rScale), d * _paddedRows);
        ref float biases = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rBias), d * _paddedRows);
        ref float gr = ref MemoryMarshal.GetArrayDataReference(_gr);
        bool clip = layer.Clip != float.PositiveInfinity;
        var high = new Vector<float>(layer.Clip);
        var low = new Vector<float>(-layer.Clip);
        // Gate rows: z, r, h.
        ProductsVnni(ref Unsafe.Add(ref w, gateBlocks * stride), gateBlocks, quads, ref v, ref Unsafe.Add(ref corrections, n),
            ref Unsafe.Add(ref scales, n), ref Unsafe.Add(ref biases, n), ref Unsafe.Add(ref gr, n));
        int j = n;
        for (; j + 2 * lanes <= 2 * n; j += 2 * lanes)
        {
            RecurrentMathVector.Sigmoid(Clip(Load(_gx, gx + j) + Load(_gr, j), clip, high, low),
                Clip(Load(_gx, gx + j + lanes) + Load(_gr, j + lanes), clip, high, low), out var r0, out var r1);
            Store(r0, _gr, j);
            Store(r1, _gr, j + lanes);
        }
        for (; j < 2 * n; j += lanes) Store(RecurrentMathVector.Sigmoid(Clip(Load(_gx, gx + j) + Load(_gr, j), clip, high, low)), _gr, j);
        ProductsVnni(ref Unsafe.Add(ref w, 2 * gateBlocks * stride), gateBlocks, quads, ref v, ref Unsafe.Add(ref corrections, 2 * n),
            ref Unsafe.Add(ref scales, 2 * n), ref Unsafe.Add(ref biases, 2 * n), ref Unsafe.Add(ref gr, 2 * n));
        for (j = 0; j + 2 * lanes <= n; j += 2 * lanes)
        {
            int k = j + lanes;
            RecurrentMathVector.Tanh(Clip(Load(_gx, gx + 2 * n + j) + Load(_gr, n + j) * Load(_gr, 2 * n + j), clip, high, low),
                Clip(Load(_gx, gx + 2 * n + k) + Load(_gr, n + k) * Load(_gr, 2 * n + k), clip, high, low), out var candidate0, out var candidate1);
            Store(candidate0, _gr, 2 * n + j);
            Store(candidate1, _gr, 2 * n + k);
        }
        for (; j < n; j += lanes)
            Store(RecurrentMathVector.Tanh(Clip(Load(_gx, gx + 2 * n + j) + Load(_gr, n + j) * Load(_gr, 2 * n + j), clip, high, low)), _gr, 2 * n + j);
        ProductsVnni(ref w, gateBlocks, quads, ref v, ref corrections, ref scales, ref biases, ref gr);
        for (j = 0; j + 2 * lanes <= n; j += 2 * lanes)
        {
            int k = j + lanes;
            RecurrentMathVector.Sigmoid(Clip(Load(_gx, gx + j) + Load(_gr, j), clip, high, low),
                Clip(Load(_gx, gx + k) + Load(_gr, k), clip, high, low), out var z0, out var z1);
            StoreHidden((Vector<float>.One - z0) * Load(_gr, 2 * n + j) + z0 * Load(_hState, state + j), state + j);
            StoreHidden((Vector<float>.One - z1) * Load(_gr, 2 * n + k) + z1 * Load(_hState, state + k), state + k);
        }
        for (; j < n; j += lanes)
        {
            var z = RecurrentMathVector.Sigmoid(Clip(Load(_gx, gx + j) + Load(_gr, j), clip, high, low));
            StoreHidden((Vector<float>.One - z) * Load(_gr, 2 * n + j) + z * Load(_hState, state + j), state + j);
        }
        WriteY(memory, d, t, b, state);
    }

    /// <summary><see cref="DefaultLstmCell"/> with the gate math on Vector512. Per element the same operations.</summary>
    private void DefaultLstmCell512(TensorMemory memory, int d, int t, int b)
    {
        var layer = _layer;
        int n = _paddedHidden, lanes = Vector512<float>.Count, state = (d * layer.Batch + b) * n;
        int gx = (t * layer.Batch + b) * _paddedRows;
        RecurrentProducts(d, 0, _paddedRows, _hState.AsSpan(state, layer.Hidden),
            _quantized ? _hState16.AsSpan(state, n) : default, _quantized ? HiddenBytes(state, n) : default);
        bool clip = layer.Clip != float.PositiveInfinity, inputForget = layer.InputForget;
        var high = Vector512.Create(layer.Clip);
        var low = Vector512.Create(-layer.Clip);
        // Packed gate rows i, f, o, c (see PaddedRow). The reference adds its absent peephole term as + 0f to i, f, o.
        int f = n, o = 2 * n, c = 3 * n;
        for (int j = 0; j < n; j += lanes)
        {
            var i = RecurrentMathVector.Sigmoid(Clip(Load512(_gx, gx + j) + Load512(_gr, j) + Vector512<float>.Zero, clip, high, low));
            var forget = inputForget ? Vector512<float>.One - i
                : RecurrentMathVector.Sigmoid(Clip(Load512(_gx, gx + f + j) + Load512(_gr, f + j) + Vector512<float>.Zero, clip, high, low));
            var candidate = RecurrentMathVector.Tanh(Clip(Load512(_gx, gx + c + j) + Load512(_gr, c + j), clip, high, low));
            Store512(forget * Load512(_cState, state + j) + i * candidate, _cState, state + j);
            Store512(RecurrentMathVector.Sigmoid(Clip(Load512(_gx, gx + o + j) + Load512(_gr, o + j) + Vector512<float>.Zero, clip, high, low)), _gr, o + j);
        }
        for (int j = 0; j < n; j += lanes)
            StoreHidden512(Load512(_gr, o + j) * RecurrentMathVector.Tanh(Clip(Load512(_cState, state + j), clip, high, low)), state + j);
        WriteY(memory, d, t, b, state);
    }

    /// <summary><see cref="StoreHidden(Vector{float}, int)"/> for 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreHidden512(Vector512<float> h, int at)
    {
        if (!_quantized)
        {
            Store512(h, _hState, at);
            return;
        }
        var layer = _layer;
        var scaled = h * Vector512.Create(layer.HInverseScale);
        var whole = Vector512.Truncate(scaled);
        var awayFromZero = Vector512.GreaterThanOrEqual(Vector512.Abs(scaled - whole), Vector512.Create(0.5f));
        var rounded = Vector512.ConditionalSelect(awayFromZero, whole + Vector512.CopySign(Vector512<float>.One, scaled), whole) + Vector512.Create((float)layer.HZero);
        var clamped = Vector512.MinNative(Vector512.MaxNative(rounded, Vector512.Create(-128f)), Vector512.Create(127f));
        var q = Vector512.ConditionalSelect(Vector512.Equals(rounded, rounded).AsInt32(), Vector512.ConvertToInt32Native(clamped),
            Vector512.Create(Math.Clamp(layer.HZero, -128, 127)));
        var shifted = q - Vector512.Create(layer.HZero);
        Store512(Vector512.ConvertToSingle(shifted) * Vector512.Create(layer.HScale), _hState, at);
        Avx512F.ConvertToVector256Int16(shifted).StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(_hState16), (nuint)at);
        Avx512F.ConvertToVector128SByte(q).StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(_hStateQ), (nuint)at);
    }

    /// <summary>
    /// Sets lanes [at, at + Vector&lt;float&gt;.Count) of the hidden state to the new h as the reference does: float32 h
    /// itself; int8 q = FixedPoint.QuantizeValue(h), q - zh for the products and hScale · (q - zh) as the float state.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreHidden(Vector<float> h, int at)
    {
        if (!_quantized)
        {
            Store(h, _hState, at);
            return;
        }
        var layer = _layer;
        // FixedPoint.QuantizeValue per lane: round half away from zero, add the zero point, NaN to the zero point,
        // clamp. Rounding: trunc(s + copysign(0.49999997, s)) is round-half-away for every float s (a fraction of at
        // least one half reaches the next whole number, rounding up where the sum is not exact; a smaller one stays
        // below it, as 0.49999997 is less than half of any float's spacing at 1 or more). The clamped value is a whole
        // number in [-128, 127], so the plain conversion is exact.
        var scaled = h * new Vector<float>(layer.HInverseScale);
        var nearlyHalf = Vector.BitwiseOr(new Vector<float>(0.49999997f), Vector.BitwiseAnd(scaled, new Vector<float>(-0f)));
        var rounded = Vector.Truncate(scaled + nearlyHalf) + new Vector<float>(layer.HZero);
        var clamped = Vector.MinNative(Vector.MaxNative(rounded, new Vector<float>(-128f)), new Vector<float>(127f));
        var q = Vector.ConditionalSelect(Vector.Equals(rounded, rounded), Vector.ConvertToInt32Native(clamped), new Vector<int>(Math.Clamp(layer.HZero, -128, 127)));
        ref short shorts = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_hState16), at);
        ref sbyte bytes = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_hStateQ), at);
        if (Vector<float>.Count == 8 && _isa == Isa.AvxVnni)
        {
            // The products read q + 128 (_hState16 is not used); the int8 LSTM does not read the float state either.
            if (_layer.Op != OpType.Lstm) Store(Vector.ConvertToSingle(q - new Vector<int>(layer.HZero)) * new Vector<float>(layer.HScale), _hState, at);
            var v = q.AsVector256();
            long narrow = Vector128.Narrow(Vector128.Narrow(v.GetLower(), v.GetUpper()), Vector128<short>.Zero).AsInt64().ToScalar();
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref bytes), narrow);
            ref sbyte biased = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_hStateBiased), at);
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref biased), narrow ^ unchecked((long)0x8080808080808080));
            return;
        }
        var centered = q - new Vector<int>(layer.HZero);
        Store(Vector.ConvertToSingle(centered) * new Vector<float>(layer.HScale), _hState, at);
        if (Vector<float>.Count == 8)
        {
            var v = q.AsVector256();
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref bytes), Vector128.Narrow(Vector128.Narrow(v.GetLower(), v.GetUpper()), Vector128<short>.Zero).AsInt64().ToScalar());
            var c = centered.AsVector256();
            Vector128.Narrow(c.GetLower(), c.GetUpper()).StoreUnsafe(ref shorts);
        }
        else
        {
            var c = centered.AsVector128();
            Unsafe.WriteUnaligned(ref Unsafe.As<short, byte>(ref shorts), Vector128.Narrow(c, c).AsInt64().ToScalar());
            var v = q.AsVector128();
            var narrow = Vector128.Narrow(Vector128.Narrow(v, v), Vector128<short>.Zero);
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref bytes), narrow.AsInt32().ToScalar());
        }
    }

    /// <summary>Y at (t, d, b) from the state row: the quantized h (int8) or h (float32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteY(TensorMemory memory, int d, int t, int b, int state)
    {
        var layer = _layer;
        int hidden = layer.Hidden, y = layer.YOffset(t, d, b);
        if (_quantized)
        {
            // A few dozen bytes per step: vector moves instead of a call to the general copy.
            var target = memory.Write<sbyte>(layer.Y).Slice(y, hidden);
            ref byte from = ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_hStateQ), state));
            ref byte to = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(target));
            int i = 0;
            for (; i + 16 <= hidden; i += 16) Vector128.LoadUnsafe(ref from, (nuint)i).StoreUnsafe(ref to, (nuint)i);
            for (; i < hidden; i++) Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i);
        }
        else _hState.AsSpan(state, hidden).CopyTo(memory.Write<float>(layer.Y).Slice(y, hidden));
    }

    /// <summary>
    /// q[j] = FixedPoint.QuantizeValue(h[j]) with the hidden state's scale and zero point, centered[j] = q[j] - zh and,
    /// when <paramref name="dequantized"/>, h[j] = hScale · (q[j] - zh) as the reference sets its state; 4 lanes at a time.
    /// </summary>
    private void QuantizeHidden(Span<float> h, Span<sbyte> q, Span<short> centered, bool dequantized)
    {
        var layer = _layer;
        int i = 0, count = h.Length, zero = layer.HZero;
        ref float values = ref MemoryMarshal.GetReference(h);
        ref sbyte bytes = ref MemoryMarshal.GetReference(q);
        ref short shorts = ref MemoryMarshal.GetReference(centered);
        var inverseScale = Vector128.Create(layer.HInverseScale);
        var zeroPoint = Vector128.Create((float)zero);
        var nanResult = Vector128.Create(Math.Clamp(zero, -128, 127));
        var zeroLanes = Vector128.Create(zero);
        var scale = Vector128.Create(layer.HScale);
        for (; i + 4 <= count; i += 4)
        {
            var lanes = QuantizeVector.QuantizeLanes(Vector128.LoadUnsafe(ref values, (nuint)i), inverseScale, zeroPoint, nanResult);
            var shifted = lanes - zeroLanes;
            var narrow = Vector128.Narrow(shifted, shifted);
            Unsafe.WriteUnaligned(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref shorts, i)), narrow.AsInt64().ToScalar());
            var narrowBytes = Vector128.Narrow(Vector128.Narrow(lanes, lanes), Vector128<short>.Zero);
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref bytes, i)), narrowBytes.AsInt32().ToScalar());
            if (dequantized) (Vector128.ConvertToSingle(shifted) * scale).StoreUnsafe(ref values, (nuint)i);
        }
        for (; i < count; i++)
        {
            sbyte value = FixedPoint.QuantizeValue(h[i], layer.HInverseScale, zero);
            q[i] = value;
            centered[i] = (short)(value - zero);
            if (dequantized) h[i] = _dequantized[value + 128];
        }
    }
}
