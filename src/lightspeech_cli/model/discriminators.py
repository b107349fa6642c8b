"""Discriminators for adversarial fine-tuning, made narrow enough to train on a CPU.

For the vocoder, as HiFi-GAN and Vocos use them:
    multi-period      the waveform folded by periods 2, 3, 5, 7 and 11 (HiFi-GAN's MPD):
                      hears periodic structure, the buzz a phase error makes
    multi-resolution  log magnitude spectrograms at three resolutions (UnivNet's MRD):
                      hears smeared harmonics and noisy high bands
For the acoustic model, at frame rate (after Guo et al., arXiv 2203.01080):
    mel time-frequency  2-D convolutions over mel spectrogram segments at three time
                      scales: hear the over-smoothed detail an L1 loss leaves (an L1-trained
                      model predicts the mean of what it cannot tell apart)

Least-squares GAN losses (LSGAN) and feature matching, as in HiFi-GAN. The vocoder's
discriminators are a tenth of HiFi-GAN's width (16 to 128 channels): at full width one step
takes 9 s on a CPU core. The mel discriminators, 16 to 32 channels, add about 40% to an
acoustic model's training step.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from typing import cast

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

LEAKY_SLOPE = 0.1
PERIODS = (2, 3, 5, 7, 11)
RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))  # (n_fft, hop)


class PeriodDiscriminator(nn.Module):
    def __init__(self, period: int, channels: tuple[int, ...] = (16, 32, 64, 128)):
        super().__init__()
        self.period = period
        widths = (1,) + channels
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(a, b, (5, 1), (3, 1), padding=(2, 0))) for a, b in pairwise(widths)
        )
        self.convs.append(weight_norm(nn.Conv2d(channels[-1], channels[-1], (5, 1), padding=(2, 0))))
        self.post = weight_norm(nn.Conv2d(channels[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """wave [B, T] -> score map, feature maps."""
        batch, length = wave.shape
        if length % self.period:
            wave = F.pad(wave, (0, self.period - length % self.period), mode="reflect")
        x = wave.view(batch, 1, -1, self.period)
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LEAKY_SLOPE)
            features.append(x)
        return self.post(x), features


class ResolutionDiscriminator(nn.Module):
    # A buffer (register_buffer below); torch types unknown attributes as Tensor | Module.
    window: torch.Tensor

    def __init__(self, n_fft: int, hop: int, channels: int = 16):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.convs = nn.ModuleList(
            [
                weight_norm(nn.Conv2d(1, channels, (3, 9), padding=(1, 4))),
                weight_norm(nn.Conv2d(channels, channels, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(channels, channels, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(channels, channels, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(channels, channels, (3, 3), padding=(1, 1))),
            ]
        )
        self.post = weight_norm(nn.Conv2d(channels, 1, (3, 3), padding=(1, 1)))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        spectrum = torch.stft(wave, self.n_fft, self.hop, self.n_fft, self.window, return_complex=True)
        x = torch.log(spectrum.abs() + 1e-5).unsqueeze(1)  # [B, 1, bins, frames]
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LEAKY_SLOPE)
            features.append(x)
        return self.post(x), features


class Discriminators(nn.Module):
    def __init__(self):
        super().__init__()
        self.members = nn.ModuleList(
            [PeriodDiscriminator(p) for p in PERIODS] + [ResolutionDiscriminator(n, h) for n, h in RESOLUTIONS]
        )

    def forward(self, wave: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        return [member(wave) for member in self.members]


class MelDiscriminator(nn.Module):
    """One time scale: the mel segment averaged over `time_scale` frames, then 2-D
    convolutions whose strides halve the mel bins (not the time) before the last."""

    def __init__(self, time_scale: int, channels: int = 32):
        super().__init__()
        self.time_scale = time_scale
        self.convs = nn.ModuleList(
            [
                weight_norm(nn.Conv2d(1, channels // 2, (3, 3), padding=(1, 1))),
                weight_norm(nn.Conv2d(channels // 2, channels, (3, 3), stride=(1, 2), padding=(1, 1))),
                weight_norm(nn.Conv2d(channels, channels, (3, 3), stride=(1, 2), padding=(1, 1))),
                weight_norm(nn.Conv2d(channels, channels, (3, 3), stride=(2, 2), padding=(1, 1))),
            ]
        )
        self.post = weight_norm(nn.Conv2d(channels, 1, (3, 3), padding=(1, 1)))

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """mel [B, frames, bins] -> score map, feature maps."""
        x = mel.unsqueeze(1)  # [B, 1, frames, bins]
        if self.time_scale > 1:
            x = F.avg_pool2d(x, (self.time_scale, 1))
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LEAKY_SLOPE)
            features.append(x)
        return self.post(x), features


MEL_TIME_SCALES = (1, 2, 4)


class MelDiscriminators(nn.Module):
    def __init__(self):
        super().__init__()
        self.members = nn.ModuleList(MelDiscriminator(scale) for scale in MEL_TIME_SCALES)

    def forward(self, mel: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        return [member(mel) for member in self.members]


def _total(terms: Iterable[torch.Tensor]) -> torch.Tensor:
    """sum(terms): a tensor, as there is always at least one discriminator (sum's typed
    result also allows its start, the int 0)."""
    return cast(torch.Tensor, sum(terms))


def discriminator_loss(real: list, fake: list) -> torch.Tensor:
    """LSGAN: real scores toward 1, generated toward 0."""
    return _total(torch.mean((1 - r) ** 2) + torch.mean(f**2) for (r, _), (f, _) in zip(real, fake, strict=True))


def adversarial_loss(fake: list) -> torch.Tensor:
    """LSGAN for the generator: its scores toward 1."""
    return _total(torch.mean((1 - f) ** 2) for f, _ in fake)


def feature_matching_loss(real: list, fake: list) -> torch.Tensor:
    """L1 between the discriminators' feature maps of real and generated audio."""
    return _total(
        torch.mean(torch.abs(r.detach() - f))
        for (_, rs), (_, fs) in zip(real, fake, strict=True)
        for r, f in zip(rs, fs, strict=True)
    )
