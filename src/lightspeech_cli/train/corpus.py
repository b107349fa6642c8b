"""Stage 1: the teacher reads the training sentences.

For each sentence (frontend -> our phonemes), the teacher speaks exactly those
phonemes; its audio is resampled to the voice's rate and its durations converted to
the voice's frames by rounding cumulative boundary times, so they add up to the mel's
length. One file per utterance, so a killed run resumes where it stopped.

    corpus/metadata.jsonl          one line per utterance: id, split, text, phonemes
    corpus/utterances/00001.npz    audio (int16, voice rate), durations (voice frames of the
                                   framed sentence: leading silence, each phoneme, trailing
                                   silence), f0 (Hz per voice frame), pulses (float16, voice
                                   rate: the pulse train the teacher filtered, resampled as the
                                   audio, so it lines up with it), format
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shlex
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..runtime.format.voice import AudioConfig
from ..text import frontend
from .teacher import TEACHER_HOP, TEACHER_RATE, Teacher

HELD_OUT = 150  # utterances never trained on: validation and the intelligibility benchmark


def voice_durations(teacher_frames: np.ndarray, n_frames: int, audio: AudioConfig) -> np.ndarray:
    """Teacher frames per symbol -> voice frames per symbol, summing to `n_frames`."""
    boundaries = np.cumsum(teacher_frames) * TEACHER_HOP / TEACHER_RATE  # seconds
    ends = np.rint(boundaries * audio.sample_rate / audio.hop_length).astype(np.int64)
    ends = np.minimum(ends, n_frames)
    ends[-1] = n_frames
    return np.diff(np.concatenate([[0], ends]))


def resample(audio: np.ndarray, rate: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    divisor = gcd(rate, TEACHER_RATE)
    return resample_poly(audio, rate // divisor, TEACHER_RATE // divisor).astype(np.float32)


# 1: the teacher's pulses kept; 2: the sentence framed by its edge silences (teacher.move_edges).
CORPUS_FORMAT = 2


def is_current(utterance: Path) -> bool:
    """Whether an utterance file exists in this corpus format. Older ones are made again:
    building the corpus again brings them up to date, the teacher's noise seeded by the id."""
    try:
        with np.load(utterance) as stored:
            return "format" in stored.files and int(stored["format"]) == CORPUS_FORMAT
    except (OSError, ValueError, zipfile.BadZipFile):  # missing or unreadable: made again
        return False


def save_npz(path: Path, **arrays) -> None:
    """Written whole or not at all, following the umask (many per folder: no sweep each)."""
    from ..paths import atomic_write

    with atomic_write(path, sweep=False) as f:
        np.savez(f, **arrays)


def speak_utterance(teacher: Teacher, entry: dict, path: Path, audio: AudioConfig) -> None:
    """The teacher speaks one utterance's phonemes; its audio, durations, F0 and pulses at the
    voice's rate and frames go to `path`."""
    spoken = teacher(entry["phonemes"], seed=int(entry["id"]))
    wave = resample(spoken.audio, audio.sample_rate)
    n_frames = len(wave) // audio.hop_length
    wave = wave[: n_frames * audio.hop_length]
    durations = voice_durations(spoken.frames, n_frames, audio)
    frame_times = np.arange(n_frames) * audio.hop_length / audio.sample_rate
    teacher_times = np.arange(len(spoken.f0)) * TEACHER_HOP / TEACHER_RATE
    f0 = np.interp(frame_times, teacher_times, spoken.f0).astype(np.float32)
    pcm = (np.clip(wave, -1, 1) * 32767).astype(np.int16)
    pulses = resample(spoken.pulses, audio.sample_rate)[: len(wave)].astype(np.float16)
    save_npz(path, audio=pcm, durations=durations, f0=f0, pulses=pulses, format=CORPUS_FORMAT)


# A worker process's teacher, made once by start_teacher (ProcessPoolExecutor's initializer).
worker_teacher: Teacher | None = None


def start_teacher(cache: Path, threads: int) -> None:
    global worker_teacher
    worker_teacher = Teacher(cache, threads)


def speak_in_worker(job: tuple[dict, Path, AudioConfig]) -> None:
    assert worker_teacher is not None, "start_teacher runs first in each worker"
    speak_utterance(worker_teacher, *job)


def speak_all(todo: list, teacher: Teacher, jobs: int, cache: Path, threads: int) -> Iterator[None]:
    """Speaks each (entry, path, audio) job, yielding as each is written: here with `teacher`,
    or in `jobs` worker processes, each with a teacher of its own."""
    if jobs == 1:
        for job in todo:
            speak_utterance(teacher, *job)
            yield
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds threads
    with ProcessPoolExecutor(jobs, context, initializer=start_teacher, initargs=(cache, threads)) as pool:
        try:
            yield from pool.map(speak_in_worker, todo, chunksize=8)
        finally:
            pool.shutdown(cancel_futures=True)  # stopped early: the queued utterances are not spoken


def build_corpus(
    sentences: list[str],
    folder: Path,
    audio: AudioConfig = AudioConfig(),
    threads: int = 1,
    progress=None,
    heldout: list[str] | None = None,
    jobs: int = 1,
) -> int:
    """Synthesize every sentence not yet in `folder` (or kept there in an older format);
    returns the number of utterances. `jobs` teachers speak side by side, each in a process
    of its own with `threads` threads; the files are the same whatever their number, as the
    teacher's noise is seeded by the utterance.

    With `heldout`, exactly those sentences are the held-out split (after the others,
    which must not repeat them); without it, the last HELD_OUT utterances are."""
    utterances = folder / "utterances"
    utterances.mkdir(parents=True, exist_ok=True)
    metadata_path = folder / "metadata.jsonl"

    def read(texts: list[str], split: str) -> list[dict]:
        return [
            {"text": chunk.text, "phonemes": chunk.phonemes, "split": split}
            for sentence in texts
            for chunk in frontend(sentence)
        ]

    if heldout is None:
        entries = read(sentences, "train")
        for entry in entries[-HELD_OUT:]:
            entry["split"] = "heldout"
    else:
        entries = read(sentences, "train") + read(heldout, "heldout")
    for number, entry in enumerate(entries, 1):
        entry["id"] = f"{number:05d}"
    with open(metadata_path.with_suffix(".part"), "w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry) + "\n")
    os.replace(metadata_path.with_suffix(".part"), metadata_path)
    # Made here first, also for the jobs: the teacher writes its graph into the corpus once.
    teacher = Teacher(folder / "teacher", threads)
    todo = [(entry, utterances / f"{entry['id']}.npz", audio) for entry in entries]
    todo = [job for job in todo if not is_current(job[1])]
    done = len(entries) - len(todo)
    for _ in speak_all(todo, teacher, jobs, folder / "teacher", threads):
        done += 1
        if progress:
            progress(done, len(entries))  # a sentence can make several utterances
    return len(entries)


# A corpus of a million sentences is far beyond any run here; the bound keeps a device or
# a runaway file from filling memory.
MAX_METADATA_BYTES = 512 * 1024 * 1024
UTTERANCE_ID = re.compile(r"[0-9]{5,9}")


def corpus_command(sentences: int | None, heldout: str | None) -> str:
    """The `train corpus` line of a model card: what the corpus was built with, which the
    corpus itself does not record (export takes both for the card)."""
    command = f"lightspeech train corpus WORK --sentences {sentences or 'N'}"
    return command + (f" --heldout {shlex.quote(heldout)}" if heldout else "")


def read_metadata(folder: Path) -> list[dict]:
    """The corpus's utterances, each checked: its id names files (so it must be digits,
    never a path), its split is train or heldout, its phonemes a list of strings. A corpus
    that is missing, not a regular file or damaged is one InputError naming it."""
    from ..errors import InputError
    from ..paths import parse_json, read_limited

    path = folder / "metadata.jsonl"
    if not path.exists():
        raise InputError(f"{folder} has no metadata.jsonl; run `lightspeech train corpus` first")
    data = read_limited(path, MAX_METADATA_BYTES, str(path), regular_only=True)
    entries = []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        try:
            entry = parse_json(line)
        except ValueError:
            raise InputError(f"{path}:{number}: not JSON; run `lightspeech train corpus` again") from None
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("id"), str)
            and UTTERANCE_ID.fullmatch(entry["id"])
            and entry.get("split") in ("train", "heldout")
            and isinstance(entry.get("phonemes"), list)
            and all(isinstance(phoneme, str) for phoneme in entry["phonemes"])
        ):
            raise InputError(f"{path}:{number}: not an utterance as `lightspeech train corpus` writes it")
        entries.append(entry)
    return entries
