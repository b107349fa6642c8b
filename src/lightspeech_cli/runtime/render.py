"""`lightspeech render`: many utterances to numbered files and a manifest.

The whole input is read (at most MAX_INPUT_BYTES, MAX_UTTERANCES utterances) and checked
before the first synthesis. Each file is written atomically, holds at most an hour of
audio (audio.MAX_OUTPUT_SECONDS), and is recorded in `manifest.jsonl` with a key: a hash
of everything that shaped it (text, voice, vocoder, controls, format, sample rate,
pronunciations). A render that was killed, or run again after the input changed, keeps
the files whose key still matches, moves files whose line moved (an inserted line shifts
the numbers), and makes only what changed.

The manifest left in the folder is read as hostile: an entry that is not exactly what
render writes is dropped (its file is made again), a name is never followed out of the
folder, and a manifest that is not a regular file is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import InputError, LightspeechError, OutputError
from ..paths import atomic_write, parse_json, remove_inside, sweep_stale_parts
from .audio import MAX_OUTPUT_SECONDS
from .render_jobs import MAX_INPUT_BYTES, MAX_UTTERANCES, Job, job_key, plain_file_name
from .synthesizer import Spoken, Synthesizer, check_silence
from .timings import Timings, WordTime

MANIFEST = "manifest.jsonl"
# The manifest of the largest input: its text (JSON escapes can double it) and a line's fields.
MAX_MANIFEST_BYTES = 2 * MAX_INPUT_BYTES + 200 * MAX_UTTERANCES
MOVES_PREFIX = ".render-moves."
CAPTION_KINDS = ("srt", "vtt", "json")
# The names render gives when the input names none ("0001.wav"): a later render of the
# same folder reuses them, so those its input no longer has are removed.
NUMBERED_FILE = re.compile(r"[0-9]{4,}\.(?:wav|flac|ogg|mp3)")


def read_render_manifest(folder: Path) -> dict[str, dict]:
    """file -> its entry in the manifest a previous render left. Only entries exactly as
    render writes them count: a plain file name, a key, a length in seconds; anything else
    is dropped, and its file made again. A missing, damaged or oversized manifest is an
    empty one."""
    try:
        # prepare_folder refused a link or a FIFO; these flags keep it so if one appears since.
        handle = os.open(folder / MANIFEST, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with open(handle, "rb") as f:
            data = f.read(MAX_MANIFEST_BYTES + 1)
    except OSError:
        return {}
    if len(data) > MAX_MANIFEST_BYTES:
        return {}
    entries = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            entry = parse_json(line)
        except ValueError:  # a damaged line: its file is made again
            continue
        if (
            isinstance(entry, dict)
            and plain_file_name(entry.get("file"))
            and isinstance(entry.get("key"), str)
            and type(entry.get("seconds")) in (int, float)
            and 0 <= entry["seconds"] <= MAX_OUTPUT_SECONDS
            and type(entry.get("bytes", 0)) is int
            and ("words" not in entry or timings_of(entry["words"]) is not None)
        ):
            entries[entry["file"]] = entry
    return entries


def timings_of(words: object) -> Timings | None:
    """The word timings a manifest entry records, or None where they are not what render
    writes (the entry is then dropped, and its file made again)."""
    if not isinstance(words, list):
        return None
    timed = []
    for word in words:
        if not (
            isinstance(word, dict)
            and isinstance(word.get("text"), str)
            and all(type(word.get(k)) in (int, float) and 0 <= word[k] <= MAX_OUTPUT_SECONDS for k in ("start", "end"))
            and isinstance(word.get("offset"), list)
            and len(word["offset"]) == 2
            and all(type(n) is int for n in word["offset"])
            and isinstance(word.get("phonemes"), list)
            and all(isinstance(phoneme, str) for phoneme in word["phonemes"])
        ):
            return None
        timed.append(WordTime(word["text"], word["start"], word["end"], tuple(word["offset"]), tuple(word["phonemes"])))
    return Timings(words=timed)


def caption_name(audio_file: str, kind: str) -> str:
    return f"{Path(audio_file).stem}.{kind}"


def intact(folder: Path, entry: dict) -> bool:
    """Whether the file of a manifest entry is still the one render wrote: a regular file
    of the size it recorded (manifests written before sizes were recorded: any size)."""
    path = folder / entry["file"]
    try:
        if path.is_symlink() or not path.is_file():
            return False
        return "bytes" not in entry or path.stat().st_size == entry["bytes"]
    except OSError:
        return False


def remove_dropped_files(folder: Path, previous: dict[str, dict], kept: set[str]) -> None:
    """Numbered files a previous render made, untouched since, that this input no longer
    has (it shrank, or its format changed). Named files ("file" in JSON Lines) stay: another
    input may be rendering into the same folder."""
    for name, entry in previous.items():
        if name not in kept and NUMBERED_FILE.fullmatch(name) and intact(folder, entry):
            with contextlib.suppress(OSError):
                (folder / name).unlink()
            for kind in CAPTION_KINDS if "words" in entry else ():  # its captions, which render wrote
                with contextlib.suppress(OSError):
                    (folder / caption_name(name, kind)).unlink(missing_ok=True)


def _write_manifest(folder: Path, entries: list[dict]) -> None:
    with atomic_write(folder / MANIFEST, "w", encoding="utf-8", sweep=False) as f:
        for entry in entries:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def _manifest_log(folder: Path, entries: list[dict]):
    """The manifest while a render runs: written whole with `entries` (the files already
    right), then a line appended as each file is made. A kill loses at most the line being
    written (a half line is dropped when read), and recording a file costs one line, not
    a rewrite of the whole manifest. Yields the function that appends."""
    path = folder / MANIFEST
    _write_manifest(folder, entries)
    try:
        log = open(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW), "w", encoding="utf-8")
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None

    def append(entry: dict) -> None:
        try:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            log.flush()
        except OSError as e:  # a full disk, a file-size limit
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from None

    try:
        yield append
    finally:
        with contextlib.suppress(OSError):  # a failed append was reported already
            log.close()


def prepare_folder(folder: Path, jobs: list[Job]) -> None:
    """The output folder, made if needed, refused before any synthesis if a file render
    writes (the audio, the manifest) is there as anything but a regular file; what a
    killed render of this folder left is swept."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot write to {folder}: it exists and is not a folder") from None
    except OSError as e:
        raise OutputError(f"cannot create {folder}: {e.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write to {folder}")
    try:
        for name in [MANIFEST] + [job.file for job in jobs]:
            target = folder / name
            if target.is_symlink() or (target.exists() and not target.is_file()):
                raise OutputError(
                    f"cannot write {target}: it exists and is not a regular file; move it away or choose another folder"
                )
    except OSError as e:  # a folder name so long that the names in it are too long
        raise OutputError(f"cannot write to {folder}: {e.strerror or e}") from None
    sweep_stale_parts(folder, older_than=0)  # the render owns its folder: any staging file there is a killed one's
    for leftover in folder.glob(f"{MOVES_PREFIX}*"):
        remove_inside(leftover, folder)


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


def render_jobs(
    jobs: list[Job],
    folder: Path,
    synthesizer: Synthesizer,
    settings: str,
    overwrite: bool,
    sentence_silence: float,
    sample_rate: int | None,
    progress: Callable[[int, int], None] | None = None,
    captions: str | None = None,
) -> RenderReport:
    """Render what changed; `settings` is a description of the voice, vocoder and options
    that goes into every key (whether words are timed, among them). With `captions` (srt,
    vtt, json), each file's word timings go into the manifest and into a caption file
    beside it, made from the manifest, so a kept or moved file has its captions too."""
    from . import audio

    check_silence(sentence_silence)
    prepare_folder(folder, jobs)
    manifest_before = read_render_manifest(folder)
    previous = {} if overwrite else manifest_before
    keys = [job_key(job, settings) for job in jobs]
    moved = _reuse_moved_files(folder, jobs, keys, previous)
    done = {}  # file -> its manifest entry, for every file that is right
    for job, key in zip(jobs, keys, strict=True):
        entry = moved.get(job.file) or previous.get(job.file)
        if entry and (job.file in moved or (entry["key"] == key and intact(folder, entry))):
            done[job.file] = {"text": job.text, "file": job.file, "seconds": entry["seconds"], "key": key}
            for field in ("bytes", "words"):
                if field in entry:
                    done[job.file][field] = entry[field]
    failed: list[str] = []
    report = RenderReport(len(jobs), 0.0, 0, len(done) - len(moved), len(moved), 0.0, 0.0, failed)
    rate = sample_rate or synthesizer.sample_rate
    with _manifest_log(folder, list(done.values())) as record:
        for number, (job, key) in enumerate(zip(jobs, keys, strict=True), 1):
            if job.file not in done:
                start = time.perf_counter()
                try:
                    plan = synthesizer.plan(job.text, ssml=False)
                except InputError as e:
                    failed.append(f"{job.file}: {e}")
                else:
                    timings = Timings()
                    samples = audio.resample(
                        audio.collect(
                            _timed(synthesizer.stream_timed_plan(plan, job.controls, sentence_silence), timings),
                            synthesizer.sample_rate,
                            job.file,
                        ),
                        synthesizer.sample_rate,
                        sample_rate,
                    )
                    path = folder / job.file
                    encoded = audio.encode(samples, rate, path.suffix.lower())
                    with atomic_write(path, sweep=False) as f:  # prepare_folder swept the folder
                        f.write(encoded)
                    report.synthesis_seconds += time.perf_counter() - start
                    report.made_seconds += len(samples) / rate
                    report.made += 1
                    done[job.file] = {
                        "text": job.text,
                        "file": job.file,
                        "seconds": round(len(samples) / rate, 3),
                        "key": key,
                        "bytes": len(encoded),  # a file edited by hand since is made again
                    }
                    if captions:
                        done[job.file]["words"] = timings.to_dict()["words"]
                    elif NUMBERED_FILE.fullmatch(job.file):  # captions of what the name held before
                        for kind in CAPTION_KINDS:
                            with contextlib.suppress(OSError):
                                (folder / caption_name(job.file, kind)).unlink(missing_ok=True)
                    record(done[job.file])
            if progress:
                progress(number, len(jobs))
    manifest = [done[job.file] for job in jobs if job.file in done]
    _write_manifest(folder, manifest)  # whole, in input order
    if captions:
        _write_captions(folder, manifest, captions)
    remove_dropped_files(folder, manifest_before, {job.file for job in jobs})
    report.files = len(manifest)
    report.audio_seconds = sum(entry["seconds"] for entry in manifest)
    if failed:
        raise RenderFailures(report)
    return report


def _timed(spoken: Iterator[Spoken], timings: Timings) -> Iterator[np.ndarray]:
    """The audio of a timed stream, its timings gathered into `timings` as it goes."""
    for piece in spoken:
        timings.extend(piece.timings)
        yield piece.audio


def _write_captions(folder: Path, manifest: list[dict], kind: str) -> None:
    """Each file's caption file, from the word timings its manifest entry records."""
    from .captions import render

    for entry in manifest:
        timings = timings_of(entry.get("words"))
        if timings is not None:
            with atomic_write(folder / caption_name(entry["file"], kind), "w", encoding="utf-8", sweep=False) as f:
                f.write(render(timings, kind, entry["seconds"]))
        if NUMBERED_FILE.fullmatch(entry["file"]):  # captions of another kind, or of the file this name had
            for other in CAPTION_KINDS:
                if other != kind:
                    with contextlib.suppress(OSError):
                        (folder / caption_name(entry["file"], other)).unlink(missing_ok=True)


class RenderFailures(LightspeechError):
    """Some utterances had nothing to say; the others were rendered."""

    def __init__(self, report: RenderReport):
        names = ", ".join(line.split(":")[0] for line in report.failed[:3]) + (
            ", ..." if len(report.failed) > 3 else ""
        )
        super().__init__(
            f"{len(report.failed)} of {report.files + len(report.failed)} utterances had nothing to say "
            f"({names}); "
            + ("the other one was rendered" if report.files == 1 else f"the other {report.files} were rendered")
        )
        self.report = report


def _reuse_moved_files(folder: Path, jobs: list[Job], keys: list[str], previous: dict[str, dict]) -> dict[str, dict]:
    """Files whose content is wanted under another name now (a line was inserted or
    removed above them): moved into place instead of made again. Every source is linked
    aside first, so swapping names never loses one."""
    by_key: dict[str, str] = {}
    for name, entry in previous.items():
        if intact(folder, entry):
            by_key.setdefault(entry["key"], name)
    wanted = {
        job.file: (key, by_key[key])
        for job, key in zip(jobs, keys, strict=True)
        if key in by_key
        and by_key[key] != job.file
        and not (previous.get(job.file, {}).get("key") == key and intact(folder, previous[job.file]))
    }
    if not wanted:
        return {}
    try:
        aside = Path(tempfile.mkdtemp(dir=folder, prefix=MOVES_PREFIX))
    except OSError as e:
        raise OutputError(f"cannot write to {folder}: {e.strerror or e}") from None
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
    except OSError as e:  # a full disk while copying
        raise OutputError(f"cannot write to {folder}: {e.strerror or e}") from None
    finally:
        remove_inside(aside, folder)
