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
from .speech import BYTE_ORDER_MARK, PLAIN, Boundary, Mark, Pause, Prosody, Run, Sentence, WrittenWord
from .written import alignment

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
) -> list[Sentence | Pause | Mark]:
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


def speak_runs(
    items: list[Run | Pause | Boundary | Mark], phonemizer: Phonemizer | None = None
) -> list[Sentence | Pause | Mark]:
    """Sentences and pauses of the runs, in order; a mark is kept with the word that follows
    it in its sentence, or stands on its own where none does. Offsets of written words count
    the characters of all runs (the input, or an SSML document's text)."""
    phonemizer = phonemizer or Phonemizer()
    planned: list[Sentence | Pause | Mark] = []
    block: list[Run | Mark] = []
    consumed = 0  # characters of the runs before the block
    for item in items + [Boundary()]:
        if isinstance(item, (Run, Mark)):
            block.append(item)
            continue
        planned += _block_sentences(block, phonemizer, consumed)
        consumed += sum(len(run.text) for run in block if isinstance(run, Run))
        block = []
        if isinstance(item, Pause):
            planned.append(item)
    return planned


def _block_sentences(block: list[Run | Mark], phonemizer: Phonemizer, offset: int) -> list[Sentence | Mark]:
    """Runs that flow into each other: sentences found across them, each part of a
    sentence normalized on its own and read with its run's prosody."""
    raw, spans, marks = "", [], []
    for item in block:
        if isinstance(item, Mark):
            marks.append((len(raw), item.name))
            continue
        spans.append((len(raw), len(raw) + len(item.text), item.prosody))
        raw += item.text
    planned: list[Sentence | Mark] = []
    for start, end in sentence_spans(raw):
        normalized, pieces = "", []
        for piece_start, piece_end, prosody in spans:
            part = raw[max(start, piece_start) : min(end, piece_end)]
            words = normalize(part) if part.strip() else ""
            punctuation = re.findall(r"[.?!,;:]", part) if not words else []
            if punctuation and normalized:  # "you</emphasis>?": the question mark belongs to the sentence
                normalized += {";": ",", ":": ","}.get(punctuation[-1], punctuation[-1])
            if words:
                normalized += " " if normalized else ""
                pieces.append((len(normalized), prosody))
                normalized += words
        sentences = []
        for chunk_start, chunk_end in sentence_chunks(normalized):
            sentence = _sentence(normalized[chunk_start:chunk_end], chunk_start, pieces, phonemizer)
            if sentence is not None:
                sentences.append(sentence)
        _attach_written(raw[start:end], offset + start, sentences)
        planned += sentences
    _place_marks([(offset + position, name) for position, name in marks], planned)
    return planned


# Where a written stretch that two sentences share is cut: after its sentence-ending
# punctuation and any closing quotes or brackets ('Stop."Go' is 'Stop."' and 'Go').
SENTENCE_END = re.compile(r"[.?!]+[\"'”’)\]]*")


def _attach_written(raw: str, offset: int, sentences: list[Sentence]) -> None:
    """Each sentence's written words: the input's stretches its words were read as, aligned
    across the sentences a long one was cut into (written.py). A stretch read as words of
    two sentences is cut at its sentence end, so that each sentence times its own part."""
    words = [(sentence, index) for sentence in sentences for index in range(len(sentence.words))]
    for (start, end), (first, last) in alignment(raw, [sentence.words[index] for sentence, index in words]):
        owners: list[tuple[Sentence, int, int]] = []  # (sentence, first word, last word) in the stretch
        for owner, index in words[first : last + 1]:
            if owner.words[index].source in ("punctuation", "skipped"):  # no spoken words, as in alignment
                continue
            if owners and owners[-1][0] is owner:
                owners[-1] = (owner, owners[-1][1], index)
            else:
                owners.append((owner, index, index))
        cuts = [m.end() for m in SENTENCE_END.finditer(raw, start, end)][: len(owners) - 1]
        bounds = [start] + [cut for cut in cuts if cut < end] + [end]
        # Too few cuts (no sentence end written): the rest stays the last piece's, as one word.
        for (owner, local_first, local_last), piece_start, piece_end in zip(owners, bounds, bounds[1:], strict=False):
            owner.written.append(
                WrittenWord(
                    raw[piece_start:piece_end], offset + piece_start, offset + piece_end, local_first, local_last
                )
            )


def _place_marks(marks: list[tuple[int, str]], planned: list[Sentence | Mark]) -> None:
    """Each mark to the first written word at or after its position, in that word's
    sentence; one that no word follows is appended on its own, after the marks before it."""
    sentences = [item for item in planned if isinstance(item, Sentence)]  # only sentences so far
    for position, name in marks:
        for sentence in sentences:
            word = next((w for w in sentence.written if w.start >= position), None)
            if word is not None:
                sentence.marks.append((name, word.first))
                break
        else:
            planned.append(Mark(name))


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
    return Sentence(chunk, words, phonemes, prosody, owners)


def _prosody_at(position: int, pieces: list[tuple[int, Prosody]]) -> Prosody:
    chosen = PLAIN
    for start, prosody in pieces:
        if start <= position:
            chosen = prosody
    return chosen


__all__ = [
    "MAX_TEXT_CHARS",
    "Boundary",
    "Mark",
    "Pause",
    "Prosody",
    "Run",
    "Sentence",
    "WrittenWord",
    "decode_input",
    "frontend",
    "is_ssml",
    "plan_speech",
    "speak_runs",
]
