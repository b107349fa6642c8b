"""Audio out: files (format from the extension), stdout (WAV or raw PCM), speakers.

Files are written to a temporary name beside the target and renamed into place, so a
failed or interrupted write never leaves a half file under the name the user asked for.
"""

from __future__ import annotations

import io
import os
import queue
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterable

import numpy as np

from .errors import AudioDeviceError, OutputError

FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")


def check_output_path(path: Path) -> None:
    """Fail before synthesis, not after, when the output cannot be written."""
    if path.suffix.lower() not in FORMATS:
        raise OutputError(f"cannot write {path}: unknown audio format {path.suffix or '(none)'!r}; "
                          f"use {', '.join(FORMATS)}")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {path}: folder {folder} is not writable")


def write_file(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    import soundfile

    check_output_path(path)
    file_format, subtype = FORMATS[path.suffix.lower()]
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as f:
            soundfile.write(f, samples, sample_rate, format=file_format, subtype=subtype)
        os.replace(temporary, path)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def write_stdout(chunks: Iterable[np.ndarray], sample_rate: int, raw: bool) -> None:
    """Raw PCM streams chunk by chunk (for `aplay`); WAV needs its length up front."""
    out = sys.stdout.buffer
    if raw:
        for chunk in chunks:
            out.write(to_pcm16(chunk).tobytes())
            out.flush()
    else:
        out.write(wav_bytes(np.concatenate(list(chunks)), sample_rate))
        out.flush()


def play(chunks: Iterable[np.ndarray], stream) -> None:
    """Play chunks as they are made: a thread synthesizes the next sentence while the
    current one sounds (torch releases the GIL while it computes)."""
    pending: queue.Queue = queue.Queue(maxsize=4)

    def produce() -> None:
        try:
            for chunk in chunks:
                pending.put(chunk)
        except BaseException as e:  # handed to the main thread, which reports it
            pending.put(e)
        pending.put(None)

    threading.Thread(target=produce, daemon=True).start()
    with stream:
        while (item := pending.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            stream.write(item.astype(np.float32).reshape(-1, 1))


def open_output_stream(sample_rate: int):
    """The speaker, checked before any synthesis so a missing device fails fast."""
    hint = "write a file instead with -o out.wav, or pipe raw audio with --raw | aplay -f S16_LE -r " \
           f"{sample_rate}"
    try:
        import sounddevice
    except OSError:
        raise AudioDeviceError(f"cannot play audio: the PortAudio library is not installed; {hint}") from None
    try:
        sounddevice.check_output_settings(samplerate=sample_rate, channels=1, dtype="float32")
        return sounddevice.OutputStream(samplerate=sample_rate, channels=1, dtype="float32")
    except (sounddevice.PortAudioError, ValueError) as e:
        raise AudioDeviceError(f"cannot play audio: no usable output device ({e}); {hint}") from None
