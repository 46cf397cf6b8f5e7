using System.Collections.Concurrent;
using System.Text;

namespace DrICL.Model.Tokenization;

/// <summary>
/// The BPE model of a tokenizer.json: turns one pre-tokenized word into token ids with Hugging Face's merge
/// order (lowest merge rank first, leftmost on ties), byte fallback for characters outside the vocabulary,
/// ignore_merges (a word that is itself a token is not merged), and a cache of already merged pieces.
/// </summary>
internal sealed class BpeModel
{
    // Pieces longer than this are merged every time: they are rare, and caching them would pin memory.
    private const int MaxCachedPieceLength = 128;
    private const int CacheCapacity = 1 << 16;
    private const int MaxScratchPieceLength = 1 << 12;

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocab;
    private readonly int[] bmpIds;                 // single BMP character -> id, -1 if not in the vocabulary
    private readonly Dictionary<int, int> astralIds; // code point above U+FFFF -> id
    private readonly int[] byteIds;                // byte -> id of "<0xNN>", -1 if absent
    private readonly MergeTable merges;
    private readonly bool byteFallback, fuseUnk, ignoreMerges;
    private readonly int unkId;
    private readonly char pieceBreak; // '\0' when words may not be cut into cacheable pieces

    private readonly ConcurrentDictionary<string, int[]> cache = new(PieceComparer.Instance);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> cacheLookup;
    private int cacheCount;

    [ThreadStatic] private static MergeScratch? scratch;
    [ThreadStatic] private static NormalizedText? byteScratch;

    /// <param name="metaspace">The SentencePiece family's space character ('▁'); null for byte-level BPE.</param>
    public BpeModel(BpeModelSpec spec, char? metaspace, string source)
    {
        vocab = spec.Vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        bmpIds = new int[char.MaxValue + 1];
        Array.Fill(bmpIds, -1);
        astralIds = [];
        foreach (var (token, id) in spec.Vocab)
        {
            if (token.Length == 1) bmpIds[token[0]] = id;
            else if (token.Length == 2 && char.IsSurrogatePair(token[0], token[1])) astralIds[char.ConvertToUtf32(token[0], token[1])] = id;
        }
        byteIds = new int[256];
        for (int b = 0; b < 256; b++) byteIds[b] = spec.Vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;

        var table = new List<(int, int, int)>(spec.Merges.Count);
        bool crossesBreak = false;
        for (int rank = 0; rank < spec.Merges.Count; rank++)
        {
            var (left, right) = spec.Merges[rank];
            if (!spec.Vocab.TryGetValue(left, out int l) || !spec.Vocab.TryGetValue(right, out int r))
                throw new TokenizerLoadException($"{source}: merge '{left} {right}' uses a token missing from model.vocab");
            if (!spec.Vocab.TryGetValue(left + right, out int merged))
                throw new TokenizerLoadException($"{source}: merge '{left} {right}' makes '{left + right}', missing from model.vocab");
            table.Add((l, r, merged));
            crossesBreak |= metaspace is char m && !left.EndsWith(m) && right.StartsWith(m);
        }

        merges = new MergeTable(table);

        // A word can be cut before every run of '▁' that follows another character, and each piece merged
        // (and cached) on its own, when no merge ever joins a symbol to a following '▁': true of
        // SentencePiece vocabularies, checked here rather than assumed.
        pieceBreak = metaspace is char space && !crossesBreak && spec.Vocab.ContainsKey(space.ToString()) ? space : '\0';

        byteFallback = spec.ByteFallback;
        fuseUnk = spec.FuseUnk;
        ignoreMerges = spec.IgnoreMerges;
        unkId = -1;
        if (spec.UnkToken is { } unk && !spec.Vocab.TryGetValue(unk, out unkId))
            throw new TokenizerLoadException($"{source}: model.unk_token '{unk}' is missing from model.vocab");
        cacheLookup = cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Encodes one word; <paramref name="origin"/> gives each character's index in the caller's text.</summary>
    public void Encode(ReadOnlySpan<char> word, ReadOnlySpan<int> origin, TokenSink sink)
    {
        if (word.IsEmpty) return;
        if (pieceBreak == '\0')
        {
            EncodePiece(word, origin, sink); // the piece is the word: Merge applies ignore_merges, and the cache keeps it
            return;
        }
        if (ignoreMerges && vocab.TryGetValue(word, out int whole))
        {
            sink.Add(whole, origin[0]);
            return;
        }
        int start = 0;
        for (int j = 1; j < word.Length;)
        {
            int next = word[j..].IndexOf(pieceBreak);
            if (next < 0) break;
            j += next;
            if (word[j - 1] != pieceBreak)
            {
                EncodePiece(word[start..j], origin[start..j], sink);
                start = j;
            }
            j++;
        }
        EncodePiece(word[start..], origin[start..], sink);
    }

    /// <summary>
    /// Byte-level BPE: encodes one pre-tokenized word of the original text. The cache is keyed by that text,
    /// so a word seen before skips the conversion to byte-level characters as well as the merges.
    /// </summary>
    public void EncodeByteLevel(ReadOnlySpan<char> word, ReadOnlySpan<int> origin, TokenSink sink)
    {
        if (word.IsEmpty) return;
        bool cacheable = word.Length <= MaxCachedPieceLength;
        if (!cacheable || !cacheLookup.TryGetValue(word, out int[]? packed))
        {
            var bytes = word.Length <= MaxScratchPieceLength ? byteScratch ??= new NormalizedText() : new NormalizedText();
            bytes.LoadByteLevel(word);
            packed = Merge(bytes.Chars);
            for (int k = 1; k < packed.Length; k += 2) packed[k] = bytes.Origin[packed[k]]; // byte index -> char index in the word
            if (bytes != byteScratch) bytes.Dispose();
            if (cacheable && Volatile.Read(ref cacheCount) < CacheCapacity && cache.TryAdd(word.ToString(), packed))
                Interlocked.Increment(ref cacheCount);
        }
        for (int k = 0; k < packed.Length; k += 2) sink.Add(packed[k], origin[packed[k + 1]]);
    }

    private void EncodePiece(ReadOnlySpan<char> piece, ReadOnlySpan<int> origin, TokenSink sink)
    {
        bool cacheable = piece.Length <= MaxCachedPieceLength;
        if (!cacheable || !cacheLookup.TryGetValue(piece, out int[]? packed))
        {
            packed = Merge(piece);
            if (cacheable && Volatile.Read(ref cacheCount) < CacheCapacity && cache.TryAdd(piece.ToString(), packed))
                Interlocked.Increment(ref cacheCount);
        }
        for (int k = 0; k < packed.Length; k += 2) sink.Add(packed[k], origin[packed[k + 1]]);
    }

    /// <summary>Merges one piece: [id, index of its first char in the piece] per token.</summary>
    private int[] Merge(ReadOnlySpan<char> piece)
    {
        if (ignoreMerges && pieceBreak == '\0' && vocab.TryGetValue(piece, out int whole)) return [whole, 0];
        // The per-thread scratch serves ordinary words; a huge piece (text without spaces) gets its own,
        // so that one long line does not pin its buffers for the thread's lifetime.
        var s = piece.Length <= MaxScratchPieceLength ? scratch ??= new MergeScratch() : new MergeScratch();
        s.Reset(piece.Length * 3); // a UTF-16 char is at most 3 UTF-8 bytes, i.e. byte-fallback symbols
        int pendingUnk = -1; // start of an <unk> waiting to be fused with the next unknown char
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < piece.Length;)
        {
            int width = 1, id;
            Rune rune;
            if (char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]))
            {
                width = 2;
                rune = new Rune(piece[i], piece[i + 1]);
                id = astralIds.GetValueOrDefault(rune.Value, -1);
            }
            else
            {
                id = bmpIds[piece[i]];
                rune = Rune.TryCreate(piece[i], out var r) ? r : Rune.ReplacementChar; // a lone surrogate
            }

            if (id >= 0)
            {
                FlushUnk(s, ref pendingUnk);
                s.Add(id, i);
            }
            else if (byteFallback && AllBytesKnown(rune, utf8, out int n))
            {
                FlushUnk(s, ref pendingUnk);
                for (int b = 0; b < n; b++) s.Add(byteIds[utf8[b]], i);
            }
            else if (unkId >= 0 && !(fuseUnk && pendingUnk >= 0)) // with fuse_unk, a run of unknown chars is one <unk>
            {
                FlushUnk(s, ref pendingUnk);
                pendingUnk = i;
            }
            // Without an <unk> token an unknown character is dropped, as Hugging Face does.
            i += width;
        }
        FlushUnk(s, ref pendingUnk);

        s.MergeAll(merges);
        return s.Pack();
    }

    private bool AllBytesKnown(Rune rune, Span<byte> utf8, out int n)
    {
        n = rune.EncodeToUtf8(utf8);
        for (int b = 0; b < n; b++)
            if (byteIds[utf8[b]] < 0) return false;
        return true;
    }

    private void FlushUnk(MergeScratch s, ref int pendingUnk)
    {
        if (pendingUnk < 0) return;
        s.Add(unkId, pendingUnk);
        pendingUnk = -1;
    }

    /// <summary>Symbols of one piece as a doubly linked list, merged lowest rank first, leftmost on ties.</summary>
    private sealed class MergeScratch
    {
        // Up to this many symbols a linear scan for the best pair beats a priority queue.
        private const int ScanLimit = 48;

        private int[] id = [], start = [], prev = [], next = [], rank = [], merged = [];
        private int count;
        // Long pieces: element (position, merged id), priority (rank, position).
        private readonly PriorityQueue<long, long> queue = new();

        public void Reset(int capacity)
        {
            if (id.Length < capacity)
            {
                int n = Math.Max(capacity, 64);
                (id, start, prev, next, rank, merged) = (new int[n], new int[n], new int[n], new int[n], new int[n], new int[n]);
            }
            count = 0;
        }

        public void Add(int tokenId, int charIndex)
        {
            id[count] = tokenId;
            start[count] = charIndex;
            prev[count] = count - 1;
            next[count] = count + 1;
            count++;
        }

        public void MergeAll(MergeTable merges)
        {
            if (count == 0) return;
            next[count - 1] = -1;
            if (count <= ScanLimit) MergeByScan(merges);
            else MergeByQueue(merges);
        }

        private void MergeByScan(MergeTable merges)
        {
            for (int p = 0; p < count; p++) LookUpPair(merges, p);
            while (true)
            {
                int best = -1, bestRank = int.MaxValue;
                for (int p = 0; p >= 0; p = next[p])
                    if (rank[p] < bestRank) (best, bestRank) = (p, rank[p]);
                if (best < 0) return;
                Join(best, merged[best]);
                LookUpPair(merges, best);
                if (prev[best] >= 0) LookUpPair(merges, prev[best]);
            }
        }

        private void LookUpPair(MergeTable merges, int p)
        {
            if (next[p] < 0 || !merges.TryGet(id[p], id[next[p]], out rank[p], out merged[p])) rank[p] = int.MaxValue;
        }

        // Hugging Face's loop: queued pairs go stale when a neighbour merges first; a stale entry is detected
        // by its merged id, since the pair now at that position, if any, spells a longer string.
        private void MergeByQueue(MergeTable merges)
        {
            queue.Clear();
            for (int p = 0; p + 1 < count; p++) Push(merges, p);
            while (queue.TryDequeue(out long element, out _))
            {
                int pos = (int)(element >> 32), mergedId = (int)element;
                if (id[pos] < 0 || next[pos] < 0) continue;
                if (!merges.TryGet(id[pos], id[next[pos]], out _, out int current) || current != mergedId) continue;
                Join(pos, mergedId);
                if (prev[pos] >= 0) Push(merges, prev[pos]);
                if (next[pos] >= 0) Push(merges, pos);
            }
        }

        private void Push(MergeTable merges, int left)
        {
            if (merges.TryGet(id[left], id[next[left]], out int r, out int m))
                queue.Enqueue(((long)left << 32) | (uint)m, ((long)r << 32) | (uint)left);
        }

        /// <summary>Symbol <paramref name="p"/> absorbs its right neighbour, which is marked removed (id -1).</summary>
        private void Join(int p, int mergedId)
        {
            int right = next[p];
            id[p] = mergedId;
            id[right] = -1;
            next[p] = next[right];
            if (next[p] >= 0) prev[next[p]] = p;
        }

        public int[] Pack()
        {
            int n = 0;
            for (int p = 0; p >= 0 && count > 0; p = next[p]) n++;
            var packed = new int[2 * n];
            int k = 0;
            for (int p = 0; p >= 0 && count > 0; p = next[p])
            {
                packed[k++] = id[p];
                packed[k++] = start[p];
            }
            return packed;
        }
    }
}
