using System.Text;
using DrICL.Model.Safetensors;
using NUnit.Framework;

namespace DrICL.Tests.Model;

public class SafetensorsTests
{
    string dir = "";

    [SetUp]
    public void CreateTempDir() => dir = Directory.CreateTempSubdirectory("dricl-safetensors-").FullName;

    [TearDown]
    public void DeleteTempDir() => Directory.Delete(dir, recursive: true);

    static string ModelFile(string model, string file) => Fixtures.File("models", model, file);

    // ---- fixtures ----

    [Test]
    public void ReadsF32FixtureWeights()
    {
        using var f = new SafetensorsFile(ModelFile("tiny-llama-f32", "model.safetensors"));
        Assert.That(f.Tensors, Has.Count.EqualTo(21));
        Assert.That(f.Metadata["format"], Is.EqualTo("pt"));
        var info = f.Info("lm_head.weight");
        Assert.That(info.DType, Is.EqualTo(DType.F32));
        Assert.That(info.Shape, Is.EqualTo(new[] { 64, 32 }));
        Assert.That(f.ReadFloats("lm_head.weight")[..3], Is.EqualTo(new[] { 0.02248843014240265f, -0.30667465925216675f, -0.15229669213294983f }));
        Assert.That(f.Info("model.norm.weight").Shape, Is.EqualTo(new[] { 32 }));
    }

    [Test]
    public void ReadsBf16FixtureWeightsAsExactFloats()
    {
        using var f = new SafetensorsFile(ModelFile("tiny-mistral-gqa-bf16", "model.safetensors"));
        var info = f.Info("lm_head.weight");
        Assert.That(info.DType, Is.EqualTo(DType.BF16));
        Assert.That(info.Shape, Is.EqualTo(new[] { 80, 48 }));
        Assert.That(f.ReadFloats("lm_head.weight")[..4], Is.EqualTo(new[] { 0.2451171875f, -0.1064453125f, 0.07080078125f, -0.07177734375f }));
        Assert.That(f.Info("model.layers.0.self_attn.k_proj.weight").Shape, Is.EqualTo(new[] { 16, 48 })); // GQA: 2 kv heads of 8
    }

    [Test]
    public void ReadsI32FixtureInputs()
    {
        using var f = new SafetensorsFile(ModelFile("tiny-mistral-gqa-bf16", "inputs.safetensors"));
        Assert.That(f.Metadata, Is.Empty);
        Assert.That(f.Info("input_ids").Shape, Is.EqualTo(new[] { 2, 48 }));
        Assert.That(f.ReadInts("input_ids")[..8], Is.EqualTo(new[] { 1, 10, 8, 51, 26, 42, 76, 66 }));
        Assert.That(f.ReadInts("labels")[..8], Is.EqualTo(new[] { -100, -100, -100, -100, -100, -100, -100, 3 }));
    }

    [Test]
    public void RewritingBf16FixtureReproducesItByteForByte()
    {
        string source = ModelFile("tiny-mistral-gqa-bf16", "model.safetensors");
        string copy = Path.Combine(dir, "copy.safetensors");
        using (var f = new SafetensorsFile(source))
            SafetensorsWriter.Write(copy,
                f.Tensors.Values.OrderBy(t => t.Begin).Select(t => SafetensorsTensor.FromFloats(t.Name, t.Shape, f.ReadFloats(t.Name), DType.BF16)),
                f.Metadata);
        Assert.That(File.ReadAllBytes(copy), Is.EqualTo(File.ReadAllBytes(source)));
    }

    [Test]
    public void TypedReadsRejectTheWrongKindOfTensor()
    {
        using var f = new SafetensorsFile(ModelFile("tiny-llama-f32", "inputs.safetensors"));
        Assert.That(() => f.ReadFloats("input_ids"), Throws.TypeOf<SafetensorsException>().With.Message.Contains("'input_ids' is I32, not a float type"));
        Assert.That(() => f.ReadInts("nope"), Throws.TypeOf<SafetensorsException>().With.Message.Contains("inputs.safetensors: no tensor named 'nope'"));
        Assert.That(() => f.ReadFloats("input_ids", new float[3]), Throws.ArgumentException);
        using var m = new SafetensorsFile(ModelFile("tiny-llama-f32", "model.safetensors"));
        Assert.That(() => m.ReadInts("model.norm.weight"), Throws.TypeOf<SafetensorsException>().With.Message.Contains("is F32, not an integer type"));
    }

    [Test]
    public void ReadingAfterDisposeThrows()
    {
        var f = new SafetensorsFile(ModelFile("tiny-llama-f32", "inputs.safetensors"));
        f.Dispose();
        Assert.That(() => f.ReadInts("input_ids"), Throws.TypeOf<ObjectDisposedException>());
    }

    // ---- writer ----

    [Test]
    public void RoundTripsEveryDtype()
    {
        float[] exact = [0f, -0f, 1f, -2.5f, 0.15625f, 61440f, float.PositiveInfinity, float.NegativeInfinity]; // exact in f16 and bf16
        float[] f32 = [1e-30f, 3.14159265f, -1e30f, float.MaxValue, float.Epsilon, 0.1f];
        int[] ints = [0, 1, -1, int.MaxValue, int.MinValue, -100];
        string path = Path.Combine(dir, "all.safetensors");
        SafetensorsWriter.Write(path,
        [
            SafetensorsTensor.FromFloats("f32", [2, 3], f32),
            SafetensorsTensor.FromFloats("bf16", [8], exact, DType.BF16),
            SafetensorsTensor.FromFloats("f16", [2, 2, 2], exact, DType.F16),
            SafetensorsTensor.FromInts("i32", [6], ints),
            SafetensorsTensor.FromInts("i64", [3, 2], ints, DType.I64),
            SafetensorsTensor.FromFloats("scalar", [], new[] { 7f }),
            SafetensorsTensor.FromFloats("empty", [0, 4], Array.Empty<float>()),
        ], new Dictionary<string, string> { ["format"] = "pt", ["step"] = "12" });

        using var f = new SafetensorsFile(path);
        Assert.That(f.Metadata, Is.EqualTo(new Dictionary<string, string> { ["format"] = "pt", ["step"] = "12" }));
        Assert.That(f.ReadFloats("f32"), Is.EqualTo(f32));
        Assert.That(f.ReadFloats("bf16"), Is.EqualTo(exact));
        Assert.That(f.ReadFloats("f16"), Is.EqualTo(exact));
        Assert.That(f.ReadInts("i32"), Is.EqualTo(ints));
        Assert.That(f.ReadInts("i64"), Is.EqualTo(ints));
        Assert.That(f.ReadFloats("scalar"), Is.EqualTo(new[] { 7f }));
        Assert.That(f.ReadFloats("empty"), Is.Empty);
        Assert.That(f.Tensors.Keys, Is.EqualTo(new[] { "f32", "bf16", "f16", "i32", "i64", "scalar", "empty" }));
        Assert.That(f.Info("f16").Shape, Is.EqualTo(new[] { 2, 2, 2 }));
        Assert.That(f.Info("i64").DType, Is.EqualTo(DType.I64));
        Assert.That(BitConverter.ToUInt64(File.ReadAllBytes(path), 0) % 8, Is.EqualTo(0), "data region is 8-byte aligned");
    }

    [Test]
    public void HalfPrecisionWritesRoundToNearestEven()
    {
        string path = Path.Combine(dir, "round.safetensors");
        float tie = 1f + MathF.Pow(2, -8);        // halfway between bf16 1 and 1 + 2^-7: rounds to even (1)
        float aboveTie = 1f + 3 * MathF.Pow(2, -9); // rounds up to 1 + 2^-7
        float[] values = [tie, aboveTie, 0.1f, float.NaN];
        SafetensorsWriter.Write(path, [SafetensorsTensor.FromFloats("b", [4], values, DType.BF16), SafetensorsTensor.FromFloats("h", [4], values, DType.F16)]);
        using var f = new SafetensorsFile(path);
        var bf16 = f.ReadFloats("b");
        Assert.That(bf16[..3], Is.EqualTo(new[] { 1f, 1f + MathF.Pow(2, -7), 0.10009765625f }));
        Assert.That(float.IsNaN(bf16[3]));
        var f16 = f.ReadFloats("h");
        Assert.That(f16[..3], Is.EqualTo(new[] { tie, aboveTie, (float)(Half)0.1f }));
        Assert.That(float.IsNaN(f16[3]));
    }

    [Test]
    public void WriteReplacesTheTargetAtomicallyAndLeavesNoTempFile()
    {
        string path = Path.Combine(dir, "ckpt.safetensors");
        SafetensorsWriter.Write(path, [SafetensorsTensor.FromFloats("w", [2], new[] { 1f, 2f })]);
        SafetensorsWriter.Write(path, [SafetensorsTensor.FromFloats("w", [3], new[] { 3f, 4f, 5f })]);
        using (var f = new SafetensorsFile(path)) Assert.That(f.ReadFloats("w"), Is.EqualTo(new[] { 3f, 4f, 5f }));
        Assert.That(Directory.GetFiles(dir), Is.EqualTo(new[] { path }));

        // A write that fails (here: the rename, as the target is a folder) removes its temporary file.
        string folder = Directory.CreateDirectory(Path.Combine(dir, "folder")).FullName;
        Assert.That(() => SafetensorsWriter.Write(folder, [SafetensorsTensor.FromFloats("w", [1], new[] { 1f })]), Throws.InstanceOf<IOException>());
        Assert.That(Directory.GetFiles(dir), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void WriterRejectsInconsistentTensors()
    {
        Assert.That(() => SafetensorsTensor.FromFloats("w", [2, 3], new float[5]), Throws.ArgumentException.With.Message.Contains("6 elements, 5 values"));
        Assert.That(() => SafetensorsTensor.FromFloats("w", [2], new float[2], DType.I32), Throws.ArgumentException);
        Assert.That(() => SafetensorsTensor.FromInts("w", [2], new int[2], DType.BF16), Throws.ArgumentException);
        Assert.That(() => SafetensorsTensor.FromFloats("__metadata__", [1], new float[1]), Throws.ArgumentException);
        Assert.That(() => SafetensorsWriter.Write(Path.Combine(dir, "dup.safetensors"),
            [SafetensorsTensor.FromFloats("w", [1], new float[1]), SafetensorsTensor.FromFloats("w", [1], new float[1])]),
            Throws.ArgumentException.With.Message.Contains("duplicate tensor name 'w'"));
        Assert.That(Directory.GetFiles(dir), Is.Empty);
    }

    // ---- sharded checkpoints ----

    void WriteShards(string weightMapJson)
    {
        SafetensorsWriter.Write(Path.Combine(dir, "model-00001-of-00002.safetensors"),
            [SafetensorsTensor.FromFloats("a", [2], new[] { 1f, 2f }), SafetensorsTensor.FromFloats("b", [1], new[] { 3f }, DType.BF16)]);
        SafetensorsWriter.Write(Path.Combine(dir, "model-00002-of-00002.safetensors"),
            [SafetensorsTensor.FromInts("c", [2], new[] { 4, 5 })]);
        File.WriteAllText(Path.Combine(dir, SafetensorsCheckpoint.IndexFileName), weightMapJson);
    }

    const string GoodIndex = """
        {"metadata": {"total_size": 14}, "weight_map": {"a": "model-00001-of-00002.safetensors",
         "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}}
        """;

    [Test]
    public void OpensShardedCheckpoint()
    {
        WriteShards(GoodIndex);
        using var c = SafetensorsCheckpoint.Open(dir);
        Assert.That(c.Tensors.Keys, Is.EquivalentTo(new[] { "a", "b", "c" }));
        Assert.That(c.ReadFloats("a"), Is.EqualTo(new[] { 1f, 2f }));
        Assert.That(c.ReadFloats("b"), Is.EqualTo(new[] { 3f }));
        Assert.That(c.ReadInts("c"), Is.EqualTo(new[] { 4, 5 }));
        Assert.That(c.Info("b").DType, Is.EqualTo(DType.BF16));
        var into = new float[2];
        c.ReadFloats("a", into);
        Assert.That(into, Is.EqualTo(new[] { 1f, 2f }));
        Assert.That(() => c.ReadFloats("d"), Throws.TypeOf<SafetensorsException>().With.Message.Contains("no tensor named 'd'"));
    }

    [Test]
    public void OpensSingleFileCheckpoint()
    {
        using var c = SafetensorsCheckpoint.Open(Path.GetDirectoryName(ModelFile("tiny-llama-f32", "model.safetensors"))!);
        Assert.That(c.Tensors, Has.Count.EqualTo(21));
        Assert.That(c.Tensors["model.embed_tokens.weight"].Shape, Is.EqualTo(new[] { 64, 32 }));
        Assert.That(c.ReadFloats("model.embed_tokens.weight")[0], Is.EqualTo(-0.3533551096916199f));
    }

    [TestCase("""{"weight_map": {"a": "model-00001-of-00002.safetensors", "x": "model-00003-of-00003.safetensors"}}""",
        "shard 'model-00003-of-00003.safetensors' (holding 'x') does not exist")]
    [TestCase("""{"weight_map": {"a": "model-00001-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}}""",
        "tensor 'c' is not in its shard 'model-00001-of-00002.safetensors'")]
    [TestCase("""{"weight_map": {"a": "../model-00001-of-00002.safetensors"}}""", "weight_map entry 'a' is not a file name")]
    [TestCase("""{"weight_map": {"a": 3}}""", "weight_map entry 'a' is not a file name")]
    [TestCase("""{"weight_map": {"a": "model-00001-of-00002.safetensors", "a": "model-00001-of-00002.safetensors"}}""", "duplicate tensor name 'a'")]
    [TestCase("""{"metadata": {}}""", "no weight_map object")]
    [TestCase("""{"weight_map": """, "not valid JSON")]
    public void RejectsBadIndex(string index, string problem)
    {
        WriteShards(index);
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(dir));
        Assert.That(e.Message, Does.StartWith(Path.Combine(dir, SafetensorsCheckpoint.IndexFileName) + ": ").And.Contains(problem));
    }

    [Test]
    public void RejectsFolderWithoutWeights()
    {
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(dir));
        Assert.That(e.Message, Is.EqualTo($"{dir}: neither model.safetensors nor model.safetensors.index.json found"));
    }

    // ---- malformed files ----

    /// <summary>Writes an 8-byte header length, the header text, then dataLength bytes.</summary>
    string Craft(string header, int dataLength, ulong? headerLength = null)
    {
        string path = Path.Combine(dir, "model.safetensors");
        var json = Encoding.UTF8.GetBytes(header);
        using var s = File.Create(path);
        s.Write(BitConverter.GetBytes(headerLength ?? (ulong)json.Length));
        s.Write(json);
        s.Write(new byte[dataLength]);
        return path;
    }

    static void AssertRejected(string path, string problem)
    {
        var e = Assert.Throws<SafetensorsException>(() => new SafetensorsFile(path).Dispose());
        Assert.That(e.Message, Does.StartWith(path + ": ").And.Contains(problem));
        Assert.That(e.File, Is.EqualTo(path));
    }

    [TestCase(0)]
    [TestCase(7)]
    public void RejectsFileShorterThanHeaderLength(int length)
    {
        string path = Path.Combine(dir, "model.safetensors");
        File.WriteAllBytes(path, new byte[length]);
        AssertRejected(path, $"file is {length} bytes, shorter than the 8-byte header length");
    }

    [Test]
    public void RejectsAbsurdHeaderLength() =>
        AssertRejected(Craft("{}", 4086, headerLength: 1_000_000_000_000), "header length 1000000000000 exceeds the 100000000-byte limit");

    [Test]
    public void RejectsHeaderLengthBeyondFile() =>
        AssertRejected(Craft("{}", 40, headerLength: 4000), "header length 4000 exceeds file size 50");

    [TestCase("{\"a\": ", 0, "header is not valid JSON")]
    [TestCase("[1, 2]", 0, "header is a JSON Array, not an object")]
    [TestCase("""{"a": 3}""", 0, "tensor 'a': entry is not an object")]
    [TestCase("""{"a": {"shape": [1], "data_offsets": [0, 4]}}""", 4, "tensor 'a': missing dtype")]
    [TestCase("""{"a": {"dtype": "F32", "data_offsets": [0, 4]}}""", 4, "tensor 'a': missing shape")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [1]}}""", 4, "tensor 'a': missing data_offsets")]
    [TestCase("""{"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}}""", 4, "tensor 'a': unsupported dtype 'Q4'")]
    [TestCase("""{"a": {"dtype": 1, "shape": [1], "data_offsets": [0, 4]}}""", 4, "tensor 'a': dtype is not a string")]
    [TestCase("""{"a": {"dtype": "F32", "shape": 4, "data_offsets": [0, 4]}}""", 4, "tensor 'a': shape is not an array")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}""", 4, "shape dimension -1 is not a non-negative 32-bit integer")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}""", 4, "shape dimension 1.5 is not a non-negative 32-bit integer")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [4294967296], "data_offsets": [0, 4]}}""", 4, "shape dimension 4294967296 is not")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}""", 4, "tensor 'a': data_offsets is not an array [begin, end]")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}""", 4, "data_offsets [-4, 0] are not non-negative integers")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, "4"]}}""", 4, "are not non-negative integers")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}""", 8, "tensor 'a': data_offsets end 4 is before begin 8")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4000]}}""", 4, "data_offsets [0, 4000] run past the 4-byte data region")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}""", 8, "tensor 'a': shape [3] of F32 needs 12 bytes but data_offsets span 8")]
    [TestCase("""{"a": {"dtype": "BF16", "shape": [65536, 65536, 65536, 65536], "data_offsets": [0, 8]}}""", 8, "needs too many bytes")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", 12,
        "tensor 'b' [4, 12] overlaps tensor 'a' [0, 8]")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}""", 12,
        "gap in the data region: bytes [4, 8) before tensor 'b'")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", 8, "4 trailing bytes after the last tensor")]
    [TestCase("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}""", 8,
        "duplicate tensor name 'a'")]
    [TestCase("""{"__metadata__": {"step": 3}}""", 0, "__metadata__ value 'step' is not a string")]
    [TestCase("""{"__metadata__": [1]}""", 0, "__metadata__ is not an object of strings")]
    public void RejectsMalformedHeader(string header, int dataLength, string problem) => AssertRejected(Craft(header, dataLength), problem);

    [Test]
    public void RejectsHeaderThatIsNotUtf8()
    {
        string path = Path.Combine(dir, "model.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(8UL), .. "{\""u8, 0xFF, 0xFE, .. "\":1}"u8]);
        AssertRejected(path, "header is not valid UTF-8");
    }

    [Test]
    public void AcceptsSpacePaddedHeaderAndEmptyFile()
    {
        using (var f = new SafetensorsFile(Craft("{}      ", 0))) Assert.That(f.Tensors, Is.Empty);
        using (var f = new SafetensorsFile(Craft("""{"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}   """, 0)))
            Assert.That(f.ReadFloats("a"), Is.Empty);
    }

    [Test]
    public void RejectsI64ValueBeyond32Bits()
    {
        string path = Path.Combine(dir, "big.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(64UL),
            .. Encoding.UTF8.GetBytes("""{"ids": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}}""".PadRight(64)),
            .. BitConverter.GetBytes(5L), .. BitConverter.GetBytes(1L << 40)]);
        using var f = new SafetensorsFile(path);
        Assert.That(() => f.ReadInts("ids"), Throws.TypeOf<SafetensorsException>()
            .With.Message.EqualTo($"{path}: tensor 'ids' element 1 = 1099511627776 does not fit in 32 bits"));
    }
}
