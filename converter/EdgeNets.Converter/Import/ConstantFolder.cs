using Onnx;
using static EdgeNets.Converter.Import.OnnxNodeAttributes;

namespace EdgeNets.Converter.Import;

/// <summary>
/// Evaluates ONNX nodes whose inputs are all constants: the shape glue exporters emit around Reshape/Flatten
/// (Gather, Unsqueeze, Concat, Cast, Slice, arithmetic on int64 ...) and elementwise arithmetic on float constants.
/// Returns null for operators it does not evaluate; the importer then lowers them like any other node.
/// </summary>
internal static class ConstantFolder
{
    public static ConstTensor[]? TryEvaluate(NodeProto n, ConstTensor?[] inputs, int opset, Func<string, ConversionException> fail)
    {
        ConstTensor In(int i) => i < inputs.Length && inputs[i] != null ? inputs[i]! : throw fail($"input {i} is required");
        switch (n.OpType)
        {
            case "Add": return [Binary(In(0), In(1), (a, b) => a + b, (a, b) => a + b, fail)];
            case "Sub": return [Binary(In(0), In(1), (a, b) => a - b, (a, b) => a - b, fail)];
            case "Mul": return [Binary(In(0), In(1), (a, b) => a * b, (a, b) => a * b, fail)];
            case "Div":
                return [Binary(In(0), In(1), (a, b) => a / b, (a, b) => b == 0 ? throw fail("integer division by zero") : b == -1 ? unchecked(-a) : a / b, fail)];
            case "Equal": return [Compare(In(0), In(1), (a, b) => a == b, fail)];
            case "Less": return [Compare(In(0), In(1), (a, b) => a < b, fail)];
            case "Greater": return [Compare(In(0), In(1), (a, b) => a > b, fail)];
            case "Neg": return [Unary(In(0), x => -x, x => -x)];
            case "Abs": return [Unary(In(0), Math.Abs, x => x == long.MinValue ? x : Math.Abs(x))];
            case "Sqrt": return [Unary(In(0), Math.Sqrt, null)];
            case "Reciprocal": return [Unary(In(0), x => 1.0 / x, null)];
            case "Floor": return [Unary(In(0), Math.Floor, x => x)];
            case "Ceil": return [Unary(In(0), Math.Ceiling, x => x)];
            case "Not": return [ConstTensor.FromLongs(In(0).Shape, Array.ConvertAll(In(0).AsLongs(), v => v == 0 ? 1L : 0L), ConstTensor.Bool)];
            case "Where": return [Where(In(0), In(1), In(2), fail)];
            case "Cast": return [Cast(In(0), (int)Int(n, "to", 0), fail)];
            case "Shape" or "Size": return null; // need only the input's shape: handled by the importer
            case "Gather": return [Gather(In(0), In(1), (int)Int(n, "axis", 0), fail)];
            case "Unsqueeze":
            {
                var axes = opset >= 13 ? In(1).AsLongs() : Ints(n, "axes") ?? throw fail("attribute 'axes' is required");
                return [In(0).WithShape(UnsqueezeShape(In(0).Shape, axes, fail))];
            }
            case "Squeeze":
            {
                var axes = opset >= 13 ? (inputs.Length > 1 && inputs[1] != null ? inputs[1]!.AsLongs() : null) : Ints(n, "axes");
                return [In(0).WithShape(SqueezeShape(In(0).Shape, axes, fail))];
            }
            case "Reshape":
                return [In(0).WithShape(ReshapeShape(In(0).Shape, In(1).AsLongs(), Int(n, "allowzero", 0) != 0, fail))];
            case "Flatten": return [In(0).WithShape(FlattenShape(In(0).Shape, Int(n, "axis", 1), fail))];
            case "Concat": return [Concat(inputs.Where(t => t != null).Select(t => t!).ToArray(), Int(n, "axis", long.MinValue), fail)];
            case "Expand": return [Expand(In(0), In(1).AsLongs(), fail)];
            case "ConstantOfShape":
            {
                var shape = ToShape(In(0).AsLongs(), fail);
                int count = Count(shape);
                var valueAttr = Tensor(n, "value");
                var value = valueAttr != null ? FromProto(valueAttr, "attribute 'value'", fail) : ConstTensor.FromFloats([1], [0f]);
                if (value.Count != 1) throw fail($"attribute 'value' has {value.Count} values; it must have one");
                return [value.IsFloat
                    ? ConstTensor.FromFloats(shape, Enumerable.Repeat(value.Floats![0], count).ToArray(), value.OnnxType)
                    : ConstTensor.FromLongs(shape, Enumerable.Repeat(value.Longs![0], count).ToArray(), value.OnnxType)];
            }
            case "Slice": return [Slice(In(0), In(1).AsLongs(), In(2).AsLongs(), Opt(inputs, 3), Opt(inputs, 4), fail)];
            case "Range":
            {
                var (start, limit, delta) = (In(0), In(1), In(2));
                if (start.IsFloat)
                {
                    double s = start.Get(0), d = delta.Get(0);
                    int count = RangeCount(s, limit.Get(0), d, fail);
                    return [ConstTensor.FromFloats([count], Enumerable.Range(0, count).Select(i => (float)(s + i * d)).ToArray(), start.OnnxType)];
                }
                long ls = start.GetLong(0), ld = delta.GetLong(0);
                if (ld == 0) throw fail("Range delta is 0");
                int lc = RangeCount(ls, limit.GetLong(0), ld, fail);
                return [ConstTensor.FromLongs([lc], Enumerable.Range(0, lc).Select(i => ls + i * ld).ToArray(), start.OnnxType)];
            }
            case "Transpose": return [Transpose(In(0), Ints(n, "perm"), fail)];
            default: return null;
        }
    }

    private static ConstTensor FromProto(TensorProto t, string what, Func<string, ConversionException> fail)
    {
        try { return ConstTensor.FromProto(t, what); }
        catch (ConversionException e) { throw fail(e.Message); }
    }

    private static long[]? Opt(ConstTensor?[] inputs, int i) => i < inputs.Length && inputs[i] != null ? inputs[i]!.AsLongs() : null;

    /// <summary>
    /// Elements of a shape, refused over <see cref="ConversionLimits.MaxTensorElements"/>: every folding result is
    /// counted by this before it is allocated.
    /// </summary>
    public static int Count(int[] shape) => ConversionLimits.CheckedElementCount(shape);

    /// <summary>Elements of Range(start, limit, delta): ceil((limit - start) / delta), at least 0, counted before allocation.</summary>
    private static int RangeCount(double start, double limit, double delta, Func<string, ConversionException> fail)
    {
        double count = Math.Ceiling((limit - start) / delta);
        if (double.IsNaN(count)) throw fail($"Range({start}, {limit}, {delta}) has no defined length");
        if (count > ConversionLimits.MaxTensorElements)
            throw fail($"Range({start}, {limit}, {delta}) has {count:G4} elements, over the limit of {ConversionLimits.MaxTensorElements} ({ConversionLimits.MaxTensorBytes >> 20} MB of float32)");
        return Math.Max((int)count, 0);
    }

    public static int[] ToShape(long[] dims, Func<string, ConversionException> fail)
    {
        var shape = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0 || dims[i] > int.MaxValue) throw fail($"invalid dimension {dims[i]} in shape [{MessageText.List(dims)}]");
            shape[i] = (int)dims[i];
        }
        return shape;
    }

    /// <summary>For each element of <paramref name="outShape"/>, the flat index of the broadcast element of <paramref name="inShape"/>.</summary>
    public static int[] BroadcastMap(int[] outShape, int[] inShape)
    {
        int count = Count(outShape);
        var map = new int[count];
        int rank = outShape.Length, offset = rank - inShape.Length;
        var inStrides = new int[rank];
        int s = 1;
        for (int d = rank - 1; d >= offset; d--)
        {
            inStrides[d] = inShape[d - offset] == 1 ? 0 : s;
            s *= inShape[d - offset];
        }
        var index = new int[rank];
        for (int i = 0; i < count; i++)
        {
            int src = 0;
            for (int d = 0; d < rank; d++) src += index[d] * inStrides[d];
            map[i] = src;
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < outShape[d]) break;
                index[d] = 0;
            }
        }
        return map;
    }

    private static int[] BroadcastShape(int[] a, int[] b, Func<string, ConversionException> fail) =>
        EdgeNets.Runtime.Graph.ShapeUtil.Broadcast(a, b) ?? throw fail($"shapes [{MessageText.List(a)}] and [{MessageText.List(b)}] do not broadcast");

    private static ConstTensor Binary(ConstTensor a, ConstTensor b, Func<double, double, double> f, Func<long, long, long> l, Func<string, ConversionException> fail)
    {
        var shape = BroadcastShape(a.Shape, b.Shape, fail);
        var ma = BroadcastMap(shape, a.Shape);
        var mb = BroadcastMap(shape, b.Shape);
        if (a.IsFloat || b.IsFloat)
        {
            var r = new float[ma.Length];
            for (int i = 0; i < r.Length; i++) r[i] = (float)f(a.Get(ma[i]), b.Get(mb[i]));
            return ConstTensor.FromFloats(shape, r, a.IsFloat ? a.OnnxType : b.OnnxType);
        }
        var lr = new long[ma.Length];
        for (int i = 0; i < lr.Length; i++) lr[i] = l(a.Longs![ma[i]], b.Longs![mb[i]]);
        return ConstTensor.FromLongs(shape, lr, a.OnnxType);
    }

    private static ConstTensor Compare(ConstTensor a, ConstTensor b, Func<double, double, bool> f, Func<string, ConversionException> fail)
    {
        var shape = BroadcastShape(a.Shape, b.Shape, fail);
        var ma = BroadcastMap(shape, a.Shape);
        var mb = BroadcastMap(shape, b.Shape);
        var r = new long[ma.Length];
        for (int i = 0; i < r.Length; i++) r[i] = f(a.Get(ma[i]), b.Get(mb[i])) ? 1 : 0;
        return ConstTensor.FromLongs(shape, r, ConstTensor.Bool);
    }

    private static ConstTensor Unary(ConstTensor x, Func<double, double> f, Func<long, long>? l)
    {
        if (x.IsFloat || l == null) return ConstTensor.FromFloats(x.Shape, Array.ConvertAll(x.AsFloats(), v => (float)f(v)), x.IsFloat ? x.OnnxType : ConstTensor.Float);
        return ConstTensor.FromLongs(x.Shape, Array.ConvertAll(x.Longs!, v => l(v)), x.OnnxType);
    }

    private static ConstTensor Where(ConstTensor c, ConstTensor x, ConstTensor y, Func<string, ConversionException> fail)
    {
        var shape = BroadcastShape(BroadcastShape(c.Shape, x.Shape, fail), y.Shape, fail);
        var mc = BroadcastMap(shape, c.Shape);
        var mx = BroadcastMap(shape, x.Shape);
        var my = BroadcastMap(shape, y.Shape);
        if (x.IsFloat)
        {
            var r = new float[mc.Length];
            for (int i = 0; i < r.Length; i++) r[i] = (float)(c.Get(mc[i]) != 0 ? x.Get(mx[i]) : y.Get(my[i]));
            return ConstTensor.FromFloats(shape, r, x.OnnxType);
        }
        var lr = new long[mc.Length];
        for (int i = 0; i < lr.Length; i++) lr[i] = c.Get(mc[i]) != 0 ? x.GetLong(mx[i]) : y.GetLong(my[i]);
        return ConstTensor.FromLongs(shape, lr, x.OnnxType);
    }

    private static ConstTensor Cast(ConstTensor x, int to, Func<string, ConversionException> fail)
    {
        if (ConstTensor.IsFloatType(to)) return ConstTensor.FromFloats(x.Shape, x.AsFloats(), to);
        if (to is ConstTensor.Int64 or ConstTensor.Int32 or ConstTensor.Int16 or ConstTensor.Int8 or ConstTensor.UInt8 or ConstTensor.UInt16 or ConstTensor.UInt32 or ConstTensor.UInt64)
        {
            // Float to integer truncates toward zero, as ONNX (and C) casts do.
            var values = x.IsFloat ? Array.ConvertAll(x.Floats!, v => (long)Math.Truncate(v)) : (long[])x.Longs!.Clone();
            return ConstTensor.FromLongs(x.Shape, values, to);
        }
        if (to == ConstTensor.Bool) return ConstTensor.FromLongs(x.Shape, Array.ConvertAll(x.AsFloats(), v => v != 0 ? 1L : 0L), to);
        throw fail($"attribute 'to' = {ConstTensor.TypeName(to)} is not supported");
    }

    private static ConstTensor Gather(ConstTensor data, ConstTensor indices, int axis, Func<string, ConversionException> fail)
    {
        int rank = data.Shape.Length;
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw fail($"attribute 'axis' = {axis} is out of range for rank {rank}");
        int outer = Count(data.Shape[..a]), dim = data.Shape[a], inner = Count(data.Shape[(a + 1)..]);
        var idx = indices.AsLongs();
        var shape = data.Shape[..a].Concat(indices.Shape).Concat(data.Shape[(a + 1)..]).ToArray();
        var map = new int[Count(shape)];
        int k = 0;
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < idx.Length; j++)
            {
                long ix = idx[j] < 0 ? idx[j] + dim : idx[j];
                if (ix < 0 || ix >= dim) throw fail($"index {idx[j]} is out of range for dimension {dim}");
                for (int i = 0; i < inner; i++) map[k++] = (o * dim + (int)ix) * inner + i;
            }
        return Select(data, shape, map);
    }

    private static ConstTensor Select(ConstTensor x, int[] shape, int[] map) => x.IsFloat
        ? ConstTensor.FromFloats(shape, Array.ConvertAll(map, i => x.Floats![i]), x.OnnxType)
        : ConstTensor.FromLongs(shape, Array.ConvertAll(map, i => x.Longs![i]), x.OnnxType);

    public static int[] UnsqueezeShape(int[] shape, long[] axes, Func<string, ConversionException> fail)
    {
        int rank = shape.Length + axes.Length;
        var isNew = new bool[rank];
        foreach (long axis in axes)
        {
            long a = axis < 0 ? axis + rank : axis;
            if (a < 0 || a >= rank || isNew[a]) throw fail($"axes [{MessageText.List(axes)}] are invalid for output rank {rank}");
            isNew[a] = true;
        }
        var result = new int[rank];
        for (int d = 0, s = 0; d < rank; d++) result[d] = isNew[d] ? 1 : shape[s++];
        return result;
    }

    public static int[] SqueezeShape(int[] shape, long[]? axes, Func<string, ConversionException> fail)
    {
        var remove = new bool[shape.Length];
        if (axes == null)
            for (int d = 0; d < shape.Length; d++) remove[d] = shape[d] == 1;
        else
            foreach (long axis in axes)
            {
                long a = axis < 0 ? axis + shape.Length : axis;
                if (a < 0 || a >= shape.Length || shape[a] != 1) throw fail($"axes [{MessageText.List(axes)}] do not name dimensions of size 1 in shape [{MessageText.List(shape)}]");
                remove[a] = true;
            }
        return shape.Where((_, d) => !remove[d]).ToArray();
    }

    public static int[] ReshapeShape(int[] input, long[] target, bool allowZero, Func<string, ConversionException> fail)
    {
        var shape = new int[target.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < target.Length; i++)
        {
            long t = target[i];
            if (t == 0 && !allowZero)
            {
                if (i >= input.Length) throw fail($"shape [{MessageText.List(target)}] copies dimension {i} (0), which input shape [{MessageText.List(input)}] lacks");
                t = input[i];
            }
            if (t == -1)
            {
                if (inferred >= 0) throw fail($"shape [{MessageText.List(target)}] has more than one -1");
                inferred = i;
                continue;
            }
            if (t < 0 || t > int.MaxValue) throw fail($"shape [{MessageText.List(target)}] has invalid dimension {target[i]}");
            shape[i] = (int)t;
            known *= t;
        }
        long total = Count(input);
        if (inferred >= 0)
        {
            if (known == 0 || total % known != 0) throw fail($"cannot reshape [{MessageText.List(input)}] to [{MessageText.List(target)}]");
            shape[inferred] = (int)(total / known);
        }
        else if (known != total) throw fail($"cannot reshape [{MessageText.List(input)}] ({total} elements) to [{MessageText.List(target)}]");
        return shape;
    }

    public static int[] FlattenShape(int[] shape, long axis, Func<string, ConversionException> fail)
    {
        long a = axis < 0 ? axis + shape.Length : axis;
        if (a < 0 || a > shape.Length) throw fail($"attribute 'axis' = {axis} is out of range for rank {shape.Length}");
        return [Count(shape[..(int)a]), Count(shape[(int)a..])];
    }

    public static int NormalizeAxis(long axis, int rank, string attribute, Func<string, ConversionException> fail)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw fail($"attribute '{attribute}' = {axis} is out of range for rank {rank}");
        return (int)a;
    }

    private static ConstTensor Concat(ConstTensor[] parts, long axis, Func<string, ConversionException> fail)
    {
        if (axis == long.MinValue) throw fail("attribute 'axis' is required");
        if (parts.Length == 0) throw fail("has no inputs");
        int rank = parts[0].Shape.Length;
        int a = NormalizeAxis(axis, rank, "axis", fail);
        if (parts.Any(p => p.Shape.Length != rank || p.IsFloat != parts[0].IsFloat)) throw fail("inputs differ in rank or type");
        var shape = (int[])parts[0].Shape.Clone();
        long length = parts.Sum(p => (long)p.Shape[a]);
        shape[a] = (int)Math.Min(length, int.MaxValue);
        Count(shape);
        int outer = Count(shape[..a]);
        var floats = new List<float>();
        var longs = new List<long>();
        bool isFloat = parts[0].IsFloat;
        for (int o = 0; o < outer; o++)
            foreach (var p in parts)
            {
                if (p.Shape.Length != rank || p.IsFloat != isFloat) throw fail("inputs differ in rank or type");
                int block = Count(p.Shape[a..]);
                for (int i = 0; i < block; i++)
                    if (isFloat) floats.Add(p.Floats![o * block + i]); else longs.Add(p.Longs![o * block + i]);
            }
        return isFloat ? ConstTensor.FromFloats(shape, floats.ToArray(), parts[0].OnnxType) : ConstTensor.FromLongs(shape, longs.ToArray(), parts[0].OnnxType);
    }

    private static ConstTensor Expand(ConstTensor x, long[] target, Func<string, ConversionException> fail)
    {
        var shape = BroadcastShape(x.Shape, ToShape(target, fail), fail);
        return Select(x, shape, BroadcastMap(shape, x.Shape));
    }

    private static ConstTensor Slice(ConstTensor x, long[] starts, long[] ends, long[]? axes, long[]? steps, Func<string, ConversionException> fail)
    {
        int rank = x.Shape.Length;
        var begin = new long[rank];
        var step = new long[rank];
        var size = (int[])x.Shape.Clone();
        Array.Fill(step, 1);
        if (ends.Length != starts.Length || axes != null && axes.Length != starts.Length || steps != null && steps.Length != starts.Length)
            throw fail($"starts, ends, axes and steps have {starts.Length}, {ends.Length}, {axes?.Length.ToString() ?? "no"} and {steps?.Length.ToString() ?? "no"} values; they must have as many");
        for (int i = 0; i < starts.Length; i++)
        {
            int a = NormalizeAxis(axes != null ? axes[i] : i, rank, "axes", fail);
            long dim = x.Shape[a], st = steps != null ? steps[i] : 1;
            if (st == 0) throw fail("Slice step is 0");
            long s = starts[i] < 0 ? starts[i] + dim : starts[i];
            long e = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (st > 0) { s = Math.Clamp(s, 0, dim); e = Math.Clamp(e, 0, dim); }
            else { s = Math.Clamp(s, 0, Math.Max(dim - 1, 0)); e = Math.Clamp(e, -1, dim - 1); }
            begin[a] = s;
            step[a] = st;
            size[a] = dim == 0 ? 0 : (int)Math.Max(0, st > 0 ? (e - s + st - 1) / st : (s - e - st - 1) / -st);
        }
        var strides = EdgeNets.Runtime.Graph.ShapeUtil.Strides(x.Shape);
        int count = Count(size);
        var map = new int[count];
        var index = new int[rank];
        for (int k = 0; k < count; k++)
        {
            long src = 0;
            for (int d = 0; d < rank; d++) src += (begin[d] + index[d] * step[d]) * strides[d];
            map[k] = (int)src;
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < size[d]) break;
                index[d] = 0;
            }
        }
        return Select(x, size, map);
    }

    public static int[] TransposePerm(int rank, long[]? perm, Func<string, ConversionException> fail)
    {
        if (perm == null) return Enumerable.Range(0, rank).Reverse().ToArray();
        if (perm.Length != rank || perm.Any(p => p < 0 || p >= rank) || perm.Distinct().Count() != rank)
            throw fail($"attribute 'perm' = [{MessageText.List(perm)}] is not a permutation of rank {rank}");
        return perm.Select(p => (int)p).ToArray();
    }

    public static ConstTensor Transpose(ConstTensor x, long[]? permAttr, Func<string, ConversionException> fail)
    {
        int rank = x.Shape.Length;
        var perm = TransposePerm(rank, permAttr, fail);
        var shape = perm.Select(p => x.Shape[p]).ToArray();
        var inStrides = EdgeNets.Runtime.Graph.ShapeUtil.Strides(x.Shape);
        int count = Count(shape);
        var map = new int[count];
        var index = new int[rank];
        for (int k = 0; k < count; k++)
        {
            int src = 0;
            for (int d = 0; d < rank; d++) src += index[d] * inStrides[perm[d]];
            map[k] = src;
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d]) break;
                index[d] = 0;
            }
        }
        return Select(x, shape, map);
    }
}
