"""The Wyoming server, as Home Assistant's voice pipeline talks to it (`wyoming` package).

    describe                                      -> info: the voices
    synthesize (text, voice)                      -> audio-start, audio-chunk..., audio-stop
    synthesize-start, synthesize-chunk...,        -> the same, each sentence spoken as soon as
    synthesize-stop                                  the next one begins; then synthesize-stopped

Audio is 16-bit mono PCM at the voice's rate, in chunks of CHUNK_SAMPLES. A failure is an
`error` event; the connection stays open. A client is held to limits.py's deadlines: an event
must begin within the idle time of the last and arrive whole within the client time, and
each write must be read within the client time.
"""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped, SynthesizeVoice

from .. import __version__
from ..errors import InputError, LightspeechError
from ..paths import parse_json
from ..runtime import audio
from ..runtime.synthesizer import DEFAULT_SENTENCE_SILENCE, Controls
from ..text.sentences import sentence_spans
from .limits import Limits, TooSlow, within
from .pool import SpeakerPool

CHUNK_SAMPLES = 4096
# What one event may carry besides its header line (which asyncio bounds at 64 KiB): a
# synthesize needs a few kilobytes of text, never a payload; the package itself has no bound.
MAX_EVENT_BYTES = 1024 * 1024
# Whether a sentence ends is decided from at most 120 characters before its final mark and 40
# after it (text/sentences.py): streamed text is scanned again only from this far back.
SENTENCE_CONTEXT = 300
INLINE_SCAN_CHARS = 1000
# Streamed chunks read from one connection: at most this many a second, after a burst of this
# many. A language model streams tens of words a second; a client sending as fast as it can
# (5,001 chunks of "Mr. " in a second) kept the event loop, and with it the GIL that the
# synthesis threads need, to itself: every other client's answer took 12x as long.
CHUNKS_PER_SECOND, CHUNK_BURST = 500, 200
log = logging.getLogger("lightspeech.wyoming")


class EventTooLarge(ValueError):
    """An event that says it carries more than MAX_EVENT_BYTES."""


async def read_event(reader: asyncio.StreamReader, limits: Limits = Limits()) -> Event | None:
    """The next event, or None at the end of the stream: the `wyoming` package's framing
    (a JSON header line, then data_length bytes of JSON data, then payload_length bytes),
    refused before reading when the lengths pass MAX_EVENT_BYTES. Its header line must come
    within the idle time, the rest within the client time (else TooSlow)."""
    line = await within(limits.idle_seconds, reader.readline(), "send an event")
    if not line:
        return None
    header = parse_json(line)
    lengths = [header.get("data_length") or 0, header.get("payload_length") or 0]
    if not all(type(n) is int and n >= 0 for n in lengths):
        raise ValueError(f"lengths that are not byte counts: {lengths!r:.60}")
    if sum(lengths) > MAX_EVENT_BYTES:
        raise EventTooLarge(f"an event of {sum(lengths):,} bytes; at most {MAX_EVENT_BYTES:,}")
    data = header.get("data") or {}
    rest = await within(limits.client_seconds, reader.readexactly(sum(lengths)), "send the rest of an event")
    if lengths[0]:
        data.update(parse_json(rest[: lengths[0]]))
    return Event(type=header["type"], data=data, payload=rest[lengths[0] :] if lengths[1] else None)


def describe(pool: SpeakerPool) -> Info:
    voices = [
        TtsVoice(
            name=v.name,
            description=v.description or v.name,
            installed=True,
            version=None,
            attribution=Attribution(name=f"lightspeech ({v.licence} licence)", url=""),
            languages=[v.language],
        )
        for v in pool.voices()
    ]
    return Info(
        tts=[
            TtsProgram(
                name="lightspeech",
                description="lightspeech: offline text to speech",
                attribution=Attribution(name="lightspeech", url=""),
                installed=True,
                version=__version__,
                voices=voices,
                supports_synthesize_streaming=True,
            )
        ]
    )


def parse(kind, event: Event):
    """A client's event as `kind`, checked: its JSON may hold anything."""
    if not isinstance(event.data.get("voice", {}), (dict, type(None))):  # the package would drop it in silence
        raise InputError(f'a malformed {event.type} event: voice must be an object such as {{"name": ...}}')
    try:
        parsed = kind.from_event(event)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InputError(f"a malformed {event.type} event") from None
    voice_name = getattr(getattr(parsed, "voice", None), "name", None)
    if not isinstance(getattr(parsed, "text", ""), str) or not isinstance(voice_name, (str, type(None))):
        raise InputError(f"a malformed {event.type} event: its text and voice name must be strings")
    return parsed


class SpeechHandler(AsyncEventHandler):
    """One client connection; Home Assistant opens one per answer."""

    def __init__(
        self, pool: SpeakerPool, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: Limits = Limits()
    ):
        super().__init__(reader, writer)
        self.pool, self.limits = pool, limits
        host, port, *_ = writer.get_extra_info("peername") or ("?", 0)
        self.client = f"{host}:{port}"
        self.answering = False  # from a synthesize (or synthesize-start) to its last event
        self.served = 0  # events answered
        self.reading = False  # waiting for the next event
        self.streaming = False  # between synthesize-start and synthesize-stop
        self.failed = False  # an error was sent for this stream: the rest of its text is dropped
        self.voice: str | None = None
        self.pending = ""  # streamed text whose last sentence may not have ended yet
        self.next_chunk_at = 0.0  # monotonic time from which the next streamed chunk is read at once
        self.chars = 0
        self.started = False  # audio-start sent for this answer
        self.samples = 0
        self.rate = 0
        self.began = 0.0

    async def run(self) -> None:
        """The package's loop, reading with `read_event`'s bound."""
        try:
            while (event := await self.next_event()) is not None and await self.handle_event(event):
                pass
        finally:
            await self.disconnect()
            self.writer.close()

    async def next_event(self) -> Event | None:
        self.reading = True
        try:
            return await read_event(self.reader, self.limits)
        finally:
            self.reading = False

    @property
    def waiting(self) -> bool:
        """Waiting for its client, with no answer under way (evicted first when all places are taken)."""
        return self.reading and not self.answering

    @property
    def answered(self) -> bool:
        return self.served > 0

    def evict(self) -> None:
        self.writer.transport.abort()

    async def write_event(self, event: Event) -> None:
        try:
            await within(self.limits.client_seconds, super().write_event(event), "read its answer")
        except TooSlow:
            self.writer.transport.abort()  # close() would wait to send what the client does not read
            raise

    async def handle_event(self, event: Event) -> bool:
        self.served += 1
        try:
            if Describe.is_type(event.type):
                await self.write_event(describe(self.pool).event())
            elif Synthesize.is_type(event.type) and not self.streaming:  # in a stream it repeats the text
                request = parse(Synthesize, event)
                self.begin(request.voice)
                self.chars = len(request.text)
                try:
                    await self.speak(request.text, ssml=True if request.text_format == "ssml" else None)
                except LightspeechError as e:
                    await self.fail(e)  # before audio-stop, which ends the answer for a client
                finally:
                    await self.finish("synthesize")
            elif SynthesizeStart.is_type(event.type):
                self.begin(parse(SynthesizeStart, event).voice)
                self.streaming = True
            elif SynthesizeChunk.is_type(event.type) and self.streaming and not self.failed:
                await self.pace_chunks()
                text = parse(SynthesizeChunk, event).text
                self.chars += len(text)
                await self.speak_finished_sentences(text)
            elif SynthesizeStop.is_type(event.type) and self.streaming:
                self.streaming = False
                try:
                    if self.pending.strip():
                        await self.speak(self.pending)
                except LightspeechError as e:
                    await self.fail(e)  # before audio-stop and synthesize-stopped
                finally:
                    await self.finish("synthesize-stream")
                await self.write_event(SynthesizeStopped().event())
        except LightspeechError as e:
            await self.fail(e)
        return True

    async def pace_chunks(self) -> None:
        """Waits where this stream's chunks come faster than CHUNKS_PER_SECOND (a token bucket
        of CHUNK_BURST): the client's further chunks wait in its socket meanwhile."""
        now = time.monotonic()
        self.next_chunk_at = max(self.next_chunk_at, now - CHUNK_BURST / CHUNKS_PER_SECOND) + 1 / CHUNKS_PER_SECOND
        if self.next_chunk_at > now:
            await asyncio.sleep(self.next_chunk_at - now)

    async def fail(self, error: LightspeechError) -> None:
        """An `error` event; the rest of this stream's text is dropped."""
        log.warning("wyoming %s error: %s", self.client, error)
        self.failed, self.pending = True, ""
        await self.write_event(Error(text=str(error), code=type(error).__name__).event())

    def begin(self, voice: SynthesizeVoice | None) -> None:
        self.voice = voice.name if voice else None
        if voice and voice.language and not voice.name:  # "a voice for this language"
            if not isinstance(voice.language, str):
                raise InputError('a malformed voice: its language must be a string such as "en-US"')
            self.voice = self.pool.voice_for_language(voice.language)
        self.answering, self.failed, self.started = True, False, False
        self.pending, self.chars, self.samples, self.began = "", 0, 0, time.perf_counter()

    async def speak_finished_sentences(self, text: str) -> None:
        """Add `text` to the pending text and speak every sentence of it that is followed by
        the start of another (only then is its end certain: "Dr." may go on); keep the rest.
        Only the new text and SENTENCE_CONTEXT before it are scanned (on a thread, when that
        is long): earlier ends were decided when their context arrived, so a stream costs its
        length, not its square, and never holds up the other clients."""
        if len(self.pending) + len(text) > self.pool.max_chars:
            raise InputError(f"the input is too long (a sentence of more than {self.pool.max_chars:,} characters)")
        start = max(0, len(self.pending) - SENTENCE_CONTEXT)
        self.pending += text
        window = self.pending[start:]
        if len(window) <= INLINE_SCAN_CHARS:  # microseconds: a thread would cost more than the scan
            spans = sentence_spans(window)
        else:
            spans = await asyncio.get_running_loop().run_in_executor(None, sentence_spans, window)
        # A sentence may start after the window's first 200 characters only: before them its
        # end was decided without all of its context (the window cuts into a word).
        starts = [start + a for a, _ in spans[1:] if start == 0 or a >= SENTENCE_CONTEXT - 100]
        if starts:
            done, self.pending = self.pending[: starts[-1]], self.pending[starts[-1] :]
            await self.speak(done)

    async def speak(self, text: str, ssml: bool | None = None) -> None:
        text = self.pool.check_text(text)
        synthesizer = await self.pool.synthesizer(self.voice)
        self.rate = synthesizer.sample_rate
        self.pool.admit()
        try:
            if self.samples:  # the stream's earlier sentences were spoken: the usual pause between sentences
                await self.send(synthesizer.silence(DEFAULT_SENTENCE_SILENCE))
            async for piece in self.pool.stream(synthesizer, text, Controls(), ssml):
                if len(piece.audio):
                    await self.send(piece.audio)
        finally:
            self.pool.release()

    async def send(self, samples: np.ndarray) -> None:
        if self.writer.is_closing():  # a write failed: the client went away, so stop speaking for it
            raise ConnectionResetError
        if self.samples + len(samples) > self.limits.answer_seconds * self.rate:
            raise InputError(
                f"the answer would be longer than {self.limits.answer_seconds / 60:g} minutes of audio, the most "
                "one answer holds; send the text in parts"
            )
        if not self.started:
            await self.write_event(AudioStart(rate=self.rate, width=2, channels=1).event())
            self.started = True
        pcm = audio.to_pcm16(samples).tobytes()
        for offset in range(0, len(pcm), CHUNK_SAMPLES * 2):
            await self.write_event(
                AudioChunk(audio=pcm[offset : offset + CHUNK_SAMPLES * 2], rate=self.rate, width=2, channels=1).event()
            )
        self.samples += len(samples)

    async def finish(self, kind: str) -> None:
        if self.started:
            await self.write_event(AudioStop().event())
        self.answering = False
        log.info(
            "wyoming %s %s %d chars -> %.2f s of audio in %.3f s",
            self.client,
            kind,
            self.chars,
            self.samples / self.rate if self.rate else 0.0,
            time.perf_counter() - self.began,
        )
