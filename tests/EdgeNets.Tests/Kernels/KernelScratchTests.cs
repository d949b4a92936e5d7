using EdgeNets.Runtime;
using EdgeNets.Runtime.Format;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.Kernels;
using EdgeNets.Tests.Support;
using NUnit.Framework;

namespace EdgeNets.Tests.Kernels;

/// <summary>
/// The memory kernels allocate when a session is created: bounded from the shapes before anything is allocated, so a
/// file with a small arena cannot make session creation take gigabytes; and every kernel variant stays within the bound.
/// </summary>
public class KernelScratchTests
{
    /// <summary>
    /// A float Conv whose 128x128 kernel slides over a 136x136 image ("same" padding): 64 KiB of weights and a 144 KiB
    /// arena, but an im2col matrix of 16384 taps x 18496 pixels (1.2 GB of float32) in the GEMM variant.
    /// </summary>
    private static byte[] HugeWindowConvFile()
    {
        var g = new TestGraph();
        int x = g.Input("image", DataType.Float32, [1, 1, 136, 136]);
        int w = g.Constant("w", DataType.Float32, [1, 1, 128, 128], TestData.Floats(3, 128 * 128));
        int y = g.Output("y", DataType.Float32, [1, 1, 136, 136]);
        g.Op(OpType.Conv, [x, w], [y], new OpAttributes().Set(AttributeKey.KernelShape, 128, 128).Set(AttributeKey.Pads, 63, 63, 64, 64), "huge_window");
        g.Graph.PlaceUnshared();
        return EnetWriter.Write(g.Graph);
    }

    [Test]
    public void ASmallArenaWithHugeKernelScratchIsRefusedNamingTheNodeBeforeAllocating()
    {
        var file = HugeWindowConvFile();
        Assert.That(EnetReader.Read(file).ArenaBytes, Is.LessThan(1 << 20));
        long before = GC.GetAllocatedBytesForCurrentThread();
        // Loading prepares every kernel once, so the load is what must refuse.
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(file));
        Assert.That(e!.Message, Does.Contain("Conv 'huge_window'").And.Contain("scratch").And.Contain(EnetFormat.MaxScratchBytes.ToString()));
        // Refused before the kernel allocated its buffers (the file copy and the arena are all).
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(16 << 20));
    }

    [Test]
    public void ExampleModelsDeclareTheirScratchAndRun()
    {
        foreach (var dir in Directory.GetDirectories(RepoPaths.Models))
        {
            string path = Path.Combine(dir, "model.enet");
            if (!File.Exists(path)) continue;
            var model = Model.Load(path);
            using var session = model.CreateSession();
            Assert.That(session.ScratchBytes, Is.GreaterThan(0).And.LessThanOrEqualTo(EnetFormat.MaxScratchBytes), path);
        }
    }

    /// <summary>
    /// Every registered kernel variant this CPU runs, on every verification case it accepts, with workers (four parts):
    /// the bytes its preparation allocated are within its operator's declared bound, even without its fixed allowance.
    /// </summary>
    [Test]
    public void EveryKernelVariantAllocatesWithinItsOperatorsDeclaredScratch()
    {
        using var workers = new WorkerPool(3);
        int checkedCases = 0;
        var failures = new List<string>();
        foreach (var entry in KernelRegistry.All)
        {
            if (!entry.IsSupported() || !KernelCases.Covers(entry.Op, entry.Type)) continue;
            foreach (var c in KernelCases.For(entry.Op, entry.Type))
            {
                var setup = new KernelSetup(c.Graph, c.Op);
                if (!entry.IsExact(setup)) continue;
                long declared = KernelScratch.Bytes(setup);
                long allocated = Allocated(() => entry.Create(setup).UseWorkers(workers));
                checkedCases++;
                if (allocated > ShapeDependent(declared)) failures.Add($"{entry.Name} on {c}: allocated {allocated} bytes, declared {declared}");
            }
        }
        foreach (var fused in ConvPoolFusion.All)
        {
            if (!fused.IsSupported()) continue;
            foreach (var c in KernelCases.ConvPoolPairs())
            {
                var conv = new KernelSetup(c.Graph, c.Graph.Ops[0]);
                var pool = new KernelSetup(c.Graph, c.Graph.Ops[1]);
                if (!fused.IsExact(conv)) continue;
                long declared = KernelScratch.Bytes(conv) + KernelScratch.Bytes(pool);
                long allocated = Allocated(() => fused.Create(conv, pool).UseWorkers(workers));
                checkedCases++;
                if (allocated > ShapeDependent(declared)) failures.Add($"{fused.Name} on {c}: allocated {allocated} bytes, declared {declared}");
            }
        }
        Assert.That(checkedCases, Is.GreaterThan(100));
        Assert.That(failures, Is.Empty);
    }

    /// <summary>
    /// The bound less its fixed per-kernel allowance, plus a few KiB for objects and fixed-size tables: the verification
    /// cases are small, so only this shows that the shape-dependent terms cover the buffers that grow with the shapes.
    /// </summary>
    private static long ShapeDependent(long declared) => declared - KernelScratch.PerKernelBytes + (8 << 10);

    private static long Allocated(Action prepare)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        prepare();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
