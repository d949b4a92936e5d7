using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Ops;
using NUnit.Framework;

namespace EdgeNets.Tests.Graph;

/// <summary>The schema table against the operator enum and the kernel registry.</summary>
[TestFixture]
public class OperatorSchemaTests
{
    [Test]
    public void EveryOperatorHasExactlyOneSchema()
    {
        var listed = OperatorSchemas.All.Select(s => s.Type).ToList();
        Assert.That(listed, Is.Unique);
        Assert.That(listed, Is.EquivalentTo(Enum.GetValues<OpType>()));
    }

    /// <summary>What a float model may hold (a float32 reference kernel) the quantizer can give an int8 form.</summary>
    [Test]
    public void EveryFloatOperatorHasAQuantizationRule()
    {
        var floatOps = KernelRegistry.All.Where(e => e.IsReference && e.Type == DataType.Float32).Select(e => e.Op)
            .Where(op => !op.IsNeverInFile() && op != OpType.Dequantize).Distinct(); // placed by the quantizer itself, never in a float graph
        foreach (var op in floatOps)
            Assert.That(OperatorSchemas.For(op).Quantization, Is.Not.EqualTo(QuantizationRule.None), op.ToString());
    }

}
