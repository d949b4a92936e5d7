using EdgeNets.Runtime.Graph;
using Onnx;

namespace EdgeNets.Converter.Import;

/// <summary>Gemm and MatMul (a MatMul by constant 2-D weights becomes a Gemm).</summary>
internal sealed partial class GraphImporter
{
    private static Lowering[] GemmLowerings =>
    [
        new("Gemm", (g, n) => g.LowerGemm(n)),
        new("MatMul", (g, n) => g.LowerMatMul(n)),
    ];

    private static float[] Transpose2D(float[] v, int rows, int cols)
    {
        var t = new float[v.Length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = v[r * cols + c];
        return t;
    }

    private void LowerGemm(NodeProto n)
    {
        var a = Input(n, 0);
        var b = Input(n, 1);
        if (a.Shape.Length != 2 || b.Shape.Length != 2) throw Fail(n, $"inputs must be 2-D, got [{ShapeUtil.Format(a.Shape)}] and [{ShapeUtil.Format(b.Shape)}]");
        float alpha = OnnxNodeAttributes.Float(n, "alpha", 1f), beta = OnnxNodeAttributes.Float(n, "beta", 1f);
        bool transA = OnnxNodeAttributes.Int(n, "transA", 0) != 0, transB = OnnxNodeAttributes.Int(n, "transB", 0) != 0;

        string aName = a.Name;
        int rows = transA ? a.Shape[1] : a.Shape[0], k = transA ? a.Shape[0] : a.Shape[1];
        if (transA)
        {
            aName = Temp(n, "a_transposed");
            EmitTo(n, OpType.Transpose, [a.Name], aName, [rows, k], new OpAttributes().Set(AttributeKey.Perm, 1, 0));
        }
        int cols = transB ? b.Shape[0] : b.Shape[1];
        if ((transB ? b.Shape[1] : b.Shape[0]) != k)
            throw Fail(n, $"inner dimensions differ: A [{ShapeUtil.Format(a.Shape)}] (transA={(transA ? 1 : 0)}), B [{ShapeUtil.Format(b.Shape)}] (transB={(transB ? 1 : 0)})");

        ConstTensor? c = HasInput(n, 2) ? Input(n, 2).Constant : null;
        int[]? cShape = HasInput(n, 2) ? Input(n, 2).Shape : null;
        if (cShape != null)
        {
            var bc = ShapeUtil.Broadcast([rows, cols], cShape);
            if (bc == null || !bc.SequenceEqual(new[] { rows, cols })) throw Fail(n, $"bias C shape [{ShapeUtil.Format(cShape)}] does not broadcast to [{rows},{cols}]");
        }
        // A bias that is one value per output column becomes the Gemm bias; anything else is added afterwards.
        bool vectorBias = c != null && (ConstantFolder.Count(cShape!) == 1 || cShape![^1] == cols && ConstantFolder.Count(cShape) == cols);
        string product = cShape == null || vectorBias ? n.Output[0] : Temp(n, "product");

        if (b.Constant != null)
        {
            var bv = b.Constant.Floats!;
            var w = transB ? (float[])bv.Clone() : Transpose2D(bv, k, cols);
            if (alpha != 1f) for (int i = 0; i < w.Length; i++) w[i] *= alpha;
            var inputs = new List<string> { aName, Constant(n, "weights", [cols, k], w) };
            CarryGiven(b, inputs[1], transposed: !transB, alpha);
            if (vectorBias)
            {
                var bias = new float[cols];
                var cv = c!.Floats!;
                for (int i = 0; i < cols; i++) bias[i] = beta * cv[cv.Length == 1 ? 0 : i];
                inputs.Add(Constant(n, "bias", [cols], bias));
                CarryGiven(Input(n, 2), inputs[2], transposed: false, beta);
            }
            EmitTo(n, OpType.Gemm, inputs, product, [rows, cols]);
        }
        else
        {
            string bName = b.Name;
            if (transB)
            {
                bName = Temp(n, "b_transposed");
                EmitTo(n, OpType.Transpose, [b.Name], bName, [k, cols], new OpAttributes().Set(AttributeKey.Perm, 1, 0));
            }
            string matmul = alpha != 1f ? Temp(n, "matmul") : product;
            if (vectorBias && matmul == n.Output[0]) matmul = Temp(n, "matmul");
            EmitTo(n, OpType.MatMul, [aName, bName], matmul, [rows, cols]);
            if (alpha != 1f)
            {
                string scaled = vectorBias ? Temp(n, "scaled") : product;
                EmitTo(n, OpType.Mul, [matmul, Constant(n, "alpha", [1], [alpha])], scaled, [rows, cols]);
                matmul = scaled;
            }
            if (vectorBias)
            {
                EmitTo(n, OpType.Add, [matmul, Constant(n, "bias", cShape!, c!.Floats!.Select(v => beta * v).ToArray())], n.Output[0], [rows, cols]);
                return;
            }
        }
        if (cShape == null || vectorBias) return;
        string biasName;
        if (c != null) biasName = Constant(n, "bias", cShape, c.Floats!.Select(v => beta * v).ToArray());
        else if (beta != 1f)
        {
            biasName = Temp(n, "bias_scaled");
            EmitTo(n, OpType.Mul, [Input(n, 2).Name, Constant(n, "beta", [1], [beta])], biasName, cShape);
        }
        else biasName = Input(n, 2).Name;
        EmitTo(n, OpType.Add, [product, biasName], n.Output[0], [rows, cols]);
    }

    private void LowerMatMul(NodeProto n)
    {
        var a = Input(n, 0);
        var b = Input(n, 1);
        if (b.Constant != null && b.Shape.Length == 2 && a.Shape.Length >= 1)
        {
            int k = b.Shape[0], cols = b.Shape[1];
            if (a.Shape[^1] != k) throw Fail(n, $"inner dimensions differ: [{ShapeUtil.Format(a.Shape)}] x [{ShapeUtil.Format(b.Shape)}]");
            var w = Constant(n, "weights", [cols, k], Transpose2D(b.Constant.Floats!, k, cols));
            CarryGiven(b, w, transposed: true, 1f);
            Emit(n, OpType.Gemm, [a.Name, w], [.. a.Shape[..^1], cols]);
            return;
        }
        Emit(n, OpType.MatMul, [a.Name, b.Name], MatMulShape(n, a.Shape, b.Shape));
    }

    private int[] MatMulShape(NodeProto n, int[] a, int[] b)
    {
        if (a.Length == 0 || b.Length == 0) throw Fail(n, "inputs must have rank 1 or more");
        var a2 = a.Length == 1 ? new[] { 1, a[0] } : a;
        var b2 = b.Length == 1 ? new[] { b[0], 1 } : b;
        if (a2[^1] != b2[^2]) throw Fail(n, $"inner dimensions differ: [{ShapeUtil.Format(a)}] x [{ShapeUtil.Format(b)}]");
        var batch = ShapeUtil.Broadcast(a2[..^2], b2[..^2]) ?? throw Fail(n, $"batch dimensions of [{ShapeUtil.Format(a)}] and [{ShapeUtil.Format(b)}] do not broadcast");
        var shape = new List<int>(batch);
        if (a.Length > 1) shape.Add(a2[^2]);
        if (b.Length > 1) shape.Add(b2[^1]);
        return shape.ToArray();
    }
}
