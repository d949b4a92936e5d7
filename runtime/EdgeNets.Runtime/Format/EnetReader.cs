using System.Buffers.Binary;
using System.Text;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Format;

/// <summary>
/// Parses and validates a .enet file. Every length, index, offset and shape is checked before use, so a truncated,
/// corrupted or hostile file ends in a <see cref="ModelFormatException"/>, never in an out-of-range access.
/// Constant tensors reference the file bytes in place.
/// </summary>
public static class EnetReader
{
    public static ModelGraph Read(byte[] file)
    {
        if (file.Length < EnetFormat.HeaderSize)
            throw new ModelFormatException($"file is {file.Length} bytes, smaller than the {EnetFormat.HeaderSize}-byte header: not an EdgeNets model or truncated");
        var span = file.AsSpan();
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(span);
        if (magic != EnetFormat.Magic) throw new ModelFormatException("not an EdgeNets model file (bad magic; expected 'ENET')");
        ushort major = BinaryPrimitives.ReadUInt16LittleEndian(span[EnetFormat.VersionMajorOffset..]);
        ushort minor = BinaryPrimitives.ReadUInt16LittleEndian(span[EnetFormat.VersionMinorOffset..]);
        if (major != EnetFormat.VersionMajor)
            throw new ModelFormatException($"model format version {major}.{minor} is not supported by this runtime (reads {EnetFormat.VersionMajor}.x)");
        long fileLength = BinaryPrimitives.ReadInt64LittleEndian(span[EnetFormat.FileLengthOffset..]);
        if (fileLength != file.Length)
            throw new ModelFormatException($"file is {file.Length} bytes but its header says {fileLength}: truncated or padded");
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(span[EnetFormat.ChecksumOffset..]);
        ulong actual = EnetFormat.ComputeChecksum(span);
        if (stored != actual) throw new ModelFormatException($"checksum mismatch (stored {stored:x16}, computed {actual:x16}): the file is corrupted");

        long graphOffset = BinaryPrimitives.ReadInt64LittleEndian(span[EnetFormat.GraphOffsetOffset..]);
        long graphLength = BinaryPrimitives.ReadInt64LittleEndian(span[EnetFormat.GraphLengthOffset..]);
        long dataOffset = BinaryPrimitives.ReadInt64LittleEndian(span[EnetFormat.DataOffsetOffset..]);
        long dataLength = BinaryPrimitives.ReadInt64LittleEndian(span[EnetFormat.DataLengthOffset..]);
        long arenaBytes = BinaryPrimitives.ReadInt64LittleEndian(span[EnetFormat.ArenaBytesOffset..]);
        CheckSection("graph", graphOffset, graphLength, file.Length);
        CheckSection("data", dataOffset, dataLength, file.Length);
        if (dataOffset % EnetFormat.Alignment != 0) throw new ModelFormatException($"data section offset {dataOffset} is not {EnetFormat.Alignment}-byte aligned");
        if (arenaBytes < 0 || arenaBytes > EnetFormat.MaxArenaBytes)
            throw new ModelFormatException($"arena size {arenaBytes} is outside [0, {EnetFormat.MaxArenaBytes}] bytes");

        var graph = new ModelGraph { ArenaBytes = arenaBytes };
        var r = new BoundedReader(file, (int)graphOffset, (int)graphLength);

        int metaCount = r.ReadCount(10_000, "metadata entries");
        for (int i = 0; i < metaCount; i++) graph.Metadata[r.ReadString()] = r.ReadString();

        int tensorCount = r.ReadCount(EnetFormat.MaxTensors, "tensors");
        for (int i = 0; i < tensorCount; i++) graph.Tensors.Add(ReadTensor(ref r, i, file, dataOffset, dataLength, arenaBytes));

        int opCount = r.ReadCount(EnetFormat.MaxOps, "operators");
        for (int i = 0; i < opCount; i++) graph.Ops.Add(ReadOp(ref r, i, tensorCount));

        graph.Inputs.AddRange(r.ReadIndexList(tensorCount, "graph inputs", allowAbsent: false));
        graph.Outputs.AddRange(r.ReadIndexList(tensorCount, "graph outputs", allowAbsent: false));
        if (r.Remaining != 0) throw new ModelFormatException($"graph section has {r.Remaining} unexpected trailing bytes");
        long planned = GraphValidator.PlannedArenaBytes(graph);
        if (planned != arenaBytes)
            throw new ModelFormatException($"header says the arena is {arenaBytes} bytes but the tensors' offsets and sizes need {planned}");

        GraphValidator.Validate(graph);
        return graph;
    }

    private static void CheckSection(string name, long offset, long length, long fileLength)
    {
        if (offset < EnetFormat.HeaderSize || length < 0 || offset > fileLength || length > fileLength - offset)
            throw new ModelFormatException($"{name} section [{offset}, +{length}) lies outside the {fileLength}-byte file");
    }

    private static TensorInfo ReadTensor(ref BoundedReader r, int index, byte[] file, long dataOffset, long dataLength, long arenaBytes)
    {
        string name = r.ReadString();
        var type = (DataType)r.ReadByte();
        if (!type.IsDefined()) throw new ModelFormatException($"tensor #{index} '{name}': unknown data type {(int)type}");
        var kind = (TensorKind)r.ReadByte();
        if (kind is not (TensorKind.Activation or TensorKind.Constant)) throw new ModelFormatException($"tensor #{index} '{name}': unknown kind {(int)kind}");
        int rank = r.ReadByte();
        if (rank > ShapeUtil.MaxRank) throw new ModelFormatException($"tensor #{index} '{name}': rank {rank} exceeds {ShapeUtil.MaxRank}");
        var shape = new int[rank];
        long elements = 1;
        for (int d = 0; d < rank; d++)
        {
            shape[d] = r.ReadInt32();
            if (shape[d] < 0) throw new ModelFormatException($"tensor '{name}': negative dimension {shape[d]}");
            elements *= shape[d];
            if (elements > int.MaxValue / 4) throw new ModelFormatException($"tensor '{name}': shape [{ShapeUtil.Format(shape)}] is too large");
        }
        var tensor = new TensorInfo(name, type, shape, kind) { Offset = r.ReadInt64() };
        long bytes = tensor.ByteLength;
        if (kind == TensorKind.Constant)
        {
            if (tensor.Offset < 0 || tensor.Offset > dataLength - bytes)
                throw new ModelFormatException($"constant '{name}' ({bytes} bytes at {tensor.Offset}) lies outside the {dataLength}-byte data section");
            tensor.Data = new ReadOnlyMemory<byte>(file, (int)(dataOffset + tensor.Offset), (int)bytes);
            if (type == DataType.Float32 && ParameterRanges.CheckFloatConstant(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.Data.Span)) is { } why)
                throw new ModelFormatException($"constant '{name}': {why}");
        }
        else if (tensor.Offset < 0 || tensor.Offset > arenaBytes - bytes)
        {
            throw new ModelFormatException($"activation '{name}' ({bytes} bytes at {tensor.Offset}) lies outside the {arenaBytes}-byte arena");
        }

        int scaleCount = r.ReadCount(1 << 16, $"scales of tensor '{name}'");
        if (scaleCount > 0)
        {
            var scales = new float[scaleCount];
            for (int s = 0; s < scaleCount; s++)
            {
                scales[s] = r.ReadSingle();
                if (ParameterRanges.CheckScale(scales[s]) is { } why) throw new ModelFormatException($"tensor '{name}': {why}");
            }
            int zeroPoint = r.ReadInt32();
            int axis = r.ReadInt32();
            if (axis < -1 || axis >= Math.Max(rank, 1)) throw new ModelFormatException($"tensor '{name}': quantization axis {axis} is out of range for rank {rank}");
            if (axis == -1 && scaleCount != 1) throw new ModelFormatException($"tensor '{name}': {scaleCount} scales but no channel axis");
            if (axis >= 0 && scaleCount != shape[axis]) throw new ModelFormatException($"tensor '{name}': {scaleCount} scales for {shape[axis]} channels");
            var (minZero, maxZero) = ParameterRanges.ZeroPoint(type);
            if (zeroPoint < minZero || zeroPoint > maxZero)
                throw new ModelFormatException($"{type.ToShortName()} tensor '{name}': zero point {zeroPoint} is outside [{minZero}, {maxZero}]");
            tensor.Quantization = new QuantizationInfo(scales, zeroPoint, axis);
        }
        return tensor;
    }

    private static OpInfo ReadOp(ref BoundedReader r, int index, int tensorCount)
    {
        var type = (OpType)r.ReadUInt16();
        if (!Enum.IsDefined(type) || type.IsNeverInFile()) throw new ModelFormatException($"operator #{index}: unknown operator type {(int)type}");
        string name = r.ReadString();
        var inputs = r.ReadIndexList(tensorCount, $"inputs of {type} '{name}'", allowAbsent: true);
        var outputs = r.ReadIndexList(tensorCount, $"outputs of {type} '{name}'", allowAbsent: false);
        var attributes = new OpAttributes();
        int attributeCount = r.ReadCount(256, $"attributes of {type} '{name}'");
        for (int a = 0; a < attributeCount; a++)
        {
            var key = (AttributeKey)r.ReadUInt16();
            byte kind = r.ReadByte();
            int count = r.ReadCount(EnetFormat.MaxAttributeValues, $"values of attribute {key} of '{name}'");
            if (kind == 0)
            {
                var values = new int[count];
                for (int i = 0; i < count; i++) values[i] = r.ReadInt32();
                attributes.Set(key, values);
            }
            else if (kind == 1)
            {
                var values = new float[count];
                for (int i = 0; i < count; i++) values[i] = r.ReadSingle();
                attributes.Set(key, values);
            }
            else throw new ModelFormatException($"attribute {key} of '{name}': unknown value kind {kind}");
        }
        var op = new OpInfo(type, name, inputs, outputs, attributes);
        ParameterRanges.CheckAttributes(op);
        return op;
    }

    /// <summary>Little-endian reader over one section that throws instead of reading past its end.</summary>
    private ref struct BoundedReader
    {
        private readonly ReadOnlySpan<byte> _data;
        private int _pos;

        public BoundedReader(byte[] file, int offset, int length) { _data = file.AsSpan(offset, length); _pos = 0; }

        public int Remaining => _data.Length - _pos;

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || n > Remaining) throw new ModelFormatException($"graph section is truncated (needed {n} bytes at offset {_pos}, {Remaining} left)");
            var s = _data.Slice(_pos, n);
            _pos += n;
            return s;
        }

        public byte ReadByte() => Take(1)[0];
        public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
        public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
        public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));
        public float ReadSingle() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

        public int ReadCount(int max, string what)
        {
            int n = ReadInt32();
            if (n < 0 || n > max) throw new ModelFormatException($"count of {what} is {n}, outside [0, {max}]");
            return n;
        }

        public string ReadString()
        {
            int n = ReadCount(EnetFormat.MaxStringBytes, "string bytes");
            try { return new UTF8Encoding(false, true).GetString(Take(n)); }
            catch (DecoderFallbackException e) { throw new ModelFormatException("a name in the graph section is not valid UTF-8", e); }
        }

        public int[] ReadIndexList(int tensorCount, string what, bool allowAbsent)
        {
            int n = ReadCount(EnetFormat.MaxOpTensors, what);
            var list = new int[n];
            for (int i = 0; i < n; i++)
            {
                int t = ReadInt32();
                if (t >= tensorCount || t < (allowAbsent ? -1 : 0)) throw new ModelFormatException($"{what}: tensor index {t} is out of range (model has {tensorCount} tensors)");
                list[i] = t;
            }
            return list;
        }
    }
}
