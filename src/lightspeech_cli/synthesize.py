"""Text to waveform, sentence by sentence:

    text -> frontend -> ids -> acoustic model -> mel -> vocoder -> waveform

`Synthesizer.audio_chunks` yields each sentence's audio as soon as it is made, so
playback and raw output start after the first sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from .errors import InputError
from .export import BACKENDS, DEFAULT_BACKENDS, compile_module
from .paths import cache_dir
from .text import Sentence, frontend
from .text.g2p import Phonemizer
from .text.symbols import SymbolSet
from .vocoder import load_vocoder
from .voice import Voice

SENTENCE_GAP_SECONDS = 0.2


@dataclass
class Controls:
    speed: float = 1.0  # 2.0 speaks twice as fast
    pitch: float = 1.0  # 1.1 raises pitch by 10%
    energy: float = 1.0  # 1.2 speaks 20% louder

    def check(self) -> None:
        for name, value in (("speed", self.speed), ("pitch", self.pitch), ("energy", self.energy)):
            if not 0.25 <= value <= 4.0:
                raise InputError(f"--{name} must be between 0.25 and 4, not {value}")


@dataclass
class Utterance:
    sentence: Sentence
    audio: np.ndarray  # float32, mono
    durations: list[int]  # frames per phoneme


class Synthesizer:
    def __init__(self, voice: Voice, vocoder: str | None = None, backend: str | None = None,
                 threads: int | None = None, phonemizer: Phonemizer | None = None):
        """`backend` applies to both models; by default each gets its fastest."""
        if threads is not None:
            torch.set_num_threads(threads)
        self.voice = voice
        self.symbols = SymbolSet(voice.config.symbol_set)
        self.phonemizer = phonemizer or Phonemizer()
        self.sample_rate = voice.config.audio.sample_rate
        self.vocoder_name = vocoder or voice.config.vocoder
        cache = cache_dir() / "compiled"
        threads = torch.get_num_threads()
        self.acoustic = compile_module(voice.load_model(), "acoustic", backend or DEFAULT_BACKENDS["acoustic"],
                                       cache, threads)
        vocoder_module = load_vocoder(self.vocoder_name, voice.config.audio)
        # A vocoder may compile on fewer backends (Griffin-Lim is a Python loop; ONNX has no
        # inverse FFT) and prefer another one; a backend it cannot use falls back to its own.
        supported = getattr(vocoder_module, "backends", BACKENDS)
        preferred = getattr(vocoder_module, "default_backend", DEFAULT_BACKENDS["vocoder"])
        vocoder_backend = backend if backend in supported else preferred
        self.vocoder = compile_module(vocoder_module, "vocoder", vocoder_backend, cache, threads)

    def sentences(self, text: str) -> list[Sentence]:
        sentences = frontend(text, self.phonemizer)
        if not sentences:
            raise InputError("nothing to say: the text has no English words or numbers")
        return sentences

    def synthesize(self, sentence: Sentence, controls: Controls) -> Utterance:
        ids = torch.tensor([self.symbols.to_ids(sentence.phonemes)])
        mel, durations = self.acoustic(ids, torch.tensor(float(controls.speed)), torch.tensor(float(controls.pitch)),
                                       torch.tensor(float(controls.energy)))
        if int(durations.sum()) == 0:
            audio = np.zeros(0, np.float32)  # the regulator still emits one (masked) frame
        else:
            audio = self.vocoder(mel)[0][0].numpy().astype(np.float32)
        return Utterance(sentence, audio, durations[0].tolist())

    def audio_chunks(self, sentences: list[Sentence], controls: Controls) -> Iterator[np.ndarray]:
        """Each sentence's audio followed by a short pause, made as it is asked for."""
        controls.check()
        gap = np.zeros(int(SENTENCE_GAP_SECONDS * self.sample_rate), np.float32)
        for sentence in sentences:
            yield np.concatenate([self.synthesize(sentence, controls).audio, gap])
