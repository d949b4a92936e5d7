using EdgeNets.Runtime.Graph;

namespace EdgeNets.Runtime.Kernels.Selection;

/// <summary>
/// LSTM, GRU, RNN: the products' instruction set decides (tools/benchmarks/README.md, "Recurrent"): AVX-512's 16-row
/// blocks and staged GRU step measured ahead of AVX-VNNI's 4-product lanes, which are ahead of AVX2's pairs.
/// </summary>
public static class RecurrentSelection
{
    public static SelectionPolicy[] Policies { get; } = [.. Int8(OpType.Lstm), .. Int8(OpType.Gru), .. Int8(OpType.Rnn)];

    private static SelectionPolicy[] Int8(OpType op)
    {
        var quantized = new List<Candidate>();
        var real = new List<Candidate>();
        if (op != OpType.Rnn)
        {
            quantized.Add(new Candidate($"{op}Int8_Avx512", "16-row blocks of 512-bit multiply-adds"));
            real.Add(new Candidate($"{op}Float32_Avx512", "512-bit products and gate math"));
        }
        quantized.Add(new Candidate($"{op}Int8_AvxVnni", "vpdpbusd products"));
        quantized.Add(new Candidate($"{op}Int8_AdvSimdDot", "SDOT products"));
        quantized.Add(new Candidate($"{op}Int8_Avx2", "int16 pairs on 256 bits"));
        quantized.Add(new Candidate($"{op}Int8_AdvSimd", "arm64 without SDOT: SMULL/SMLAL2 + SADALP row products, 8 products per multiply"));
        quantized.Add(new Candidate($"{op}Int8_Vector128", "int16 pairs on 128 bits"));
        real.Add(new Candidate($"{op}Float32_Avx2", "256-bit products"));
        real.Add(new Candidate($"{op}Float32_Vector128", "128-bit products"));
        return [new(op, DataType.Int8, [.. quantized]), new(op, DataType.Float32, [.. real])];
    }
}
