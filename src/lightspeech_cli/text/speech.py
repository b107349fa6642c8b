"""What the frontend makes of a text, for the synthesizer: sentences (words, phonemes, how
they were written, and per-phoneme prosody where SSML asked for it), pauses and marks; and
the runs of written text SSML is read into."""

from __future__ import annotations

from dataclasses import dataclass, field

from .g2p import Word

BYTE_ORDER_MARK = "\ufeff"


@dataclass(frozen=True)
class Prosody:
    """Factors on top of the user's controls (1.0 = unchanged)."""

    rate: float = 1.0
    pitch: float = 1.0
    volume: float = 1.0


PLAIN = Prosody()


@dataclass(frozen=True)
class Run:
    """A stretch of written text read with one prosody (SSML makes several)."""

    text: str
    prosody: Prosody = PLAIN


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Boundary:
    """A sentence ends here whatever the punctuation says (SSML <s>, <p>)."""


@dataclass(frozen=True)
class Mark:
    """SSML's <mark name="..."/>: a point of the speech whose time is reported. In a plan, a
    mark that no word follows in its sentence stands on its own."""

    name: str


@dataclass(frozen=True)
class WrittenWord:
    """A stretch of the input, as written, and the spoken words it was read as: "$5.50" is
    five of them, "Nov. 25" three. `start` and `end` are character offsets in the input (in
    an SSML document's text, tags left out); `first` and `last` index Sentence.words."""

    text: str
    start: int
    end: int
    first: int
    last: int


@dataclass
class Sentence:
    text: str  # normalized
    words: list[Word]
    phonemes: list[str]
    # Per phoneme (rate, pitch, volume), when some part of the sentence is read differently.
    prosody: list[tuple[float, float, float]] | None = field(default=None)
    owners: list[int] = field(default_factory=list)  # per phoneme, the index of its word
    written: list[WrittenWord] = field(default_factory=list)
    # (name, index of the word the mark comes before: len(words) after the last)
    marks: list[tuple[str, int]] = field(default_factory=list)
