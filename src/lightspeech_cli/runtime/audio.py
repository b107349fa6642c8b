"""Audio out: files (format from the extension), stdout (WAV or raw PCM), speakers.

Files are encoded in memory and written through `paths.atomic_write`: a failed or
interrupted write never leaves a half file under the name the user asked for, only a
regular file is ever replaced, and a full disk or a file-size limit is one clear
OutputError. A file or a WAV on stdout holds at most MAX_OUTPUT_SECONDS of audio (SSML
breaks, long sentence silences and slow speech add up); raw output and playback stream
and have no such bound.
"""

from __future__ import annotations

import io
import queue
import sys
import threading
from pathlib import Path
from typing import IO, Iterable

import numpy as np

from ..errors import AudioDeviceError, InputError, OutputError
from ..paths import atomic_write, check_writable, shown

# extension: (libsndfile format, subtype); MP3 only where the installed libsndfile has it.
FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}
SAMPLE_RATES = (8000, 192000)
# MPEG-1, 2 and 2.5 layer III: the only rates an MP3 can have.
MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
# One hour: far beyond any one utterance, and small enough to hold in memory and encode
# (about 320 MB as float32 at 22050 Hz).
MAX_OUTPUT_SECONDS = 3600


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")


def supported_formats() -> list[str]:
    import soundfile

    available = soundfile.available_formats()
    return [extension for extension, (name, _) in FORMATS.items() if name in available]


def check_sample_rate(rate: object, name: str = "sample_rate") -> int | None:
    """None (the voice's own rate) or a whole number of Hz that resampling can reach."""
    if rate is None:
        return None
    low, high = SAMPLE_RATES
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or not low <= rate <= high:
        raise InputError(f"{name} must be a whole number from {low} to {high} Hz, not {rate!r}")
    return int(rate)


def check_encodable(extension: str, rate: int | None, name: str = "sample_rate") -> None:
    """Fail before synthesis, not at encoding, when the format cannot hold the rate."""
    if extension == ".mp3" and rate is not None and rate not in MP3_SAMPLE_RATES:
        raise InputError(
            f"{name} {rate} cannot be written as MP3, whose rates are {', '.join(map(str, MP3_SAMPLE_RATES))} Hz; "
            "choose one of them, or another format"
        )


def check_output_path(path: Path) -> None:
    """Fail before synthesis, not after, when the output cannot be written."""
    if "\0" in str(path):
        raise InputError(f"cannot write {shown(str(path))}: a file name cannot hold a NUL character")
    extension = path.suffix.lower()
    if extension not in FORMATS:
        raise InputError(
            f"cannot write {path}: unknown audio format {extension or '(none)'!r}; use {', '.join(supported_formats())}"
        )
    if extension not in supported_formats():
        raise InputError(
            f"cannot write {path}: this libsndfile cannot write {extension}; use {', '.join(supported_formats())}"
        )
    check_writable(path)


def resample(samples: np.ndarray, rate: int, new_rate: int | None) -> np.ndarray:
    """libsoxr's high-quality resampling (`soxr`, a 250 KB wheel: scipy would add 150 MB to
    the install), anti-aliased, round(len * new_rate / rate) samples; a no-op at the same rate."""
    if not new_rate or new_rate == rate or not len(samples):
        return samples
    import soxr

    return soxr.resample(np.asarray(samples, np.float32), rate, new_rate, quality="HQ").astype(np.float32)


def encode(samples: np.ndarray, rate: int, extension: str) -> bytes:
    import soundfile

    file_format, subtype = FORMATS[extension]
    buffer = io.BytesIO()
    try:
        soundfile.write(buffer, samples, rate, format=file_format, subtype=subtype)
    except (soundfile.LibsndfileError, ValueError, TypeError, RuntimeError) as e:
        raise OutputError(f"cannot encode {extension} audio at {rate} Hz: {e}") from None
    return buffer.getvalue()


class Encoder:
    """Audio encoded into memory as it comes, chunk by chunk: a long answer is held
    compressed, never whole as float32. The bytes are those `encode` makes of all the chunks
    at once (FLAC, MP3, WAV)."""

    def __init__(self, extension: str, rate: int):
        import soundfile

        file_format, subtype = FORMATS[extension]
        self.buffer = io.BytesIO()
        self.file = soundfile.SoundFile(self.buffer, "w", rate, 1, subtype, format=file_format)

    def write(self, samples: np.ndarray) -> None:
        self.file.write(samples)

    def finish(self) -> bytes:
        self.file.close()
        return self.buffer.getvalue()


def write_file(path: Path, samples: np.ndarray, rate: int, out_rate: int | None = None) -> None:
    check_output_path(path)
    data = encode(resample(samples, rate, out_rate), out_rate or rate, path.suffix.lower())
    with atomic_write(path) as f:
        f.write(data)


def collect(chunks: Iterable[np.ndarray], rate: int, what: str = "the audio") -> np.ndarray:
    """The chunks as one array, refused as soon as they pass MAX_OUTPUT_SECONDS, before
    memory runs out."""
    pieces, total = [], 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_OUTPUT_SECONDS * rate:
            raise InputError(
                f"{what} would be longer than {MAX_OUTPUT_SECONDS / 60:g} minutes, the most one file "
                "holds; split the text into shorter pieces (raw output and playback have no limit)"
            )
        pieces.append(chunk)
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    return encode(samples, rate, ".wav")


def _write_out(out: IO[bytes], data: bytes) -> None:
    """Write to stdout; a closed pipe is the caller's BrokenPipeError, anything else one error."""
    try:
        out.write(data)
        out.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        raise OutputError(f"cannot write to standard output: {e.strerror or e}") from None


def write_stdout(chunks: Iterable[np.ndarray], rate: int, raw: bool, out_rate: int | None = None) -> None:
    """Raw PCM streams chunk by chunk (for `aplay`); WAV needs its length up front."""
    out = sys.stdout.buffer
    if raw:
        for chunk in chunks:
            _write_out(out, to_pcm16(resample(chunk, rate, out_rate)).tobytes())
    else:
        samples = collect(chunks, rate)
        _write_out(out, wav_bytes(resample(samples, rate, out_rate), out_rate or rate))


def play(chunks: Iterable[np.ndarray], stream) -> None:
    """Play chunks as they are made: a thread synthesizes the next sentence while the
    current one sounds (ONNX Runtime releases the GIL while it computes)."""
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
    hint = f"write a file instead with -o out.wav, or pipe raw audio with --raw | aplay -f S16_LE -r {sample_rate}"
    try:
        import sounddevice
    except OSError:
        raise AudioDeviceError(
            "cannot play audio: the PortAudio library is not installed (Debian and Ubuntu: "
            f"apt install libportaudio2); {hint}"
        ) from None
    try:
        sounddevice.check_output_settings(samplerate=sample_rate, channels=1, dtype="float32")
        return sounddevice.OutputStream(samplerate=sample_rate, channels=1, dtype="float32")
    except (sounddevice.PortAudioError, ValueError) as e:
        raise AudioDeviceError(f"cannot play audio: no usable output device ({e}); {hint}") from None
