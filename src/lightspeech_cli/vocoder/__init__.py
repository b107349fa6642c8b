"""Vocoders: log mel [B, frames, n_mels] -> waveform [B, frames * hop_length].

Each is an nn.Module with `sample_rate` and `hop_length`, so the engine can compile
and time any of them the same way. Two need no training of ours (HiFi-GAN V1 with its
official weights, Griffin-Lim); trained iSTFT vocoders are folders, shipped under
assets/vocoders/ or given by path.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from ..errors import VoiceError
from ..spectrogram import AudioConfig

BUILTIN_VOCODERS = ("hifigan", "griffinlim")


def embedded_vocoders_dir() -> Path:
    return Path(__file__).parent.parent / "assets" / "vocoders"


def vocoder_names() -> list[str]:
    folder = embedded_vocoders_dir()
    trained = sorted(p.name for p in folder.iterdir() if (p / "config.json").exists()) if folder.is_dir() else []
    return trained + list(BUILTIN_VOCODERS)


def load_vocoder(name: str, audio: AudioConfig) -> nn.Module:
    if name == "hifigan":
        from .hifigan import load_hifigan

        vocoder = load_hifigan()
    elif name == "griffinlim":
        from .griffinlim import GriffinLim

        vocoder = GriffinLim(audio)
    else:
        from .istft import load_istft_vocoder

        if os.sep in name or name.startswith("."):
            folder = Path(name).expanduser()
            if not folder.is_dir():
                raise VoiceError(f"no vocoder folder at {folder}")
        else:
            folder = embedded_vocoders_dir() / name
            if not (folder / "config.json").exists():
                raise VoiceError(f"unknown vocoder {name!r}; choose one of {', '.join(vocoder_names())} "
                                 "or give a vocoder folder")
        vocoder = load_istft_vocoder(folder)
        if vocoder.config.n_mels != audio.n_mels:
            raise VoiceError(f"vocoder {name} reads {vocoder.config.n_mels} mel bands; the voice makes {audio.n_mels}")
    if (vocoder.sample_rate, vocoder.hop_length) != (audio.sample_rate, audio.hop_length):
        raise VoiceError(f"vocoder {name} works at {vocoder.sample_rate} Hz, hop {vocoder.hop_length}; the voice at "
                         f"{audio.sample_rate} Hz, hop {audio.hop_length}")
    return vocoder.eval()
