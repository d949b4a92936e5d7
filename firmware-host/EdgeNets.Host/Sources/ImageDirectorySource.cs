using StbImageSharp;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>images:DIR?list=FILES.txt&amp;labels=dir&amp;loop=true&amp;rate=5</c>: replays JPEG/PNG/BMP photos as RGB frames.
/// Without <c>list</c> every image under DIR is used in ordinal path order; <c>list</c> names the files (paths relative to
/// DIR, one per line). <c>labels=dir</c> takes each image's true class from the first folder of its relative path
/// (e.g. <c>3/IMG_1.JPG</c> is class 3), so the host can report accuracy on a labelled folder tree.
/// Decoding allocates the pixel array of each photo: replaying photos is for evaluation, not the zero-allocation path.
/// </summary>
public sealed class ImageDirectorySource : ISource
{
    private static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".bmp"];
    private readonly string _root;
    private readonly string[] _files;
    private readonly int[] _labels;
    private readonly bool _loop;
    private readonly Pacer _pacer;
    private int _next;

    public ImageDirectorySource(SourceUri uri)
    {
        uri.RejectUnknownKeys("list", "labels", "loop", "rate");
        Name = uri.Text;
        _root = uri.Path;
        if (!Directory.Exists(_root)) throw new DirectoryNotFoundException($"images: directory '{_root}' does not exist");
        string? list = uri.GetString("list");
        if (list != null)
        {
            _files = File.ReadAllLines(list).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        }
        else
        {
            _files = Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories)
                .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Select(f => Path.GetRelativePath(_root, f))
                .OrderBy(f => f, StringComparer.Ordinal)
                .ToArray();
        }
        if (_files.Length == 0) throw new InvalidDataException($"images: no images in '{_root}'");
        _labels = new int[_files.Length];
        string? labels = uri.GetString("labels");
        if (labels != null && labels != "dir") throw new SourceUriException($"source '{uri.Text}': labels={labels} (only labels=dir is supported)");
        for (int i = 0; i < _files.Length; i++) _labels[i] = labels == null ? -1 : LabelFromFolder(_files[i]);
        _loop = uri.GetBool("loop", false);
        _pacer = new Pacer(uri.GetDouble("rate", 0, 0, 1e6));
    }

    public string Name { get; }
    public long DroppedFrames => 0;
    public IReadOnlyList<string> Files => _files;

    private static int LabelFromFolder(string relativePath)
    {
        string first = relativePath.Split('/', '\\')[0];
        if (relativePath.IndexOfAny(['/', '\\']) < 0 || !int.TryParse(first, out int label) || label < 0)
            throw new InvalidDataException($"images: labels=dir needs CLASS/FILE paths with a numeric class folder, got '{relativePath}'");
        return label;
    }

    public ReadStatus Read(out Frame frame)
    {
        if (_next == _files.Length)
        {
            if (!_loop) { frame = default; return ReadStatus.EndOfStream; }
            _next = 0;
        }
        _pacer.Wait();
        int index = _next++;
        string path = Path.Combine(_root, _files[index]);
        ImageResult image;
        try
        {
            image = ImageResult.FromMemory(File.ReadAllBytes(path), ColorComponents.RedGreenBlue);
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new InvalidDataException($"images: cannot decode '{path}': {e.Message}", e);
        }
        frame = new Frame(FrameFormat.Rgb24, image.Width, image.Height, image.Data, _labels[index]);
        return ReadStatus.Frame;
    }

    public void Dispose() { }
}
