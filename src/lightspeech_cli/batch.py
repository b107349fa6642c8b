"""`lightspeech render`: many utterances to numbered files and a manifest.

Each file is written atomically and skipped when it already exists, so a render that
was killed resumes where it stopped; the manifest is rewritten after every file.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import InputError, LightspeechError, OutputError
from .synthesize import Controls, Synthesizer
from .text import decode_input

FORMATS = ("wav", "flac", "ogg")
MANIFEST = "manifest.jsonl"


@dataclass
class Job:
    text: str
    file: str
    controls: Controls


def _read_input(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    return decode_input(data, str(path))


def read_jobs(path: Path, paragraphs: bool, audio_format: str, controls: Controls) -> list[Job]:
    if audio_format not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {audio_format!r}")
    content = _read_input(path)
    jobs = []
    if path.suffix == ".jsonl":
        for number, line in enumerate(content.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{where}: not JSON ({e.msg})") from None
            if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) or not entry["text"].strip():
                raise InputError(f'{where}: expected {{"text": "...", ...}} with non-empty text')
            unknown = set(entry) - {"text", "file", "speed", "pitch", "energy"}
            if unknown:
                raise InputError(f"{where}: unknown field {sorted(unknown)[0]!r}")
            name = entry.get("file") or f"{len(jobs) + 1:04d}.{audio_format}"
            if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
                raise InputError(f"{where}: 'file' must be a plain file name, not {name!r}")
            try:
                job_controls = replace(controls, **{k: float(entry[k]) for k in ("speed", "pitch", "energy")
                                                    if k in entry})
            except (TypeError, ValueError):
                raise InputError(f"{where}: speed, pitch and energy must be numbers") from None
            job_controls.check()
            jobs.append(Job(entry["text"], name, job_controls))
    else:
        blocks = content.split("\n\n") if paragraphs else content.splitlines()
        texts = [" ".join(b.split()) for b in blocks if b.strip()]
        jobs = [Job(t, f"{i:04d}.{audio_format}", controls) for i, t in enumerate(texts, 1)]
    if not jobs:
        raise InputError(f"{path} has no text to render")
    names = [j.file for j in jobs]
    if len(set(names)) != len(names):
        raise InputError(f"{path}: two entries write the same file")
    return jobs


def _write_manifest(folder: Path, entries: list[dict]) -> None:
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{MANIFEST}.", suffix=".part")
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    os.replace(temporary, folder / MANIFEST)


def render_jobs(jobs: list[Job], folder: Path, synthesizer: Synthesizer, overwrite: bool) -> None:
    import numpy as np
    import soundfile
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from . import audio

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create {folder}: {e.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write to {folder}")
    console = Console(stderr=True)
    manifest, failed = [], []
    made_seconds, synthesis_seconds, skipped = 0.0, 0.0, 0
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("rendering", total=len(jobs))
        for job in jobs:
            path = folder / job.file
            if path.exists() and not overwrite:
                skipped += 1
                seconds = soundfile.info(path).duration
            else:
                start = time.perf_counter()
                try:
                    samples = np.concatenate(list(synthesizer.audio_chunks(synthesizer.sentences(job.text),
                                                                           job.controls)))
                except InputError as e:
                    failed.append(f"{job.file}: {e}")
                    progress.advance(task)
                    continue
                audio.write_file(path, samples, synthesizer.sample_rate)
                synthesis_seconds += time.perf_counter() - start
                seconds = len(samples) / synthesizer.sample_rate
                made_seconds += seconds
            manifest.append({"text": job.text, "file": job.file, "seconds": round(seconds, 3)})
            _write_manifest(folder, manifest)
            progress.advance(task)
    total_seconds = sum(e["seconds"] for e in manifest)
    rtf = synthesis_seconds / made_seconds if made_seconds else 0.0
    console.print(f"{len(manifest)} files, {total_seconds:.1f} s of audio in {folder} "
                  f"({skipped} already there); real-time factor {rtf:.3f}", soft_wrap=True, markup=False)
    if failed:
        for line in failed:
            console.print(f"skipped {line}", soft_wrap=True, markup=False)
        raise LightspeechError(f"{len(failed)} of {len(jobs)} utterances had nothing to say")
