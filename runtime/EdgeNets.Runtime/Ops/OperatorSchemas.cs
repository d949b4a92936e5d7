using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Ops;

/// <summary>The one table of operator schemas, keyed by <see cref="OpType"/>.</summary>
internal static class OperatorSchemas
{
    private static readonly Dictionary<OpType, OperatorSchema> ByType = Build();

    private static Dictionary<OpType, OperatorSchema> Build()
    {
        OperatorSchema[] all =
        [
            new ConvSchema(), new ConvTransposeSchema(),
            new WindowPoolSchema(OpType.MaxPool), new WindowPoolSchema(OpType.AveragePool),
            new GlobalPoolSchema(OpType.GlobalAveragePool), new GlobalPoolSchema(OpType.GlobalMaxPool),
            new GemmSchema(), new MatMulSchema(),
            new BinarySchema(OpType.Add), new BinarySchema(OpType.Mul), new ConcatSchema(),
            new ReshapeSchema(), new TransposeSchema(), new PadSchema(), new SliceSchema(), new UpsampleSchema(),
            .. ActivationSchema.All, new LookupTableSchema(), new PReluSchema(),
            new SoftmaxSchema(), new LayerNormSchema(),
            new ConversionSchema(OpType.Quantize), new ConversionSchema(OpType.Dequantize),
            new ConversionSchema(OpType.Requantize),
            new RecurrentSchema(OpType.Lstm, gates: 4, activations: 3), new RecurrentSchema(OpType.Gru, gates: 3, activations: 2),
            new RecurrentSchema(OpType.Rnn, gates: 1, activations: 1),
            new InternalSchema(OpType.StreamWindow), new InternalSchema(OpType.BatchNormalization),
        ];
        return all.ToDictionary(s => s.Type);
    }

    /// <summary>Every operator's schema (a test holds it to <see cref="OpType"/>: one each).</summary>
    public static IReadOnlyCollection<OperatorSchema> All => ByType.Values;

    /// <summary>The schema of <paramref name="type"/>; a value no operator has (a corrupt file) gets one without rules.</summary>
    public static OperatorSchema For(OpType type) => ByType.TryGetValue(type, out var s) ? s : new UnknownSchema(type);

    private sealed class UnknownSchema(OpType type) : OperatorSchema(type);
}

/// <summary>An operator that never stands in a model file (built by the runtime, or removed by the converter).</summary>
internal sealed class InternalSchema(OpType type) : OperatorSchema(type)
{
    public override bool NeverInFile => true;
}
