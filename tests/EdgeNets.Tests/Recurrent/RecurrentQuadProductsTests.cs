using EdgeNets.Runtime.Kernels.Optimized;
using NUnit.Framework;

namespace EdgeNets.Tests.Recurrent;

/// <summary>
/// The A72 recurrent row products' weight layout (<see cref="RecurrentQuadProducts.Pack"/>): the NEON kernel's lane
/// arithmetic replayed in scalar code on the packed bytes (a quad's TBL expansion, SMULL2 + SMLAL into int16 lanes,
/// SADALP of lane pairs) must give every row's Σ (x - zx)·w computed directly from the unpacked weights. The kernel
/// itself runs against the reference in the self-test under qemu (cortex-a72).
/// </summary>
[TestFixture]
public class RecurrentQuadProductsTests
{
    [TestCase(1, 8, 5, 3)]     // one direction, 5 rows padded to 8, 3 columns in one chunk
    [TestCase(2, 24, 20, 33)]  // two directions, 20 rows padded to 24, 33 columns (three chunks)
    [TestCase(1, 64, 64, 64)]  // one whole 64-row pass
    public void PackedLanesGiveTheRowSums(int directions, int paddedRows, int rows, int columns)
    {
        var rng = new Random(paddedRows * 131 + columns);
        int chunks = (columns + 15) / 16, zero = rng.Next(-128, 128);
        var weights = new sbyte[directions * rows * columns];
        for (int i = 0; i < weights.Length; i++) weights[i] = (sbyte)rng.Next(-127, 128);
        // Rows spread over the padded rows with gaps, as the gate padding leaves them.
        var paddedRow = Enumerable.Range(0, rows).Select(r => r * paddedRows / rows).ToArray();
        var x = new sbyte[16 * chunks + 16];
        for (int k = 0; k < columns; k++) x[k] = (sbyte)rng.Next(-128, 128);

        var (packed, start) = RecurrentQuadProducts.Pack(weights, directions, rows, paddedRows, paddedRow, columns, chunks, zero);

        int groups = paddedRows / 4;
        for (int d = 0; d < directions; d++)
        {
            var expected = new int[paddedRows];
            for (int row = 0; row < rows; row++)
                for (int k = 0; k < columns; k++) expected[paddedRow[row]] += (x[k] - zero) * weights[(d * rows + row) * columns + k];
            var sums = new int[paddedRows];
            for (int row = 0; row < paddedRows; row++) sums[row] = start[d * paddedRows + row];
            for (int chunk = 0; chunk < chunks; chunk++)
                for (int quad = 0; quad < 4; quad++)
                {
                    // TBL: x0 x1 four times, then x2 x3 four times.
                    var xq = new int[16];
                    for (int j = 0; j < 16; j++) xq[j] = x[16 * chunk + 4 * quad + j / 8 * 2 + j % 2];
                    for (int group = 0; group < groups; group++)
                    {
                        int at = (((d * chunks + chunk) * 4 + quad) * groups + group) * 16;
                        for (int lane = 0; lane < 4; lane++)
                        {
                            // int16 lanes 2·lane and 2·lane + 1, each the upper-half product plus the lower-half one.
                            int pair = 0;
                            for (int half = 0; half < 2; half++)
                            {
                                int i = 2 * lane + half;
                                pair += (short)(packed[at + 8 + i] * xq[8 + i] + packed[at + i] * xq[i]);
                            }
                            sums[4 * group + lane] += pair;
                        }
                    }
                }
            Assert.That(sums, Is.EqualTo(expected), $"direction {d}");
        }
    }
}
