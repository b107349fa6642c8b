"""The searched space as tokens: one operation per layer, 4 encoder + 4 decoder layers.

GBDT-NAS encodes a candidate as one token per layer; the tree predictor reads them
one-hot. Hidden size and predictor type are fixed for a search (the paper's: 256,
separable-convolution predictors), so only the layers vary: 12^8 candidates.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..model.acoustic import count_parameters
from ..model.ops import Layer
from ..runtime.format.arch import SEARCH_SPACE, Architecture

ENCODER_LAYERS = 4
DECODER_LAYERS = 4
N_LAYERS = ENCODER_LAYERS + DECODER_LAYERS
LATENCY_PHONEMES = 60  # a 12-word sentence; at 6 frames per phoneme, 4.2 s of audio


@dataclass(frozen=True)
class SearchSpace:
    hidden: int = 256
    predictor: str = "sep"

    def decode(self, tokens: tuple[int, ...]) -> Architecture:
        if len(tokens) != N_LAYERS or not all(0 <= t < len(SEARCH_SPACE) for t in tokens):
            raise ValueError(f"expected {N_LAYERS} tokens in 0..{len(SEARCH_SPACE) - 1}, got {tokens}")
        ops = [SEARCH_SPACE[t] for t in tokens]
        return Architecture(
            tuple(ops[:ENCODER_LAYERS]), tuple(ops[ENCODER_LAYERS:]), hidden=self.hidden, predictor=self.predictor
        )

    def encode(self, architecture: Architecture) -> tuple[int, ...]:
        layers = architecture.encoder + architecture.decoder
        if (len(architecture.encoder), len(architecture.decoder)) != (ENCODER_LAYERS, DECODER_LAYERS):
            raise ValueError(f"{architecture} does not have {ENCODER_LAYERS} + {DECODER_LAYERS} layers")
        if (architecture.hidden, architecture.predictor, architecture.postnet) != (self.hidden, self.predictor, False):
            raise ValueError(
                f"{architecture} is outside this search space (hidden={self.hidden}, "
                f"predictor={self.predictor}, no post-net)"
            )
        unknown = [layer for layer in layers if layer not in SEARCH_SPACE]
        if unknown:
            raise ValueError(f"layer {unknown[0]!r} is not one operation of the search space")
        return tuple(SEARCH_SPACE.index(layer) for layer in layers)

    def sample(self, rng: random.Random) -> tuple[int, ...]:
        return tuple(rng.randrange(len(SEARCH_SPACE)) for _ in range(N_LAYERS))

    def parameters(self, tokens: tuple[int, ...]) -> int:
        """Exact parameter count: the layers are independent, so it is a sum over a table."""
        fixed, per_op = _parameter_table(self.hidden, self.predictor)
        return fixed + sum(per_op[t] for t in tokens)

    def features(self, candidates: list[tuple[int, ...]]) -> np.ndarray:
        """[candidates, len(feature_names())] numbers the predictor reads: per layer its family
        (one-hot) and size, per side how many of each family and the sums of kernels and
        heads, and the parameter count."""
        rows = []
        for tokens in candidates:
            layers = [_family(SEARCH_SPACE[t]) for t in tokens]
            row: list[float] = []
            for family, size in layers:
                row += [float(family == f) for f in FAMILIES] + [float(size)]
            for side in (layers[:ENCODER_LAYERS], layers[ENCODER_LAYERS:]):
                row += [float(sum(family == f for family, _ in side)) for f in FAMILIES]
                row += [float(sum(size for family, size in side if family == f)) for f in ("sep", "att")]
            rows.append(row + [self.parameters(tokens) / 1e6])
        return np.asarray(rows, np.float32).reshape(len(candidates), len(feature_names()))


# What the predictor reads of each layer: its family, and the family's size (a separable
# convolution's kernel, an attention layer's heads). GBDT-NAS reads one-hot tokens; on the
# 35 proxy results of docs/search these rank far better out of fold (Kendall's tau 0.50
# against 0.02, the mean of 5 fold splits), as a tree can split "kernel >= 13" once
# instead of learning each kernel apart.
FAMILIES = ("sep", "att", "ffn", "identity")


def _family(op: str) -> tuple[str, int]:
    """("sep", 13) for sep13, ("att", 4) for att4, ("ffn", 0), ("identity", 0)."""
    for family in ("sep", "att"):
        if op.startswith(family):
            return family, int(op[len(family) :])
    return op, 0


def feature_names() -> list[str]:
    names = []
    for layer in range(N_LAYERS):
        side, index = ("encoder", layer) if layer < ENCODER_LAYERS else ("decoder", layer - ENCODER_LAYERS)
        names += [f"{side} {index} {family}" for family in FAMILIES] + [f"{side} {index} size"]
    for side in ("encoder", "decoder"):
        names += [f"{side} {family}s" for family in FAMILIES] + [f"{side} kernel sum", f"{side} heads sum"]
    return names + ["parameters (M)"]


@lru_cache(maxsize=None)
def _parameter_table(hidden: int, predictor: str) -> tuple[int, tuple[int, ...]]:
    from ..model.acoustic import AcousticModel
    from ..runtime.format.voice import ModelConfig

    identity = Architecture(
        ("identity",) * ENCODER_LAYERS, ("identity",) * DECODER_LAYERS, hidden=hidden, predictor=predictor
    )
    fixed = count_parameters(AcousticModel(ModelConfig(architecture=str(identity))))
    per_op = tuple(count_parameters(Layer(op, hidden, 0.0)) for op in SEARCH_SPACE)
    return fixed, per_op


def measure_latency_ms(architecture: Architecture, runs: int = 5) -> float:
    """Median milliseconds of one acoustic forward on one CPU thread, for a
    LATENCY_PHONEMES-long input expanded to 6 frames per phoneme."""
    from ..model.acoustic import untrained_model
    from ..text.symbols import DEFAULT_SYMBOL_SET, SYMBOL_SETS

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = untrained_model(str(architecture), len(SYMBOL_SETS[DEFAULT_SYMBOL_SET]))
        ids = torch.randint(1, 40, (1, LATENCY_PHONEMES), generator=torch.Generator().manual_seed(0))
        one = torch.tensor(1.0)
        samples = []
        with torch.inference_mode():
            model(ids, one, one, one)
            for _ in range(runs):
                start = time.perf_counter()
                model(ids, one, one, one)
                samples.append(time.perf_counter() - start)
        return statistics.median(samples) * 1000
    finally:
        torch.set_num_threads(threads)
