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
        int[] sample = input.Shape.Length > 0 && input.Shape[0] == 1 ? input.Shape[1..] : input.Shape;
        int sampleSize = input.ElementCount;
        int n;
        if (array.Shape.Length == sample.Length + 1 && array.Shape.AsSpan(1).SequenceEqual(sample)) n = array.Shape[0];
        else if (array.Shape.Length == input.Shape.Length + 1 && array.Shape.AsSpan(1).SequenceEqual(input.Shape)) n = array.Shape[0];
        else if (array.Shape.AsSpan().SequenceEqual(input.Shape)) n = 1;
        else
            throw new CliException($"{path}: {role} data has shape ({string.Join(", ", array.Shape)}), " +
                                   $"expected (N, {string.Join(", ", sample)}) for input '{input.Name}' [{string.Join('x', input.Shape)}]");
        if (n == 0) throw new CliException($"{path}: {role} data holds no samples");
        if (array.Type is not (NpyType.Float32 or NpyType.Float64 or NpyType.UInt8 or NpyType.Int8))
            throw new CliException($"{path}: {role} data must be float32 (or uint8/int8 pixels), found {array.Type}");
        var all = array.ToFloat32();
        var samples = new List<float[]>(n);
        for (int i = 0; i < n; i++) samples.Add(all.AsSpan(i * sampleSize, sampleSize).ToArray());
        return samples;
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
