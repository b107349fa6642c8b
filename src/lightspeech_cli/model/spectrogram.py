"""Mel spectrograms exactly as HiFi-GAN V1 was trained on them, in torch (training).

22050 Hz, n_fft 1024, hop 256, window 1024, 80 Slaney mel bands from 0 to 8000 Hz,
natural log of magnitudes clamped at 1e-5. A voice's acoustic model predicts these,
so any vocoder trained on them can speak it. The filterbank is the runtime's (numpy).
"""

from __future__ import annotations

import torch

from ..runtime.dsp import mel_filterbank
from ..runtime.format.voice import AudioConfig


def filterbank_tensor(config: AudioConfig) -> torch.Tensor:
    """[n_mels, n_fft // 2 + 1] triangular filters with Slaney area normalization."""
    return torch.from_numpy(mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax))


class MelSpectrogram(torch.nn.Module):
    # Buffers (register_buffer below); torch types unknown attributes as Tensor | Module.
    filterbank: torch.Tensor
    window: torch.Tensor

    def __init__(self, config: AudioConfig = AudioConfig()):
        super().__init__()
        self.config = config
        self.register_buffer("filterbank", filterbank_tensor(config), persistent=False)
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """wave [B, samples] in [-1, 1] -> log mel [B, frames, n_mels], frames = samples // hop."""
        c = self.config
        padding = (c.n_fft - c.hop_length) // 2
        wave = torch.nn.functional.pad(wave.unsqueeze(1), (padding, padding), mode="reflect").squeeze(1)
        spectrum = torch.stft(wave, c.n_fft, c.hop_length, c.win_length, self.window, center=False, return_complex=True)
        magnitude = torch.sqrt(spectrum.real**2 + spectrum.imag**2 + 1e-9)
        mel = torch.log(torch.clamp(self.filterbank @ magnitude, min=1e-5))
        return mel.transpose(1, 2)
