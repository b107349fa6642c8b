"""The module's speaking side: a thread that makes each message into audio a sentence at a
time and hands it on as it is made, to the server (server audio: 705 events) or to the
sound card (the module plays it), with the index marks at the samples where they fall.

STOP comes on the reader thread and takes effect at once: the message is finished (703)
there, and the speaker drops what it makes for it afterwards.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Iterator

import numpy as np

from ..errors import AudioDeviceError, LightspeechError
from ..runtime.dsp import tone
from ..runtime.format.voice import find_voice, installed_voice_names, same_language
from ..runtime.synthesizer import Controls, Synthesizer
from ..text import plan_speech
from .protocol import END, STOPPED, Message, Output

log = logging.getLogger("sd_lightspeech")

# A screen reader speaks in short bursts: the voice's usual 0.1 s of lead-in and tail would
# be heard as lag before each word and gaps between them.
DESKTOP_EDGE_SILENCE = 0.01
# Samples per 705 event: the server stops its playback between them, so small ones stop it sooner.
SERVER_AUDIO_CHUNK = 512
# The sound icon (SOUND_ICON, and a capital letter with capital-letter recognition "icon").
TONE_HZ, TONE_SECONDS, TONE_LEVEL = 880.0, 0.06, 0.3
IDLE_SECONDS = 2.0  # the module's own audio stream is closed after this long with nothing to say

# A piece of a message's audio, and its index marks: (sample of the piece, name).
Piece = tuple[np.ndarray, list[tuple[int, str]]]


class Voices:
    """The voices the module offers (the default and every installed one), each loaded the
    first time a message asks for it, then kept."""

    def __init__(self, default: str | None, vocoder: str | None, threads: int):
        self.vocoder, self.threads = vocoder, threads
        self.default = self._warmed_up(default)
        self._loaded = {self.default.voice.name: self.default}

    def _warmed_up(self, name: str | None) -> Synthesizer:
        """ONNX Runtime's first run plans its memory (a few hundred ms): done before the
        first message, not during it."""
        synthesizer = Synthesizer.load(name, vocoder=self.vocoder, threads=self.threads)
        synthesizer.synthesize("Ready.", edge_silence=DESKTOP_EDGE_SILENCE)
        return synthesizer

    def listing(self) -> list[tuple[str, str]]:
        """(name, language) of each voice, the default first; a voice that does not read is
        left out."""
        voices = [(self.default.voice.name, self.default.voice.config.language)]
        for name in installed_voice_names():
            if name != self.default.voice.name:
                try:
                    voices.append((name, find_voice(name).config.language))
                except LightspeechError as error:
                    log.warning("voice %s is not offered: %s", name, error)
        return voices

    def choose(self, name: str | None, language: str | None) -> Synthesizer:
        """The voice a client chose (synthesis_voice), else the first that speaks its language,
        else the default; one that fails to load is logged and the default speaks."""
        if name is None and language is not None and not same_language(self.default.voice.config.language, language):
            name = next((n for n, spoken in self.listing() if same_language(spoken, language)), None)
        if name is None or name == self.default.voice.name:
            return self.default
        if name not in self._loaded:
            try:
                self._loaded[name] = self._warmed_up(name)
            except LightspeechError as error:
                log.warning("voice %s cannot speak (%s): the default voice speaks instead", name, error)
                return self.default
        return self._loaded[name]


class ServerAudio:
    """Audio for the server to play (speech-dispatcher 0.11 and later): sent as it is made;
    the server plays it in order, and reports each mark when its audio has played."""

    def __init__(self, output: Output):
        self.output = output

    def play(self, message: Message, samples: np.ndarray, sample_rate: int) -> bool:
        for start in range(0, len(samples), SERVER_AUDIO_CHUNK):
            if not self.output.audio(message, samples[start : start + SERVER_AUDIO_CHUNK], sample_rate):
                return False
        return not message.finished.is_set()

    def mark(self, message: Message, name: str) -> bool:
        return self.output.mark(message, name)

    def end(self, message: Message) -> None:
        self.output.finish(message, END)

    def stop(self, message: Message) -> None:
        """The server drops a stopped message's audio itself."""

    def idle(self) -> None:
        """Nothing is held open."""


class LocalAudio:
    """The module plays the audio itself on the default output device (where the server does
    not offer to). The sound card's callback pulls it from a queue, so sentences are made
    ahead of playback and STOP empties the queue at once; marks and the end are reported
    when the audio before them has gone to the device."""

    def __init__(self, output: Output):
        try:
            import sounddevice
        except OSError:
            raise AudioDeviceError("cannot play audio: PortAudio is missing (apt install libportaudio2)") from None
        self._sounddevice = sounddevice
        self.output = output
        self._lock = threading.Lock()
        self._queue: collections.deque[tuple[Message, np.ndarray | str]] = collections.deque()
        self._reached: queue.SimpleQueue[tuple[Message, str]] = queue.SimpleQueue()
        self._stream = None
        self._stream_rate = 0
        threading.Thread(target=self._report, name="marks", daemon=True).start()

    def play(self, message: Message, samples: np.ndarray, sample_rate: int) -> bool:
        if len(samples):
            self._open(sample_rate)
            self._put(message, samples.astype(np.float32))
        return not message.finished.is_set()

    def mark(self, message: Message, name: str) -> bool:
        self._put(message, "700:" + name)
        return not message.finished.is_set()

    def end(self, message: Message) -> None:
        self._put(message, END)

    def stop(self, message: Message) -> None:
        with self._lock:
            self._queue = collections.deque(item for item in self._queue if item[0] is not message)

    def idle(self) -> None:
        with self._lock:
            closing = self._stream if not self._queue else None
            if closing is not None:
                self._stream = None
        if closing is not None:
            closing.close()

    def _put(self, message: Message, item: np.ndarray | str) -> None:
        with self._lock:
            self._queue.append((message, item))

    def _open(self, sample_rate: int) -> None:
        if self._stream is not None and self._stream_rate == sample_rate:
            return
        if self._stream is not None:  # another voice's rate: the queue holds the old voice's audio
            self._stream.close()
        try:
            stream = self._sounddevice.OutputStream(
                samplerate=sample_rate, channels=1, dtype="float32", callback=self._fill, latency="low"
            )
            stream.start()
        except (self._sounddevice.PortAudioError, ValueError) as error:
            raise AudioDeviceError(f"cannot play audio: {error}") from None
        self._stream, self._stream_rate = stream, sample_rate

    def _fill(self, out: np.ndarray, frames: int, _time, _status) -> None:
        """The sound card asks for `frames` samples: the queue's audio, silence after it."""
        out.fill(0)
        filled = 0
        with self._lock:
            while self._queue and filled < frames:
                message, item = self._queue[0]
                if isinstance(item, str):
                    self._reached.put((message, item))
                    self._queue.popleft()
                    continue
                take = min(frames - filled, len(item))
                out[filled : filled + take, 0] = item[:take]
                filled += take
                if take == len(item):
                    self._queue.popleft()
                else:
                    self._queue[0] = (message, item[take:])

    def _report(self) -> None:
        while True:
            message, event = self._reached.get()
            if event == END:
                self.output.finish(message, END)
            elif not self.output.mark(message, event[len("700:") :]):  # paused here, or stopped
                self.stop(message)


class Speaker:
    def __init__(self, output: Output, voices: Voices, audio: ServerAudio | LocalAudio):
        self.output, self.voices, self.audio = output, voices, audio
        self._lock = threading.Lock()
        self._waiting: queue.Queue[Message] = queue.Queue()
        self._messages: list[Message] = []  # not yet finished, oldest first
        threading.Thread(target=self._run, name="speaker", daemon=True).start()

    def speak(self, message: Message) -> None:
        with self._lock:
            self._messages.append(message)
        self._waiting.put(message)

    def stop(self) -> None:
        """STOP: every message not yet finished ends now (703); their audio is dropped."""
        with self._lock:
            messages, self._messages = self._messages, []
        for message in messages:
            self.output.finish(message, STOPPED)
            self.audio.stop(message)

    def pause(self) -> None:
        """PAUSE: speaking goes on to the next server mark, where it pauses (704)."""
        with self._lock:
            for message in self._messages:
                message.pause_asked = True

    def _run(self) -> None:
        while True:
            try:
                message = self._waiting.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                self.audio.idle()
                continue
            try:
                self._say(message)
            except LightspeechError as error:
                log.error("cannot speak: %s", error)
                self.output.finish(message, END)
            except Exception:  # noqa: BLE001 - the module stays up for the next message, and says why
                log.exception("cannot speak")
                self.output.finish(message, END)
            with self._lock:
                if message in self._messages:
                    self._messages.remove(message)

    def _say(self, message: Message) -> None:
        if message.finished.is_set():  # stopped before its turn
            return
        self.output.begin(message)
        settings = message.settings
        synthesizer = self.voices.choose(settings.synthesis_voice, settings.language)
        rate, controls = synthesizer.sample_rate, settings.controls()
        if message.tone_first or message.ssml is None:
            if not self.audio.play(message, controls.volume * tone(TONE_HZ, TONE_SECONDS, rate, TONE_LEVEL), rate):
                return
        for samples, marks in pieces(synthesizer, message.ssml or "", controls):
            position = 0
            for at, name in marks:
                if not self.audio.play(message, samples[position:at], rate) or not self.audio.mark(message, name):
                    return
                position = at
            if not self.audio.play(message, samples[position:], rate):
                return
        self.audio.end(message)


def pieces(synthesizer: Synthesizer, ssml: str, controls: Controls) -> Iterator[Piece]:
    """Each sentence's (or pause's) audio as it is made, with its index marks as (sample of
    that audio, name). A sentence ends DESKTOP_EDGE_SILENCE after its last word: the pause the
    voice makes for its final punctuation would be a gap before the next message, which for a
    screen reader is often the next word; between the sentences of one message,
    sentence_silence keeps them apart."""
    if not ssml:
        return
    rate = synthesizer.sample_rate
    items = plan_speech(ssml, synthesizer.phonemizer, ssml=True, warn=log.info)
    start = 0  # samples of the stream before this piece
    for spoken in synthesizer.stream_timed_plan(items, controls, edge_silence=DESKTOP_EDGE_SILENCE):
        samples = spoken.audio
        if spoken.timings.words:
            samples = samples[: round((spoken.timings.words[-1].end + DESKTOP_EDGE_SILENCE) * rate) - start]
        marks = [(min(max(round(m.time * rate) - start, 0), len(samples)), m.name) for m in spoken.timings.marks]
        yield samples, marks
        start += len(spoken.audio)
