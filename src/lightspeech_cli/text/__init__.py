"""Text frontend: written English -> sentences -> normalized words -> phonemes.

    plain text  -> sentences.py (where sentences end) -> normalize.py -> g2p.py
    SSML        -> ssml.py (runs of text with prosody, breaks) -> the same

`plan_speech` gives what the synthesizer speaks: `Sentence`s (phonemes, and per-phoneme
prosody when SSML asked for it) and `Pause`s. No torch, no numpy beyond the G2P.
"""

from __future__ import annotations

import re
from typing import Callable

from ..errors import InputError
from ..paths import shown
from .chunks import sentence_chunks
from .g2p import LONGEST_WORD, TOKEN, Phonemizer
from .normalize import normalize
from .sentences import sentence_spans
from .speech import BYTE_ORDER_MARK, PLAIN, Boundary, Pause, Prosody, Run, Sentence

# Longer input in one piece is refused, not silently cut: split it into lines.
MAX_TEXT_CHARS = 100_000


def decode_input(data: bytes, source: str) -> str:
    """User bytes as text, or a clear error naming `source` ("the input", a path)."""
    if b"\x00" in data:
        raise InputError(f"{source} is binary, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{source} is not UTF-8 text (bad byte at offset {e.start})") from None


# How an SSML document may begin: its root, or an XML declaration or DOCTYPE before it
# (a DOCTYPE is then refused: no DTDs).
SSML_STARTS = ("<speak", "<?xml", "<!DOCTYPE")


def is_ssml(text: str, ssml: bool | None = None) -> bool:
    """SSML when asked for, or when not told and the text starts as SSML does (after
    white space and a byte order mark, which editors on Windows write)."""
    if ssml is not None:
        return ssml
    return text.lstrip().lstrip(BYTE_ORDER_MARK).lstrip().startswith(SSML_STARTS)


def plan_speech(
    text: str, phonemizer: Phonemizer | None = None, ssml: bool | None = None, warn: Callable[[str], None] | None = None
) -> list[Sentence | Pause]:
    """Sentences and pauses to speak; `warn` hears what is skipped: what SSML asked for
    that lightspeech does not do, and "words" too long to be words."""
    if is_ssml(text, ssml):
        from .ssml import parse_ssml

        planned = speak_runs(parse_ssml(text, warn), phonemizer)
    else:
        planned = speak_runs([Run(text)], phonemizer)
    if warn is not None:
        for item in planned:
            for word in item.words if isinstance(item, Sentence) else []:
                if word.source == "skipped":
                    warn(f"{shown(word.text)} is not read: longer than {LONGEST_WORD} letters, it is taken for noise")
    return planned


def frontend(text: str, phonemizer: Phonemizer | None = None) -> list[Sentence]:
    """Every speakable sentence of plain `text`; an empty list when nothing can be said."""
    return [item for item in speak_runs([Run(text)], phonemizer) if isinstance(item, Sentence)]


def speak_runs(items: list[Run | Pause | Boundary], phonemizer: Phonemizer | None = None) -> list[Sentence | Pause]:
    phonemizer = phonemizer or Phonemizer()
    planned: list[Sentence | Pause] = []
    block: list[Run] = []
    for item in items + [Boundary()]:
        if isinstance(item, Run):
            block.append(item)
            continue
        planned += _block_sentences(block, phonemizer)
        block = []
        if isinstance(item, Pause):
            planned.append(item)
    return planned


def _block_sentences(runs: list[Run], phonemizer: Phonemizer) -> list[Sentence]:
    """Runs that flow into each other: sentences found across them, each part of a
    sentence normalized on its own and read with its run's prosody."""
    raw, spans = "", []
    for run in runs:
        spans.append((len(raw), len(raw) + len(run.text), run.prosody))
        raw += run.text
    sentences = []
    for start, end in sentence_spans(raw):
        normalized, pieces = "", []
        for piece_start, piece_end, prosody in spans:
            part = raw[max(start, piece_start) : min(end, piece_end)]
            words = normalize(part) if part.strip() else ""
            marks = re.findall(r"[.?!,;:]", part) if not words else []
            if marks and normalized:  # "you</emphasis>?": the question mark belongs to the sentence
                normalized += {";": ",", ":": ","}.get(marks[-1], marks[-1])
            if words:
                normalized += " " if normalized else ""
                pieces.append((len(normalized), prosody))
                normalized += words
        for chunk_start, chunk_end in sentence_chunks(normalized):
            sentence = _sentence(normalized[chunk_start:chunk_end], chunk_start, pieces, phonemizer)
            if sentence is not None:
                sentences.append(sentence)
    return sentences


def _sentence(chunk: str, offset: int, pieces: list[tuple[int, Prosody]], phonemizer: Phonemizer) -> Sentence | None:
    words = phonemizer.words(chunk)
    phonemes, owners = phonemizer.sequence(words)
    if not any(p not in (".", ",", "?", "!", "|") for p in phonemes):
        return None
    prosody = None
    if any(p != PLAIN for _, p in pieces):
        starts = [offset + m.start() for m in TOKEN.finditer(chunk)]
        word_prosody = [_prosody_at(start, pieces) for start in starts]
        prosody = [(p.rate, p.pitch, p.volume) for p in (word_prosody[owner] for owner in owners)]
    return Sentence(chunk, words, phonemes, prosody)


def _prosody_at(position: int, pieces: list[tuple[int, Prosody]]) -> Prosody:
    chosen = PLAIN
    for start, prosody in pieces:
        if start <= position:
            chosen = prosody
    return chosen


__all__ = [
    "MAX_TEXT_CHARS",
    "Boundary",
    "Pause",
    "Prosody",
    "Run",
    "Sentence",
    "decode_input",
    "frontend",
    "is_ssml",
    "plan_speech",
    "speak_runs",
]
