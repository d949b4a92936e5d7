using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Runtime.Kernels.Optimized;
using EdgeNets.Runtime.Kernels.Reference;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>
/// int8 Add and Mul on short broadcast rows with one operand fixed per row (squeeze-excite's gate on a 3x3 or 6x6 map)
/// are taken by a vector variant, which walks them as blocks of rows; the variant tests hold its bytes to the reference.
/// </summary>
[TestFixture]
public class BinaryInt8SelectionTests
{
    [TestCase(OpType.Mul)]
    [TestCase(OpType.Add)]
    public void ShortRowsWithAPerRowOperand_TakeAVectorVariant(OpType op)
    {
        if (!Isa.Vector128.IsSupported()) Assert.Ignore("no 128-bit vectors on this CPU");
        var cases = KernelCases.For(op, DataType.Int8).Where(c =>
        {
            var g = c.Graph;
            var plan = BroadcastPlan.Create(g.Tensors[c.Op.Inputs[0]].Shape, g.Tensors[c.Op.Inputs[1]].Shape, g.Tensors[c.Op.Outputs[0]].Shape)!;
            return plan.InnerCount < 16 && ElementwiseDriver.ExpandsShortRows(plan, g.Tensors[c.Op.Inputs[0]].ElementCount,
                g.Tensors[c.Op.Inputs[1]].ElementCount, g.Tensors[c.Op.Outputs[0]].ElementCount);
        }).ToList();
        Assert.That(cases, Is.Not.Empty);
        foreach (var c in cases)
            Assert.That(KernelRegistry.Select(c.Op, c.Graph).Name, Does.Not.EndWith("_Reference"), c.Description);
    }
}
