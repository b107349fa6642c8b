"""What `lightspeech render` reads: text (one utterance per line, or per paragraph) or JSON
Lines (`{"text", "file", "speed", ...}`), every part checked before the first synthesis
(at most MAX_INPUT_BYTES, MAX_UTTERANCES utterances of MAX_UTTERANCE_CHARS each), into
`Job`s; and the key of each job's file, a hash of everything that shapes it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..paths import parse_json, read_limited, shown
from ..text import decode_input
from .audio import FORMATS
from .synthesizer import Controls

AUDIO_FORMATS = tuple(extension.lstrip(".") for extension in FORMATS)  # as --format names them

MAX_UTTERANCE_CHARS = 20_000

# A long audiobook is 1 MB of text; beyond these, split the input into several renders.
MAX_INPUT_BYTES = 16 * 1024 * 1024

MAX_UTTERANCES = 100_000

MAX_FILE_NAME_BYTES = 255  # what Linux and macOS file systems take

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")

JOB_FIELDS = ("text", "file", "speed", "pitch", "energy", "volume")


@dataclass
class Job:
    text: str
    file: str
    controls: Controls


def read_input(path: Path | None) -> tuple[str, str]:
    """(content, name for messages) of a file, or of standard input when `path` is None."""
    import sys

    if path is None and (sys.stdin is None or sys.stdin.isatty()):
        raise InputError("no input: give a file, or '-' with text on standard input")
    name = "the input" if path is None else str(path)
    data = read_limited(path, MAX_INPUT_BYTES, name, "split it into several renders")
    return decode_input(data, name), "<stdin>" if path is None else str(path)


def _number(value: object, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: {name} must be a number, not {shown(value)}")
    try:
        return float(value)
    except OverflowError:  # a whole number of hundreds of digits
        raise InputError(f"{where}: {name} is out of range: {shown(value)}") from None


def _checked_text(text: str, where: str) -> str:
    if len(text) > MAX_UTTERANCE_CHARS:
        raise InputError(
            f"{where}: the text is too long ({len(text):,} characters; the limit per utterance is "
            f"{MAX_UTTERANCE_CHARS:,})"
        )
    # JSON may escape a lone surrogate ("\ud800"): no character, and not UTF-8, so the
    # manifest could not record it; speech skips it anyway.
    return LONE_SURROGATES.sub("", text)


LONE_SURROGATES = re.compile("[\ud800-\udfff]")

PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v]*\n\s*")


def plain_file_name(name: object) -> bool:
    """Whether `name` is a file render may write in its folder: no folder part, not
    hidden, printable, short enough for the file system, with an audio suffix."""
    return (
        isinstance(name, str)
        and Path(name).name == name
        and not name.startswith(".")
        and name.isprintable()
        and len(name.encode("utf-8")) <= MAX_FILE_NAME_BYTES
        and Path(name).suffix.lower().lstrip(".") in AUDIO_FORMATS
    )


def read_jobs(
    content: str, source: str, json_lines: bool, paragraphs: bool, audio_format: str, controls: Controls
) -> list[Job]:
    """Every utterance of the input, each checked: texts, file names, controls."""
    if audio_format not in AUDIO_FORMATS:
        raise InputError(f"--format must be one of {', '.join(AUDIO_FORMATS)}, not {audio_format!r}")
    jobs: list[Job] = []

    def add(job: Job) -> None:
        if len(jobs) == MAX_UTTERANCES:
            raise InputError(f"{source} has more than {MAX_UTTERANCES:,} utterances; split it into several renders")
        jobs.append(job)

    if json_lines:
        for number, line in enumerate(content.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{source}:{number}"
            try:
                entry = parse_json(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{where}: not JSON ({e.msg} at column {e.colno})") from None
            except ValueError:  # a number past 4,300 digits; nesting thousands deep
                raise InputError(
                    f"{where}: not JSON that lightspeech reads (a number too long or nesting too deep)"
                ) from None
            if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) or not entry["text"].strip():
                raise InputError(f'{where}: expected {{"text": "...", ...}} with non-empty text')
            unknown = sorted(set(entry) - set(JOB_FIELDS))
            if unknown:
                raise InputError(f"{where}: unknown field {shown(unknown[0])}")
            name = entry.get("file", f"{len(jobs) + 1:04d}.{audio_format}")
            if not plain_file_name(name):
                raise InputError(
                    f"{where}: 'file' must be a plain file name (at most {MAX_FILE_NAME_BYTES} bytes) "
                    f"ending in .wav, .flac, .ogg or .mp3, not {shown(name)}"
                )
            values = {k: _number(entry[k], k, where) for k in ("speed", "pitch", "energy", "volume") if k in entry}
            job_controls = Controls(**{**controls.__dict__, **values})
            try:
                job_controls.check()
            except InputError as e:
                raise InputError(f"{where}: {e}") from None
            add(Job(_checked_text(entry["text"], where), name, job_controls))
    else:
        # A paragraph ends at a line that is blank or only white space, whatever the line endings.
        unix = content.replace("\r\n", "\n").replace("\r", "\n")
        blocks = PARAGRAPH_BREAK.split(unix) if paragraphs else content.splitlines()
        for number, block in enumerate(blocks, 1):
            text = " ".join(block.split())
            if text:
                where = f"{source}: paragraph {number}" if paragraphs else f"{source}:{number}"
                add(Job(_checked_text(text, where), f"{len(jobs) + 1:04d}.{audio_format}", controls))
    if not jobs:
        raise InputError(f"{source} has no text to render")
    names = [j.file for j in jobs]
    if len(set(names)) != len(names):
        raise InputError(f"{source}: two entries write the same file")
    return jobs


def job_key(job: Job, settings: str) -> str:
    """What made a file: its text and controls, and the render's settings."""
    controls = json.dumps(job.controls.__dict__, sort_keys=True)
    return hashlib.sha256(f"{settings}\0{job.text}\0{controls}\0{Path(job.file).suffix.lower()}".encode()).hexdigest()[
        :20
    ]
