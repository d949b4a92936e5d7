using System.Runtime.InteropServices;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;

namespace EdgeNets.Runtime.Kernels;

/// <summary>Recurrent cases (see <see cref="KernelCases"/>).</summary>
public static partial class KernelCases
{
    /// <summary>A recurrent layer: time steps, batch, input size, hidden size, direction (0 forward, 1 reverse, 2 both), layout.</summary>
    private readonly record struct RecurrentGeometry(int Steps, int Batch, int Input, int Hidden, int Direction, int Layout);

    /// <summary>
    /// Options fixed instead of drawn (these cases come after the drawn ones, which stay as they were): DefaultStep gives
    /// the default activations, GRU linear_before_reset = 1 and no LSTM peepholes; Clip a clip or none (with
    /// DefaultStep false: drawn); SymmetricWeights int8 weights without -128 (-128 becomes -127).
    /// </summary>
    private readonly record struct RecurrentOverrides(bool DefaultStep, bool Clip, bool SymmetricWeights = false);

    private static IEnumerable<RecurrentGeometry> RecurrentShapes()
    {
        // Hidden sizes on and off multiples of 4, 8 and 16; the example models' shapes (fewer steps).
        yield return new(1, 1, 1, 1, 0, 0);
        yield return new(6, 1, 6, 32, 0, 0);
        yield return new(8, 1, 32, 48, 0, 0);
        yield return new(3, 2, 7, 13, 0, 0);
        yield return new(4, 2, 5, 17, 1, 0);
        yield return new(5, 1, 3, 9, 2, 0);
        yield return new(2, 2, 8, 5, 2, 1);
        yield return new(7, 2, 2, 31, 0, 1);
        yield return new(3, 1, 16, 16, 1, 1);
        yield return new(1, 2, 33, 3, 2, 0);
        yield return new(9, 1, 1, 8, 0, 0);
        yield return new(4, 1, 4, 7, 1, 0);
        yield return new(3, 2, 10, 24, 2, 1);
        yield return new(2, 1, 12, 40, 0, 1);
        yield return new(5, 2, 9, 4, 0, 0);
    }

    /// <summary>
    /// LSTM, GRU or RNN in the float32 or int8 form with the options drawn at random: bias, initial states (int8 or
    /// float32 in the int8 form), LSTM peepholes and input_forget, GRU linear_before_reset, clip, other activations,
    /// int8 zero points often at -128 or 127 and weight scales per row or per tensor, int8 or float32 Y_c.
    /// </summary>
    private static KernelCase Recurrent(Random rng, OpType op, bool quantized, RecurrentGeometry geometry, RecurrentOverrides? overrides = null)
    {
        var (steps, batch, input, hidden, direction, layout) = geometry;
        int directions = direction == 2 ? 2 : 1;
        int gates = op == OpType.Lstm ? 4 : op == OpType.Gru ? 3 : 1;
        int activationsPerDirection = op == OpType.Lstm ? 3 : op == OpType.Gru ? 2 : 1;
        int rows = directions * gates * hidden;
        var g = new CaseGraph();
        var type = quantized ? DataType.Int8 : DataType.Float32;
        int[] xShape = layout == 0 ? [steps, batch, input] : [batch, steps, input];
        int[] yShape = layout == 0 ? [steps, directions, batch, hidden] : [batch, steps, directions, hidden];
        int[] stateShape = layout == 0 ? [directions, batch, hidden] : [batch, directions, hidden];
        var notes = new List<string>();

        // Pre-activations of a few units: |x - zx| ~ 100 and |w| ~ 73 on average, so the weight scale is about
        // 2.5 / (input scale · 100 · 73 · sqrt(columns)).
        QuantizationInfo? qx = null, qh = null;
        int x, w, r;
        if (quantized)
        {
            qx = QuantizationInfo.PerTensor((float)Math.Exp(rng.NextDouble() * 3 - 4), RecurrentZeroPoint(rng));
            qh = QuantizationInfo.PerTensor((float)(rng.NextDouble() * 0.01 + 0.004), RecurrentZeroPoint(rng));
            x = g.Input("x", type, xShape, Int8Values(rng, ShapeUtil.ElementCount(xShape)), qx);
            bool perRow = rng.Next(4) != 0;
            bool symmetric = overrides is { SymmetricWeights: true };
            w = g.Constant("w", type, [rows, input], Symmetric(Int8Values(rng, rows * input), symmetric),
                WeightQuant(rng, perRow, rows, 2.5 / (qx.Scale * 100 * 73 * Math.Sqrt(input))));
            r = g.Constant("r", type, [rows, hidden], Symmetric(Int8Values(rng, rows * hidden), symmetric),
                WeightQuant(rng, perRow, rows, 2.5 / (qh.Scale * 100 * 73 * Math.Sqrt(hidden))));
            if (symmetric) notes.Add("weights in [-127, 127]");
            notes.Add($"zx={qx.ZeroPoint} zh={qh.ZeroPoint}, weight scales {(perRow ? "per row" : "per tensor")}");
        }
        else
        {
            x = g.Input("x", type, xShape, RecurrentFloats(rng, ShapeUtil.ElementCount(xShape), 2f));
            w = g.Constant("w", type, [directions, gates * hidden, input], RecurrentFloats(rng, rows * input, 2.5f / MathF.Sqrt(input)));
            r = g.Constant("r", type, [directions, gates * hidden, hidden], RecurrentFloats(rng, rows * hidden, 2.5f / MathF.Sqrt(hidden)));
        }
        int b = -1, h0 = -1, c0 = -1, p = -1;
        if (rng.Next(4) != 0) b = g.Constant("b", DataType.Float32, [directions, 2 * gates * hidden], RecurrentFloats(rng, 2 * rows, 1f));
        else notes.Add("no bias");
        if (rng.Next(2) == 0) h0 = InitialState(g, rng, "initial_h", quantized, stateShape, notes);
        if (op == OpType.Lstm)
        {
            if (rng.Next(2) == 0) c0 = InitialState(g, rng, "initial_c", quantized, stateShape, notes);
            if (rng.Next(2) == 0 && overrides is not { DefaultStep: true })
            {
                p = g.Constant("p", DataType.Float32, [directions, 3 * hidden], RecurrentFloats(rng, directions * 3 * hidden, 1f));
                notes.Add("peepholes");
            }
        }

        int y = g.Output("y", type, yShape, qh);
        var outputs = new List<int> { y, g.Output("y_h", type, stateShape, qh) };
        if (op == OpType.Lstm)
        {
            bool ycInt8 = quantized && rng.Next(2) == 0;
            outputs.Add(g.Output("y_c", ycInt8 ? DataType.Int8 : DataType.Float32, stateShape,
                ycInt8 ? QuantizationInfo.PerTensor((float)(rng.NextDouble() * 0.05 + 0.01), RecurrentZeroPoint(rng)) : null));
            if (ycInt8) notes.Add("int8 Y_c");
        }

        var attributes = new OpAttributes().Set(AttributeKey.Direction, direction).Set(AttributeKey.Layout, layout);
        if (op == OpType.Gru)
        {
            int linearBeforeReset = rng.Next(2);
            if (overrides is { DefaultStep: true }) linearBeforeReset = 1;
            attributes.Set(AttributeKey.LinearBeforeReset, linearBeforeReset);
            notes.Add($"linear_before_reset {linearBeforeReset}");
        }
        if (op == OpType.Lstm && rng.Next(5) == 0)
        {
            attributes.Set(AttributeKey.InputForget, 1);
            notes.Add("input_forget");
        }
        if (overrides is { DefaultStep: true } fixedOptions ? fixedOptions.Clip : rng.Next(4) == 0)
        {
            float clip = (float)(rng.NextDouble() * 4 + 0.5);
            attributes.Set(AttributeKey.Clip, clip);
            notes.Add($"clip {clip}");
        }
        if (rng.Next(4) == 0 && overrides is not { DefaultStep: true })
        {
            // Any function for the candidate and output slots; a bounded one for the gates (slot 0), as in real models:
            // an unbounded gate multiplying an unbounded state overflows to inf and NaN within a few steps.
            RecurrentActivation[] bounded = [RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.ScaledTanh,
                RecurrentActivation.HardSigmoid, RecurrentActivation.Softsign];
            var functions = new int[directions * activationsPerDirection];
            var alpha = new float[functions.Length];
            var beta = new float[functions.Length];
            for (int i = 0; i < functions.Length; i++)
            {
                functions[i] = i % activationsPerDirection == 0 && op != OpType.Rnn
                    ? (int)bounded[rng.Next(bounded.Length)]
                    : rng.Next((int)RecurrentActivation.Sigmoid, (int)RecurrentActivation.Softplus + 1);
                alpha[i] = (float)(rng.NextDouble() * 0.9 + 0.05);
                beta[i] = (float)(rng.NextDouble() * 0.9 + 0.05);
            }
            attributes.Set(AttributeKey.Activations, functions);
            attributes.Set(AttributeKey.ActivationAlpha, alpha);
            attributes.Set(AttributeKey.ActivationBeta, beta);
            notes.Add($"activations [{string.Join(", ", functions.Select(f => (RecurrentActivation)f))}]");
        }

        int[] inputs = op == OpType.Lstm ? [x, w, r, b, -1, h0, c0, p] : [x, w, r, b, -1, h0];
        int used = inputs.Length;
        while (used > 3 && inputs[used - 1] < 0) used--;  // trailing absent inputs are left out
        g.Op(op, inputs[..used], [.. outputs], attributes);
        string directionName = direction switch { 0 => "forward", 1 => "reverse", _ => "bidirectional" };
        return g.Build($"{op} {(quantized ? "int8" : "float32")} steps {steps} batch {batch} input {input} hidden {hidden}, {directionName}, layout {layout}" +
            (notes.Count > 0 ? ", " + string.Join(", ", notes) : ""));
    }

    /// <summary>int8 values with -128 made -127 when <paramref name="symmetric"/>, as symmetric weight quantization gives.</summary>
    private static byte[] Symmetric(byte[] values, bool symmetric)
    {
        if (symmetric)
            for (int i = 0; i < values.Length; i++) if (values[i] == 0x80) values[i] = unchecked((byte)(sbyte)-127);
        return values;
    }

    private static int RecurrentZeroPoint(Random rng) => rng.Next(4) switch { 0 => -128, 1 => 127, _ => rng.Next(-128, 128) };

    /// <summary>Symmetric int8 weight scales around <paramref name="typical"/>: one per row (axis 0) or one for the tensor.</summary>
    private static QuantizationInfo WeightQuant(Random rng, bool perRow, int rows, double typical)
    {
        var scales = new float[perRow ? rows : 1];
        for (int i = 0; i < scales.Length; i++) scales[i] = (float)(typical * Math.Exp(rng.NextDouble() * 2 - 1));
        return perRow ? new QuantizationInfo(scales, 0, axis: 0) : new QuantizationInfo(scales, 0);
    }

    private static int InitialState(CaseGraph g, Random rng, string name, bool quantized, int[] shape, List<string> notes)
    {
        int count = ShapeUtil.ElementCount(shape);
        if (quantized && rng.Next(2) == 0)
        {
            notes.Add($"int8 {name}");
            return g.Input(name, DataType.Int8, shape, Int8Values(rng, count), QuantizationInfo.PerTensor((float)(rng.NextDouble() * 0.02 + 0.002), RecurrentZeroPoint(rng)));
        }
        notes.Add(name);
        return g.Input(name, DataType.Float32, shape, RecurrentFloats(rng, count, 1.5f));
    }

    /// <summary>Uniform in [-range, range], with exact zeros, ±range and signed zeros sprinkled in.</summary>
    private static byte[] RecurrentFloats(Random rng, int count, float range)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++)
            v[i] = rng.Next(16) switch { 0 => 0f, 1 => -0f, 2 => rng.Next(2) == 0 ? range : -range, _ => (float)(rng.NextDouble() * 2 - 1) * range };
        return MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
    }
}
