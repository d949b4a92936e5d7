using System.Buffers.Binary;
using System.Text;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Format;

/// <summary>Serializes a <see cref="ModelGraph"/> into the .enet container (docs/model-format.md).</summary>
public static class EnetWriter
{
    public static byte[] Write(ModelGraph graph)
    {
        // Lay out constants first so the graph section can record their final offsets.
        long dataCursor = 0;
        foreach (var t in graph.Tensors)
        {
            if (!t.IsConstant) continue;
            if (t.Data.Length != t.ByteLength)
                throw new InvalidOperationException($"constant '{t.Name}' has {t.Data.Length} bytes, its shape needs {t.ByteLength}");
            dataCursor = EnetFormat.AlignUp(dataCursor);
            t.Offset = dataCursor;
            dataCursor += t.ByteLength;
        }
        long dataLength = EnetFormat.AlignUp(dataCursor);

        var g = new MemoryStream();
        var w = new BinaryWriter(g, Encoding.UTF8, leaveOpen: true);
        WriteGraph(w, graph);
        w.Flush();
        long graphLength = g.Length;
        long graphOffset = EnetFormat.HeaderSize;
        long dataOffset = EnetFormat.AlignUp(graphOffset + graphLength);
        long fileLength = dataOffset + dataLength;

        var file = new byte[fileLength];
        var span = file.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span[EnetFormat.MagicOffset..], EnetFormat.Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(span[EnetFormat.VersionMajorOffset..], EnetFormat.VersionMajor);
        BinaryPrimitives.WriteUInt16LittleEndian(span[EnetFormat.VersionMinorOffset..], EnetFormat.VersionMinor);
        BinaryPrimitives.WriteInt64LittleEndian(span[EnetFormat.FileLengthOffset..], fileLength);
        BinaryPrimitives.WriteInt64LittleEndian(span[EnetFormat.GraphOffsetOffset..], graphOffset);
        BinaryPrimitives.WriteInt64LittleEndian(span[EnetFormat.GraphLengthOffset..], graphLength);
        BinaryPrimitives.WriteInt64LittleEndian(span[EnetFormat.DataOffsetOffset..], dataOffset);
        BinaryPrimitives.WriteInt64LittleEndian(span[EnetFormat.DataLengthOffset..], dataLength);
        BinaryPrimitives.WriteInt64LittleEndian(span[EnetFormat.ArenaBytesOffset..], graph.ArenaBytes);
        g.GetBuffer().AsSpan(0, (int)graphLength).CopyTo(span[(int)graphOffset..]);
        foreach (var t in graph.Tensors)
            if (t.IsConstant) t.Data.Span.CopyTo(span[(int)(dataOffset + t.Offset)..]);
        BinaryPrimitives.WriteUInt64LittleEndian(span[EnetFormat.ChecksumOffset..], EnetFormat.ComputeChecksum(span));
        return file;
    }

    private static void WriteGraph(BinaryWriter w, ModelGraph graph)
    {
        w.Write(graph.Metadata.Count);
        foreach (var (k, v) in graph.Metadata) { WriteString(w, k); WriteString(w, v); }

        w.Write(graph.Tensors.Count);
        foreach (var t in graph.Tensors)
        {
            WriteString(w, t.Name);
            w.Write((byte)t.Type);
            w.Write((byte)t.Kind);
            w.Write((byte)t.Rank);
            foreach (int d in t.Shape) w.Write(d);
            w.Write(t.Offset);
            var q = t.Quantization;
            w.Write(q?.Scales.Length ?? 0);
            if (q != null)
            {
                foreach (float s in q.Scales) w.Write(s);
                w.Write(q.ZeroPoint);
                w.Write(q.Axis);
            }
        }

        w.Write(graph.Ops.Count);
        foreach (var op in graph.Ops)
        {
            w.Write((ushort)op.Type);
            WriteString(w, op.Name);
            WriteIndexList(w, op.Inputs);
            WriteIndexList(w, op.Outputs);
            var ints = op.Attributes.Ints;
            var floats = op.Attributes.Floats;
            w.Write(ints.Count + floats.Count);
            foreach (var (key, values) in ints)
            {
                w.Write((ushort)key); w.Write((byte)0); w.Write(values.Length);
                foreach (int v in values) w.Write(v);
            }
            foreach (var (key, values) in floats)
            {
                w.Write((ushort)key); w.Write((byte)1); w.Write(values.Length);
                foreach (float v in values) w.Write(v);
            }
        }

        WriteIndexList(w, graph.Inputs);
        WriteIndexList(w, graph.Outputs);
    }

    private static void WriteIndexList(BinaryWriter w, IReadOnlyList<int> list)
    {
        w.Write(list.Count);
        foreach (int i in list) w.Write(i);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        if (bytes.Length > EnetFormat.MaxStringBytes) throw new InvalidOperationException($"string too long for the model file: '{s[..64]}...'");
        w.Write(bytes.Length);
        w.Write(bytes);
    }
}
