using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Ops;

/// <summary>Conv (1-D and 2-D, grouped, depthwise): weights [M, C/group, kernel...], optional bias [M].</summary>
internal sealed class ConvSchema() : OperatorSchema(OpType.Conv)
{
    public override QuantizationRule Quantization => QuantizationRule.Weighted;
    public override bool FusesActivation => true;
    public override int OutputTimeAxis(TimeAxes t) => TimeWindows.OverTime(t, kernelFromWeights: true, leadingPadding: true);
}

/// <summary>ConvTranspose (1-D and 2-D, grouped): weights [M, C/group, kernel...] as Conv's, so it is quantized the same way.</summary>
internal sealed class ConvTransposeSchema() : OperatorSchema(OpType.ConvTranspose)
{
    public override QuantizationRule Quantization => QuantizationRule.Weighted;
    public override bool FusesActivation => true;
}

/// <summary>
/// The streaming rule of operators with a window over a spatial axis (Conv, MaxPool, AveragePool): time on the batch
/// axis keeps each step its own sample; time on a spatial axis keeps the window of the last steps (StreamWindow).
/// </summary>
internal static class TimeWindows
{
    public static int OverTime(TimeAxes t, bool kernelFromWeights, bool leadingPadding)
    {
        int x = t.X;
        if (x == 0) return 0; // time is the batch axis: each step is its own sample
        if (x < 2) throw WholeAxis(t);
        t.Window = Window(t, kernelFromWeights, leadingPadding);
        t.RequireUntimedFrom(1);
        return x;
    }

    public static Exception WholeAxis(TimeAxes t) =>
        t.Fail($"{t.Op} works across the whole time axis: run this model per window instead of streaming");

    /// <summary>
    /// The window the operator reads along time axis x (a spatial axis). Streamable when every output of the
    /// whole-sequence run is a full window of steps up to some step: padding only at the start (Conv: the padding
    /// value is what a new window holds), none for pools.
    /// </summary>
    private static TimeWindow Window(TimeAxes t, bool kernelFromWeights, bool leadingPadding)
    {
        var op = t.Op;
        int x = t.X, length = t.Length, outputLength = t.OutputShape[x];
        var inShape = t.InputTensor(0).Shape;
        int spatial = inShape.Length - 2, k = x - 2;
        int kernel = kernelFromWeights && op.Attributes.GetInts(AttributeKey.KernelShape) is null
            ? t.InputTensor(1).Shape[x]
            : op.Attributes.GetInts(AttributeKey.KernelShape) is { } ks && ks.Length == spatial ? ks[k] : throw t.Fail($"{op} has no kernel shape");
        int At(AttributeKey key, int index, int fallback) =>
            op.Attributes.GetInts(key) is { } v && index < v.Length ? v[index] : fallback;
        int dilation = At(AttributeKey.Dilations, k, 1), stride = At(AttributeKey.Strides, k, 1);
        int padBegin = At(AttributeKey.Pads, k, 0), padEnd = At(AttributeKey.Pads, spatial + k, 0);
        int span = dilation * (kernel - 1) + 1;
        if (padEnd != 0)
            throw t.Fail($"{op} pads the end of the time axis ({padEnd} step(s)): its last outputs read steps after the end of the window; " +
                         "pad only at the start (causal) to stream it, or run this model per window");
        if (padBegin != 0 && !leadingPadding)
            throw t.Fail($"{op} pads the start of the time axis: only convolutions can be streamed with leading padding; run this model per window");
        if (padBegin >= span) throw t.Fail($"{op} pads {padBegin} steps before a window of {span}");
        int expected = length + padBegin < span ? 0 : (length + padBegin - span) / stride + 1;
        if (outputLength != expected)
            throw t.Fail($"{op} gives {outputLength} steps from {length} where full windows give {expected} (ceil mode?); run this model per window");
        return new TimeWindow(x, span, stride, padBegin);
    }
}
