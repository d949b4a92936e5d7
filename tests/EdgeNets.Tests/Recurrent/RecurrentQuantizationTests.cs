using EdgeNets.Converter.Quantization;
using EdgeNets.Runtime.Graph;
using EdgeNets.Tests.Quantization;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Recurrent;

/// <summary>The quantizer on a recurrent layer whose initial state is a second graph input and whose Y, Y_h, Y_c are all outputs.</summary>
[TestFixture]
public class RecurrentQuantizationTests
{
    [Test]
    public void BidirectionalLstm_RunTimeInitialState_AllOutputs_CloseToFloat()
    {
        var c = RecurrentKernelTests.MakeCase(OpType.Lstm, 2, 0, 500, steps: 9, batch: 2, inputSize: 6, hidden: 7, peepholes: true);
        var floatGraph = RecurrentKernelTests.BuildFloat(c).Graph; // inputs X, initial_h; outputs Y, Y_h, Y_c

        var samples = Enumerable.Range(0, 40).Select(i => new[]
        {
            TestData.Floats(600 + i, c.X.Length, -2f, 2f),
            TestData.Floats(700 + i, c.InitialH!.Length, -0.8f, 0.8f),
        }).ToList();
        var stats = Calibrator.Calibrate(floatGraph, samples);
        var int8Graph = Quantizer.Quantize(floatGraph, stats);
        var lstm = int8Graph.Ops.Single();
        Assert.That(lstm.Type, Is.EqualTo(OpType.Lstm));
        Assert.That(int8Graph.Tensors[lstm.Inputs[5]].Type, Is.EqualTo(DataType.Int8), "the run-time initial_h is an int8 graph input");
        Assert.That(int8Graph.Tensors[lstm.Inputs[3]].Type, Is.EqualTo(DataType.Float32), "B stays float");
        Assert.That(int8Graph.Tensors[lstm.Inputs[1]].Shape, Is.EqualTo(new[] { 2 * 4 * 7, 6 }), "W as [directions*gates*hidden, input]");

        var floatModel = QuantTestKit.Load(floatGraph);
        var int8Model = QuantTestKit.Load(int8Graph);
        using var fs = floatModel.CreateSession();
        using var qs = int8Model.CreateSession();
        var hq = int8Model.Outputs[0].Quantization!;
        var cq = int8Model.Outputs[2].Quantization!;
        for (int i = 0; i < 8; i++)
        {
            var x = TestData.Floats(800 + i, c.X.Length, -2f, 2f);
            var h0 = TestData.Floats(900 + i, c.InitialH!.Length, -0.8f, 0.8f);
            foreach (var s in new[] { fs, qs }) { s.SetInput(0, x); s.SetInput(1, h0); s.Invoke(); }
            for (int o = 0; o < 3; o++)
            {
                var f = new float[floatModel.Outputs[o].ElementCount];
                var q = new float[f.Length];
                fs.GetOutput(o, f);
                qs.GetOutput(o, q);
                // Input, weight and hidden-state rounding over 9 steps: a few hidden steps at most.
                double step = o == 2 ? cq.Scale : hq.Scale;
                double worst = f.Zip(q, (a, b) => Math.Abs(a - b)).Max();
                Assert.That(worst, Is.LessThanOrEqualTo(4 * step), $"sample {i} output {o}: worst error {worst / step:F2} steps");
            }
        }
    }
}
