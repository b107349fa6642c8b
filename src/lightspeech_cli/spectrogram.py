"""Mel spectrograms exactly as HiFi-GAN V1 was trained on them.

22050 Hz, n_fft 1024, hop 256, window 1024, 80 Slaney mel bands from 0 to 8000 Hz,
natural log of magnitudes clamped at 1e-5. A voice's acoustic model predicts these,
so any vocoder trained on them can speak it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class AudioConfig:
    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0

    def to_dict(self) -> dict:
        return asdict(self)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear to 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


def mel_filterbank(config: AudioConfig) -> torch.Tensor:
    """[n_mels, n_fft // 2 + 1] triangular filters with Slaney area normalization."""
    frequencies = np.linspace(0, config.sample_rate / 2, config.n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(config.fmin), _hz_to_mel(config.fmax), config.n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - frequencies[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return torch.from_numpy(weights.astype(np.float32))


class MelSpectrogram(torch.nn.Module):
    def __init__(self, config: AudioConfig = AudioConfig()):
        super().__init__()
        self.config = config
        self.register_buffer("filterbank", mel_filterbank(config), persistent=False)
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """wave [B, samples] in [-1, 1] -> log mel [B, frames, n_mels], frames = samples // hop."""
        c = self.config
        padding = (c.n_fft - c.hop_length) // 2
        wave = torch.nn.functional.pad(wave.unsqueeze(1), (padding, padding), mode="reflect").squeeze(1)
        spectrum = torch.stft(wave, c.n_fft, c.hop_length, c.win_length, self.window, center=False,
                              return_complex=True)
        magnitude = torch.sqrt(spectrum.real ** 2 + spectrum.imag ** 2 + 1e-9)
        mel = torch.log(torch.clamp(self.filterbank @ magnitude, min=1e-5))
        return mel.transpose(1, 2)
