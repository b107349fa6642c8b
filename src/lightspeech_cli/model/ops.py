"""The LightSpeech search space as layers: `OPERATIONS`, one table from operation name
(the architecture description's tokens, runtime/format/arch.py) to the layer it builds.

Every layer maps (x [B, T, H], mask [B, T, 1]) to a tensor of the same shape, is
residual, and zeroes padded positions, so any sequence of them is a valid encoder or
decoder.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ..runtime.format.arch import SEARCH_SPACE


class SeparableConvLayer(nn.Module):
    """LightSpeech's layer: LayerNorm, then twice (depthwise conv, pointwise conv,
    ReLU, dropout), plus the input."""

    def __init__(self, hidden: int, kernel: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2, groups=hidden),
                nn.Conv1d(hidden, hidden, 1),
                nn.ReLU(),
                nn.Dropout(dropout),
            )
            for _ in range(2)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        channels_mask = mask.transpose(1, 2)
        y = (self.norm(x) * mask).transpose(1, 2)
        for block in self.blocks:
            # Padding must stay zero between the convolutions, or it leaks into the
            # edges of the utterance and a batch no longer matches its parts.
            y = block(y) * channels_mask
        return (x + y.transpose(1, 2)) * mask


class SelfAttentionLayer(nn.Module):
    """Pre-norm multi-head self-attention that ignores padded positions."""

    def __init__(self, hidden: int, heads: int, dropout: float):
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden size {hidden} is not divisible by {heads} heads")
        self.heads = heads
        self.norm = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape
        qkv = self.qkv(self.norm(x)).reshape(batch, length, 3, self.heads, hidden // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(-1, -2) / math.sqrt(hidden // self.heads)
        keys_mask = mask.transpose(1, 2).unsqueeze(1)  # [B, 1, 1, T]
        scores = scores.masked_fill(keys_mask == 0, -1e4)
        y = torch.softmax(scores, dim=-1) @ v
        y = y.transpose(1, 2).reshape(batch, length, hidden)
        return (x + self.dropout(self.out(y))) * mask


class FeedForwardLayer(nn.Module):
    """FastSpeech's position-wise feed-forward: conv (kernel 9) to 4x width, ReLU, conv back."""

    def __init__(self, hidden: int, dropout: float, kernel: int = 9, expansion: int = 4):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.expand = nn.Conv1d(hidden, hidden * expansion, kernel, padding=kernel // 2)
        self.project = nn.Conv1d(hidden * expansion, hidden, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        y = (self.norm(x) * mask).transpose(1, 2)
        y = self.project(torch.relu(self.expand(y))).transpose(1, 2)
        return (x + self.dropout(y)) * mask


class IdentityLayer(nn.Module):
    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return x


# name -> (hidden, dropout) -> layer
OPERATIONS: dict[str, Callable[[int, float], nn.Module]] = {
    "sep1": lambda hidden, dropout: SeparableConvLayer(hidden, 1, dropout),
    "sep5": lambda hidden, dropout: SeparableConvLayer(hidden, 5, dropout),
    "sep9": lambda hidden, dropout: SeparableConvLayer(hidden, 9, dropout),
    "sep13": lambda hidden, dropout: SeparableConvLayer(hidden, 13, dropout),
    "sep17": lambda hidden, dropout: SeparableConvLayer(hidden, 17, dropout),
    "sep21": lambda hidden, dropout: SeparableConvLayer(hidden, 21, dropout),
    "sep25": lambda hidden, dropout: SeparableConvLayer(hidden, 25, dropout),
    "att2": lambda hidden, dropout: SelfAttentionLayer(hidden, 2, dropout),
    "att4": lambda hidden, dropout: SelfAttentionLayer(hidden, 4, dropout),
    "att8": lambda hidden, dropout: SelfAttentionLayer(hidden, 8, dropout),
    "ffn": lambda hidden, dropout: FeedForwardLayer(hidden, dropout),
    "identity": lambda hidden, dropout: IdentityLayer(),
}
assert tuple(OPERATIONS) == SEARCH_SPACE, "the table and the description language must name the same operations"


class Layer(nn.Module):
    """One layer of the description: one operation, or several joined by '+'
    (FastSpeech 2's transformer block is `att2+ffn`)."""

    def __init__(self, spec: str, hidden: int, dropout: float):
        super().__init__()
        self.ops = nn.ModuleList(OPERATIONS[op](hidden, dropout) for op in spec.split("+"))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for op in self.ops:
            x = op(x, mask)
        return x
