using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels;

/// <summary>
/// The session's view of tensor bytes: activations in one 64-byte-aligned arena, constants in place in the model file.
/// Kernels read and write only through it, so the run path is span slicing and nothing else.
/// </summary>
public sealed class TensorMemory
{
    private readonly byte[] _arena;
    private readonly int _base;
    private readonly long[] _offsets;
    private readonly int[] _lengths;
    private readonly ReadOnlyMemory<byte>[] _constants;

    internal TensorMemory(ModelGraph graph, long[] offsets, long arenaLength)
    {
        // The file's arena is checked at load; this bounds the others (every activation kept, streaming graphs).
        if (arenaLength < 0 || arenaLength > Format.EnetFormat.MaxArenaBytes)
            throw new Format.ModelFormatException($"an arena of {arenaLength} bytes is outside [0, {Format.EnetFormat.MaxArenaBytes}] bytes");
        ArenaLength = arenaLength;
        // Pinned so the aligned base stays aligned; 64 spare bytes to reach a 64-byte boundary.
        _arena = GC.AllocateArray<byte>(checked((int)arenaLength + 64), pinned: true);
        unsafe
        {
            nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_arena));
            _base = (int)((64 - (address & 63)) & 63);
        }
        _offsets = offsets;
        _lengths = graph.Tensors.Select(t => t.ByteLength).ToArray();
        _constants = graph.Tensors.Select(t => t.IsConstant ? t.Data : default).ToArray();
    }

    public long ArenaLength { get; }

    /// <summary>Bytes of an activation (writable) or of a constant (must not be written).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Bytes(int tensorId)
    {
        long offset = _offsets[tensorId];
        if (offset < 0) return MemoryMarshal.AsMemory(_constants[tensorId]).Span;
        return _arena.AsSpan(_base + (int)offset, _lengths[tensorId]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<T> Read<T>(int tensorId) where T : struct => MemoryMarshal.Cast<byte, T>(Bytes(tensorId));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Write<T>(int tensorId) where T : struct => MemoryMarshal.Cast<byte, T>(Bytes(tensorId));
}
