using System.Buffers.Binary;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Tests.Fuzzing;

/// <summary>
/// Structure-aware mutations of a valid .enet file, all from one seeded <see cref="Random"/>: edits of the parsed graph
/// (zero points, scales, shapes, offsets, attributes, operator types and tensor indices, written back by the real
/// writer), edits of the header's fields, and byte edits of the graph and data sections. Every result is resealed
/// (checksum recomputed), so it reaches the loader's validation instead of stopping at the checksum.
/// </summary>
public sealed class EnetMutator(Random rng)
{
    private static readonly int[] InterestingInts =
    [
        0, 1, -1, 2, 3, 7, 8, 16, 22, 23, 30, 31, 32, -31, -32, 63, 64, 127, 128, 255, 256, -128, -129, 1 << 15, 1 << 16,
        (1 << 30) - 1, 1 << 30, int.MaxValue, int.MinValue, 0x7FFFFFF0, 65535,
    ];

    private static readonly float[] InterestingFloats =
    [
        0f, -0f, 1f, -1f, 0.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, 1e-40f, 1e-30f,
        1e-8f, 3e38f, float.MaxValue, 255f, 1e6f, -1e6f,
    ];

    private static readonly int[] HeaderFields =
    [
        EnetFormat.FileLengthOffset, EnetFormat.GraphOffsetOffset, EnetFormat.GraphLengthOffset, EnetFormat.DataOffsetOffset,
        EnetFormat.DataLengthOffset, EnetFormat.ArenaBytesOffset,
    ];

    /// <summary>One to three stacked mutations of <paramref name="seed"/> (a valid file), resealed.</summary>
    public byte[] Mutate(byte[] seed)
    {
        var file = seed;
        for (int n = 1 + (rng.Next(4) == 0 ? rng.Next(3) : 0); n > 0; n--)
        {
            int kind = rng.Next(10);
            file = kind switch
            {
                < 5 => MutateGraph(file) ?? MutateBytes(file, graphSection: true),
                5 => MutateHeader(file),
                < 9 => MutateBytes(file, graphSection: true),
                _ => MutateBytes(file, graphSection: false),
            };
        }
        Reseal(file);
        return file;
    }

    public static void Reseal(byte[] file)
    {
        if (file.Length >= EnetFormat.HeaderSize)
            BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(EnetFormat.ChecksumOffset), EnetFormat.ComputeChecksum(file));
    }

    private int Int() => rng.Next(3) == 0 ? rng.Next(-300, 300) : InterestingInts[rng.Next(InterestingInts.Length)];
    private float Float() => rng.Next(3) == 0 ? (float)(rng.NextDouble() * 20 - 10) : InterestingFloats[rng.Next(InterestingFloats.Length)];
    private int Nudge(int value) => rng.Next(2) == 0 ? Int() : value + rng.Next(-2, 3);

    /// <summary>One field of the parsed graph changed and written back; null when the file does not parse or the edit cannot be written.</summary>
    private byte[]? MutateGraph(byte[] file)
    {
        ModelGraph g;
        try { g = EnetReader.Read(file); }
        catch (ModelFormatException) { return null; }
        if (g.Tensors.Count == 0 || g.Ops.Count == 0) return null;
        var t = g.Tensors[rng.Next(g.Tensors.Count)];
        var op = g.Ops[rng.Next(g.Ops.Count)];
        switch (rng.Next(13))
        {
            case 0:
                if (t.Quantization is not { } q0) return null;
                t.Quantization = new QuantizationInfo(q0.Scales, Nudge(q0.ZeroPoint), q0.Axis);
                break;
            case 1:
                if (t.Quantization is not { } q1) return null;
                var scales = (float[])q1.Scales.Clone();
                scales[rng.Next(scales.Length)] = rng.Next(2) == 0 ? Float() : scales[0] * (float)Math.Pow(2, rng.Next(-40, 40));
                t.Quantization = new QuantizationInfo(scales, q1.ZeroPoint, q1.Axis);
                break;
            case 2:
                if (t.Rank == 0) return null;
                int d = rng.Next(t.Rank);
                t.Shape[d] = Nudge(t.Shape[d]);
                break;
            case 3:
                if (t.IsConstant) return null;
                t.Offset = rng.Next(2) == 0 ? t.Offset + 64 * rng.Next(-2, 3) : Int();
                break;
            case 4:
                g.ArenaBytes = rng.Next(2) == 0 ? g.ArenaBytes + 64 * rng.Next(-2, 3) : (long)Int() * (rng.Next(2) == 0 ? 1 : 64);
                break;
            case 5:
            {
                var ints = op.Attributes.Ints.ToArray();
                if (ints.Length == 0 || ints[rng.Next(ints.Length)].Value is not { Length: > 0 } values) return null;
                int i = rng.Next(values.Length);
                values[i] = Nudge(values[i]);
                break;
            }
            case 6:
            {
                var floats = op.Attributes.Floats.ToArray();
                if (floats.Length == 0 || floats[rng.Next(floats.Length)].Value is not { Length: > 0 } values) return null;
                values[rng.Next(values.Length)] = Float();
                break;
            }
            case 7:
            {
                var list = rng.Next(2) == 0 || op.Outputs.Length == 0 ? op.Inputs : op.Outputs;
                if (list.Length == 0) return null;
                list[rng.Next(list.Length)] = rng.Next(5) == 0 ? -1 : rng.Next(g.Tensors.Count);
                break;
            }
            case 8:
            {
                var types = Enum.GetValues<OpType>().Where(o => !o.IsNeverInFile()).ToArray();
                int index = g.Ops.IndexOf(op);
                g.Ops[index] = new OpInfo(types[rng.Next(types.Length)], op.Name, op.Inputs, op.Outputs, op.Attributes);
                break;
            }
            case 9:
            {
                var keys = Enum.GetValues<AttributeKey>();
                var key = keys[rng.Next(keys.Length)];
                if (rng.Next(2) == 0) op.Attributes.Remove(key);
                else if (rng.Next(2) == 0) op.Attributes.Set(key, Enumerable.Range(0, 1 + rng.Next(4)).Select(_ => Int()).ToArray());
                else op.Attributes.Set(key, Float());
                break;
            }
            case 10:
            {
                var types = Enum.GetValues<DataType>();
                var type = types[rng.Next(types.Length)];
                if (t.IsConstant && type.SizeInBytes() != t.Type.SizeInBytes()) return null;
                g.Tensors[g.Tensors.IndexOf(t)] = new TensorInfo(t.Name, type, t.Shape, t.Kind) { Offset = t.Offset, Data = t.Data, Quantization = t.Quantization };
                break;
            }
            case 11:
                t.Quantization = t.Quantization == null ? QuantizationInfo.PerTensor(Math.Abs(Float()), Int()) : null;
                break;
            default:
                if (g.Ops.Count < 2) return null;
                int a = rng.Next(g.Ops.Count), b = rng.Next(g.Ops.Count);
                (g.Ops[a], g.Ops[b]) = (g.Ops[b], g.Ops[a]);
                break;
        }
        try { return EnetWriter.Write(g); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or OverflowException) { return null; }
    }

    /// <summary>One 64-bit header field set to an interesting value or moved by a little.</summary>
    private byte[] MutateHeader(byte[] file)
    {
        var copy = (byte[])file.Clone();
        var field = copy.AsSpan(HeaderFields[rng.Next(HeaderFields.Length)], 8);
        long value = BinaryPrimitives.ReadInt64LittleEndian(field);
        value = rng.Next(3) switch
        {
            0 => value + 64 * rng.Next(-3, 4),
            1 => (long)Int() << rng.Next(0, 33),
            _ => 1L << rng.Next(0, 63),
        };
        BinaryPrimitives.WriteInt64LittleEndian(field, value);
        return copy;
    }

    /// <summary>One to four byte edits (random, bit flip, 0, 0xFF, an interesting int32) in the graph or the data section.</summary>
    private byte[] MutateBytes(byte[] file, bool graphSection)
    {
        var copy = (byte[])file.Clone();
        if (copy.Length <= EnetFormat.HeaderSize) return copy;
        long graphOffset = BinaryPrimitives.ReadInt64LittleEndian(copy.AsSpan(EnetFormat.GraphOffsetOffset));
        long graphLength = BinaryPrimitives.ReadInt64LittleEndian(copy.AsSpan(EnetFormat.GraphLengthOffset));
        int start = EnetFormat.HeaderSize, end = copy.Length;
        if (graphOffset >= start && graphLength > 0 && graphOffset + graphLength <= copy.Length)
        {
            if (graphSection) (start, end) = ((int)graphOffset, (int)(graphOffset + graphLength));
            else if (graphOffset + graphLength < copy.Length) start = (int)(graphOffset + graphLength);
        }
        for (int n = 1 + rng.Next(4); n > 0; n--)
        {
            int pos = start + rng.Next(end - start);
            switch (rng.Next(5))
            {
                case 0: copy[pos] = (byte)rng.Next(256); break;
                case 1: copy[pos] ^= (byte)(1 << rng.Next(8)); break;
                case 2: copy[pos] = 0; break;
                case 3: copy[pos] = 0xFF; break;
                default:
                    if (pos + 4 <= end) BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(pos), Int());
                    break;
            }
        }
        return copy;
    }
}
