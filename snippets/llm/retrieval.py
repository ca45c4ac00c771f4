"""Retrieval for RAG: BM25, dense embeddings, cosine top-k, recall@k, MRR, reciprocal-rank fusion
and a small extractive reader, on a generated knowledge base of fictional towns; checked against
rank-bm25 and faiss.

Run ``python -m snippets.llm.retrieval --help`` for the options.
"""

from __future__ import annotations

import argparse

# --8<-- [start:corpus]
import re
from dataclasses import dataclass

import numpy as np

# Each attribute: two ways to state it in a passage, two ways to ask for it.
TEMPLATES = {
    "founded": (
        ["{town} was founded in {value}.", "{town} was established in {value}."],
        ["In which year was {town} founded?", "When was {town} established?"],
    ),
    "river": (
        ["The {value} river flows through {town}.", "The {value} river runs past {town}."],
        ["Which river flows through {town}?", "Which river runs past {town}?"],
    ),
    "mayor": (
        ["The mayor of {town} is {value}.", "{town} is governed by {value}."],
        ["Who is the mayor of {town}?", "Who governs {town}?"],
    ),
    "population": (
        ["{town} has {value} inhabitants.", "About {value} people live in {town}."],
        ["How many inhabitants does {town} have?", "How many people live in {town}?"],
    ),
    "festival": (
        ["The {value} festival is held in {town}.", "Every spring {town} celebrates {value}."],
        ["Which festival is held in {town}?", "What does {town} celebrate every spring?"],
    ),
}
SYLLABLES = ["var", "bri", "tal", "mor", "kel", "dun", "sel", "quor", "zan", "ost", "lum", "fen", "gar"]
TOWN_ENDINGS = ["holt", "mere", "wick", "dale", "stead", "ford", "bury", "vik", "moor", "haven", "gate"]
OTHER_ENDINGS = ["a", "en", "is", "ora", "uin", "ak", "ette"]
FIRST_NAMES = ["Ilse", "Tomas", "Maren", "Odile", "Piet", "Runa", "Sander", "Vera", "Jonas", "Edda"]


@dataclass
class Question:
    text: str
    passage: int  # index of the one passage that answers it
    answer: str
    paraphrased: bool  # asked in other words than the passage uses


def invented_names(rng: np.random.Generator, endings: list[str], count: int) -> list[str]:
    """``count`` different made-up names: a syllable and an ending."""
    if count > len(SYLLABLES) * len(endings):
        raise ValueError(f"at most {len(SYLLABLES) * len(endings)} different names, asked for {count}")
    names: set[str] = set()
    while len(names) < count:
        names.add((rng.choice(SYLLABLES) + rng.choice(endings)).capitalize())
    return sorted(names)


def make_knowledge_base(seed: int, n_towns: int = 40) -> tuple[list[str], list[Question]]:
    """One passage per (town, attribute), stated in one of two wordings, and one question per
    passage, asked in one of two wordings. The facts are invented, so no model knows them."""
    rng = np.random.default_rng(seed)
    towns = list(rng.permutation(invented_names(rng, TOWN_ENDINGS, n_towns)))
    rivers = invented_names(rng, OTHER_ENDINGS, 20)
    festivals = invented_names(rng, ["fest", "day", "night", "tide"], 20)
    passages: list[str] = []
    questions: list[Question] = []
    for town in towns:
        facts = {
            "founded": str(rng.integers(1100, 1900)),
            "river": str(rng.choice(rivers)),
            "mayor": f"{rng.choice(FIRST_NAMES)} {rng.choice(SYLLABLES).title()}{rng.choice(OTHER_ENDINGS)}",
            "population": str(rng.integers(2000, 90000)),
            "festival": str(rng.choice(festivals)),
        }
        for attribute, value in facts.items():
            statements, asks = TEMPLATES[attribute]
            said, asked = rng.integers(2), rng.integers(2)
            passages.append(statements[said].format(town=town, value=value))
            questions.append(
                Question(asks[asked].format(town=town), len(passages) - 1, value, bool(said != asked))
            )
    return passages, questions


# --8<-- [end:corpus]


# --8<-- [start:bm25]
def tokenize(text: str) -> list[str]:
    """Lower-case words; punctuation dropped."""
    return re.findall(r"\w+", text.lower())


class BM25:
    """Okapi BM25 (Robertson & Zaragoza 2009) with the IDF of rank-bm25's BM25Okapi:
    idf(t) = ln((N - n_t + 0.5) / (n_t + 0.5)), and a term in more than half of the
    documents (negative idf) gets epsilon times the mean idf instead."""

    def __init__(self, documents: list[list[str]], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25):
        self.k1, self.b = k1, b
        self.counts = [{t: doc.count(t) for t in set(doc)} for doc in documents]
        self.lengths = np.array([len(doc) for doc in documents], dtype=float)
        self.average_length = self.lengths.mean()
        n_docs = len(documents)
        doc_freq: dict[str, int] = {}
        for counts in self.counts:
            for term in counts:
                doc_freq[term] = doc_freq.get(term, 0) + 1
        self.idf = {t: np.log((n_docs - n + 0.5) / (n + 0.5)) for t, n in doc_freq.items()}
        floor = epsilon * np.mean(list(self.idf.values()))
        self.idf = {t: (floor if idf < 0 else idf) for t, idf in self.idf.items()}

    def scores(self, query: list[str]) -> np.ndarray:
        """BM25 score of every document; a repeated query term counts each time."""
        total = np.zeros(len(self.counts))
        norm = self.k1 * (1 - self.b + self.b * self.lengths / self.average_length)
        for term in query:
            tf = np.array([counts.get(term, 0) for counts in self.counts], dtype=float)
            total += self.idf.get(term, 0.0) * tf * (self.k1 + 1) / (tf + norm)
        return total


# --8<-- [end:bm25]


# --8<-- [start:dense]
from sklearn.decomposition import TruncatedSVD  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import Normalizer  # noqa: E402


def fit_embedder(passages: list[str], dimensions: int = 32, seed: int = 0) -> Pipeline:
    """A small embedding model (latent semantic analysis): TF-IDF word weights, projected
    on the top singular directions, scaled to unit length so a dot product is a cosine."""
    model = make_pipeline(TfidfVectorizer(), TruncatedSVD(dimensions, random_state=seed), Normalizer())
    return model.fit(passages)


def embed(model: Pipeline, texts: list[str]) -> np.ndarray:
    return model.transform(texts).astype(np.float32)


def cosine_top_k(queries: np.ndarray, passages: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: every query against every passage (rows are unit vectors)."""
    similarity = queries @ passages.T
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(similarity, top, axis=1), top


# --8<-- [end:dense]


# --8<-- [start:metrics]
def rankings(scores: np.ndarray) -> np.ndarray:
    """Passage indices from best to worst for each query row (ties: lower index first)."""
    return np.argsort(-scores, axis=1, kind="stable")


def rank_of_relevant(ranking: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based position of each query's relevant passage in its ranking."""
    return 1 + np.argmax(ranking == relevant[:, None], axis=1)


def recall_at_k(ranks: np.ndarray, k: int) -> float:
    """Share of queries whose relevant passage is among the first k (one relevant per query)."""
    return float(np.mean(ranks <= k))


def mean_reciprocal_rank(ranks: np.ndarray) -> float:
    return float(np.mean(1.0 / ranks))


def reciprocal_rank_fusion(ranking_lists: list[np.ndarray], k: int = 60) -> np.ndarray:
    """RRF (Cormack et al. 2009): score(d) = sum over rankings of 1 / (k + rank of d)."""
    n_queries, n_passages = ranking_lists[0].shape
    fused = np.zeros((n_queries, n_passages))
    positions = np.broadcast_to(np.arange(1, n_passages + 1), (n_queries, n_passages))
    for ranking in ranking_lists:
        rank = np.empty_like(ranking)
        np.put_along_axis(rank, ranking, positions, axis=1)  # rank[q, d] = position of d
        fused += 1.0 / (k + rank)
    return fused


# --8<-- [end:metrics]


# --8<-- [start:evaluate]
@dataclass
class Evaluation:
    passages: list[str]
    questions: list[Question]
    scores: dict[str, np.ndarray]  # retriever -> (questions x passages) scores
    ranks: dict[str, np.ndarray]  # retriever -> rank of the relevant passage, per question


def evaluate(seed: int, n_towns: int = 40, dimensions: int = 32) -> Evaluation:
    """Score every question against every passage with BM25 and the dense model, and fuse them."""
    passages, questions = make_knowledge_base(seed, n_towns)
    texts = [q.text for q in questions]
    relevant = np.array([q.passage for q in questions])
    bm25 = BM25([tokenize(p) for p in passages])
    embedder = fit_embedder(passages, dimensions, seed)
    scores = {
        "BM25": np.array([bm25.scores(tokenize(t)) for t in texts]),
        "dense": embed(embedder, texts) @ embed(embedder, passages).T,
    }
    scores["RRF"] = reciprocal_rank_fusion([rankings(scores["BM25"]), rankings(scores["dense"])])
    ranks = {name: rank_of_relevant(rankings(s), relevant) for name, s in scores.items()}
    return Evaluation(passages, questions, scores, ranks)


# --8<-- [end:evaluate]


# --8<-- [start:reader]
SENTENCE_STARTERS = {"The", "About", "Every", "In", "When", "Which", "Who", "How", "What"}


def value_words(text: str) -> list[str]:
    """Names and numbers: capitalised words and digits, minus words that only start sentences."""
    return [
        w for w in re.findall(r"\w+", text) if (w[0].isupper() or w.isdigit()) and w not in SENTENCE_STARTERS
    ]


def read(question: str, passage: str | None) -> str:
    """An extractive reader: the answer is the names and numbers of the passage that the
    question does not contain. If the passage does not mention what the question asks
    about, it says 'unknown' rather than guess."""
    asked_about = set(value_words(question))
    if passage is None or not asked_about <= set(value_words(passage)):
        return "unknown"
    answer = [w for w in value_words(passage) if w not in asked_about]
    return " ".join(answer) if answer else "unknown"


# --8<-- [end:reader]


# --8<-- [start:rag]
class RetrievalAugmentedReader:
    """The RAG loop: retrieve with BM25 and the dense model fused by RRF, then read the top
    passage. The knowledge lives in the passages, not in any trained weights."""

    def __init__(self, passages: list[str], embedder: Pipeline) -> None:
        self.passages = list(passages)
        self.embedder = embedder  # fitted once, never refitted below
        self.bm25 = BM25([tokenize(p) for p in self.passages])
        self.vectors = embed(embedder, self.passages)

    def retrieve(self, question: str, k: int = 5) -> list[int]:
        by_bm25 = rankings(self.bm25.scores(tokenize(question))[None])
        by_dense = rankings(embed(self.embedder, [question]) @ self.vectors.T)
        return [int(i) for i in rankings(reciprocal_rank_fusion([by_bm25, by_dense]))[0, :k]]

    def answer(self, question: str) -> str:
        return read(question, self.passages[self.retrieve(question, 1)[0]])

    def edit(self, index: int, text: str) -> None:
        """Replace one passage: recount BM25's statistics and embed the new text."""
        self.passages[index] = text
        self.bm25 = BM25([tokenize(p) for p in self.passages])  # counting, no learning
        self.vectors[index] = embed(self.embedder, [text])[0]


# --8<-- [end:rag]


# --8<-- [start:library]
import faiss  # noqa: E402
from rank_bm25 import BM25Okapi  # noqa: E402


def faiss_top_k(queries: np.ndarray, passages: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact search with an inner-product index: on unit vectors, the cosine top-k."""
    index = faiss.IndexFlatIP(passages.shape[1])
    index.add(passages)
    return index.search(queries, k)  # (similarities, passage indices)


def faiss_l2_top_k(queries: np.ndarray, passages: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The same ranking by squared Euclidean distance: |q - p|^2 = 2 - 2 cos(q, p) on unit vectors."""
    index = faiss.IndexFlatL2(passages.shape[1])
    index.add(passages)
    return index.search(queries, k)


def library_bm25_scores(passages: list[str], queries: list[str]) -> np.ndarray:
    """rank-bm25's BM25Okapi with its defaults k1=1.5, b=0.75, epsilon=0.25."""
    index = BM25Okapi([tokenize(p) for p in passages])
    return np.array([index.get_scores(tokenize(q)) for q in queries])


# --8<-- [end:library]


# --8<-- [start:chinese]
import logging  # noqa: E402

import jieba  # noqa: E402

jieba.setLogLevel(logging.WARNING)  # jieba logs while it loads its dictionary

CHINESE_PASSAGES = [
    "青石镇建于一六四二年。",
    "白沙河流经青石镇。",
    "青石镇的镇长是林晓梅。",
    "柳湾镇建于一七八零年。",
    "柳湾镇的镇长是周海峰。",
    "每年春天，柳湾镇都会举办灯笼节。",
    "金田村有三千位居民。",
    "流经金田村的是黑水河。",
]
CHINESE_QUESTIONS = [  # (question, index of the passage that answers it)
    ("青石镇的镇长是谁？", 2),
    ("哪条河流经青石镇？", 1),
    ("柳湾镇建于哪一年？", 3),
    ("柳湾镇春天举办什么节日？", 5),
    ("金田村有多少居民？", 6),
    ("哪条河流经金田村？", 7),
]


def jieba_words(text: str) -> list[str]:
    """jieba's word segmentation, punctuation removed: Chinese has no spaces between words."""
    return [w for w in jieba.lcut(text) if re.match(r"\w", w)]


def character_bigrams(text: str) -> list[str]:
    """Every pair of neighbouring characters: no dictionary, no segmentation decisions."""
    chars = re.findall(r"\w", text)
    return [a + b for a, b in zip(chars, chars[1:], strict=False)]


# --8<-- [end:chinese]


# --8<-- [start:solution-bm25plus]
class BM25Plus(BM25):
    """BM25+ (Lv & Zhai 2011) as rank-bm25 writes it: idf = ln((N + 1) / n_t), never negative,
    and delta added to each query term's saturation, so a term a passage contains is worth at
    least delta * idf however long the passage is. (rank-bm25 adds delta for absent terms too:
    the same shift for every passage, so the ranking is unchanged.)"""

    def __init__(self, documents: list[list[str]], k1: float = 1.5, b: float = 0.75, delta: float = 1.0):
        super().__init__(documents, k1, b)
        self.delta = delta
        n_docs = len(documents)
        doc_freq: dict[str, int] = {}
        for counts in self.counts:
            for term in counts:
                doc_freq[term] = doc_freq.get(term, 0) + 1
        self.idf = {t: np.log((n_docs + 1) / n) for t, n in doc_freq.items()}

    def scores(self, query: list[str]) -> np.ndarray:
        total = np.zeros(len(self.counts))
        norm = self.k1 * (1 - self.b + self.b * self.lengths / self.average_length)
        for term in query:
            tf = np.array([counts.get(term, 0) for counts in self.counts], dtype=float)
            total += self.idf.get(term, 0.0) * (self.delta + tf * (self.k1 + 1) / (norm + tf))
        return total


# --8<-- [end:solution-bm25plus]


# --8<-- [start:solution-ivf]
def faiss_ivf_top_k(
    queries: np.ndarray, passages: np.ndarray, k: int, n_lists: int = 4, n_probe: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate search: k-means splits the passages into n_lists cells; a query scans only
    the n_probe cells whose centroids are closest. With n_probe = n_lists it scans them all."""
    quantizer = faiss.IndexFlatIP(passages.shape[1])
    index = faiss.IndexIVFFlat(quantizer, passages.shape[1], n_lists, faiss.METRIC_INNER_PRODUCT)
    index.train(passages)
    index.add(passages)
    index.nprobe = n_probe
    return index.search(queries, k)


# --8<-- [end:solution-ivf]


from snippets.common import make_parser, positive_int, run_cli  # noqa: E402


def plot_recall_curves():
    """Left: recall@k of the three retrievers for k = 1..20. Right: recall@1 by question wording."""
    import matplotlib.pyplot as plt

    from snippets.common import default_seed

    result = evaluate(default_seed())
    other_words = np.array([q.paraphrased for q in result.questions])
    colors = {"BM25": "#1b9e77", "dense": "#d95f02", "RRF": "#7570b3"}
    ks = np.arange(1, 21)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 2]})
    for name, ranks in result.ranks.items():
        left.plot(ks, [recall_at_k(ranks, k) for k in ks], "o-", ms=3, color=colors[name], label=name)
    left.set(
        xlabel="k (passages handed to the reader)", ylabel="recall@k", ylim=(0, 1), xticks=[1, 5, 10, 15, 20]
    )
    left.set_title("recall@k on 200 questions")
    left.legend(loc="lower right")
    left.grid(alpha=0.3)
    width = 0.25
    for offset, (name, ranks) in zip((-width, 0, width), result.ranks.items(), strict=True):
        values = [recall_at_k(ranks[~other_words], 1), recall_at_k(ranks[other_words], 1)]
        right.bar(np.arange(2) + offset, values, width, color=colors[name], label=name)
    right.set(xticks=[0, 1], xticklabels=["same words\nas the passage", "other words"], ylim=(0, 1))
    right.set_title("recall@1 by how the question is asked")
    fig.tight_layout()
    return fig


FIGURES = {"retrieval-recall": plot_recall_curves}


def edit_demo(questions: list[Question]) -> tuple[Question, str]:
    """The first mayor question asked in the wording of its passage, and a new mayor for that town."""
    question = next(
        (q for q in questions if q.text.startswith("Who is the mayor") and not q.paraphrased), None
    )
    if question is None:
        raise ValueError("no mayor question in the passage's words: use more towns")
    return question, ("Edda Quorette" if question.answer != "Edda Quorette" else "Runa Talis")


def chinese_hits(tokenizer) -> int:
    """How many Chinese questions get their passage first from our BM25 with this tokenizer."""
    index = BM25([tokenizer(p) for p in CHINESE_PASSAGES])
    best = [int(np.argmax(index.scores(tokenizer(q)))) for q, _ in CHINESE_QUESTIONS]
    return sum(b == answer for b, (_, answer) in zip(best, CHINESE_QUESTIONS, strict=True))


def report(args: argparse.Namespace) -> None:
    """The three retrievers, the reader, an edited fact, the libraries and the Chinese example."""
    faiss.omp_set_num_threads(1)
    result = evaluate(args.seed, args.towns, args.dimensions)
    passages, questions = result.passages, result.questions
    other_words = np.array([q.paraphrased for q in questions])
    print(
        f"seed={args.seed}: {len(passages)} passages about {args.towns} invented towns, "
        f"{len(questions)} questions ({int(other_words.sum())} asked in other words)"
    )
    print(f"{'retriever':<9} {'recall@1':>8} {'recall@5':>8} {'MRR':>6}   recall@1: same words / other words")
    for name, ranks in result.ranks.items():
        print(
            f"{name:<9} {recall_at_k(ranks, 1):8.3f} {recall_at_k(ranks, 5):8.3f} "
            f"{mean_reciprocal_rank(ranks):6.3f}   {recall_at_k(ranks[~other_words], 1):.3f} / "
            f"{recall_at_k(ranks[other_words], 1):.3f}"
        )
    right = sum(read(q.text, passages[q.passage]) == q.answer for q in questions)
    unknown = sum(read(q.text, None) == "unknown" for q in questions)
    top = rankings(result.scores["RRF"])[:, 0]
    rag = sum(read(q.text, passages[i]) == q.answer for q, i in zip(questions, top, strict=True))
    print(f"reader with the right passage: {right}/{len(questions)} correct")
    print(f"reader with no passage: {unknown}/{len(questions)} 'unknown'")
    print(f"RAG, reader on the RRF top passage: {rag}/{len(questions)} correct")

    rag_loop = RetrievalAugmentedReader(passages, fit_embedder(passages, args.dimensions, args.seed))
    question, new_mayor = edit_demo(questions)
    print(f"Q: {question.text}  A: {rag_loop.answer(question.text)}")
    rag_loop.edit(question.passage, passages[question.passage].replace(question.answer, new_mayor))
    print(f"after editing that passage (no refitting): A: {rag_loop.answer(question.text)}")

    texts = [q.text for q in questions]
    gap = np.abs(result.scores["BM25"] - library_bm25_scores(passages, texts)).max()
    print(f"our BM25 vs rank_bm25.BM25Okapi: largest difference {gap:.1e}")
    embedder = fit_embedder(passages, args.dimensions, args.seed)
    query_vectors, passage_vectors = embed(embedder, texts), embed(embedder, passages)
    _, brute = cosine_top_k(query_vectors, passage_vectors, 5)
    for name, search in (("IndexFlatIP", faiss_top_k), ("IndexFlatL2", faiss_l2_top_k)):
        _, found = search(query_vectors, passage_vectors, 5)
        print(
            f"faiss {name} top-5 equals brute force for every question: {bool(np.array_equal(brute, found))}"
        )
    print(
        "Chinese questions whose passage BM25 ranks first: "
        + ", ".join(
            f"{name} {chinese_hits(tokenizer)}/{len(CHINESE_QUESTIONS)}"
            for name, tokenizer in (
                ("split on spaces", str.split),
                ("jieba", jieba_words),
                ("bigrams", character_bigrams),
            )
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "python -m snippets.llm.retrieval",
        "BM25, dense retrieval, reciprocal-rank fusion and a reader on invented facts.",
    )
    parser.add_argument(
        "--towns", type=positive_int, default=40, help="towns in the knowledge base (default: 40)"
    )
    parser.add_argument(
        "--dimensions", type=positive_int, default=32, help="size of the dense embeddings (default: 32)"
    )
    return run_cli(parser, report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
