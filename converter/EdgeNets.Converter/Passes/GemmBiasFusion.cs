using EdgeNets.Converter.Import;
using EdgeNets.Runtime.Graph;

namespace EdgeNets.Converter.Passes;

/// <summary>
/// Folds an Add of one constant value per output column into the Gemm that feeds it: PyTorch exports a Linear on a
/// tensor of rank 3 or more (a transformer's projections) as MatMul + Add, which became Gemm + Add. The Gemm then adds
/// the bias in its accumulator, so the int8 model loses a requantization and a pass over the tensor. The product must
/// feed only that Add, and the Add must not broadcast it to a larger shape.
/// </summary>
internal static class GemmBiasFusion
{
    public static void Run(IrGraph g)
    {
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var add = g.Nodes[i];
            if (add.Op != OpType.Add || add.Inputs.Count != 2) continue;
            for (int side = 0; side < 2; side++)
            {
                string product = add.Inputs[side];
                var c = g.Values[add.Inputs[1 - side]].Constant;
                var gemm = g.Producer(product);
                if (gemm == null || gemm.Op != OpType.Gemm || c?.Floats == null || g.ConsumerCount(product) != 1 || g.IsGraphOutput(product)) continue;
                var shape = g.Values[product].Shape;
                int cols = shape[^1];
                if (!ShapeUtil.SameShape(shape, g.Values[add.Outputs[0]].Shape) || !PerColumn(c.Shape, cols)) continue;
                float[]? bias = gemm.Inputs.Count > 2 ? g.Values[gemm.Inputs[2]].Constant?.Floats : new float[cols];
                if (bias == null || bias.Length != cols) continue;
                var merged = new float[cols];
                for (int j = 0; j < cols; j++) merged[j] = bias[j] + c.Floats[c.Floats.Length == 1 ? 0 : j];
                string biasName = g.NewConstant(gemm.Name + ".bias", ConstTensor.FromFloats([cols], merged));
                if (gemm.Inputs.Count > 2) gemm.Inputs[2] = biasName;
                else gemm.Inputs.Add(biasName);
                gemm.Outputs[0] = add.Outputs[0];
                g.Nodes.RemoveAt(i);
                g.Values.Remove(product);
                i--;
                break;
            }
        }
    }

    /// <summary>One value, or one per column broadcast over every other axis.</summary>
    private static bool PerColumn(int[] shape, int cols)
    {
        int count = ShapeUtil.ElementCount(shape);
        return count == 1 || (shape.Length > 0 && shape[^1] == cols && count == cols);
    }
}
