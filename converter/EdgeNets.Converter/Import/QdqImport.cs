using EdgeNets.Converter.Passes;
using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime.Graph;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>
/// Pre-quantized (QDQ) models: QuantizeLinear/DequantizeLinear pairs on activations are removed and their scale and
/// zero point are kept as the activation's given quantization; DequantizeLinear on integer weights and biases becomes
/// the float constant it stands for, with its scales kept. The float graph that results is the one the QDQ model
/// describes, and the quantizer uses the given values instead of calibration (docs/importer.md, "Pre-quantized models").
/// </summary>
internal sealed partial class GraphImporter
{
    /// <summary>Outputs of QuantizeLinear on a run-time tensor (and of Casts of them to their own type): the float value and its quantization.</summary>
    private readonly Dictionary<string, (string Value, QuantizationInfo Quant, int Type)> _quantized = new(StringComparer.Ordinal);

    /// <summary>Given quantization by tensor name of the emitted graph.</summary>
    public GivenQuantization Given { get; } = new();

    /// <summary>
    /// A pair on a node's output makes the node write the DequantizeLinear's output name (which its readers know):
    /// <c>P -> v -> Q -> DQ -> d</c> becomes <c>P -> d -> Q -> DQ -> (unused)</c>, so values keep the names they have
    /// in the float model the QDQ model was made from (operator names and derived constant names follow them).
    /// </summary>
    private void NameQuantizedValues()
    {
        var graph = _model.Graph;
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var readers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
        {
            names.Add(n.Name);
            foreach (var o in n.Output) { producer[o] = n; names.Add(o); }
            foreach (var i in n.Input)
            {
                if (!readers.TryGetValue(i, out var list)) readers[i] = list = [];
                list.Add(n);
            }
        }
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        NodeProto? OnlyReader(string value) =>
            !outputs.Contains(value) && readers.TryGetValue(value, out var r) && r.Count == 1 ? r[0] : null;

        foreach (var q in graph.Node.Where(n => n.OpType == "QuantizeLinear" && n.Domain is "" or "ai.onnx" && n.Input.Count > 0 && n.Output.Count > 0).ToList())
        {
            string v = q.Input[0];
            if (!producer.TryGetValue(v, out var p) || p.OpType is "Constant" or "QuantizeLinear" or "DequantizeLinear" || OnlyReader(v) != q) continue;
            var dq = OnlyReader(q.Output[0]);
            if (dq is { OpType: "Cast", Output.Count: 1 }) dq = OnlyReader(dq.Output[0]);
            if (dq is not { OpType: "DequantizeLinear", Output.Count: 1 }) continue;
            string d = dq.Output[0];
            string unused = d + "_pair";
            for (int k = 1; !names.Add(unused); k++) unused = $"{d}_pair_{k}";
            dq.Output[0] = unused;
            p.Output[p.Output.IndexOf(v)] = d;
            q.Input[0] = d;
        }
    }

    private void ImportQuantize(NodeProto n)
    {
        var x = Input(n, 0);
        var (quant, type) = Quantization(n, x.Shape, constant: x.IsConstant);
        if (x.Constant != null)
        {
            if (!x.Constant.IsFloat) throw Fail(n, $"input '{n.Input[0]}' is {ConstTensor.TypeName(x.Constant.OnnxType)}; QuantizeLinear takes a float tensor");
            var (min, max) = Range(type);
            var values = x.Constant.Floats!;
            var q = new long[values.Length];
            for (int i = 0; i < q.Length; i++)
            {
                int c = Channel(quant, x.Shape, i);
                // ONNX rounds half to even, then saturates.
                q[i] = Math.Clamp((long)Math.Round(values[i] / quant.Scales[c], MidpointRounding.ToEven) + ZeroPoint(n, 2, c, type), min, max);
            }
            _g.AddConstant(n.Output[0], ConstTensor.FromLongs(x.Shape, q, type));
            return;
        }
        if (quant.IsPerChannel) throw Fail(n, $"activation '{n.Input[0]}' is quantized per axis; EdgeNets quantizes activations per tensor");
        _quantized[n.Output[0]] = (x.Name, quant, type);
    }

    /// <summary>A Cast of a quantized tensor to its own integer type (PyTorch writes one between the pair) passes it on.</summary>
    private bool TryImportQuantizedCast(NodeProto n)
    {
        if (n.OpType != "Cast" || n.Input.Count == 0 || !_quantized.TryGetValue(Resolve(n.Input[0]), out var q)) return false;
        long to = OnnxNodeAttributes.Int(n, "to", 0);
        if (to != q.Type) throw Fail(n, $"casts the quantized tensor '{n.Input[0]}' ({ConstTensor.TypeName(q.Type)}) to {ConstTensor.TypeName((int)to)}; only a Cast to its own type is supported between QuantizeLinear and DequantizeLinear");
        _quantized[n.Output[0]] = q;
        return true;
    }

    private void ImportDequantize(NodeProto n)
    {
        string input = n.Input.Count > 0 ? Resolve(n.Input[0]) : "";
        if (_quantized.TryGetValue(input, out var pending))
        {
            string valueName = Resolve(pending.Value);
            var value = _g.Value(valueName);
            var (quant, type) = Quantization(n, value.Shape, constant: false);
            if (quant.IsPerChannel) throw Fail(n, $"activation '{pending.Value}' is dequantized per axis; EdgeNets quantizes activations per tensor");
            if (type != pending.Type || quant.Scale != pending.Quant.Scale || quant.ZeroPoint != pending.Quant.ZeroPoint)
                throw Fail(n, $"dequantizes '{n.Input[0]}' with scale {quant.Scale:G9} and zero point {ZeroPointText(quant, type)}; its QuantizeLinear used scale {pending.Quant.Scale:G9} and zero point {ZeroPointText(pending.Quant, pending.Type)}");
            if (value.Given is { } earlier && (earlier.Scale != quant.Scale || earlier.ZeroPoint != quant.ZeroPoint))
                throw Fail(n, $"activation '{valueName}' is quantized twice, with scale {earlier.Scale:G9} and with scale {quant.Scale:G9} (zero points {earlier.ZeroPoint} and {quant.ZeroPoint} as int8)");
            value.Given = quant;
            _alias[n.Output[0]] = valueName;
            return;
        }
        var x = Input(n, 0);
        if (x.Constant == null)
            throw Fail(n, $"input '{n.Input[0]}' is a run-time tensor not written by QuantizeLinear; integer tensors are supported only between QuantizeLinear and DequantizeLinear (graph inputs must be float)");
        if (x.Constant.IsFloat) throw Fail(n, $"input '{n.Input[0]}' is {ConstTensor.TypeName(x.Constant.OnnxType)}; DequantizeLinear takes an int8, uint8 or int32 tensor");
        var (given, qType) = Quantization(n, x.Shape, constant: true, dataType: x.Constant.OnnxType);
        var longs = x.Constant.Longs!;
        var values = new float[longs.Length];
        for (int i = 0; i < values.Length; i++)
        {
            int c = Channel(given, x.Shape, i);
            values[i] = (float)(longs[i] - ZeroPoint(n, 2, c, qType)) * given.Scales[c];
        }
        var result = _g.AddConstant(n.Output[0], ConstTensor.FromFloats(x.Shape, values));
        result.Given = given;
        string source = n.Input[0];
        if (source.EndsWith("_quantized", StringComparison.Ordinal) && source.Length > "_quantized".Length)
            result.PreferredName = source[..^"_quantized".Length];
    }

    /// <summary>
    /// Scale and zero point of a QuantizeLinear/DequantizeLinear node, as int8 quantization: uint8 zero points of
    /// activations move by -128 (the same real values). Per axis when the scale has more than one value. The integer type is the zero
    /// point's (QuantizeLinear's default uint8) or, for DequantizeLinear on a constant, the constant's.
    /// </summary>
    private (QuantizationInfo Quant, int Type) Quantization(NodeProto n, int[] shape, bool constant, int? dataType = null)
    {
        var scale = FloatConstInput(n, 1, "scale");
        ConstTensor? zero = HasInput(n, 2) ? ConstInput(n, 2, "zero point") : null;
        if (zero != null && zero.IsFloat) throw Fail(n, $"zero point '{n.Input[2]}' is {ConstTensor.TypeName(zero.OnnxType)}; an integer tensor is required");
        int type = dataType ?? zero?.OnnxType ?? ConstTensor.UInt8;
        if (zero != null && zero.OnnxType != type)
            throw Fail(n, $"zero point '{n.Input[2]}' is {ConstTensor.TypeName(zero.OnnxType)}, the quantized tensor {ConstTensor.TypeName(type)}");
        if (type is not (ConstTensor.Int8 or ConstTensor.UInt8) && !(constant && type == ConstTensor.Int32))
            throw Fail(n, $"quantizes to {ConstTensor.TypeName(type)}; EdgeNets takes int8 and uint8 (and int32 biases)");
        var scales = scale.Floats!;
        if (scales.Length == 0 || (zero != null && zero.Count != scales.Length))
            throw Fail(n, $"has {scales.Length} scales and {zero?.Count ?? 0} zero points");
        int bad = Array.FindIndex(scales, s => !(float.IsFinite(s) && s > 0));
        if (bad >= 0) throw Fail(n, $"scale {scales[bad]} at index {bad} is not a positive finite number");
        int axis = -1;
        if (scales.Length > 1)
        {
            long a = OnnxNodeAttributes.Int(n, "axis", 1);
            if (a < 0) a += shape.Length;
            if (a < 0 || a >= shape.Length || shape[a] != scales.Length)
                throw Fail(n, $"{scales.Length} scales along axis {OnnxNodeAttributes.Int(n, "axis", 1)} of a tensor of shape [{ShapeUtil.Format(shape)}]");
            axis = (int)a;
        }
        int zp = zero == null ? 0 : (int)zero.GetLong(0);
        if (zero != null && scales.Length > 1)
            for (int c = 0; c < zero.Count && zp == 0; c++) zp = (int)zero.GetLong(c);
        // Activations become int8 (the same real values); a constant keeps the zero point it is written with, which
        // tells the quantizer whether its weights were symmetric.
        if (type == ConstTensor.UInt8 && !constant) zp -= 128;
        return (new QuantizationInfo((float[])scales.Clone(), zp, axis), type);
    }

    private long ZeroPoint(NodeProto n, int input, int channel, int type) =>
        HasInput(n, input) ? ConstInput(n, input, "zero point").GetLong(Input(n, input).Constant!.Count == 1 ? 0 : channel) : 0;

    private static string ZeroPointText(QuantizationInfo q, int type) =>
        type == ConstTensor.UInt8 ? $"{q.ZeroPoint + 128} (uint8)" : $"{q.ZeroPoint}";

    private static (long Min, long Max) Range(int type) => type switch
    {
        ConstTensor.UInt8 => (0, 255),
        ConstTensor.Int8 => (-128, 127),
        _ => (int.MinValue, int.MaxValue),
    };

    /// <summary>Which scale element <paramref name="index"/> of a tensor uses.</summary>
    private static int Channel(QuantizationInfo q, int[] shape, int index)
    {
        if (!q.IsPerChannel) return 0;
        int inner = 1;
        for (int d = q.Axis + 1; d < shape.Length; d++) inner *= shape[d];
        return index / inner % shape[q.Axis];
    }

    /// <summary>
    /// The given quantization of weights a lowering copies into a new constant (Gemm and MatMul take [N, K] weights):
    /// the scales follow the output channel through a transposition and a positive factor.
    /// </summary>
    private void CarryGiven(IrValue from, string to, bool transposed, float factor)
    {
        if (from.Given is not { } given) return;
        var target = _g.Value(to);
        target.PreferredName = from.PreferredName;
        if (!(factor > 0)) return;
        int axis = given.IsPerChannel ? (transposed ? 1 - given.Axis : given.Axis) : -1;
        var scales = factor == 1f ? given.Scales : given.Scales.Select(s => s * factor).ToArray();
        target.Given = new QuantizationInfo(scales, given.ZeroPoint, axis);
    }

    /// <summary>Dequantized constants take their int8 initializer's name, and the given quantization is listed by final name.</summary>
    private void NameDequantizedConstants()
    {
        foreach (var node in _g.Nodes)
            foreach (var name in node.Inputs.ToList())
            {
                if (name == "" || _g.Value(name) is not { IsConstant: true, PreferredName: { } preferred } value || value.Name == preferred) continue;
                if (_g.IsNameFree(preferred)) _g.Rename(name, _g.UniqueName(preferred));
            }
    }

    private void CollectGiven()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in _g.Inputs.Concat(_g.Nodes.SelectMany(n => n.Inputs.Concat(n.Outputs))))
            if (name != "" && seen.Add(name) && _g.Value(name).Given is { } given) Given.Tensors[name] = given;
    }
}
