"""When each word, phoneme and SSML mark is spoken. The audio is made from the durations the
acoustic model predicts, frame for frame (a frame is hop_length samples), so every
boundary is known exactly before a sample is made:

    a phoneme    starts where the phonemes before it end, after the sentence's lead silence
    a word       from its first phoneme's start to its last phoneme's end (the word as written
                 in the input: "$5.50" is one written word of five spoken ones)
    a mark       at the start of the word it comes before (the sentence's end after the last)

Times are seconds from the start of the audio; pauses, the silence between sentences and
each sentence's edge silence are counted in them, and resampling leaves them as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..text import Sentence
from ..text.symbols import PUNCTUATION, WORD_BOUNDARY

NOT_PHONES = frozenset({WORD_BOUNDARY, *PUNCTUATION})


@dataclass(frozen=True)
class WordTime:
    text: str  # as written in the input
    start: float
    end: float
    offset: tuple[int, int]  # characters of the input (an SSML document's text)
    phonemes: tuple[str, ...]
    ends_sentence: bool = False  # the last word of its sentence (captions start a new cue after it)


@dataclass(frozen=True)
class PhonemeTime:
    phoneme: str
    start: float
    end: float


@dataclass(frozen=True)
class MarkTime:
    name: str
    time: float


@dataclass
class Timings:
    words: list[WordTime] = field(default_factory=list)
    phonemes: list[PhonemeTime] = field(default_factory=list)
    marks: list[MarkTime] = field(default_factory=list)

    def shifted(self, seconds: float) -> "Timings":
        """The same timings, `seconds` later."""
        return Timings(
            [replace(w, start=w.start + seconds, end=w.end + seconds) for w in self.words],
            [replace(p, start=p.start + seconds, end=p.end + seconds) for p in self.phonemes],
            [replace(m, time=m.time + seconds) for m in self.marks],
        )

    def extend(self, other: "Timings") -> None:
        self.words += other.words
        self.phonemes += other.phonemes
        self.marks += other.marks

    def to_dict(self, phonemes: bool = False) -> dict:
        """JSON: words (text, start, end, offset, phonemes) and marks; phoneme intervals if asked."""
        result: dict = {
            "words": [
                {"text": w.text, "start": w.start, "end": w.end, "offset": list(w.offset), "phonemes": list(w.phonemes)}
                for w in self.words
            ],
            "marks": [asdict(m) for m in self.marks],
        }
        if phonemes:
            result["phonemes"] = [asdict(p) for p in self.phonemes]
        return result


def sentence_timings(sentence: Sentence, durations: list[int], lead: float, seconds_per_frame: float) -> Timings:
    """The timings of one sentence's audio: `durations` are the frames of each of its
    phonemes, which start `lead` seconds into the audio."""
    starts, position = [], lead
    for frames in durations:
        starts.append(position)
        position += frames * seconds_per_frame
    end_of_speech = position
    phones: list[PhonemeTime] = []
    by_word: dict[int, list[PhonemeTime]] = {}
    for i, symbol in enumerate(sentence.phonemes):
        if symbol not in NOT_PHONES:
            phone = PhonemeTime(symbol, starts[i], starts[i] + durations[i] * seconds_per_frame)
            phones.append(phone)
            by_word.setdefault(sentence.owners[i], []).append(phone)
    words = []
    for written in sentence.written:
        spoken = [p for index in range(written.first, written.last + 1) for p in by_word.get(index, [])]
        if spoken:
            phonemes = tuple(p.phoneme for p in spoken)
            words.append(
                WordTime(written.text, spoken[0].start, spoken[-1].end, (written.start, written.end), phonemes)
            )
    if words:
        words[-1] = replace(words[-1], ends_sentence=True)
    marks = []
    for name, before in sentence.marks:
        following = [p for index in sorted(by_word) if index >= before for p in by_word[index][:1]]
        marks.append(MarkTime(name, following[0].start if following else end_of_speech))
    return Timings(words, phones, marks)
