"""Proxy training: one candidate, a few hundred steps on a subset of the corpus.

This is the unit of work that runs in parallel (process pool or Ray), so it takes
and returns plain data, and loads the corpus subset once per worker process.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..model.acoustic import AcousticModel
from ..runtime.format.voice import ModelConfig
from ..train.features import read_stats
from ..train.fit import batches, load_split, losses, optimization_step, validate


@dataclass(frozen=True)
class ProxyTask:
    architecture: str
    workdir: str  # holds corpus/ and features/, as `lightspeech train` makes them
    steps: int
    train_utterances: int
    validation_utterances: int
    max_frames: int
    seed: int = 0
    threads: int = 1
    peak_lr: float = 1e-3


_loaded: dict = {}


def _data(workdir: Path, train_utterances: int, validation_utterances: int):
    key = (str(workdir), train_utterances, validation_utterances)
    if key not in _loaded:
        _loaded.clear()
        _loaded[key] = (
            load_split(workdir / "corpus", workdir / "features", "train", train_utterances),
            load_split(workdir / "corpus", workdir / "features", "heldout", validation_utterances),
        )
    return _loaded[key]


def train_candidate(task: ProxyTask) -> dict:
    """Train `task.architecture` from scratch; returns its validation losses and time."""
    torch.set_num_threads(task.threads)
    workdir = Path(task.workdir)
    train, heldout = _data(workdir, task.train_utterances, task.validation_utterances)
    stats = read_stats(workdir / "features")
    torch.manual_seed(task.seed)
    model = AcousticModel(
        ModelConfig(
            architecture=task.architecture, pitch_log_std=stats["pitch_log_std"], energy_log_std=stats["energy_log_std"]
        )
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=task.peak_lr, betas=(0.9, 0.98), weight_decay=0.01)
    warmup = max(1, min(1000, task.steps // 4))
    stream = batches(train, task.max_frames, random.Random(task.seed))
    started = time.perf_counter()
    model.train()
    for step in range(1, task.steps + 1):
        optimization_step(
            model, optimizer, losses(model, next(stream))["total"], step, task.peak_lr, warmup, max_norm=1.0
        )
    validation = validate(model, heldout)
    return {"architecture": task.architecture, "validation": validation, "seconds": time.perf_counter() - started}
