using System.Runtime.InteropServices;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Ops;
using Google.Protobuf;
using Onnx;

namespace EdgeNets.Converter.Export;

/// <summary>Element type of the activations in an exported QDQ model (weights are always int8, biases int32).</summary>
public enum QdqActivationType
{
    /// <summary>uint8 activations with int8 weights (U8S8): what ONNX Runtime's x64 int8 kernels take natively.</summary>
    UInt8,
    /// <summary>int8 activations (S8S8); ONNX Runtime on x64 converts them to uint8 while optimizing the graph.</summary>
    Int8,
}

public sealed class QdqExportOptions
{
    public QdqActivationType ActivationType { get; init; } = QdqActivationType.UInt8;
}

/// <summary>What <see cref="QdqExporter.Export(ModelProto, ModelGraph, QdqExportOptions?)"/> produced.</summary>
public sealed class QdqExportResult
{
    internal QdqExportResult(ModelProto model, int quantizedTensors, int quantizedWeights, IReadOnlyList<string> floatOperators)
    {
        Model = model;
        QuantizedTensors = quantizedTensors;
        QuantizedWeights = quantizedWeights;
        FloatOperators = floatOperators;
    }

    public ModelProto Model { get; }
    /// <summary>Activations given a QuantizeLinear/DequantizeLinear pair.</summary>
    public int QuantizedTensors { get; }
    /// <summary>Conv/Gemm/MatMul operators whose weights were replaced by int8 initializers.</summary>
    public int QuantizedWeights { get; }
    /// <summary>Operators of the exported graph that ONNX Runtime runs in float between the pairs (e.g. LSTM, GRU), by name and type.</summary>
    public IReadOnlyList<string> FloatOperators { get; }

    public byte[] ToBytes() => Model.ToByteArray();
}

/// <summary>
/// Writes ONNX Runtime's own int8 form of a model: the float ONNX model with QuantizeLinear/DequantizeLinear pairs
/// on its activations and int8 weights behind per-channel DequantizeLinear, in the "QDQ" format that ONNX Runtime's
/// quantization tooling writes and its graph optimizer fuses into QLinearConv, QGemm, QLinearMatMul and the like.
/// Every scale and zero point is taken from the converted int8 graph, so ONNX Runtime runs the same quantized model
/// as EdgeNets: the same int8 weights and int32 biases, and activations on the same grid. Convolutions and Gemms take
/// the converter's folded form (BatchNormalization folded in, Relu/Clip implied by the output range), as in the
/// int8 graph. Operators without an int8 form in ONNX Runtime (LSTM, GRU, RNN) stay float between their pairs, as
/// ONNX Runtime's own tooling leaves them.
/// </summary>
public static class QdqExporter
{
    /// <summary>Per-axis DequantizeLinear (per-channel weights) needs opset 13.</summary>
    public const int MinOpset = 13;

    public static byte[] Export(byte[] floatOnnx, ModelGraph quantized, QdqExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(floatOnnx);
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(floatOnnx); }
        catch (InvalidProtocolBufferException e) { throw new ConversionException($"QDQ export: not an ONNX model ({e.Message})", e); }
        return Export(model, quantized, options).ToBytes();
    }

    /// <summary>Exports a QDQ copy of <paramref name="floatModel"/> (which is not modified).</summary>
    public static QdqExportResult Export(ModelProto floatModel, ModelGraph quantized, QdqExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(floatModel);
        ArgumentNullException.ThrowIfNull(quantized);
        if (floatModel.Graph == null) throw new ConversionException("QDQ export: the ONNX model has no graph");
        if (!quantized.Metadata.TryGetValue("precision", out var precision) || precision != "int8")
            throw new ConversionException("QDQ export needs the int8 model (its scales and zero points); this one is not int8");
        return new Builder(floatModel.Clone(), quantized, options ?? new QdqExportOptions()).Build();
    }

    private sealed class Builder
    {
        private readonly ModelProto _model;
        private readonly GraphProto _g;
        private readonly ModelGraph _q;
        private readonly bool _unsigned;
        private readonly Dictionary<string, TensorInfo> _qTensors = new(StringComparer.Ordinal);
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private readonly Dictionary<string, NodeProto> _producer = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
        private readonly Dictionary<string, NodeProto> _byName = new(StringComparer.Ordinal);
        private readonly HashSet<string> _initializers = new(StringComparer.Ordinal);
        /// <summary>ONNX node -> the nodes that take its place (empty: removed).</summary>
        private readonly Dictionary<NodeProto, List<NodeProto>> _replacements = new(ReferenceEqualityComparer.Instance);
        private int _quantizedWeights;

        public Builder(ModelProto model, ModelGraph quantized, QdqExportOptions options)
        {
            _model = model;
            _g = model.Graph;
            _q = quantized;
            _unsigned = options.ActivationType == QdqActivationType.UInt8;
            foreach (var t in quantized.Tensors) _qTensors.TryAdd(t.Name, t);
            foreach (var init in _g.Initializer) { _initializers.Add(init.Name); _names.Add(init.Name); }
            foreach (var i in _g.Input) _names.Add(i.Name);
            foreach (var n in _g.Node)
            {
                _names.Add(n.Name);
                // The importer names an unnamed node after its first output, so the int8 graph's operators can be found the same way.
                if (n.Output.Count > 0) _byName.TryAdd(n.Name != "" ? n.Name : n.Output[0], n);
                foreach (var o in n.Output) { if (o == "") continue; _names.Add(o); _producer[o] = n; }
                foreach (var i in n.Input)
                {
                    if (i == "") continue;
                    if (!_consumers.TryGetValue(i, out var list)) _consumers[i] = list = [];
                    list.Add(n);
                }
            }
        }

        public QdqExportResult Build()
        {
            CheckOpset();
            foreach (var op in _q.Ops)
            {
                // Weighted operators take their int8 weights; others that took a Relu/Clip write its output, as in the int8 graph.
                var schema = OperatorSchemas.For(op.Type);
                if (schema.Quantization == QuantizationRule.Weighted) ReplaceWeighted(op);
                else if (schema.FusesActivation) FoldActivation(op);
                else if (op.Type is OpType.AveragePool or OpType.MaxPool) QuantizeFoldedPad(op);
            }

            var nodes = new List<NodeProto>();
            foreach (var n in _g.Node)
            {
                if (_replacements.TryGetValue(n, out var instead)) nodes.AddRange(instead);
                else nodes.Add(n);
            }
            int quantizedTensors = InsertPairs(nodes);
            _g.Node.Clear();
            _g.Node.AddRange(nodes);
            RemoveUnusedInitializers();
            // Shapes of renamed values would be stale; ONNX Runtime infers them again.
            _g.ValueInfo.Clear();

            var floatOps = nodes.Where(n => n.OpType is "LSTM" or "GRU" or "RNN")
                .Select(n => $"{n.OpType} '{(n.Name != "" ? n.Name : n.Output[0])}'").ToList();
            return new QdqExportResult(_model, quantizedTensors, _quantizedWeights, floatOps);
        }

        private void CheckOpset()
        {
            foreach (var o in _model.OpsetImport)
            {
                if (o.Domain is not ("" or "ai.onnx")) continue;
                if (o.Version < MinOpset)
                    throw new ConversionException($"QDQ export: the model uses opset {o.Version}; per-channel DequantizeLinear needs opset {MinOpset} or later (re-export the model with opset {MinOpset}+)");
                return;
            }
            throw new ConversionException("QDQ export: the model imports no opset of the default ONNX domain");
        }

        /// <summary>
        /// The output of a Pad the converter folded into the operator <paramref name="start"/> (reading <paramref name="x"/>
        /// in the int8 model), or null: the ONNX model keeps the Pad, quantized as the operator's input.
        /// </summary>
        private string? FoldedPad(NodeProto start, TensorInfo x)
        {
            if (start.Input.Count == 0 || start.Input[0] == x.Name || !_producer.TryGetValue(start.Input[0], out var pad)
                || pad.OpType != "Pad" || pad.Input.Count == 0 || pad.Input[0] != x.Name) return null;
            _qTensors.TryAdd(start.Input[0], x);
            return start.Input[0];
        }

        /// <summary>A pool the converter folded a Pad into: the Pad's output takes the pool input's quantization.</summary>
        private void QuantizeFoldedPad(OpInfo op)
        {
            if (_byName.TryGetValue(op.Name, out var start) && start.OpType is "AveragePool" or "MaxPool") FoldedPad(start, _q.Tensors[op.Inputs[0]]);
        }

        // ---- weighted operators ----

        /// <summary>
        /// Replaces the ONNX Conv/Gemm/MatMul of an int8 Conv/Gemm, together with the BatchNormalization and Relu/Clip
        /// the converter folded into it, by one operator on int8 weights and int32 bias behind DequantizeLinear.
        /// </summary>
        private void ReplaceWeighted(OpInfo op)
        {
            string what = $"{op.Type} '{op.Name}'";
            bool convTranspose = op.Type == OpType.ConvTranspose;
            if (!_byName.TryGetValue(op.Name, out var start) || start.OpType is not ("Conv" or "ConvTranspose" or "Gemm" or "MatMul") ||
                (op.Type == OpType.Conv) != (start.OpType == "Conv") || convTranspose != (start.OpType == "ConvTranspose"))
                throw new ConversionException($"QDQ export: {what} of the int8 model has no matching node in the ONNX model; was the int8 model converted from this ONNX file?");
            var x = _q.Tensors[op.Inputs[0]];
            var w = _q.Tensors[op.Inputs[1]];
            var b = op.Inputs.Length > 2 && op.Inputs[2] >= 0 ? _q.Tensors[op.Inputs[2]] : null;
            var y = _q.Tensors[op.Outputs[0]];
            string input = x.Name;
            if (op.Type == OpType.Conv && FoldedPad(start, x) is { } padded)
            {
                input = padded;
            }
            else if (start.Input.Count == 0 || start.Input[0] != x.Name)
                throw new ConversionException($"QDQ export: {what} reads '{x.Name}' in the int8 model, its ONNX node reads '{(start.Input.Count > 0 ? start.Input[0] : "")}' (transposed Gemm inputs are not supported)");
            var chain = Chain(start, y.Name, allowBatchNorm: true)
                ?? throw new ConversionException($"QDQ export: {what}: no chain of BatchNormalization/Relu/Clip from ONNX node '{start.Name}' to '{y.Name}'");
            if (w.Type != DataType.Int8 || w.Quantization is not { Axis: 0 } wq)
                throw new ConversionException($"QDQ export: {what}: weights '{w.Name}' are not int8 per output channel");

            // ONNX's ConvTranspose weights have M/group values on their output axis: per-axis scales fit only group 1.
            if (convTranspose && op.Attributes.GetInt(AttributeKey.Group, 1) != 1)
                throw new ConversionException($"QDQ export: {what} has group {op.Attributes.GetInt(AttributeKey.Group, 1)}: its per-output-channel weight scales do not fit ONNX's per-axis DequantizeLinear (only group 1 does)");
            // A MatMul on a rank-3+ input (ONNX Gemm is 2-D only) takes the weights back as [K, N], per channel on axis 1.
            bool matMul = op.Type == OpType.Gemm && x.Rank != 2;
            var replacement = new List<NodeProto>();
            string wDq = WeightInput(w, wq, replacement, transposed: matMul, convTranspose: convTranspose);
            string? bDq = b == null ? null : BiasInput(b, replacement);
            string output = ClampOutput(op, y, chain, out var clip);

            var node = new NodeProto { Name = start.Name, Domain = "" };
            if (op.Type is OpType.Conv or OpType.ConvTranspose)
            {
                node.OpType = start.OpType;
                node.Attribute.AddRange(start.Attribute.Select(a => a.Clone()));
            }
            else if (!matMul)
            {
                // The int8 Gemm's weights are [N, K] with alpha folded in and the bias scaled by beta: Gemm with transB=1.
                node.OpType = "Gemm";
                node.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            }
            else node.OpType = "MatMul";
            node.Input.Add(input);
            node.Input.Add(wDq);
            // ONNX MatMul has no bias input: the dequantized int32 bias is added after it.
            string product = matMul && bDq != null ? Unique(start.Name + "_product") : output;
            if (bDq != null && !matMul) node.Input.Add(bDq);
            node.Output.Add(product);
            replacement.Add(node);
            if (product != output)
                replacement.Add(new NodeProto { Name = Unique(start.Name + "_bias"), OpType = "Add", Domain = "", Input = { product, bDq! }, Output = { output } });
            if (clip != null) replacement.Add(clip);
            _replacements[chain[0]] = replacement;
            for (int i = 1; i < chain.Count; i++) _replacements[chain[i]] = [];
            _quantizedWeights++;
        }

        /// <summary>An Add with a fused Relu/Clip writes the activation's output, as in the int8 graph.</summary>
        private void FoldActivation(OpInfo op)
        {
            var y = _q.Tensors[op.Outputs[0]];
            if (!_byName.TryGetValue(op.Name, out var start) || start.OpType != "Add" || start.Output.Count != 1 || start.Output[0] == y.Name) return;
            var chain = Chain(start, y.Name, allowBatchNorm: false);
            if (chain == null) return;
            var add = start.Clone();
            add.Output[0] = ClampOutput(op, y, chain, out var clip);
            var replacement = new List<NodeProto> { add };
            if (clip != null) replacement.Add(clip);
            _replacements[chain[0]] = replacement;
            for (int i = 1; i < chain.Count; i++) _replacements[chain[i]] = [];
        }

        /// <summary>
        /// The nodes from <paramref name="start"/> to the one writing <paramref name="output"/>, each the only reader of
        /// the previous one's output; null when there is no such chain.
        /// </summary>
        private List<NodeProto>? Chain(NodeProto start, string output, bool allowBatchNorm)
        {
            var chain = new List<NodeProto> { start };
            var current = start;
            while (current.Output.Count == 0 || current.Output[0] != output)
            {
                if (current.Output.Count == 0 || chain.Count > 8) return null;
                string value = current.Output[0];
                if (_g.Output.Any(o => o.Name == value)) return null;
                if (!_consumers.TryGetValue(value, out var readers) || readers.Count != 1) return null;
                var next = readers[0];
                // A weighted operator also took the Add of a constant bias after it (Passes/GemmBiasFusion), either operand order.
                bool biasAdd = allowBatchNorm && next.OpType == "Add" && next.Input.Count == 2 && next.Input.Contains(value)
                    && IsConstant(next.Input[next.Input[0] == value ? 1 : 0]);
                bool fits = next.OpType switch
                {
                    "BatchNormalization" => allowBatchNorm,
                    "Relu" or "Clip" or "Identity" or "Dropout" => true,
                    _ => biasAdd,
                };
                if (!fits || (next.Input[0] != value && !biasAdd)) return null;
                chain.Add(next);
                current = next;
            }
            return chain;
        }

        /// <summary>An initializer, a Constant node's output, or either behind Identity nodes.</summary>
        private bool IsConstant(string name)
        {
            for (int depth = 0; depth < 8; depth++)
            {
                if (_initializers.Contains(name)) return true;
                if (!_producer.TryGetValue(name, out var node)) return false;
                if (node.OpType == "Constant") return true;
                if (node.OpType != "Identity" || node.Input.Count != 1) return false;
                name = node.Input[0];
            }
            return false;
        }

        /// <summary>
        /// The output of a folded chain. A Relu/Clip folded into the operator became the int8 output clamp; when that
        /// clamp is the whole int8 range the QuantizeLinear after it clamps the same way and no node is needed,
        /// otherwise a Clip to the clamp's real range follows.
        /// </summary>
        private string ClampOutput(OpInfo op, TensorInfo y, List<NodeProto> chain, out NodeProto? clip)
        {
            clip = null;
            int qMin = op.Attributes.GetInt(AttributeKey.QuantizedMin, -128), qMax = op.Attributes.GetInt(AttributeKey.QuantizedMax, 127);
            bool activation = chain.Any(n => n.OpType is "Relu" or "Clip");
            if (!activation || (qMin <= -128 && qMax >= 127)) return y.Name;
            var yq = y.Quantization ?? throw new ConversionException($"QDQ export: {op}: output '{y.Name}' has no quantization");
            string pre = Unique(y.Name + "_unclipped");
            clip = new NodeProto { OpType = "Clip", Name = Unique(op.Name + "_clamp"), Domain = "" };
            clip.Input.Add(pre);
            clip.Input.Add(ScalarFloat(y.Name + "_clamp_min", yq.Scale * (qMin - yq.ZeroPoint)));
            clip.Input.Add(ScalarFloat(y.Name + "_clamp_max", yq.Scale * (qMax - yq.ZeroPoint)));
            clip.Output.Add(y.Name);
            return pre;
        }

        /// <summary>int8 weights with per-output-channel scales (zero point 0) behind a DequantizeLinear on the channel axis.</summary>
        private string WeightInput(TensorInfo w, QuantizationInfo wq, List<NodeProto> nodes, bool transposed, bool convTranspose = false)
        {
            var data = w.Data.ToArray();
            var shape = (int[])w.Shape.Clone();
            int axis = 0;
            if (convTranspose)
            {
                // ConvTranspose's [M, C, k...] (group 1) back to ONNX's [C, M, k...]: the output channel is axis 1.
                int m = w.Shape[0], c = w.Shape[1], kernelSize = data.Length / (m * c);
                var t = new byte[data.Length];
                for (int o = 0; o < m; o++)
                    for (int i = 0; i < c; i++)
                        Array.Copy(data, (o * c + i) * kernelSize, t, (i * m + o) * kernelSize, kernelSize);
                data = t;
                shape = [c, m, .. w.Shape[2..]];
                axis = 1;
            }
            if (transposed)
            {
                // [N, K] -> [K, N]
                int n = w.Shape[0], k = w.Shape[1];
                var t = new byte[data.Length];
                for (int r = 0; r < n; r++) for (int c = 0; c < k; c++) t[c * n + r] = data[r * k + c];
                data = t;
                shape = [k, n];
                axis = 1;
            }
            int channels = wq.Scales.Length;
            string q = AddInitializer(w.Name + "_quantized", TensorProto.Types.DataType.Int8, shape, data);
            string scale = AddInitializer(w.Name + "_scale", TensorProto.Types.DataType.Float, [channels], MemoryMarshal.AsBytes(wq.Scales.AsSpan()).ToArray());
            string zero = AddInitializer(w.Name + "_zero_point", TensorProto.Types.DataType.Int8, [channels], new byte[channels]);
            return Dequantize(w.Name, q, scale, zero, axis, nodes);
        }

        /// <summary>int32 bias at scale x_scale * w_scale[c] (zero point 0), as the int8 model stores it.</summary>
        private string BiasInput(TensorInfo b, List<NodeProto> nodes)
        {
            if (b.Type != DataType.Int32 || b.Quantization is not { } bq)
                throw new ConversionException($"QDQ export: bias '{b.Name}' is not an int32 quantized tensor");
            int channels = b.ElementCount;
            var scales = bq.Scales.Length == channels ? bq.Scales : Enumerable.Repeat(bq.Scale, channels).ToArray();
            string q = AddInitializer(b.Name + "_quantized", TensorProto.Types.DataType.Int32, [channels], b.Data.ToArray());
            string scale = AddInitializer(b.Name + "_scale", TensorProto.Types.DataType.Float, [channels], MemoryMarshal.AsBytes(scales.AsSpan()).ToArray());
            string zero = AddInitializer(b.Name + "_zero_point", TensorProto.Types.DataType.Int32, [channels], new byte[4 * channels]);
            return Dequantize(b.Name, q, scale, zero, 0, nodes);
        }

        private string Dequantize(string baseName, string q, string scale, string zero, int axis, List<NodeProto> nodes)
        {
            var dq = new NodeProto { OpType = "DequantizeLinear", Name = Unique(baseName + "_DequantizeLinear"), Domain = "" };
            dq.Input.Add(q);
            dq.Input.Add(scale);
            dq.Input.Add(zero);
            string output = Unique(baseName + "_dequantized");
            dq.Output.Add(output);
            dq.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = axis });
            nodes.Add(dq);
            return output;
        }

        // ---- activations ----

        /// <summary>
        /// Gives every activation of the int8 model that the ONNX graph also holds a QuantizeLinear -> DequantizeLinear
        /// pair with the int8 model's scale and zero point. The producer writes a new name and the DequantizeLinear
        /// writes the old one, so readers and graph outputs are unchanged. Returns the number of pairs.
        /// </summary>
        private int InsertPairs(List<NodeProto> nodes)
        {
            int count = 0;
            var graphInputs = _g.Input.Select(i => i.Name).Where(n => !_initializers.Contains(n)).ToHashSet(StringComparer.Ordinal);
            foreach (var name in graphInputs)
            {
                if (!IsQuantizedActivation(name, out var quant)) continue;
                var pair = Pair(name, quant, out string dequantized);
                foreach (var n in nodes)
                    for (int i = 0; i < n.Input.Count; i++)
                        if (n.Input[i] == name) n.Input[i] = dequantized;
                nodes.InsertRange(0, pair);
                count++;
            }
            for (int k = 0; k < nodes.Count; k++)
            {
                var n = nodes[k];
                if (n.OpType is "QuantizeLinear" or "DequantizeLinear") continue;
                for (int o = 0; o < n.Output.Count; o++)
                {
                    string name = n.Output[o];
                    if (name == "" || !IsQuantizedActivation(name, out var quant)) continue;
                    string produced = Unique(name + "_float");
                    n.Output[o] = produced;
                    var pair = Pair(produced, quant, out _, dequantizedName: name);
                    nodes.InsertRange(k + 1, pair);
                    k += pair.Count;
                    count++;
                }
            }
            return count;
        }

        private bool IsQuantizedActivation(string name, out QuantizationInfo quant)
        {
            quant = null!;
            if (!_qTensors.TryGetValue(name, out var t) || t.IsConstant || t.Type != DataType.Int8 || t.Quantization is not { IsPerChannel: false } q) return false;
            quant = q;
            return true;
        }

        private List<NodeProto> Pair(string input, QuantizationInfo quant, out string dequantized, string? dequantizedName = null)
        {
            string baseName = dequantizedName ?? input;
            var type = _unsigned ? TensorProto.Types.DataType.Uint8 : TensorProto.Types.DataType.Int8;
            // int8 q and uint8 q + 128 are the same real values: the scale stays, the zero point moves by 128.
            int zeroPoint = _unsigned ? quant.ZeroPoint + 128 : quant.ZeroPoint;
            string scale = ScalarFloat(baseName + "_scale", quant.Scale);
            string zero = AddInitializer(baseName + "_zero_point", type, [], [unchecked((byte)zeroPoint)]);
            string quantized = Unique(baseName + "_quantized");
            dequantized = dequantizedName ?? Unique(baseName + "_dequantized");
            var q = new NodeProto { OpType = "QuantizeLinear", Name = Unique(baseName + "_QuantizeLinear"), Domain = "" };
            q.Input.Add(input); q.Input.Add(scale); q.Input.Add(zero);
            q.Output.Add(quantized);
            var dq = new NodeProto { OpType = "DequantizeLinear", Name = Unique(baseName + "_DequantizeLinear"), Domain = "" };
            dq.Input.Add(quantized); dq.Input.Add(scale); dq.Input.Add(zero);
            dq.Output.Add(dequantized);
            return [q, dq];
        }

        // ---- initializers and names ----

        private string ScalarFloat(string name, float value) =>
            AddInitializer(name, TensorProto.Types.DataType.Float, [], BitConverter.GetBytes(value));

        private string AddInitializer(string name, TensorProto.Types.DataType type, int[] shape, byte[] raw)
        {
            name = Unique(name);
            var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
            foreach (int d in shape) t.Dims.Add(d);
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian");
            _g.Initializer.Add(t);
            _initializers.Add(name);
            return name;
        }

        private string Unique(string name)
        {
            if (_names.Add(name)) return name;
            for (int k = 1; ; k++)
            {
                string candidate = $"{name}_{k}";
                if (_names.Add(candidate)) return candidate;
            }
        }

        /// <summary>Drops the float weights (and BatchNormalization parameters) that only the replaced nodes read.</summary>
        private void RemoveUnusedInitializers()
        {
            var used = new HashSet<string>(StringComparer.Ordinal);
            foreach (var n in _g.Node) foreach (var i in n.Input) used.Add(i);
            foreach (var o in _g.Output) used.Add(o.Name);
            var keep = _g.Initializer.Where(t => used.Contains(t.Name)).ToList();
            _g.Initializer.Clear();
            _g.Initializer.AddRange(keep);
            var inputs = _g.Input.Where(i => !_initializers.Contains(i.Name) || used.Contains(i.Name)).ToList();
            _g.Input.Clear();
            _g.Input.AddRange(inputs);
        }
    }
}
