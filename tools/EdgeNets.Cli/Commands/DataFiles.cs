using EdgeNets.Cli.Terminal;
using EdgeNets.Runtime.Graph;
using EdgeNets.Runtime.IO;

namespace EdgeNets.Cli.Commands;

/// <summary>Reading sample stacks from .npy files and checking them against a model input.</summary>
internal static class DataFiles
{
    /// <summary>
    /// Splits a .npy into per-sample float arrays for <paramref name="input"/>: the file holds N samples stacked on the
    /// first axis (shape [N, ...sample shape]); a file holding exactly one sample without the stacking axis is accepted too.
    /// </summary>
    public static List<float[]> SplitSamples(string path, TensorInfo input, string role)
    {
        var array = Read(path);
        int n = CheckSamples(path, array.Type, array.Shape, input, role);
        int sampleSize = input.ElementCount;
        var all = array.ToFloat32();
        var samples = new List<float[]>(n);
        for (int i = 0; i < n; i++) samples.Add(all.AsSpan(i * sampleSize, sampleSize).ToArray());
        return samples;
    }

    /// <summary>
    /// The samples of a .npy for <paramref name="input"/> (stacked as <see cref="SplitSamples"/> takes them), read one at
    /// a time from the file: for calibration sets too large to hold in memory.
    /// </summary>
    public static NpySampleReader OpenSamples(string path, TensorInfo input, string role)
    {
        if (!File.Exists(path)) throw new CliException($"{path}: file not found");
        var header = NpyFile.ReadHeader(path);
        int n = CheckSamples(path, header.Type, header.Shape, input, role);
        return new NpySampleReader(path, header, n, input.ElementCount);
    }

    /// <summary>The number of samples of <paramref name="input"/> an array of this type and shape holds; a clear error when it holds none.</summary>
    private static int CheckSamples(string path, NpyType type, int[] shape, TensorInfo input, string role)
    {
        int[] sample = input.Shape.Length > 0 && input.Shape[0] == 1 ? input.Shape[1..] : input.Shape;
        int n;
        if (shape.Length == sample.Length + 1 && shape.AsSpan(1).SequenceEqual(sample)) n = shape[0];
        else if (shape.Length == input.Shape.Length + 1 && shape.AsSpan(1).SequenceEqual(input.Shape)) n = shape[0];
        else if (shape.AsSpan().SequenceEqual(input.Shape)) n = 1;
        else
            throw new CliException($"{path}: {role} data has shape ({string.Join(", ", shape)}), " +
                                   $"expected (N, {string.Join(", ", sample)}) for input '{input.Name}' [{string.Join('x', input.Shape)}]");
        if (n == 0) throw new CliException($"{path}: {role} data holds no samples");
        if (type is not (NpyType.Float32 or NpyType.Float64 or NpyType.UInt8 or NpyType.Int8))
            throw new CliException($"{path}: {role} data must be float32 (or uint8/int8 pixels), found {type}");
        return n;
    }

    /// <summary>Creates the folder an output file goes to, as `convert -o` does.</summary>
    public static void CreateFolderFor(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
    }

    public static NpyArray Read(string path)
    {
        if (!File.Exists(path)) throw new CliException($"{path}: file not found");
        return NpyFile.Read(path);
    }
}
