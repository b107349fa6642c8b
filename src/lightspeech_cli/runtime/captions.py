"""Timings written out, each format by a library that knows it: JSON, SubRip (`srt`), WebVTT
(`webvtt-py`) and Praat's TextGrid (`praatio`).

Captions group words into cues the way subtitle tools do: at most two lines of about
LINE_CHARS characters, at most CUE_SECONDS long, a new cue after a sentence ends or a pause
of PAUSE_SECONDS; a cue lasts from its first word's start to its last word's end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ..errors import InputError
from .timings import Timings, WordTime

LINE_CHARS = 42
CUE_LINES = 2
CUE_SECONDS = 7.0
PAUSE_SECONDS = 1.0
FORMATS = {".json": "json", ".srt": "srt", ".vtt": "vtt", ".textgrid": "textgrid"}


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]


def cues(words: list[WordTime]) -> list[Cue]:
    """Words grouped into caption cues (see the module's docstring)."""
    result: list[Cue] = []
    current: list[WordTime] = []

    def close() -> None:
        if current:
            result.append(Cue(current[0].start, current[-1].end, tuple(wrapped([w.text for w in current]))))
            current.clear()

    for word in words:
        if current and (
            current[-1].ends_sentence
            or word.start - current[-1].end >= PAUSE_SECONDS
            or word.end - current[0].start > CUE_SECONDS
            or len(wrapped([w.text for w in current] + [word.text])) > CUE_LINES
        ):
            close()
        current.append(word)
    close()
    return result


def wrapped(texts: list[str]) -> list[str]:
    """Words in lines of at most LINE_CHARS characters (a longer word alone on its line)."""
    lines: list[str] = []
    for text in texts:
        if lines and len(lines[-1]) + 1 + len(text) <= LINE_CHARS:
            lines[-1] += " " + text
        else:
            lines.append(text)
    return lines


def as_json(timings: Timings, phonemes: bool = False) -> str:
    return json.dumps(timings.to_dict(phonemes), indent=2, ensure_ascii=False) + "\n"


def as_srt(timings: Timings) -> str:
    import srt

    subtitles = [
        srt.Subtitle(number, timedelta(seconds=cue.start), timedelta(seconds=cue.end), "\n".join(cue.lines))
        for number, cue in enumerate(cues(timings.words), 1)
    ]
    return srt.compose(subtitles)


def as_vtt(timings: Timings) -> str:
    import webvtt

    document = webvtt.WebVTT()
    for cue in cues(timings.words):
        document.captions.append(webvtt.Caption(_vtt_time(cue.start), _vtt_time(cue.end), list(cue.lines)))
    return document.content


def _vtt_time(seconds: float) -> str:
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def as_textgrid(timings: Timings, duration: float, phonemes: bool = False) -> str:
    """A TextGrid with a "words" tier (and a "phones" tier); silence is left blank."""
    from praatio.utilities.textgrid_io import getTextgridAsStr

    tiers = [("words", [(w.start, w.end, w.text) for w in timings.words])]
    if phonemes:
        tiers.append(("phones", [(p.start, p.end, p.phoneme) for p in timings.phonemes]))
    grid = {
        "xmin": 0.0,
        "xmax": duration,
        "tiers": [
            {"class": "IntervalTier", "name": name, "xmin": 0.0, "xmax": duration, "entries": entries}
            for name, entries in tiers
        ],
    }
    return getTextgridAsStr(grid, "long_textgrid", includeBlankSpaces=True, minTimestamp=0.0, maxTimestamp=duration)


def caption_format(path: str, option: str = "--timings") -> str:
    """The format a timings file's name asks for ('-' is JSON on standard output)."""
    if path == "-":
        return "json"
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"{option} {path}: unknown format {suffix or '(none)'!r}; "
            "use .json, .srt, .vtt or .TextGrid (or - for JSON)"
        )
    return FORMATS[suffix]


def render(timings: Timings, kind: str, duration: float, phonemes: bool = False) -> str:
    """The timings in a format of FORMATS (json, srt, vtt, textgrid)."""
    if kind == "json":
        return as_json(timings, phonemes)
    if kind == "srt":
        return as_srt(timings)
    if kind == "vtt":
        return as_vtt(timings)
    return as_textgrid(timings, duration, phonemes)
