"""Voices kept loaded, and a bounded pool of threads that speak, shared by both servers.

A request is admitted only while fewer than `workers + queue_limit` are in progress
(else `Busy`: HTTP 503); its sentences are then made one at a time on the worker
threads, one ONNX Runtime thread each, so concurrent requests share the cores fairly
and a long text cannot starve a short one.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import AsyncIterator

from ..errors import InputError, LightspeechError
from ..runtime.format.folder import looks_like_path
from ..runtime.format.voice import Voice, find_voice, installed_voice_names, same_language
from ..runtime.synthesizer import Controls, Spoken, Synthesizer


class Busy(LightspeechError):
    """Every worker is busy and the queue is full."""


@dataclass(frozen=True)
class VoiceSummary:
    name: str
    language: str
    description: str
    licence: str

    @classmethod
    def of(cls, voice: Voice) -> "VoiceSummary":
        return cls(voice.name, voice.config.language, voice.config.description, voice.config.licence)


class SpeakerPool:
    def __init__(
        self, default_voice: str | None, workers: int, queue_limit: int, max_chars: int, vocoder: str | None = None
    ):
        """Loads the default voice (a name or a folder) before anything is served, so a
        missing or broken voice is an error at start, not on the first request."""
        self.workers, self.queue_limit, self.max_chars = workers, queue_limit, max_chars
        self.vocoder = vocoder
        default = self._warmed_up(default_voice)
        self.default_voice = default.voice.name
        self._synthesizers: dict[str, Synthesizer] = {self.default_voice: default}
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="speak")
        # Answers built whole before they are sent (flac, mp3) hold their audio: as many at
        # once as there are workers, so memory stays bounded however many are admitted.
        self.whole_answers = asyncio.Semaphore(workers)
        self._lock = threading.Lock()
        self.in_progress = 0
        self.served = 0

    # --- voices ----------------------------------------------------------------------------

    def voices(self) -> list[VoiceSummary]:
        """The default voice, then every other installed voice that reads (a broken one is
        not offered)."""
        summaries = [VoiceSummary.of(self._synthesizers[self.default_voice].voice)]
        try:
            names = installed_voice_names()
        except LightspeechError:  # the cache became unreadable while serving: the default voice speaks on
            names = []
        for name in names:
            if name != self.default_voice:
                try:
                    summaries.append(VoiceSummary.of(find_voice(name)))
                except LightspeechError:
                    continue
        return summaries

    def voice_for_language(self, language: str) -> str:
        """The voice to speak `language` ("en", "en-US", "en_us"): the default voice if it
        speaks it, else the first installed one that does."""

        for voice in self.voices():
            if same_language(voice.language, language):
                return voice.name
        raise InputError(
            f"no voice speaks {language[:20]!r}; voices: {', '.join(f'{v.name} ({v.language})' for v in self.voices())}"
        )

    async def synthesizer(self, name: str | None) -> Synthesizer:
        """The synthesizer for a voice name (clients name voices, never folders), loaded on
        a worker thread the first time it is asked for, then kept."""
        name = name or self.default_voice
        if name in self._synthesizers:
            return self._synthesizers[name]
        if looks_like_path(name) or name not in installed_voice_names():
            raise InputError(f"unknown voice {name[:60]!r}; voices: {', '.join(v.name for v in self.voices())}")
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._load, name)

    def _load(self, name: str) -> Synthesizer:
        with self._lock:  # two first requests for one voice load it once
            if name not in self._synthesizers:
                self._synthesizers[name] = self._warmed_up(name)
            return self._synthesizers[name]

    def _warmed_up(self, voice: str | None) -> Synthesizer:
        """A loaded voice that has spoken once: ONNX Runtime's first run plans its memory
        (a few hundred ms), which the first listener should not wait for."""
        synthesizer = Synthesizer.load(voice, vocoder=self.vocoder, threads=1)
        synthesizer.synthesize("Ready.")
        return synthesizer

    # --- speaking --------------------------------------------------------------------------

    def admit(self) -> None:
        """Count a request in, or refuse it when the workers and the queue are full."""
        with self._lock:
            if self.in_progress >= self.workers + self.queue_limit:
                raise Busy(f"busy: {self.in_progress} requests in progress; try again shortly")
            self.in_progress += 1

    def release(self) -> None:
        with self._lock:
            self.in_progress -= 1
            self.served += 1

    def check_text(self, text: object) -> str:
        if not isinstance(text, str):
            raise InputError("the input must be text (a JSON string)")
        if not text.strip():
            raise InputError("the input is empty")
        if len(text) > self.max_chars:
            raise InputError(f"the input is too long ({len(text):,} characters; the limit is {self.max_chars:,})")
        if "\x00" in text:
            raise InputError("the input is binary, not text")
        return text

    async def stream(
        self, synthesizer: Synthesizer, text: str, controls: Controls, ssml: bool | None = None
    ) -> AsyncIterator[Spoken]:
        """float32 audio with its timings, a sentence (or pause, or mark) at a time, each made
        as its own task on the worker threads (so requests take turns). The caller has
        admitted the request. The whole text is planned before the first audio, so a text
        with nothing to say fails before anything is sent; SSML that is skipped is not the
        listener's concern."""
        loop = asyncio.get_running_loop()
        items = await loop.run_in_executor(self.executor, synthesizer.plan, text, ssml, lambda _: None)
        pieces = synthesizer.stream_timed_plan(items, controls.check())
        while (piece := await loop.run_in_executor(self.executor, next, pieces, None)) is not None:
            yield piece

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
