"""`lightspeech render`: many utterances to numbered files and a manifest.

The whole input is read and checked before the first synthesis. Each file is written
atomically and recorded in `manifest.jsonl` with a key: a hash of everything that shaped
it (text, voice, vocoder, controls, format, sample rate, pronunciations). A render that
was killed, or run again after the input changed, keeps the files whose key still
matches, moves files whose line moved (an inserted line shifts the numbers), and makes
only what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import InputError, LightspeechError, OutputError
from ..paths import atomic_write, remove_inside, shown, sweep_stale_parts
from ..text import decode_input
from .synthesizer import Controls, Synthesizer, check_silence

FORMATS = ("wav", "flac", "ogg", "mp3")
MANIFEST = "manifest.jsonl"
MAX_UTTERANCE_CHARS = 20_000
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

    if path is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError("no input: give a file, or '-' with text on standard input")
        return decode_input(sys.stdin.buffer.read(), "the input"), "<stdin>"
    try:
        if path.is_dir():
            raise InputError(f"cannot read {path}: it is a folder")
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    return decode_input(data, str(path)), str(path)


def _number(value: object, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: {name} must be a number, not {shown(value)}")
    return float(value)


def _checked_text(text: str, where: str) -> str:
    if len(text) > MAX_UTTERANCE_CHARS:
        raise InputError(f"{where}: the text is too long ({len(text):,} characters; the limit per utterance is "
                         f"{MAX_UTTERANCE_CHARS:,})")
    return text


def read_jobs(content: str, source: str, json_lines: bool, paragraphs: bool, audio_format: str,
              controls: Controls) -> list[Job]:
    """Every utterance of the input, each checked: texts, file names, controls."""
    if audio_format not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {audio_format!r}")
    jobs = []
    if json_lines:
        for number, line in enumerate(content.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{source}:{number}"
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{where}: not JSON ({e.msg})") from None
            if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) or not entry["text"].strip():
                raise InputError(f'{where}: expected {{"text": "...", ...}} with non-empty text')
            unknown = sorted(set(entry) - set(JOB_FIELDS))
            if unknown:
                raise InputError(f"{where}: unknown field {shown(unknown[0])}")
            name = entry.get("file", f"{len(jobs) + 1:04d}.{audio_format}")
            if not isinstance(name, str) or Path(name).name != name or name.startswith(".") or \
                    not name.isprintable() or Path(name).suffix.lower().lstrip(".") not in FORMATS:
                raise InputError(f"{where}: 'file' must be a plain file name ending in .wav, .flac, .ogg or .mp3, "
                                 f"not {shown(name)}")
            values = {k: _number(entry[k], k, where) for k in ("speed", "pitch", "energy", "volume") if k in entry}
            job_controls = Controls(**{**controls.__dict__, **values})
            try:
                job_controls.check()
            except InputError as e:
                raise InputError(f"{where}: {e}") from None
            jobs.append(Job(_checked_text(entry["text"], where), name, job_controls))
    else:
        blocks = content.split("\n\n") if paragraphs else content.splitlines()
        texts = [(" ".join(b.split()), i) for i, b in enumerate(blocks, 1) if b.strip()]
        jobs = [Job(_checked_text(t, f"{source}:{line}" if not paragraphs else f"{source}: paragraph {line}"),
                    f"{i:04d}.{audio_format}", controls) for i, (t, line) in enumerate(texts, 1)]
    if not jobs:
        raise InputError(f"{source} has no text to render")
    names = [j.file for j in jobs]
    if len(set(names)) != len(names):
        raise InputError(f"{source}: two entries write the same file")
    return jobs


def job_key(job: Job, settings: str) -> str:
    """What made a file: its text and controls, and the render's settings."""
    controls = json.dumps(job.controls.__dict__, sort_keys=True)
    return hashlib.sha256(f"{settings}\0{job.text}\0{controls}\0{Path(job.file).suffix.lower()}".encode()).hexdigest()[:20]


def read_manifest(folder: Path) -> dict[str, dict]:
    """file -> its manifest entry; a missing or damaged manifest is an empty one."""
    entries = {}
    try:
        lines = (folder / MANIFEST).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return entries
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("file"), str) and isinstance(entry.get("key"), str):
            entries[entry["file"]] = entry
    return entries


def _write_manifest(folder: Path, entries: list[dict]) -> None:
    with atomic_write(folder / MANIFEST, "w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def prepare_folder(folder: Path, jobs: list[Job]) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot write to {folder}: it is a file") from None
    except OSError as e:
        raise OutputError(f"cannot create {folder}: {e.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write to {folder}")
    for job in jobs:
        target = folder / job.file
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise OutputError(f"cannot write {target}: it exists and is not a regular file")
        sweep_stale_parts(target, older_than=0)  # what a killed render of this folder was writing


@dataclass
class RenderReport:
    files: int
    audio_seconds: float
    made: int
    kept: int
    moved: int
    synthesis_seconds: float
    made_seconds: float
    failed: list[str]

    @property
    def real_time_factor(self) -> float:
        return self.synthesis_seconds / self.made_seconds if self.made_seconds else 0.0


def render_jobs(jobs: list[Job], folder: Path, synthesizer: Synthesizer, settings: str, overwrite: bool,
                sentence_silence: float, sample_rate: int | None,
                progress: Callable[[int, int], None] | None = None) -> RenderReport:
    """Render what changed; `settings` is a description of the voice, vocoder and options
    that goes into every key."""
    from . import audio

    check_silence(sentence_silence)
    prepare_folder(folder, jobs)
    previous = {} if overwrite else read_manifest(folder)
    keys = [job_key(job, settings) for job in jobs]
    moved = _reuse_moved_files(folder, jobs, keys, previous)
    manifest, failed = [], []
    report = RenderReport(len(jobs), 0.0, 0, 0, len(moved), 0.0, 0.0, failed)
    for done, (job, key) in enumerate(zip(jobs, keys), 1):
        path = folder / job.file
        entry = previous.get(job.file)
        if job.file in moved or (entry and entry.get("key") == key and path.is_file()):
            seconds = float(moved[job.file]["seconds"] if job.file in moved else entry["seconds"])
            report.kept += job.file not in moved
        else:
            start = time.perf_counter()
            try:
                plan = synthesizer.plan(job.text, ssml=False)
            except InputError as e:
                failed.append(f"{job.file}: {e}")
                if progress:
                    progress(done, len(jobs))
                continue
            chunks = list(synthesizer.stream_plan(plan, job.controls, sentence_silence))
            samples = audio.resample(np.concatenate(chunks), synthesizer.sample_rate, sample_rate)
            rate = sample_rate or synthesizer.sample_rate
            data = audio.encode(samples, rate, path.suffix.lower())
            try:
                with atomic_write(path) as f:
                    f.write(data)
            except OSError as e:
                raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
            report.synthesis_seconds += time.perf_counter() - start
            seconds = len(samples) / rate
            report.made_seconds += seconds
            report.made += 1
        manifest.append({"text": job.text, "file": job.file, "seconds": round(seconds, 3), "key": key})
        _write_manifest(folder, manifest)
        if progress:
            progress(done, len(jobs))
    report.files = len(manifest)
    report.audio_seconds = sum(e["seconds"] for e in manifest)
    if failed:
        raise RenderFailures(report)
    return report


class RenderFailures(LightspeechError):
    """Some utterances had nothing to say; the others were rendered."""

    def __init__(self, report: RenderReport):
        names = ", ".join(line.split(":")[0] for line in report.failed[:3]) + (", ..." if len(report.failed) > 3 else "")
        super().__init__(f"{len(report.failed)} of {report.files + len(report.failed)} utterances had nothing to say "
                         f"({names}); the other {report.files} were rendered")
        self.report = report


def _reuse_moved_files(folder: Path, jobs: list[Job], keys: list[str], previous: dict[str, dict]) -> dict[str, dict]:
    """Files whose content is wanted under another name now (a line was inserted or
    removed above them): moved into place instead of made again. Every source is linked
    aside first, so swapping names never loses one."""
    by_key = {}
    for name, entry in previous.items():
        if (folder / name).is_file() and not (folder / name).is_symlink():
            by_key.setdefault(entry["key"], name)
    wanted = {job.file: (key, by_key[key]) for job, key in zip(jobs, keys)
              if key in by_key and by_key[key] != job.file and
              not (previous.get(job.file, {}).get("key") == key and (folder / job.file).is_file())}
    if not wanted:
        return {}
    aside = Path(tempfile.mkdtemp(dir=folder, prefix=".render-moves."))
    try:
        for target, (_, source) in wanted.items():
            try:
                os.link(folder / source, aside / target)
            except OSError:  # a file system without hard links: a copy does as well
                shutil.copyfile(folder / source, aside / target)
        moved = {}
        for target, (_, source) in wanted.items():
            os.replace(aside / target, folder / target)
            moved[target] = previous[source]
        return moved
    finally:
        remove_inside(aside, folder)
