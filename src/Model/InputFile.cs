namespace DrICL.Model;

/// <summary>
/// Checks a model, config or tokenizer path before it is opened: it must be a regular file with content, of
/// a bounded size when it is read whole. Opening a FIFO blocks until someone writes to it, and a device may
/// never end; .NET reports both with length 0, like an empty file, and none of them is a usable input.
/// </summary>
public static class InputFile
{
    /// <summary>The file's length; throws when it is missing, empty or not a regular file, or longer than maxBytes.</summary>
    public static long RequireRegular(string path, long maxBytes = long.MaxValue)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException(Directory.Exists(path) ? $"{path}: is a folder, not a file" : $"{path}: file not found", path);
        if (info.Length == 0) throw new InvalidDataException($"{path}: empty, or not a regular file (a FIFO or a device)");
        if (info.Length > maxBytes) throw new InvalidDataException($"{path}: {info.Length} bytes, more than the {maxBytes} this reader accepts");
        return info.Length;
    }
}
