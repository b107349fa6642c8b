"""Proxy training: one candidate, a few hundred steps on a subset of the corpus.

Every run of a search, short or long, follows one learning-rate schedule (a fixed warm-up,
then inverse square-root decay), so a proxy is exactly the first steps of the run it stands
for. bench/search_fidelity.txt measures how well its loss keeps the long runs' order: at
200 of 800 steps, Kendall's tau 0.86 among architectures under 2M parameters, where two
seeds of the long run agree to 0.89 (a warm-up of a quarter of each run's length gave 0.20).

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

# Short enough that a 200-step proxy is mostly past it, and the same for every run length:
# a warm-up that scaled with the run made a proxy the start of another run than the one
# it stood for.
WARMUP_STEPS = 50


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
    warmup: int = WARMUP_STEPS
    validations: int = 1  # validated at this many evenly spaced steps, the last one included


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


def initial_model(task: ProxyTask) -> AcousticModel:
    """The candidate as its training starts: the same weights for the same seed."""
    workdir = Path(task.workdir)
    stats = read_stats(workdir / "features")
    torch.manual_seed(task.seed)
    return AcousticModel(
        ModelConfig(
            architecture=task.architecture, pitch_log_std=stats["pitch_log_std"], energy_log_std=stats["energy_log_std"]
        )
    )


def validation_steps(steps: int, validations: int) -> list[int]:
    """`validations` steps spread evenly over a run of `steps`, ending with its last."""
    validations = max(1, min(validations, steps))
    return sorted({round(steps * (k + 1) / validations) for k in range(validations)})


def train_candidate(task: ProxyTask) -> dict:
    """Train `task.architecture` from scratch: its validation losses at the end, the total
    validation loss at each validated step (`curve`: [step, loss, seconds so far]), and the
    seconds it took: CPU seconds of this process, the budget a search spends, which another
    job sharing the cores (or a paused run) does not inflate."""
    torch.set_num_threads(task.threads)
    workdir = Path(task.workdir)
    train, heldout = _data(workdir, task.train_utterances, task.validation_utterances)
    model = initial_model(task)
    optimizer = torch.optim.AdamW(model.parameters(), lr=task.peak_lr, betas=(0.9, 0.98), weight_decay=0.01)
    stream = batches(train, task.max_frames, random.Random(task.seed))
    checkpoints = set(validation_steps(task.steps, task.validations))
    curve, validation = [], {}
    started = time.process_time()
    model.train()
    for step in range(1, task.steps + 1):
        optimization_step(model, optimizer, losses(model, next(stream))["total"], step, task.peak_lr, task.warmup, 1.0)
        if step in checkpoints:
            validation = validate(model, heldout)
            curve.append([step, validation["total"], time.process_time() - started])
    return {
        "architecture": task.architecture,
        "validation": validation,
        "curve": curve,
        "seconds": time.process_time() - started,
    }
