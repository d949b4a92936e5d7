using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Optimized;

/// <summary>
/// int8 Transpose with the reference's bytes (a Transpose only moves bytes). The permutation is first reduced: axes of
/// size 1 are dropped and axes that stay next to each other in the same order are merged, so [1, 32, 120] perm
/// [2, 0, 1] becomes a 32 × 120 matrix transpose and [120, 1, 48] perm [1, 0, 2] a plain copy. What is left is one of
/// <list type="bullet">
/// <item>a copy (the order of the bytes does not change);</item>
/// <item>gathering contiguous rows (the input's last axis stays last), each row one block copy;</item>
/// <item>for every index of the other axes, a matrix transpose between the output's last axis and the input's last
/// axis, in 16 × 16 tiles of byte vectors (four rounds of byte interleaves) with scalar edges.</item>
/// </list>
/// </summary>
internal sealed class TransposeInt8Tiled : OpKernel
{
    private const int Tile = 16;

    private readonly int _input, _output, _count;
    private readonly Kind _kind;
    // Gather and tiles: the outer axes (output order) with their sizes and input/output element strides.
    private readonly int[] _outerSizes = [], _outerInputStrides = [], _outerOutputStrides = [];
    // Gather: row length. Tiles: A = output's last axis (input stride _columnStride), B = input's last axis (output stride _rowStride).
    private readonly int _rowLength, _a, _b, _columnStride, _rowStride;

    private enum Kind { Copy, Rows, Tiles }

    public override string Name => "TransposeInt8_Vector128";

    /// <summary>Whether the operator is one this kernel takes: a valid int8 Transpose (the reference reports what is wrong otherwise).</summary>
    public static bool CanHandle(KernelSetup s)
    {
        if (s.InputCount != 1 || s.OutputCount != 1 || !s.HasInput(0)) return false;
        var x = s.Input(0);
        var y = s.Output(0);
        if (x.Type != DataType.Int8 || y.Type != DataType.Int8) return false;
        var perm = Perm(s, x.Rank);
        if (perm == null) return false;
        for (int d = 0; d < perm.Length; d++)
            if (y.Rank != x.Rank || y.Shape[d] != x.Shape[perm[d]]) return false;
        return true;
    }

    /// <summary>The Perm attribute (ONNX default: the axes reversed), or null when it is not a permutation of the axes.</summary>
    private static int[]? Perm(KernelSetup s, int rank)
    {
        var perm = s.Attributes.GetInts(AttributeKey.Perm);
        if (perm == null)
        {
            perm = new int[rank];
            for (int d = 0; d < rank; d++) perm[d] = rank - 1 - d;
        }
        if (perm.Length != rank) return null;
        var seen = new bool[rank];
        foreach (int p in perm)
        {
            if (p < 0 || p >= rank || seen[p]) return null;
            seen[p] = true;
        }
        return perm;
    }

    public TransposeInt8Tiled(KernelSetup s)
    {
        var x = s.Input(0);
        int rank = x.Rank;
        var perm = Perm(s, rank)!;
        _input = s.InputId(0);
        _output = s.OutputId(0);
        _count = x.ElementCount;

        // Output axes in order as (input axis, size); size-1 axes dropped, runs of consecutive input axes merged.
        var axes = new List<(int Axis, int Size)>();
        for (int d = 0; d < rank; d++)
        {
            int axis = perm[d], size = x.Shape[axis];
            if (size == 1) continue;
            if (axes.Count > 0 && axes[^1].Axis == axis - 1 - SkippedOnes(x.Shape, axes[^1].Axis, axis))
                axes[^1] = (axis, axes[^1].Size * size);
            else axes.Add((axis, size));
        }
        // Input strides of the merged axes: each axis's stride is the product of the sizes of the input axes after it.
        int m = axes.Count;
        var byInput = Enumerable.Range(0, m).OrderBy(i => axes[i].Axis).ToArray(); // output positions in input order
        var inputStride = new int[m];
        for (int k = m - 1, stride = 1; k >= 0; k--)
        {
            inputStride[byInput[k]] = stride;
            stride *= axes[byInput[k]].Size;
        }
        var outputStride = new int[m];
        for (int d = m - 1, stride = 1; d >= 0; d--)
        {
            outputStride[d] = stride;
            stride *= axes[d].Size;
        }

        if (m <= 1 || _count == 0 || byInput.SequenceEqual(Enumerable.Range(0, m)))
        {
            _kind = Kind.Copy;
            return;
        }
        int last = m - 1, inputLast = byInput[m - 1]; // output position of the input's last axis
        var outer = Enumerable.Range(0, m).Where(d => d != last && (inputLast == last || d != inputLast)).ToArray();
        _outerSizes = outer.Select(d => axes[d].Size).ToArray();
        _outerInputStrides = outer.Select(d => inputStride[d]).ToArray();
        _outerOutputStrides = outer.Select(d => outputStride[d]).ToArray();
        if (inputLast == last)
        {
            _kind = Kind.Rows;
            _rowLength = axes[last].Size;
        }
        else
        {
            _kind = Kind.Tiles;
            _a = axes[last].Size;
            _columnStride = inputStride[last];
            _b = axes[inputLast].Size;
            _rowStride = outputStride[inputLast];
        }
    }

    /// <summary>Number of size-1 input axes strictly between <paramref name="from"/> and <paramref name="to"/>.</summary>
    private static int SkippedOnes(int[] shape, int from, int to)
    {
        int count = 0;
        for (int a = from + 1; a < to; a++) if (shape[a] == 1) count++;
        return count;
    }

    public override void Run(TensorMemory memory)
    {
        var x = memory.Read<sbyte>(_input).Slice(0, _count);
        var y = memory.Write<sbyte>(_output).Slice(0, _count);
        if (_kind == Kind.Copy)
        {
            x.CopyTo(y);
            return;
        }
        int outerCount = 1;
        foreach (int size in _outerSizes) outerCount *= size;
        for (int index = 0; index < outerCount; index++)
        {
            int rest = index, ix = 0, iy = 0;
            for (int d = _outerSizes.Length - 1; d >= 0; d--)
            {
                int n = _outerSizes[d];
                ix += rest % n * _outerInputStrides[d];
                iy += rest % n * _outerOutputStrides[d];
                rest /= n;
            }
            if (_kind == Kind.Rows) x.Slice(ix, _rowLength).CopyTo(y.Slice(iy, _rowLength));
            else TransposeMatrix(ref Unsafe.Add(ref MemoryMarshal.GetReference(x), ix), ref Unsafe.Add(ref MemoryMarshal.GetReference(y), iy));
        }
    }

    /// <summary>y[b · rowStride + a] = x[a · columnStride + b] for a &lt; A, b &lt; B.</summary>
    private void TransposeMatrix(ref sbyte x, ref sbyte y)
    {
        int a = _a, b = _b, columnStride = _columnStride, rowStride = _rowStride;
        int a0 = 0;
        for (; a0 + Tile <= a; a0 += Tile)
        {
            int b0 = 0;
            for (; b0 + Tile <= b; b0 += Tile)
                TransposeTile(ref Unsafe.Add(ref x, a0 * columnStride + b0), columnStride, ref Unsafe.Add(ref y, b0 * rowStride + a0), rowStride);
            for (; b0 < b; b0++)
                for (int i = a0; i < a0 + Tile; i++) Unsafe.Add(ref y, b0 * rowStride + i) = Unsafe.Add(ref x, i * columnStride + b0);
        }
        for (int bi = 0; bi < b; bi++)
            for (int i = a0; i < a; i++) Unsafe.Add(ref y, bi * rowStride + i) = Unsafe.Add(ref x, i * columnStride + bi);
    }

    /// <summary>
    /// One 16 × 16 byte tile: 16 input rows in, 16 output rows out. Four rounds of out[2i] = interleave-low(in[i], in[i + 8]),
    /// out[2i + 1] = interleave-high(in[i], in[i + 8]) turn the rows into the columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void TransposeTile(ref sbyte x, int inputStride, ref sbyte y, int outputStride)
    {
        ref byte source = ref Unsafe.As<sbyte, byte>(ref x);
        ref byte target = ref Unsafe.As<sbyte, byte>(ref y);
        var r0 = Vector128.LoadUnsafe(ref source);
        var r1 = Vector128.LoadUnsafe(ref source, (nuint)inputStride);
        var r2 = Vector128.LoadUnsafe(ref source, (nuint)(2 * inputStride));
        var r3 = Vector128.LoadUnsafe(ref source, (nuint)(3 * inputStride));
        var r4 = Vector128.LoadUnsafe(ref source, (nuint)(4 * inputStride));
        var r5 = Vector128.LoadUnsafe(ref source, (nuint)(5 * inputStride));
        var r6 = Vector128.LoadUnsafe(ref source, (nuint)(6 * inputStride));
        var r7 = Vector128.LoadUnsafe(ref source, (nuint)(7 * inputStride));
        var r8 = Vector128.LoadUnsafe(ref source, (nuint)(8 * inputStride));
        var r9 = Vector128.LoadUnsafe(ref source, (nuint)(9 * inputStride));
        var r10 = Vector128.LoadUnsafe(ref source, (nuint)(10 * inputStride));
        var r11 = Vector128.LoadUnsafe(ref source, (nuint)(11 * inputStride));
        var r12 = Vector128.LoadUnsafe(ref source, (nuint)(12 * inputStride));
        var r13 = Vector128.LoadUnsafe(ref source, (nuint)(13 * inputStride));
        var r14 = Vector128.LoadUnsafe(ref source, (nuint)(14 * inputStride));
        var r15 = Vector128.LoadUnsafe(ref source, (nuint)(15 * inputStride));
        for (int round = 0; round < 4; round++)
        {
            var t0 = Low(r0, r8); var t1 = High(r0, r8);
            var t2 = Low(r1, r9); var t3 = High(r1, r9);
            var t4 = Low(r2, r10); var t5 = High(r2, r10);
            var t6 = Low(r3, r11); var t7 = High(r3, r11);
            var t8 = Low(r4, r12); var t9 = High(r4, r12);
            var t10 = Low(r5, r13); var t11 = High(r5, r13);
            var t12 = Low(r6, r14); var t13 = High(r6, r14);
            var t14 = Low(r7, r15); var t15 = High(r7, r15);
            (r0, r1, r2, r3, r4, r5, r6, r7) = (t0, t1, t2, t3, t4, t5, t6, t7);
            (r8, r9, r10, r11, r12, r13, r14, r15) = (t8, t9, t10, t11, t12, t13, t14, t15);
        }
        r0.StoreUnsafe(ref target);
        r1.StoreUnsafe(ref target, (nuint)outputStride);
        r2.StoreUnsafe(ref target, (nuint)(2 * outputStride));
        r3.StoreUnsafe(ref target, (nuint)(3 * outputStride));
        r4.StoreUnsafe(ref target, (nuint)(4 * outputStride));
        r5.StoreUnsafe(ref target, (nuint)(5 * outputStride));
        r6.StoreUnsafe(ref target, (nuint)(6 * outputStride));
        r7.StoreUnsafe(ref target, (nuint)(7 * outputStride));
        r8.StoreUnsafe(ref target, (nuint)(8 * outputStride));
        r9.StoreUnsafe(ref target, (nuint)(9 * outputStride));
        r10.StoreUnsafe(ref target, (nuint)(10 * outputStride));
        r11.StoreUnsafe(ref target, (nuint)(11 * outputStride));
        r12.StoreUnsafe(ref target, (nuint)(12 * outputStride));
        r13.StoreUnsafe(ref target, (nuint)(13 * outputStride));
        r14.StoreUnsafe(ref target, (nuint)(14 * outputStride));
        r15.StoreUnsafe(ref target, (nuint)(15 * outputStride));
    }

    /// <summary>The low halves of a and b interleaved byte by byte: a0, b0, a1, b1, ... a7, b7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Low(Vector128<byte> a, Vector128<byte> b) => Sse2.IsSupported ? Sse2.UnpackLow(a, b) : AdvSimd.Arm64.ZipLow(a, b);

    /// <summary>The high halves of a and b interleaved byte by byte: a8, b8, ... a15, b15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> High(Vector128<byte> a, Vector128<byte> b) => Sse2.IsSupported ? Sse2.UnpackHigh(a, b) : AdvSimd.Arm64.ZipHigh(a, b);
}
