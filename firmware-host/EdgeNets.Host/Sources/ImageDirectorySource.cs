using System.Runtime.InteropServices;
using StbImageSharp;

namespace EdgeNets.Host.Sources;

/// <summary>
/// <c>images:DIR?list=FILES.txt&amp;labels=dir&amp;loop=true&amp;rate=5</c>: replays JPEG/PNG/BMP photos as RGB frames.
/// Without <c>list</c> every image under DIR is used in ordinal path order; <c>list</c> names the files (paths relative to
/// DIR, one per line). <c>labels=dir</c> takes each image's true class from the first folder of its relative path
/// (e.g. <c>3/IMG_1.JPG</c> is class 3), so the host can report accuracy on a labelled folder tree.
/// The file bytes and decoded pixels go into buffers reused from photo to photo (grown to the largest photo); what
/// decoding still allocates per photo is the decoder's own working tables (about 20 KB for a JPEG, whatever its size),
/// short-lived garbage that does not grow with the run. Photo replay is for evaluation; cameras and video are the
/// zero-allocation paths.
/// </summary>
public sealed unsafe class ImageDirectorySource : ISource
{
    private static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".bmp"];
    private readonly string _root;
    private readonly string[] _files;
    private readonly int[] _labels;
    private readonly string[] _paths;
    private readonly bool _loop;
    private readonly Pacer _pacer;
    private byte[] _file = new byte[64 * 1024];
    private MemoryStream _fileStream;
    private byte[] _pixels = [];
    private int _next;

    public ImageDirectorySource(SourceUri uri, CancellationToken cancel = default)
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
        _paths = _files.Select(f => Path.Combine(_root, f)).ToArray();
        _fileStream = new MemoryStream(_file);
        _loop = uri.GetBool("loop", false);
        _pacer = new Pacer(uri.GetDouble("rate", 0, 0, 1e6), cancel);
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
        string path = _paths[index];
        int width, height;
        try
        {
            int length = ReadFile(path);
            (width, height) = Decode(length);
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new InvalidDataException($"images: cannot decode '{path}': {e.Message}", e);
        }
        frame = new Frame(FrameFormat.Rgb24, width, height, _pixels.AsSpan(0, width * height * 3), _labels[index]);
        return ReadStatus.Frame;
    }

    /// <summary>Reads the whole file into the reused file buffer; returns its length.</summary>
    private int ReadFile(string path)
    {
        using var handle = File.OpenHandle(path);
        long size = RandomAccess.GetLength(handle);
        if (size > Array.MaxLength) throw new InvalidDataException($"images: '{path}' is too large ({size} bytes)");
        if (size > _file.Length)
        {
            _file = new byte[Math.Max(size, 2L * _file.Length)];
            _fileStream = new MemoryStream(_file);
        }
        // Before reading: growing a MemoryStream's length clears the bytes it exposes.
        _fileStream.SetLength(size);
        int length = 0;
        while (length < size)
        {
            int read = RandomAccess.Read(handle, _file.AsSpan(length, (int)size - length), length);
            if (read == 0) break;
            length += read;
        }
        return length;
    }

    /// <summary>
    /// Decodes the file buffer to RGB into the reused pixel buffer. StbImageSharp's ImageResult would copy every image
    /// into a new array; its lower-level entry point returns the pixels in native memory (Marshal.AllocHGlobal, i.e.
    /// malloc), which is copied here and freed at once.
    /// </summary>
    private (int Width, int Height) Decode(int length)
    {
        _fileStream.SetLength(length);
        _fileStream.Position = 0;
        int width, height, components;
        byte* pixels = StbImage.stbi__load_and_postprocess_8bit(new StbImage.stbi__context(_fileStream), &width, &height, &components, (int)ColorComponents.RedGreenBlue);
        if (pixels == null) throw new InvalidDataException(StbImage.stbi__g_failure_reason ?? "unknown image format");
        try
        {
            int bytes = checked(width * height * 3);
            if (bytes > _pixels.Length) _pixels = new byte[bytes];
            new ReadOnlySpan<byte>(pixels, bytes).CopyTo(_pixels);
        }
        finally
        {
            Marshal.FreeHGlobal((IntPtr)pixels);
        }
        return (width, height);
    }

    public void Dispose() { }
}
