"""Griffin-Lim: a vocoder with no weights, in numpy. Buzzy, but it always works."""

from __future__ import annotations

import numpy as np

from .dsp import hann_window, istft, mel_filterbank, stft
from .format.voice import AudioConfig


class GriffinLim:
    name = "griffinlim"
    parameters = 0

    def __init__(self, audio: AudioConfig, iterations: int = 32, momentum: float = 0.99, power: float = 1.2):
        self.audio = audio
        self.sample_rate = audio.sample_rate
        self.hop_length = audio.hop_length
        self.iterations = iterations
        self.momentum = momentum  # "fast Griffin-Lim" (Perraudin et al., 2013)
        self.power = power  # sharpens harmonics a little, which Griffin-Lim smears
        bank = mel_filterbank(audio.sample_rate, audio.n_fft, audio.n_mels, audio.fmin, audio.fmax)
        self.inverse_filterbank = np.linalg.pinv(bank).astype(np.float32)
        self.window = hann_window(audio.win_length)

    def __call__(self, mel: np.ndarray) -> np.ndarray:
        """mel [B, frames, n_mels] (natural log) -> wave [B, frames * hop]."""
        return np.stack([self._one(m) for m in mel])

    def _one(self, mel: np.ndarray) -> np.ndarray:
        a = self.audio
        magnitude = np.maximum(np.exp(mel) @ self.inverse_filterbank.T, 1e-5) ** self.power  # [frames, bins]
        length = mel.shape[0] * a.hop_length
        rng = np.random.default_rng(0)  # the same audio for the same mel
        estimate = magnitude * np.exp(2j * np.pi * rng.random(magnitude.shape))
        previous = np.zeros_like(estimate)
        for _ in range(self.iterations):
            rebuilt = stft(
                istft(estimate, a.n_fft, a.hop_length, self.window, length), a.n_fft, a.hop_length, self.window
            )[: len(magnitude)]
            accelerated = rebuilt + self.momentum * (rebuilt - previous)
            previous = rebuilt
            estimate = magnitude * accelerated / np.maximum(np.abs(accelerated), 1e-8)
        wave = istft(estimate, a.n_fft, a.hop_length, self.window, length)
        return (wave / max(np.abs(wave).max(), 1e-3) * 0.9).astype(np.float32)
