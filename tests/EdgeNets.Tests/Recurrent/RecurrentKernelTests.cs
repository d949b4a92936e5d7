using EdgeNets.Runtime;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels.Reference;
using EdgeNets.Tests.Support;
using NUnit.Framework;
using A = EdgeNets.Runtime.Graph.RecurrentActivation;

namespace EdgeNets.Tests.Recurrent;

/// <summary>LSTM/GRU/RNN reference kernels (float32 and int8) against the literal double-precision oracle.</summary>
[TestFixture]
public class RecurrentKernelTests
{
    public static RecurrentCase MakeCase(OpType op, int direction, int layout, int seed, int steps = 5, int batch = 3, int inputSize = 7, int hidden = 5,
        bool bias = true, bool initialState = true, bool peepholes = false, float? clip = null, A[]? activations = null, float[]? alpha = null,
        float[]? beta = null, bool linearBeforeReset = false, bool inputForget = false)
    {
        var c = new RecurrentCase
        {
            Op = op, Steps = steps, Batch = batch, InputSize = inputSize, Hidden = hidden, Direction = direction, Layout = layout,
            LinearBeforeReset = linearBeforeReset, InputForget = inputForget, Clip = clip, Activations = activations, Alpha = alpha, Beta = beta,
        };
        int d = c.Directions, gh = c.Gates * hidden;
        c.X = TestData.Floats(seed, steps * batch * inputSize, -2f, 2f);
        c.W = TestData.Floats(seed + 1, d * gh * inputSize, -0.6f, 0.6f);
        c.R = TestData.Floats(seed + 2, d * gh * hidden, -0.6f, 0.6f);
        if (bias) c.B = TestData.Floats(seed + 3, d * 2 * gh, -0.5f, 0.5f);
        if (peepholes) c.P = TestData.Floats(seed + 4, d * 3 * hidden, -0.5f, 0.5f);
        if (initialState)
        {
            c.InitialH = TestData.Floats(seed + 5, d * batch * hidden, -0.8f, 0.8f);
            if (op == OpType.Lstm) c.InitialC = TestData.Floats(seed + 6, d * batch * hidden, -1f, 1f);
        }
        return c;
    }

    public static OpAttributes Attributes(RecurrentCase c)
    {
        var a = new OpAttributes().Set(AttributeKey.Direction, c.Direction).Set(AttributeKey.Layout, c.Layout);
        if (c.Clip is float clip) a.Set(AttributeKey.Clip, clip);
        if (c.LinearBeforeReset) a.Set(AttributeKey.LinearBeforeReset, 1);
        if (c.InputForget) a.Set(AttributeKey.InputForget, 1);
        if (c.Activations != null)
        {
            a.Set(AttributeKey.Activations, c.Activations.Select(f => (int)f).ToArray());
            a.Set(AttributeKey.ActivationAlpha, c.Alpha ?? new float[c.Activations.Length]);
            a.Set(AttributeKey.ActivationBeta, c.Beta ?? new float[c.Activations.Length]);
        }
        return a;
    }

    /// <summary>The float32 operator: X and initial_h are run-time inputs, the rest constants.</summary>
    public static Model BuildFloat(RecurrentCase c)
    {
        var g = new TestGraph();
        int d = c.Directions, gh = c.Gates * c.Hidden;
        var inputs = new int[c.Op == OpType.Lstm ? 8 : 6];
        Array.Fill(inputs, -1);
        inputs[0] = g.Input("X", DataType.Float32, c.XShape);
        inputs[1] = g.Constant("W", DataType.Float32, [d, gh, c.InputSize], c.W);
        inputs[2] = g.Constant("R", DataType.Float32, [d, gh, c.Hidden], c.R);
        if (c.B != null) inputs[3] = g.Constant("B", DataType.Float32, [d, 2 * gh], c.B);
        if (c.InitialH != null) inputs[5] = g.Input("initial_h", DataType.Float32, c.StateShape);
        if (c.Op == OpType.Lstm)
        {
            if (c.InitialC != null) inputs[6] = g.Constant("initial_c", DataType.Float32, c.StateShape, c.InitialC);
            if (c.P != null) inputs[7] = g.Constant("P", DataType.Float32, [d, 3 * c.Hidden], c.P);
        }
        var outputs = new List<int> { g.Output("Y", DataType.Float32, c.YShape), g.Output("Y_h", DataType.Float32, c.StateShape) };
        if (c.Op == OpType.Lstm) outputs.Add(g.Output("Y_c", DataType.Float32, c.StateShape));
        g.Op(c.Op, inputs, outputs.ToArray(), Attributes(c));
        return g.Build();
    }

    public static void SetInputs(Session session, RecurrentCase c)
    {
        session.SetInput(0, c.X);
        if (c.InitialH != null) session.SetInput(1, c.InitialH);
    }

    private static readonly A[] LstmAlternative = [A.HardSigmoid, A.LeakyRelu, A.Softsign];
    private static readonly A[] GruAlternative = [A.HardSigmoid, A.ScaledTanh];

    public static IEnumerable<TestCaseData> FloatCases()
    {
        TestCaseData Case(string name, RecurrentCase c) => new TestCaseData(c).SetName($"Float32({name})");
        yield return Case("lstm forward", MakeCase(OpType.Lstm, 0, 0, 10));
        yield return Case("lstm reverse layout1 no bias no state", MakeCase(OpType.Lstm, 1, 1, 20, bias: false, initialState: false));
        yield return Case("lstm bidirectional peepholes clip", MakeCase(OpType.Lstm, 2, 0, 30, peepholes: true, clip: 0.7f));
        yield return Case("lstm bidirectional layout1 activations", MakeCase(OpType.Lstm, 2, 1, 40, activations: [.. LstmAlternative, A.Sigmoid, A.Relu, A.Tanh],
            alpha: [0.3f, 0.05f, 0f, 0f, 0f, 0f], beta: [0.4f, 0f, 0f, 0f, 0f, 0f]));
        yield return Case("lstm input forget peepholes", MakeCase(OpType.Lstm, 0, 1, 50, inputForget: true, peepholes: true, steps: 1, batch: 1));
        yield return Case("gru forward", MakeCase(OpType.Gru, 0, 0, 60));
        yield return Case("gru forward linear before reset", MakeCase(OpType.Gru, 0, 0, 70, linearBeforeReset: true));
        yield return Case("gru bidirectional layout1 linear before reset", MakeCase(OpType.Gru, 2, 1, 80, linearBeforeReset: true, inputSize: 1));
        yield return Case("gru reverse activations clip", MakeCase(OpType.Gru, 1, 0, 90, activations: GruAlternative, alpha: [0.25f, 0.9f], beta: [0.45f, 1.3f], clip: 1.1f));
        yield return Case("rnn forward", MakeCase(OpType.Rnn, 0, 0, 100, steps: 9, hidden: 3));
        yield return Case("rnn bidirectional relu elu", MakeCase(OpType.Rnn, 2, 1, 110, activations: [A.Relu, A.Elu], alpha: [0f, 0.7f]));
        yield return Case("rnn reverse softplus", MakeCase(OpType.Rnn, 1, 0, 120, activations: [A.Softplus]));
        yield return Case("rnn affine", MakeCase(OpType.Rnn, 0, 1, 130, activations: [A.Affine], alpha: [0.4f], beta: [-0.2f], steps: 3));
        yield return Case("rnn thresholded relu", MakeCase(OpType.Rnn, 0, 0, 140, activations: [A.ThresholdedRelu], alpha: [0.1f]));
    }

    [TestCaseSource(nameof(FloatCases))]
    public void Float32(RecurrentCase c)
    {
        var (y, yh, yc) = RecurrentOracle.Run(c);
        using var session = BuildFloat(c).CreateSession();
        SetInputs(session, c);
        session.Invoke();
        AssertClose(session, 0, y, 1e-5);
        AssertClose(session, 1, yh, 1e-5);
        if (c.Op == OpType.Lstm) AssertClose(session, 2, yc, 1e-5);
    }

    private static void AssertClose(Session session, int output, double[] expected, double tolerance)
    {
        var actual = new float[expected.Length];
        session.GetOutput(output, actual);
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance + 1e-5 * Math.Abs(expected[i])), $"output {output} element {i}");
    }

    [Test]
    public void DeterministicMath_MatchesLibm()
    {
        for (float x = -30f; x <= 30f; x += 0.0137f)
        {
            Assert.That(RecurrentMath.Exp(x), Is.EqualTo(Math.Exp(x)).Within(3e-7 * Math.Exp(x)), $"exp({x})");
            Assert.That(RecurrentMath.Tanh(x), Is.EqualTo(Math.Tanh(x)).Within(2e-7 + 2e-7 * Math.Abs(Math.Tanh(x))), $"tanh({x})");
            Assert.That(RecurrentMath.Sigmoid(x), Is.EqualTo(1 / (1 + Math.Exp(-x))).Within(1e-7 + 3e-7 / (1 + Math.Exp(-x))), $"sigmoid({x})");
            double y = Math.Exp(x / 3);
            Assert.That(RecurrentMath.Log((float)y), Is.EqualTo(Math.Log((float)y)).Within(3e-7 * Math.Max(1, Math.Abs(Math.Log(y)))), $"log({y})");
        }
        Assert.That(RecurrentMath.Exp(-100f), Is.EqualTo(0f));
        Assert.That(float.IsFinite(RecurrentMath.Exp(1000f)));
        Assert.That(RecurrentMath.Tanh(50f), Is.EqualTo(1f));
        Assert.That(RecurrentMath.Sigmoid(-1000f), Is.EqualTo(0f).Within(1e-30));
        Assert.That(float.IsNaN(RecurrentMath.Tanh(float.NaN)));
    }

    [Test]
    public void SequenceLensInput_IsRejected()
    {
        var c = MakeCase(OpType.Gru, 0, 0, 1);
        var g = new TestGraph();
        int x = g.Input("X", DataType.Float32, c.XShape);
        int w = g.Constant("W", DataType.Float32, [1, 3 * c.Hidden, c.InputSize], c.W);
        int r = g.Constant("R", DataType.Float32, [1, 3 * c.Hidden, c.Hidden], c.R);
        int lens = g.Constant("lens", DataType.Float32, [c.Batch], new float[c.Batch]);
        g.Op(OpType.Gru, [x, w, r, -1, lens], [g.Output("Y", DataType.Float32, c.YShape), g.Output("Y_h", DataType.Float32, c.StateShape)]);
        var e = Assert.Throws<EdgeNets.Runtime.Format.ModelFormatException>(() => g.Build());
        Assert.That(e!.Message, Does.Contain("sequence_lens"));
    }
}
