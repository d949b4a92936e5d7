using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Recurrent;

/// <summary>
/// The int8 recurrent kernels: int8 x, per-row int8 W and R, int8 hidden state. Oracle: the double-precision
/// equations on the dequantized x, W and R, with h rounded to the int8 grid after each step (the scheme's one extra
/// rounding); the int8 output must be within one hidden quantization step of it.
/// </summary>
[TestFixture]
public class RecurrentInt8KernelTests
{
    public sealed class Quantized
    {
        public RecurrentCase Dequantized = new();
        public sbyte[] X = [], W = [], R = [];
        public float[] WScales = [], RScales = [];
        public QuantizationInfo XQuant = null!, HQuant = null!, CQuant = null!;
    }

    public static (float Scale, int Zero) Asymmetric(float min, float max)
    {
        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        float scale = (max - min) / 255f;
        int zero = (int)Math.Round(-128 - min / scale);
        return (scale, Math.Clamp(zero, -128, 127));
    }

    private static (sbyte[] Q, float[] Scales) PerRow(float[] w, int rows)
    {
        int k = w.Length / rows;
        var q = new sbyte[w.Length];
        var scales = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            float max = 0f;
            for (int i = 0; i < k; i++) max = Math.Max(max, Math.Abs(w[r * k + i]));
            scales[r] = max > 0 ? max / 127f : 1f;
            for (int i = 0; i < k; i++) q[r * k + i] = FixedPoint.QuantizeValue(w[r * k + i], 1f / scales[r], 0);
        }
        return (q, scales);
    }

    /// <summary>Quantizes a float case: hidden and cell scales from the float oracle's ranges.</summary>
    public static Quantized Quantize(RecurrentCase c)
    {
        var (yFloat, _, ycFloat) = RecurrentOracle.Run(c);
        var q = new Quantized();
        var (xs, xz) = Asymmetric(c.X.Min(), c.X.Max());
        q.XQuant = QuantizationInfo.PerTensor(xs, xz);
        q.X = c.X.Select(v => FixedPoint.QuantizeValue(v, 1f / xs, xz)).ToArray();
        float hMin = (float)yFloat.Min(), hMax = (float)yFloat.Max();
        if (c.InitialH != null) { hMin = Math.Min(hMin, c.InitialH.Min()); hMax = Math.Max(hMax, c.InitialH.Max()); }
        var (hs, hz) = Asymmetric(hMin, hMax);
        q.HQuant = QuantizationInfo.PerTensor(hs, hz);
        var (cs, cz) = Asymmetric((float)ycFloat.Min(), (float)ycFloat.Max());
        q.CQuant = QuantizationInfo.PerTensor(cs, cz);
        int rows = c.Directions * c.Gates * c.Hidden;
        (q.W, q.WScales) = PerRow(c.W, rows);
        (q.R, q.RScales) = PerRow(c.R, rows);

        var d = q.Dequantized;
        d.Op = c.Op; d.Steps = c.Steps; d.Batch = c.Batch; d.InputSize = c.InputSize; d.Hidden = c.Hidden; d.Direction = c.Direction; d.Layout = c.Layout;
        d.LinearBeforeReset = c.LinearBeforeReset; d.InputForget = c.InputForget; d.Clip = c.Clip; d.Activations = c.Activations; d.Alpha = c.Alpha; d.Beta = c.Beta;
        d.B = c.B; d.P = c.P; d.InitialH = c.InitialH; d.InitialC = c.InitialC;
        d.X = q.X.Select(v => xs * (v - xz)).ToArray();
        d.W = q.W.Select((v, i) => q.WScales[i / c.InputSize] * v).ToArray();
        d.R = q.R.Select((v, i) => q.RScales[i / c.Hidden] * v).ToArray();
        return q;
    }

    public static Model BuildInt8(RecurrentCase c, Quantized q)
    {
        var g = new TestGraph();
        int rows = c.Directions * c.Gates * c.Hidden;
        var inputs = new int[c.Op == OpType.Lstm ? 8 : 6];
        Array.Fill(inputs, -1);
        inputs[0] = g.Input("X", DataType.Int8, c.XShape, q.XQuant);
        inputs[1] = g.Constant("W", DataType.Int8, [rows, c.InputSize], q.W, new QuantizationInfo(q.WScales, 0, 0));
        inputs[2] = g.Constant("R", DataType.Int8, [rows, c.Hidden], q.R, new QuantizationInfo(q.RScales, 0, 0));
        if (c.B != null) inputs[3] = g.Constant("B", DataType.Float32, [c.Directions, 2 * c.Gates * c.Hidden], c.B);
        if (c.InitialH != null) inputs[5] = g.Input("initial_h", DataType.Float32, c.StateShape);
        if (c.Op == OpType.Lstm)
        {
            if (c.InitialC != null) inputs[6] = g.Constant("initial_c", DataType.Float32, c.StateShape, c.InitialC);
            if (c.P != null) inputs[7] = g.Constant("P", DataType.Float32, [c.Directions, 3 * c.Hidden], c.P);
        }
        var outputs = new List<int> { g.Output("Y", DataType.Int8, c.YShape, q.HQuant), g.Output("Y_h", DataType.Int8, c.StateShape, q.HQuant) };
        if (c.Op == OpType.Lstm) outputs.Add(g.Output("Y_c", DataType.Int8, c.StateShape, q.CQuant));
        g.Op(c.Op, inputs, outputs.ToArray(), RecurrentKernelTests.Attributes(c));
        return g.Build();
    }

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var data in RecurrentKernelTests.FloatCases())
        {
            var c = (RecurrentCase)data.Arguments[0]!;
            // Unbounded activations make the hidden range depend on the whole run; the bounded ones are the int8 use case.
            if (c.Activations != null && c.Activations.Any(a => a is RecurrentActivation.Relu or RecurrentActivation.Affine or RecurrentActivation.Softplus
                or RecurrentActivation.ThresholdedRelu or RecurrentActivation.Elu)) continue;
            yield return new TestCaseData(c).SetName(data.TestName!.Replace("Float32", "Int8"));
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Int8(RecurrentCase c)
    {
        var q = Quantize(c);
        var (y, yh, yc) = RecurrentOracle.Run(q.Dequantized, (q.HQuant.Scale, q.HQuant.ZeroPoint));
        using var session = BuildInt8(c, q).CreateSession();
        q.X.AsSpan().CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(session.GetInputBytes(0)));
        if (c.InitialH != null) session.SetInput(1, c.InitialH);
        session.Invoke();
        AssertWithin(session, 0, y, q.HQuant.Scale);
        AssertWithin(session, 1, yh, q.HQuant.Scale);
        if (c.Op == OpType.Lstm) AssertWithin(session, 2, yc, q.CQuant.Scale + 2 * q.HQuant.Scale);

        // Bit-exact repeatability: a second run of the same session gives the same bytes.
        var first = session.GetTensorBytes(session.Model.Graph.Outputs[0]).ToArray();
        session.Invoke();
        Assert.That(session.GetTensorBytes(session.Model.Graph.Outputs[0]).ToArray(), Is.EqualTo(first));
    }

    private static void AssertWithin(Session session, int output, double[] expected, double step)
    {
        var actual = new float[expected.Length];
        session.GetOutput(output, actual);
        int offByOne = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            Assert.That(error, Is.LessThanOrEqualTo(step * 1.001 + 1e-6), $"output {output} element {i}: {actual[i]} vs {expected[i]}");
            if (error > step * 0.5) offByOne++;
        }
        // Differences of a full step come only from values that sit on a rounding boundary: they must be rare.
        Assert.That(offByOne, Is.LessThanOrEqualTo(Math.Max(2, expected.Length / 20)), $"output {output}: {offByOne} of {expected.Length} values off by a step");
    }
}
