"""Griffin-Lim: a vocoder with no weights. Buzzy, but it always works."""

from __future__ import annotations

import torch
from torch import nn

from ..spectrogram import AudioConfig, mel_filterbank


class GriffinLim(nn.Module):
    backends = ("eager",)  # FFTs and a Python loop: nothing to compile
    default_backend = "eager"

    def __init__(self, config: AudioConfig = AudioConfig(), iterations: int = 32, momentum: float = 0.99,
                 power: float = 1.2):
        super().__init__()
        self.config = config
        self.sample_rate = config.sample_rate
        self.hop_length = config.hop_length
        self.iterations = iterations
        self.momentum = momentum  # "fast Griffin-Lim" (Perraudin et al., 2013)
        self.power = power  # sharpens harmonics a little, which Griffin-Lim smears
        self.register_buffer("inverse_filterbank", torch.linalg.pinv(mel_filterbank(config)), persistent=False)
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)

    def _stft(self, wave: torch.Tensor) -> torch.Tensor:
        c = self.config
        # Zero padding, not reflection: reflection fails on utterances shorter than a window.
        return torch.stft(wave, c.n_fft, c.hop_length, c.win_length, self.window, pad_mode="constant",
                          return_complex=True)

    def _istft(self, spectrum: torch.Tensor, length: int) -> torch.Tensor:
        c = self.config
        return torch.istft(spectrum, c.n_fft, c.hop_length, c.win_length, self.window, length=length)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel [B, frames, n_mels] (natural log) -> wave [B, frames * hop]."""
        magnitude = (self.inverse_filterbank @ torch.exp(mel).transpose(1, 2)).clamp(min=1e-5) ** self.power
        length = mel.shape[1] * self.hop_length
        phase = torch.exp(2j * torch.pi * torch.rand(magnitude.shape, generator=torch.Generator().manual_seed(0)))
        estimate = magnitude * phase
        previous = torch.zeros_like(estimate)
        for _ in range(self.iterations):
            rebuilt = self._stft(self._istft(estimate, length))[..., :magnitude.shape[-1]]
            accelerated = rebuilt + self.momentum * (rebuilt - previous)
            previous = rebuilt
            estimate = magnitude * accelerated / accelerated.abs().clamp(min=1e-8)
        wave = self._istft(estimate, length)
        return wave / wave.abs().amax(dim=-1, keepdim=True).clamp(min=1e-3) * 0.9
