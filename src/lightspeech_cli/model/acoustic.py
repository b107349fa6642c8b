"""The acoustic model: phoneme ids -> mel spectrogram, FastSpeech 2's shape.

    ids -> encoder -> variance adaptor (duration, pitch, energy; length regulator)
        -> decoder -> mel projection

The encoder's and decoder's layers come from an `Architecture`, so the same class is
FastSpeech 2, LightSpeech or any search candidate. Pitch and energy are per phoneme,
z-scored logarithms; the user's controls are factors (1.0 = as trained).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..errors import VoiceError
from ..runtime.format.voice import ModelConfig
from .ops import Layer

# What an untrained model predicts per phoneme, about what a trained voice does (70 ms):
# profiling and tests get realistic lengths without training.
UNTRAINED_FRAMES_PER_PHONEME = 6


def sinusoid_positions(length: int, channels: int, device: torch.device) -> torch.Tensor:
    """[length, channels]: sine in the even channels, cosine in the odd ones. Built by
    interleaving rather than by slice assignment, which ONNX makes a slow ScatterND."""
    position = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(
        torch.arange(0, channels, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / channels)
    )
    angles = position * frequency
    return torch.stack([torch.sin(angles), torch.cos(angles)], dim=-1).reshape(length, channels)


class LayerStack(nn.Module):
    """Positions added, then the architecture's layers."""

    def __init__(self, layers: tuple[str, ...], hidden: int, dropout: float):
        super().__init__()
        self.hidden = hidden
        self.layers = nn.ModuleList(Layer(spec, hidden, dropout) for spec in layers)
        self.norm = nn.LayerNorm(hidden)  # the layers are pre-norm; close with one norm

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = (x + sinusoid_positions(x.shape[1], self.hidden, x.device).unsqueeze(0)) * mask
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x) * mask


class Encoder(nn.Module):
    def __init__(self, n_symbols: int, layers: tuple[str, ...], hidden: int, dropout: float):
        super().__init__()
        self.embedding = nn.Embedding(n_symbols, hidden, padding_idx=0)
        self.stack = LayerStack(layers, hidden, dropout)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.stack(self.embedding(ids) * math.sqrt(self.stack.hidden), mask)


class VariancePredictor(nn.Module):
    """Two convolutions (plain, or separable for LightSpeech) then a scalar per position."""

    def __init__(self, hidden: int, kind: str, kernel: int, dropout: float):
        super().__init__()
        blocks = []
        for _ in range(2):
            if kind == "sep":
                convs = [
                    nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2, groups=hidden),
                    nn.Conv1d(hidden, hidden, 1),
                ]
            else:
                convs = [nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2)]
            blocks.append(nn.Sequential(*convs, nn.ReLU(), Transposed(nn.LayerNorm(hidden)), nn.Dropout(dropout)))
        self.blocks = nn.ModuleList(blocks)
        self.project = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        channels_mask = mask.transpose(1, 2)
        y = (x * mask).transpose(1, 2)
        for block in self.blocks:
            y = block(y) * channels_mask
        return self.project(y.transpose(1, 2)).squeeze(-1) * mask.squeeze(-1)


class Transposed(nn.Module):
    """Applies a channels-last module to a channels-first tensor."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x.transpose(1, 2)).transpose(1, 2)


class LengthRegulator(nn.Module):
    """Repeats each phoneme's vector for its duration in frames."""

    def forward(self, x: torch.Tensor, durations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ends = durations.cumsum(1)  # [B, T]
        total = ends[:, -1]
        longest = total.max().clamp(min=1)
        if torch.jit.is_scripting():
            frames = torch.arange(int(longest), device=x.device)  # [F]
        else:
            # A tensor bound keeps ONNX export dynamic; torch's stubs take only a number.
            frames = torch.arange(longest, device=x.device)  # type: ignore[call-overload]
        # A frame belongs to the first phoneme whose end lies beyond it.
        source = (frames.view(1, -1, 1) >= ends.unsqueeze(1)).sum(-1).clamp(max=x.shape[1] - 1)  # [B, F]
        expanded = torch.gather(x, 1, source.unsqueeze(-1).expand(-1, -1, x.shape[2]))
        frame_mask = (frames.unsqueeze(0) < total.unsqueeze(1)).unsqueeze(-1).to(x.dtype)
        return expanded * frame_mask, frame_mask


class PostNet(nn.Module):
    """Tacotron 2's residual refinement of the mel: five convolutions, 512 channels."""

    def __init__(self, n_mels: int, dropout: float, channels: int = 512, kernel: int = 5):
        super().__init__()
        layers = []
        for i in range(5):
            last = i == 4
            layers += [
                nn.Conv1d(n_mels if i == 0 else channels, n_mels if last else channels, kernel, padding=kernel // 2),
                nn.BatchNorm1d(n_mels if last else channels),
            ]
            if not last:
                layers.append(nn.Tanh())
            layers.append(nn.Dropout(dropout))
        self.convs = nn.Sequential(*layers)

    def forward(self, mel: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (mel + self.convs(mel.transpose(1, 2)).transpose(1, 2)) * mask


class AcousticModel(nn.Module):
    __jit_ignored_attributes__ = ["config"]
    if TYPE_CHECKING:
        # A buffer (register_buffer below): torch types unknown attributes as Tensor | Module,
        # and TorchScript refuses a class annotation under `from __future__ import annotations`.
        bin_edges: torch.Tensor

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        arch = config.arch
        hidden = arch.hidden
        self.encoder = Encoder(config.n_symbols, arch.encoder, hidden, config.dropout)
        self.duration_predictor = VariancePredictor(hidden, arch.predictor, config.predictor_kernel, config.dropout)
        self.pitch_predictor = VariancePredictor(hidden, arch.predictor, config.predictor_kernel, config.dropout)
        self.energy_predictor = VariancePredictor(hidden, arch.predictor, config.predictor_kernel, config.dropout)
        self.pitch_embedding = nn.Embedding(config.variance_bins, hidden)
        self.energy_embedding = nn.Embedding(config.variance_bins, hidden)
        self.register_buffer(
            "bin_edges",
            torch.linspace(config.variance_min, config.variance_max, config.variance_bins - 1),
            persistent=False,
        )
        self.length_regulator = LengthRegulator()
        self.decoder = LayerStack(arch.decoder, hidden, config.dropout)
        self.mel_projection = nn.Linear(hidden, config.n_mels)
        self.postnet = PostNet(config.n_mels, config.dropout) if arch.postnet else None
        self.pitch_log_std = config.pitch_log_std
        self.energy_log_std = config.energy_log_std

    def _variance_embeddings(self, pitch: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        return self.pitch_embedding(torch.bucketize(pitch, self.bin_edges)) + self.energy_embedding(
            torch.bucketize(energy, self.bin_edges)
        )

    def forward(
        self, ids: torch.Tensor, speed: torch.Tensor, pitch_factor: torch.Tensor, energy_factor: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inference: ids [B, T] (0 = padding), factors (scalars, or [B, T] per phoneme)
        -> mel [B, F, n_mels], durations [B, T]."""
        mask = (ids != 0).unsqueeze(-1).to(torch.float32)
        x = self.encoder(ids, mask)
        log_durations = self.duration_predictor(x, mask)
        durations = torch.round((torch.exp(log_durations) - 1) / speed).clamp(min=0).long()
        durations = durations * mask.squeeze(-1).long()
        pitch = self.pitch_predictor(x, mask) + torch.log(pitch_factor) / self.pitch_log_std
        energy = self.energy_predictor(x, mask) + torch.log(energy_factor) / self.energy_log_std
        x = x + self._variance_embeddings(pitch, energy)
        frames, frame_mask = self.length_regulator(x, durations)
        mel = self.mel_projection(self.decoder(frames, frame_mask)) * frame_mask
        if self.postnet is not None:
            mel = self.postnet(mel, frame_mask)
        return mel, durations

    def training_forward(
        self, ids: torch.Tensor, durations: torch.Tensor, pitch: torch.Tensor, energy: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Teacher forcing: the targets' durations, pitch and energy drive the decoder,
        while the predictors learn to predict them."""
        mask = (ids != 0).unsqueeze(-1).to(torch.float32)
        x = self.encoder(ids, mask)
        predicted = {
            "log_durations": self.duration_predictor(x, mask),
            "pitch": self.pitch_predictor(x, mask),
            "energy": self.energy_predictor(x, mask),
        }
        x = x + self._variance_embeddings(pitch, energy)
        frames, frame_mask = self.length_regulator(x, durations)
        predicted["mel"] = self.mel_projection(self.decoder(frames, frame_mask)) * frame_mask
        if self.postnet is not None:
            predicted["mel_before_postnet"] = predicted["mel"]
            predicted["mel"] = self.postnet(predicted["mel"], frame_mask)
        predicted["frame_mask"] = frame_mask
        return predicted


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def untrained_model(architecture: str, n_symbols: int, seed: int = 0) -> AcousticModel:
    """A model with random weights whose durations are a fixed 6 frames per phoneme."""
    torch.manual_seed(seed)
    model = AcousticModel(ModelConfig(architecture=architecture, n_symbols=n_symbols)).eval()
    with torch.no_grad():
        model.duration_predictor.project.weight.zero_()
        model.duration_predictor.project.bias.fill_(math.log(UNTRAINED_FRAMES_PER_PHONEME + 1))
    return model


def load_acoustic_model(voice) -> AcousticModel:
    """A voice's model with its weights, in eval mode; weights that are not finite or do
    not fit the architecture end in one VoiceError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    model = AcousticModel(voice.config.model)
    try:
        state = load_file(voice.weights_path)
    except FileNotFoundError:
        raise VoiceError(f"voice {voice.name}: {voice.weights_path} is missing") from None
    except (SafetensorError, OSError, ValueError) as e:
        raise VoiceError(f"voice {voice.name}: {voice.weights_path} is corrupt ({e})") from None
    for name, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise VoiceError(f"voice {voice.name}: weight {name!r} holds NaN or infinite values")
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).split("\n")[1].strip() if "\n" in str(e) else str(e)
        raise VoiceError(f"voice {voice.name}: weights do not fit the architecture ({first[:200]})") from None
    return model.eval()
