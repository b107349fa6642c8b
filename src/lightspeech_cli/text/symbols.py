"""The phoneme symbol set: ARPAbet with stress, a word boundary and punctuation.

A voice is trained on one version of this table and its config names it, so the ids
a model sees never change under it. Add a new version rather than editing one.

From arpabet-2 on, a sentence is framed by a word boundary at each end, which holds the
silence before and after it. A model that starts on the first phoneme (arpabet-1) has
nothing to make that phoneme's onset from, and garbles it ("Thunder" heard as "Lunder").
"""

from __future__ import annotations

from ..errors import VoiceError

PAD = "<pad>"
WORD_BOUNDARY = "|"
PUNCTUATION = (",", ".", "?", "!")
VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
CONSONANTS = (
    "B",
    "CH",
    "D",
    "DH",
    "F",
    "G",
    "HH",
    "JH",
    "K",
    "L",
    "M",
    "N",
    "NG",
    "P",
    "R",
    "S",
    "SH",
    "T",
    "TH",
    "V",
    "W",
    "Y",
    "Z",
    "ZH",
)
PHONES = tuple(f"{v}{stress}" for v in VOWELS for stress in "012") + CONSONANTS

SYMBOL_SETS = {
    "arpabet-1": (PAD, WORD_BOUNDARY) + PUNCTUATION + PHONES,
    "arpabet-2": (PAD, WORD_BOUNDARY) + PUNCTUATION + PHONES,
}
FRAMED_SETS = frozenset({"arpabet-2"})
DEFAULT_SYMBOL_SET = "arpabet-2"


class SymbolSet:
    def __init__(self, version: str = DEFAULT_SYMBOL_SET):
        if version not in SYMBOL_SETS:
            raise VoiceError(f"unknown symbol set {version!r}; this lightspeech knows {', '.join(SYMBOL_SETS)}")
        self.version = version
        self.symbols = SYMBOL_SETS[version]
        self._ids = {s: i for i, s in enumerate(self.symbols)}
        # Symbols a model reads before and after a sentence's own phonemes.
        self.edges = 1 if version in FRAMED_SETS else 0

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self._ids

    def to_ids(self, phonemes: list[str]) -> list[int]:
        return [self._ids[p] for p in phonemes]

    def sentence_ids(self, phonemes: list[str]) -> list[int]:
        """What a model of this set reads for one sentence: its phonemes, framed by the
        edge symbols where the set has them."""
        edge = [WORD_BOUNDARY] * self.edges
        return self.to_ids(edge + phonemes + edge)

    def to_symbols(self, ids: list[int]) -> list[str]:
        return [self.symbols[i] for i in ids]
