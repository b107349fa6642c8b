"""What the frontend makes of a text, for the synthesizer: sentences (words, phonemes, and
per-phoneme prosody where SSML asked for it) and pauses; and the runs of written text SSML
is read into."""

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


@dataclass
class Sentence:
    text: str  # normalized
    words: list[Word]
    phonemes: list[str]
    # Per phoneme (rate, pitch, volume), when some part of the sentence is read differently.
    prosody: list[tuple[float, float, float]] | None = field(default=None)
