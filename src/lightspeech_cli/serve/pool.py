"""Voices kept loaded, and a bounded pool of threads that speak, shared by both servers.

A request is admitted only while fewer than `workers + queue_limit` are in progress
(else `Busy`: HTTP 503); its sentences are then made one at a time on the worker
threads, one ONNX Runtime thread each. Which waiting sentence goes next is decided by
its request's `turn`: requests that have had little worker time go first, the oldest of
them first, so a short request waits for the sentences in progress, never behind the
queued sentences of long ones, and it finishes as soon as it can once started.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import AsyncIterator, Callable

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


# A request's first second of worker time is its first turn level; each doubling of it is
# one more level, served after the levels below (multilevel feedback, as CPU schedulers
# keep short jobs quick), and within a level the oldest request goes first. Measured with
# bench/serve_attack.py's 32 clients: sentences taken in arrival order let long answers
# hold the others' p95 at 1.9-2.1x a quiet run's (now 1.1x); and a quiet run's p95 is
# 660 ms oldest-request-first against 750 ms with requests taking sentences in turn.
FIRST_LEVEL_SECONDS = 1.0


def turn(served_seconds: float, arrival: int) -> tuple[int, int]:
    """The order of a request's next call: by level of worker time had, then by arrival."""
    level = 0 if served_seconds < FIRST_LEVEL_SECONDS else 1 + int(math.log2(served_seconds / FIRST_LEVEL_SECONDS))
    return level, arrival


class OrderedWorkers:
    """Worker threads that take the waiting call of the lowest order (first come first
    among equals)."""

    def __init__(self, workers: int):
        self._waiting: list = []  # a heap of (order, arrival, future, call, args)
        self._arrivals = itertools.count()
        self._changed = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"speak-{n}") for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, order, call: Callable, *args) -> Future:
        future: Future = Future()
        with self._changed:
            if self._closed:
                raise RuntimeError("the worker threads have stopped")
            heapq.heappush(self._waiting, (order, next(self._arrivals), future, call, args))
            self._changed.notify()
        return future

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._waiting and not self._closed:
                    self._changed.wait()
                if not self._waiting:
                    return
                _, _, future, call, args = heapq.heappop(self._waiting)
            if future.set_running_or_notify_cancel():  # False: its request went away while it waited
                try:
                    future.set_result(call(*args))
                except BaseException as e:
                    future.set_exception(e)

    def shutdown(self) -> None:
        """Cancel what waits, let the calls in progress finish, and stop the threads."""
        with self._changed:
            self._closed = True
            for _, _, future, _, _ in self._waiting:
                future.cancel()
            self._waiting.clear()
            self._changed.notify_all()
        for thread in self._threads:
            thread.join()


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
        self.worker_threads = OrderedWorkers(workers)
        self._arrivals = itertools.count()
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
        turn_now = turn(0.0, next(self._arrivals))
        return await asyncio.wrap_future(self.worker_threads.submit(turn_now, self._load, name))

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
        as its own call on the worker threads, in this request's `turn`.
        The caller has admitted the request. The whole text is planned before the first
        audio, so a text with nothing to say fails before anything is sent; SSML that is
        skipped is not the listener's concern."""
        served, arrival = 0.0, next(self._arrivals)

        def measured(call: Callable, *args):
            nonlocal served
            start = time.perf_counter()
            try:
                return call(*args)
            finally:
                served += time.perf_counter() - start

        async def in_turn(call: Callable, *args):
            return await asyncio.wrap_future(self.worker_threads.submit(turn(served, arrival), measured, call, *args))

        items = await in_turn(synthesizer.plan, text, ssml, lambda _: None)
        pieces = synthesizer.stream_timed_plan(items, controls.check())
        while (piece := await in_turn(next, pieces, None)) is not None:
            yield piece

    def close(self) -> None:
        self.worker_threads.shutdown()
