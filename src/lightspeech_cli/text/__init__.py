"""Text frontend: written English -> normalized words -> phonemes -> symbol ids."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from .g2p import Phonemizer, Word
from .normalize import normalize, split_sentences

# Longer input is refused, not silently cut: split it into lines and use `render`.
MAX_TEXT_CHARS = 100_000


def decode_input(data: bytes, source: str) -> str:
    """User bytes as text, or a clear error naming `source` ("the input", a path)."""
    if b"\x00" in data:
        raise InputError(f"{source} is binary, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{source} is not UTF-8 text (bad byte at offset {e.start})") from None


@dataclass
class Sentence:
    text: str  # normalized
    words: list[Word]
    phonemes: list[str]


def frontend(text: str, phonemizer: Phonemizer | None = None) -> list[Sentence]:
    """Every speakable sentence of `text`; an empty list when nothing can be said."""
    phonemizer = phonemizer or Phonemizer()
    sentences = []
    for chunk in split_sentences(normalize(text)):
        phonemes = phonemizer.phonemes(chunk)
        if any(p not in (".", ",", "?", "!", "|") for p in phonemes):
            sentences.append(Sentence(chunk, phonemizer.words(chunk), phonemes))
    return sentences
