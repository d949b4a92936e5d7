using System.Buffers.Binary;
using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Format;

/// <summary>
/// Corruption of a real int8 model (convolutions, pools, Gemm) with the checksum recomputed, so every mutation reaches
/// the structural and per-kernel validation: the loader must reject it with a ModelFormatException or the model must
/// run; no other exception, and never an out-of-range access at run time.
/// </summary>
public class HostileModelTests
{
    [Test]
    public void CorruptedGraphSectionsOfTheGestureModelAreRejectedCleanly()
    {
        byte[] original = File.ReadAllBytes(Path.Combine(RepoPaths.GestureModel, "model.enet"));
        long graphOffset = BinaryPrimitives.ReadInt64LittleEndian(original.AsSpan(EnetFormat.GraphOffsetOffset));
        long graphLength = BinaryPrimitives.ReadInt64LittleEndian(original.AsSpan(EnetFormat.GraphLengthOffset));
        var rng = new Random(7);
        var input = new float[3 * 32 * 32];
        var output = new float[10];
        int rejected = 0, loaded = 0;
        for (int iteration = 0; iteration < 1500; iteration++)
        {
            var bytes = (byte[])original.Clone();
            int flips = 1 + rng.Next(3);
            for (int f = 0; f < flips; f++)
            {
                int pos = (int)graphOffset + rng.Next((int)graphLength);
                bytes[pos] = rng.Next(4) switch
                {
                    0 => (byte)rng.Next(256),
                    1 => (byte)(bytes[pos] ^ (1 << rng.Next(8))),
                    2 => 0xFF,
                    _ => 0,
                };
            }
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(EnetFormat.ChecksumOffset), EnetFormat.ComputeChecksum(bytes));
            Model model;
            try { model = Model.Load(bytes); }
            catch (ModelFormatException) { rejected++; continue; }
            loaded++;
            using var session = model.CreateSession();
            var inTensor = model.Graph.Tensors[model.Graph.Inputs[0]];
            var outTensor = model.Graph.Tensors[model.Graph.Outputs[0]];
            if (inTensor.ElementCount != input.Length || outTensor.ElementCount != output.Length) continue;
            session.Run(input, output);
        }
        TestContext.Out.WriteLine($"{rejected} rejected, {loaded} loaded and ran");
        Assert.That(rejected, Is.GreaterThan(100));
    }
}
