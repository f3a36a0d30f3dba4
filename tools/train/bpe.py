"""Byte-level BPE: DeepSeek-V3's pre-tokenizer (ASCII text only), a merge trainer, tokenizer.json.

The pre-tokenizer here is only used to count words for training; the shipped tokenizer.json
carries DeepSeek-V3's real pre-tokenizer, and Hugging Face tokenizers (npm) encodes the training
text with it. On ASCII input the three Split regexes reduce to the character classes below:
\\p{N} = [0-9], \\p{L} = [A-Za-z], \\p{P} | \\p{S} = the 32 ASCII punctuation characters, no \\p{M}
and no CJK; \\s = [\\t\\n\\v\\f\\r ]. (A mismatch could only cost merges, never correctness: the
ids the model trains on come from Hugging Face's encoder.)
"""

import json
import re

DIGITS = re.compile(r"[0-9]{1,3}")
_PUNCT = r"""!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~"""
WORDS = re.compile(
    rf"[{_PUNCT}][A-Za-z]+|[^\r\nA-Za-z{_PUNCT}]?[A-Za-z]+| ?[{_PUNCT}]+[\r\n]*"
    r"|[\t\n\x0b\x0c\r ]*[\r\n]+|[\t\n\x0b\x0c\r ]+(?![^\t\n\x0b\x0c\r ])|[\t\n\x0b\x0c\r ]+")


def _split_isolated(pieces, pattern):
    out = []
    for piece in pieces:
        pos = 0
        for m in pattern.finditer(piece):
            if m.start() > pos:
                out.append(piece[pos : m.start()])
            if m.end() > m.start():
                out.append(m.group())
            pos = m.end()
        if pos < len(piece):
            out.append(piece[pos:])
    return out


def pre_tokenize(text):
    if not text.isascii():
        raise ValueError("bpe.pre_tokenize handles ASCII text only")
    return _split_isolated(_split_isolated([text], DIGITS), WORDS)


def byte_alphabet():
    """GPT-2's byte -> printable character map used by the ByteLevel pre-tokenizer."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def train_merges(texts, n_merges):
    """Greedy BPE on pre-tokenized words; ties go to the lexicographically smallest pair."""
    alphabet = byte_alphabet()
    counts = {}
    for text in texts:
        for w in pre_tokenize(text):
            counts[w] = counts.get(w, 0) + 1
    words = [[alphabet[b] for b in w.encode("utf-8")] for w in counts]
    freq = list(counts.values())
    pair_count, pair_words = {}, {}
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] = pair_count.get((a, b), 0) + freq[i]
            pair_words.setdefault((a, b), set()).add(i)
    merges = []
    while len(merges) < n_merges and pair_count:
        best = min(pair_count, key=lambda p: (-pair_count[p], p))
        if pair_count[best] < 2:
            break
        merges.append(best)
        joined = best[0] + best[1]
        for i in sorted(pair_words.pop(best, ())):
            w = words[i]
            for a, b in zip(w, w[1:]):  # take the word's old pairs out
                pair_count[(a, b)] -= freq[i]
                if pair_count[(a, b)] == 0:
                    del pair_count[(a, b)]
            merged, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == best:
                    merged.append(joined)
                    j += 2
                else:
                    merged.append(w[j])
                    j += 1
            words[i] = merged
            for a, b in zip(merged, merged[1:]):
                pair_count[(a, b)] = pair_count.get((a, b), 0) + freq[i]
                pair_words.setdefault((a, b), set()).add(i)
    return merges


def _added(id_, content, special):
    return {"id": id_, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": not special, "special": special}


def tokenizer_json(merges, leading_special, trailing_added):
    """leading_special: contents at ids 0.. (in the BPE vocab, like DeepSeek's BOS/EOS/pad);
    trailing_added: [(content, special)] after the BPE vocab (not in it, like DeepSeek's)."""
    vocab = {c: i for i, c in enumerate(leading_special)}
    for ch in byte_alphabet().values():
        vocab[ch] = len(vocab)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    added = [_added(i, c, True) for i, c in enumerate(leading_special)]
    for content, special in trailing_added:
        added.append(_added(len(vocab) + len(added) - len(leading_special), content, special))
    split_regex = (
        "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?"
        "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+")

    def split(regex):
        return {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated",
                "invert": False}

    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": []},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            split("\\p{N}{1,3}"),
            split("[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"),
            split(split_regex),
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                  "merges": [f"{a} {b}" for a, b in merges]},
    }


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")
