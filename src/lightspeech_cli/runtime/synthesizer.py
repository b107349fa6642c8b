"""Text to waveform, sentence by sentence, with ONNX Runtime and numpy:

    text -> frontend -> ids -> acoustic model -> mel -> vocoder -> waveform

`Synthesizer` is the one way in: the CLI, `render`, the servers and Python users all
speak through it. `stream` yields each sentence's audio as soon as it is made, so
playback, raw output and servers start after the first sentence.

    >>> from lightspeech_cli import Synthesizer
    >>> tts = Synthesizer.load()                 # the default voice; or a name, or a folder
    >>> audio = tts.synthesize("Hello there.")   # float32 samples at tts.sample_rate
    >>> for chunk in tts.stream("One. Two."):    # one array per sentence
    ...     pass
    >>> tts.write("Hello there.", "hello.wav")
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeGuard

import numpy as np

from ..errors import InputError, VoiceError
from ..text import Mark, Pause, Sentence, plan_speech
from ..text.g2p import Phonemizer
from ..text.symbols import SymbolSet
from .engine import acoustic_model, check_threads, load_vocoder
from .format.voice import Voice, find_voice
from .timings import MarkTime, Timings, sentence_timings

DEFAULT_SENTENCE_SILENCE = 0.2
# Silence kept before and after each sentence by a voice that frames its sentences (symbol set
# arpabet-2 on): its model makes the silence around the speech, and the audio is cut (or
# padded) to this much of it, so a sentence neither starts on a click nor trails a long pause.
DEFAULT_EDGE_SILENCE = 0.1
# The edges are read this much faster than trained (0.2 s of silence each, the most the corpus
# keeps): the model makes about DEFAULT_EDGE_SILENCE, and the vocoder no frames it would cut.
EDGE_SPEED = 2.0
CONTROL_RANGE = (0.25, 4.0)
# Energy beyond 2 reaches embedding bins the voice rarely saw in training and comes out
# quieter, not louder (measured on the shipped voice); louder is --volume's job.
ENERGY_RANGE = (0.25, 2.0)
VOLUME_RANGE = (0.0, 4.0)
MAX_SILENCE_SECONDS = 30.0


class SkippedInputWarning(UserWarning):
    """Input that lightspeech does not read: an unknown SSML element or attribute, a
    "word" too long to be one."""


@dataclass(frozen=True)
class Controls:
    speed: float = 1.0  # 2.0 speaks twice as fast
    pitch: float = 1.0  # 1.1 raises pitch by 10%
    energy: float = 1.0  # 1.2 speaks with 20% more energy (the model's own loudness and timbre)
    volume: float = 1.0  # gain on the waveform: 0.5 is half as loud

    def check(self, prefix: str = "") -> "Controls":
        """Self, or an InputError naming the field (the CLI passes prefix "--" to name its options)."""
        for name, value in (("speed", self.speed), ("pitch", self.pitch)):
            _check_factor(prefix + name, value, *CONTROL_RANGE)
        _check_factor(prefix + "energy", self.energy, *ENERGY_RANGE)
        _check_factor(prefix + "volume", self.volume, *VOLUME_RANGE)
        return self


def _is_number(value: object) -> TypeGuard[float]:
    """A Python or numpy number; True and False are not numbers here."""
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))


def _check_factor(name: str, value: object, low: float, high: float) -> None:
    if not _is_number(value) or not low <= value <= high:
        raise InputError(f"{name} must be a number from {low:g} to {high:g}, not {value!r}")


def check_silence(seconds: object, name: str = "sentence_silence") -> float:
    if not _is_number(seconds) or not 0 <= seconds <= MAX_SILENCE_SECONDS:
        raise InputError(f"{name} must be from 0 to {MAX_SILENCE_SECONDS:g} seconds, not {seconds!r}")
    return float(seconds)


@dataclass
class Utterance:
    sentence: Sentence
    audio: np.ndarray  # float32, mono
    durations: list[int]  # frames per phoneme
    timings: Timings  # seconds from the start of `audio`


@dataclass
class Spoken:
    """What `stream_timed` yields: a piece of audio (a sentence, a pause; empty for a mark
    that stands alone) and its words, phonemes and marks, timed from the start of the stream."""

    audio: np.ndarray
    timings: Timings


class Synthesizer:
    def __init__(
        self,
        voice: Voice,
        vocoder: str | Path | None = None,
        backend: str | None = None,
        threads: int | None = None,
        phonemizer: Phonemizer | None = None,
    ):
        """`backend` (onnx, torchscript, eager) applies to both models; a vocoder that
        cannot use it (Griffin-Lim is numpy) runs its own way."""
        threads = check_threads(threads)
        if vocoder is not None and not isinstance(vocoder, (str, Path)):
            raise InputError(f"vocoder must be a name or a folder, not {type(vocoder).__name__}")
        if backend is not None and not isinstance(backend, str):
            raise InputError(f"backend must be a name, not {type(backend).__name__}")
        for name, value in (("vocoder", vocoder), ("backend", backend)):
            if value == "":
                raise InputError(f"the {name} name is empty: give one, or leave it out")
        self.voice = voice
        self.symbols = SymbolSet(voice.config.symbol_set)
        self.phonemizer = phonemizer or Phonemizer()
        self.sample_rate = voice.config.audio.sample_rate
        self.hop_length = voice.config.audio.hop_length
        self.vocoder_name = str(vocoder) if vocoder else voice.config.vocoder
        self.backend = backend or "onnx"
        self.acoustic = acoustic_model(voice, backend, threads)
        self.vocoder = load_vocoder(self.vocoder_name, voice.config.audio, backend, threads)

    def identity(self) -> str:
        """What decides this synthesizer's audio besides its input (`render` keys files on
        it): the voice's config and files, the vocoder and the backend."""
        return "\0".join([self.voice.identity(), self.vocoder.identity, self.backend])

    @classmethod
    def load(
        cls,
        voice: str | Path | None = None,
        *,
        vocoder: str | Path | None = None,
        backend: str | None = None,
        threads: int | None = None,
        lexicon: Path | None = None,
    ) -> "Synthesizer":
        """A synthesizer for a voice name (installed or embedded), a voice folder, or the
        default voice; `lexicon` is a pronunciation file (one 'WORD PH ON EMES' per line)."""
        from ..text.g2p import read_lexicon

        if lexicon is not None and not isinstance(lexicon, (str, Path)):
            raise InputError(f"lexicon must be a file name, not {type(lexicon).__name__}")
        phonemizer = Phonemizer(read_lexicon(Path(lexicon))) if lexicon is not None else None
        return cls(
            find_voice(str(voice) if voice is not None else None),
            vocoder=vocoder,
            backend=backend,
            threads=threads,
            phonemizer=phonemizer,
        )

    # --- text ------------------------------------------------------------------------------

    def plan(
        self, text: str, ssml: bool | None = None, warn: Callable[[str], None] | None = None
    ) -> list[Sentence | Pause | Mark]:
        """What `text` will say: sentences and pauses. SSML when `ssml` is True, or when it
        is None and the text starts with <speak>; `warn` hears what is skipped (SSML, long words)
        (by default, Python's warnings). Nothing speakable is an InputError."""
        if warn is None:

            def warn(message: str) -> None:
                warnings.warn(message, SkippedInputWarning, stacklevel=3)

        if not isinstance(text, str):
            raise InputError(f"text must be a str, not {type(text).__name__}")
        if ssml is not None and not isinstance(ssml, bool):
            raise InputError(f"ssml must be True, False or None (decide by the text), not {ssml!r}")
        if not callable(warn):  # None was replaced above
            raise InputError(f"warn must be a function of one message, not {type(warn).__name__}")
        items = plan_speech(text, self.phonemizer, ssml, warn)
        if not any(isinstance(item, Sentence) for item in items):
            raise InputError("nothing to say: the text has no English words or numbers")
        return items

    def sentences(self, text: str) -> list[Sentence]:
        return [item for item in self.plan(text, ssml=False) if isinstance(item, Sentence)]

    # --- audio -----------------------------------------------------------------------------

    def utterance(
        self, sentence: Sentence, controls: Controls = Controls(), edge_silence: float = DEFAULT_EDGE_SILENCE
    ) -> Utterance:
        """One sentence, its per-phoneme prosody (SSML) on top of `controls`, with
        `edge_silence` seconds of silence before and after it where the voice makes them."""
        edges = self.symbols.edges
        ids = np.asarray([self.symbols.sentence_ids(sentence.phonemes)], np.int64)
        count = ids.shape[1]
        rate, pitch, volume = (np.ones(count, np.float32) for _ in range(3))
        if sentence.prosody is not None:
            # The edges are read as the phonemes next to them are.
            columns = zip(*sentence.prosody, strict=True)
            rate, pitch, volume = (np.pad(np.asarray(c, np.float32), edges, mode="edge") for c in columns)
        speed = np.clip(rate * controls.speed, *CONTROL_RANGE)[None]
        if edges:  # the silence around the sentence is cut to edge_silence anyway: make no more than that
            speed[0, :edges] = speed[0, -edges:] = EDGE_SPEED
        pitch = np.clip(pitch * controls.pitch, *CONTROL_RANGE)[None]
        energy = np.full((1, count), controls.energy, np.float32)
        mel, durations = self.acoustic(ids, speed.astype(np.float32), pitch.astype(np.float32), energy)
        if not np.isfinite(mel).all():
            raise VoiceError(
                f"voice {self.voice.name} made invalid audio (NaN or infinite values): its weights are broken"
            )
        durations = durations[0].astype(np.int64)
        spoken = durations[edges : len(durations) - edges]
        lead = int(round(edge_silence * self.sample_rate)) if edges else 0
        timings = sentence_timings(
            sentence, spoken.tolist(), lead / self.sample_rate, self.hop_length / self.sample_rate
        )
        if int(spoken.sum()) == 0:
            return Utterance(sentence, np.zeros(0, np.float32), spoken.tolist(), Timings())
        audio = self.vocoder(mel)[0].astype(np.float32)
        if not np.isfinite(audio).all():
            raise VoiceError(
                f"vocoder {self.vocoder_name} made invalid audio (NaN or infinite values): its weights are broken"
            )
        gain = volume * controls.volume
        if not np.allclose(gain, 1.0):
            audio = np.clip(audio * self._gain_per_sample(gain, durations, len(audio)), -1.0, 1.0)
        if edges:
            audio = self._with_edges(audio, int(durations[0]), int(durations[-1]), lead)
        return Utterance(sentence, audio.astype(np.float32), spoken.tolist(), timings)

    def _with_edges(self, audio: np.ndarray, lead_frames: int, trail_frames: int, keep: int) -> np.ndarray:
        """The audio with exactly `keep` samples before its first phoneme and after its last:
        the model's edge frames are cut to that, or zeros added where it made less."""
        lead, trail = lead_frames * self.hop_length - keep, trail_frames * self.hop_length - keep
        audio = audio[max(lead, 0) : len(audio) - max(trail, 0)]
        return np.pad(audio, (max(-lead, 0), max(-trail, 0)))

    def _gain_per_sample(self, gain: np.ndarray, durations: np.ndarray, n_samples: int) -> np.ndarray:
        """Each phoneme's gain over its samples, with 10 ms ramps between phonemes so a
        change of volume does not click."""
        per_sample = np.repeat(np.repeat(gain, durations), self.hop_length)[:n_samples]
        ramp = max(1, int(0.01 * self.sample_rate))
        if len(per_sample) > ramp and not np.all(per_sample == per_sample[0]):
            padded = np.pad(per_sample, (ramp // 2, ramp - 1 - ramp // 2), mode="edge")
            per_sample = np.convolve(padded, np.ones(ramp, np.float32) / ramp, mode="valid")
        return per_sample.astype(np.float32)

    def silence(self, seconds: float) -> np.ndarray:
        return np.zeros(int(round(seconds * self.sample_rate)), np.float32)

    def stream_plan(
        self,
        items: Iterable[Sentence | Pause | Mark],
        controls: Controls = Controls(),
        sentence_silence: float = DEFAULT_SENTENCE_SILENCE,
        edge_silence: float = DEFAULT_EDGE_SILENCE,
    ) -> Iterator[np.ndarray]:
        """Audio for each item as it is made: a sentence's audio, or a pause's silence.
        `sentence_silence` goes between two sentences (not after the last); an explicit
        pause takes its place. Each sentence has `edge_silence` of its own before and after it."""
        for spoken in self.stream_timed_plan(items, controls, sentence_silence, edge_silence):
            if len(spoken.audio) or not spoken.timings.marks:  # a mark alone has no audio to give
                yield spoken.audio

    def stream_timed_plan(
        self,
        items: Iterable[Sentence | Pause | Mark],
        controls: Controls = Controls(),
        sentence_silence: float = DEFAULT_SENTENCE_SILENCE,
        edge_silence: float = DEFAULT_EDGE_SILENCE,
    ) -> Iterator[Spoken]:
        """As `stream_plan`, each piece of audio with its timings from the start of the stream."""
        controls.check()
        check_silence(sentence_silence)
        check_silence(edge_silence, "edge_silence")
        previous_was_sentence, samples = False, 0
        for item in items:
            now = samples / self.sample_rate
            if isinstance(item, Mark):
                yield Spoken(np.zeros(0, np.float32), Timings(marks=[MarkTime(item.name, now)]))
                continue
            if isinstance(item, Pause):
                previous_was_sentence = False
                audio, timings = self.silence(item.seconds), Timings()
            else:
                utterance = self.utterance(item, controls, edge_silence)
                before = self.silence(sentence_silence if previous_was_sentence else 0.0)
                audio = np.concatenate([before, utterance.audio])
                timings = utterance.timings.shifted(now + len(before) / self.sample_rate)
                previous_was_sentence = True
            samples += len(audio)
            yield Spoken(audio, timings)

    def stream(
        self,
        text: str,
        *,
        speed: float = 1.0,
        pitch: float = 1.0,
        energy: float = 1.0,
        volume: float = 1.0,
        sentence_silence: float = DEFAULT_SENTENCE_SILENCE,
        edge_silence: float = DEFAULT_EDGE_SILENCE,
        ssml: bool | None = None,
    ) -> Iterator[np.ndarray]:
        """float32 audio, one array per sentence (or pause), made as it is asked for."""
        controls = Controls(speed, pitch, energy, volume).check()
        return self.stream_plan(self.plan(text, ssml), controls, sentence_silence, edge_silence)

    def stream_timed(
        self,
        text: str,
        *,
        speed: float = 1.0,
        pitch: float = 1.0,
        energy: float = 1.0,
        volume: float = 1.0,
        sentence_silence: float = DEFAULT_SENTENCE_SILENCE,
        edge_silence: float = DEFAULT_EDGE_SILENCE,
        ssml: bool | None = None,
    ) -> Iterator[Spoken]:
        """As `stream`, each piece of audio with the timing of its words, phonemes and marks,
        in seconds from the start of the stream."""
        controls = Controls(speed, pitch, energy, volume).check()
        return self.stream_timed_plan(self.plan(text, ssml), controls, sentence_silence, edge_silence)

    def synthesize_timed(self, text: str, **options) -> tuple[np.ndarray, Timings]:
        """As `synthesize`, and the timings of the whole text (options as in `stream`)."""
        from .audio import collect

        _check_options(options)
        timings = Timings()

        def audio() -> Iterator[np.ndarray]:
            for spoken in self.stream_timed(text, **options):
                timings.extend(spoken.timings)
                yield spoken.audio

        return collect(audio(), self.sample_rate), timings

    def synthesize(self, text: str, **options) -> np.ndarray:
        """The whole text as one float32 array at `sample_rate` (options as in `stream`).
        As for a file the CLI writes, at most an hour (audio.MAX_OUTPUT_SECONDS): long
        silences and slow speech are an InputError, not a MemoryError. `stream` has no bound."""
        from .audio import collect

        _check_options(options)
        return collect(self.stream(text, **options), self.sample_rate)

    def write(self, text: str, path: str | Path, sample_rate: int | None = None, **options) -> Path:
        """Speak `text` into an audio file (.wav, .flac, .ogg, .mp3 where supported),
        optionally resampled to `sample_rate`; written atomically; at most an hour, as
        `synthesize`."""
        from .audio import check_encodable, check_output_path, check_sample_rate, write_file

        if not isinstance(path, (str, Path)):
            raise InputError(f"path must be a file name, not {type(path).__name__}")
        path = Path(path)
        check_output_path(path)
        check_encodable(path.suffix.lower(), check_sample_rate(sample_rate) or self.sample_rate)
        write_file(path, self.synthesize(text, **options), self.sample_rate, sample_rate)
        return path

    def seconds(self, samples: np.ndarray) -> float:
        return len(samples) / self.sample_rate


SPEECH_OPTIONS = ("speed", "pitch", "energy", "volume", "sentence_silence", "edge_silence", "ssml")


def _check_options(options: dict) -> None:
    """`synthesize` and `write` pass their options on to `stream`: a misspelt one is named
    here, not as an argument of a method the caller never called."""
    unknown = sorted(set(options) - set(SPEECH_OPTIONS))
    if unknown:
        raise InputError(f"unknown option {unknown[0]!r}; the options are {', '.join(SPEECH_OPTIONS)}")


def words_per_minute_to_speed(words_per_minute: float) -> float:
    """espeak-ng's -s and macOS say's -r: 175 words per minute is this voice family's
    natural rate (bench/speaking_rate.txt), so 175 is speed 1.0."""
    if isinstance(words_per_minute, bool) or not math.isfinite(words_per_minute):
        raise InputError(f"--rate must be a number of words per minute, not {words_per_minute!r}")
    speed = words_per_minute / NATURAL_WORDS_PER_MINUTE
    low, high = CONTROL_RANGE
    if not low <= speed <= high:
        raise InputError(
            f"--rate must be from {low * NATURAL_WORDS_PER_MINUTE:.0f} to "
            f"{high * NATURAL_WORDS_PER_MINUTE:.0f} words per minute, not {words_per_minute:g}"
        )
    return speed


NATURAL_WORDS_PER_MINUTE = 175.0
