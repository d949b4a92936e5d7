using EdgeNets.Converter;
using EdgeNets.Converter.Import;
using EdgeNets.Runtime;
using EdgeNets.Runtime.IO;

namespace EdgeNets.Tests.Support;

/// <summary>The PyTorch-exported operator models of tests/data/onnx, each with its sample input MODEL.input.npy.</summary>
internal static class OperatorModels
{
    public static string Directory => Path.Combine(RepoPaths.TestData, "onnx");

    /// <summary>File names matching <paramref name="pattern"/>, in a fixed order.</summary>
    public static IEnumerable<string> Files(string pattern) =>
        System.IO.Directory.GetFiles(Directory, pattern).OrderBy(p => p, StringComparer.Ordinal).Select(Path.GetFileName)!;

    /// <summary>The model converted to int8, calibrated on its own sample input, with that input.</summary>
    public static (Model Int8, NpyArray Input, string Path) ConvertInt8(string fileName)
    {
        string path = Path.Combine(Directory, fileName);
        var input = NpyFile.Read(Path.ChangeExtension(path, ".input.npy"));
        var graph = OnnxImporter.Import(path, new ImportOptions { BatchSize = input.Shape[0] });
        var model = Model.Load(ModelConverter.Convert(graph, new ConvertOptions { Precision = Precision.Int8, CalibrationSamples = [input.ToFloat32()] }));
        return (model, input, path);
    }
}
