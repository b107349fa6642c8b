"""speech-dispatcher's output-module protocol, the module's side of the pipe: replies to the
server's commands and the events of each message, written whole so that the reader thread's
replies and the speaker thread's events never interleave.

A message's events run 701 BEGIN, then audio (705), index marks (700) in the order they are
spoken, then exactly one of 702 END, 703 STOP or 704 PAUSE; nothing is written for a message
after that, so a STOP wins over the rest of its audio.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import BinaryIO, Sequence

import numpy as np

from ..runtime.audio import to_pcm16
from .reading import Settings

BEGIN, END, STOPPED, PAUSED = "701 BEGIN", "702 END", "703 STOP", "704 PAUSE"
# Marks the server puts after each sentence of a text message; PAUSE stops at the next one.
SERVER_MARK_PREFIX = "__spd_"


@dataclass
class Message:
    """One SPEAK, CHAR, KEY or SOUND_ICON: the SSML to say (None for a sound icon: a tone)
    and the settings in force when it came."""

    kind: str
    ssml: str | None
    settings: Settings
    tone_first: bool = False  # a capital letter, where capital-letter recognition is "icon"
    pause_asked: bool = False
    begun: bool = False
    finished: threading.Event = field(default_factory=threading.Event)


def escape_audio(data: bytes) -> bytes:
    """705 AUDIO's byte stuffing: 0x7D and 0x0A become 0x7D and the byte xor 0x20, so the
    samples contain no line ends (0x7D first, or its own escapes would be escaped again)."""
    return data.replace(b"\x7d", b"\x7d\x5d").replace(b"\x0a", b"\x7d\x2a")


class Output:
    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._lock = threading.Lock()

    def _write(self, text: bytes) -> None:
        self._stream.write(text)
        self._stream.flush()

    def reply(self, code: int, text: str, lines: Sequence[str] = ()) -> None:
        """A reply to a command: `code-line` for each of `lines`, then `code text`."""
        body = "".join(f"{code}-{line}\n" for line in lines) + f"{code} {text}\n"
        with self._lock:
            self._write(body.encode())

    # --- a message's events ---------------------------------------------------------------

    def begin(self, message: Message) -> None:
        with self._lock:
            self._begin(message)

    def _begin(self, message: Message) -> None:
        if not message.begun:
            message.begun = True
            self._write(f"{BEGIN}\n".encode())

    def audio(self, message: Message, samples: np.ndarray, sample_rate: int) -> bool:
        """float32 samples as 16-bit PCM; False once the message has finished (stopped)."""
        pcm = to_pcm16(samples).tobytes()
        head = (
            f"705-bits=16\n705-num_channels=1\n705-sample_rate={sample_rate}\n"
            f"705-num_samples={len(samples)}\n705-big_endian=0\n705-AUDIO\0"
        ).encode()
        with self._lock:
            if message.finished.is_set():
                return False
            self._begin(message)
            self._write(head + escape_audio(pcm) + b"\n705 AUDIO\n")
        return True

    def mark(self, message: Message, name: str) -> bool:
        """An index mark, reached; at a server mark, a PAUSE asked for takes effect (704).
        False once the message has finished."""
        with self._lock:
            if message.finished.is_set():
                return False
            self._begin(message)
            self._write(f"700-{name}\n700 INDEX MARK\n".encode())
            if message.pause_asked and name.startswith(SERVER_MARK_PREFIX):
                self._finish(message, PAUSED)
                return False
        return True

    def finish(self, message: Message, event: str) -> bool:
        """The message's last event (END, STOP or PAUSE), BEGIN first if it had none;
        False if it had finished already."""
        with self._lock:
            if message.finished.is_set():
                return False
            self._begin(message)
            self._finish(message, event)
        return True

    def _finish(self, message: Message, event: str) -> None:
        message.finished.set()
        self._write(f"{event}\n".encode())
