"""Part-of-speech tags for homographs ("I read" / "I have read", "refuse" / "the refuse").

An averaged-perceptron tagger over Penn Treebank tags. Its weights come from
hibari-tts (Apache-2.0; see data/NOTICE): a table from feature string to per-tag
weight, so inference is dictionary lookups, and the features below must be spelled
exactly as they were in training.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources

START = ("-START2-", "-START-")
END = ("-END-", "-END2-")


def _normalized(word: str) -> str:
    if "-" in word and word[0] != "-":
        return "!HYPHEN"
    if word.isdigit() and len(word) == 4:
        return "!YEAR"
    if word[0].isdigit():
        return "!DIGITS"
    return word.lower()


def _shape(word: str) -> str:
    if word.isalpha():
        if word.islower():
            return "x"
        if word.isupper():
            return "XX" if len(word) > 1 else "X1"
        return "Xx" if word[0].isupper() and word[1:].islower() else "xX"
    if word.isdigit():
        return "d"
    return "".join("d" if c.isdigit() else "x" if c.isalpha() else c for c in word[:4])


class Tagger:
    def __init__(self, model: dict):
        self.tags = model["tags"]
        self.tag_of_word = model["tagdict"]  # words that almost always take one tag
        self.vocabulary = set(model["vocab"])
        self.weights = model["weights"]

    def __call__(self, words: list[str]) -> list[str]:
        # Rare words are replaced by their shape: the weights only know frequent ones.
        context = (
            list(START)
            + [n if (n := _normalized(w)) in self.vocabulary else f"<{_shape(w)}>" for w in words]
            + list(END)
        )
        prev2, prev = START
        tags = []
        for i, word in enumerate(words):
            tag = self.tag_of_word.get(word) or self._predict(i, word, context, prev, prev2)
            tags.append(tag)
            prev2, prev = prev, tag
        return tags

    def _predict(self, i: int, word: str, context: list[str], prev: str, prev2: str) -> str:
        j = i + 2
        features = (
            "b",
            "s3=" + word[-3:],
            "p1=" + word[0],
            "w=" + context[j],
            "sh=" + _shape(word),
            "i0" if i == 0 else "i+",
            "t-1=" + prev,
            "t-2=" + prev2,
            f"t-12={prev},{prev2}",
            "w-1=" + context[j - 1],
            "s3-1=" + context[j - 1][-3:],
            "w-2=" + context[j - 2],
            "w+1=" + context[j + 1],
            "s3+1=" + context[j + 1][-3:],
            "w+2=" + context[j + 2],
        )
        scores: dict[str, float] = {}
        for feature in features:
            for tag, weight in self.weights.get(feature, {}).items():
                scores[tag] = scores.get(tag, 0.0) + weight
        if not scores:
            return "NN"
        return max(self.tags, key=lambda t: (scores.get(t, 0.0), t))


@lru_cache(maxsize=1)
def load_tagger() -> Tagger:
    data = resources.files(__package__) / "data" / "pos_tagger.json.gz"
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        return Tagger(json.load(f))
