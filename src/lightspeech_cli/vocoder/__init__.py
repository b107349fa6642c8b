"""Vocoders: log mel [B, frames, n_mels] -> waveform [B, frames * hop_length].

Each is an nn.Module with `sample_rate` and `hop_length`, so the engine can compile
and time any of them the same way.
"""

from __future__ import annotations

from torch import nn

from ..errors import VoiceError
from ..spectrogram import AudioConfig

VOCODERS = ("hifigan", "griffinlim")


def load_vocoder(name: str, audio: AudioConfig) -> nn.Module:
    if name == "hifigan":
        from .hifigan import load_hifigan

        vocoder = load_hifigan()
    elif name == "griffinlim":
        from .griffinlim import GriffinLim

        vocoder = GriffinLim(audio)
    else:
        raise VoiceError(f"unknown vocoder {name!r}; choose one of {', '.join(VOCODERS)}")
    if (vocoder.sample_rate, vocoder.hop_length) != (audio.sample_rate, audio.hop_length):
        raise VoiceError(f"vocoder {name} works at {vocoder.sample_rate} Hz, hop {vocoder.hop_length}; the voice at "
                         f"{audio.sample_rate} Hz, hop {audio.hop_length}")
    return vocoder.eval()
