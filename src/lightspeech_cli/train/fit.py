"""Stage 3: fit the acoustic model to the teacher, on CPU, resumable at any point.

Every `checkpoint_every` steps the model, optimizer and step are written atomically
to `run/checkpoint.pt`; a new `fit` on the same folder continues from there. The
validation loss on held-out utterances goes to `run/log.jsonl`.

With `adversarial`, mel discriminators (model/discriminators.py) judge random segments of
the predicted mels against the teacher's, and the model also learns to fool them: the
cure of Guo et al. (arXiv 2203.01080) for the over-smoothed detail an L1 loss leaves.
"""

from __future__ import annotations

import json
import platform
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import InputError
from ..model.acoustic import AcousticModel
from ..paths import atomic_write, parse_json, read_limited
from ..runtime.format.voice import ModelConfig
from .corpus import read_metadata
from .features import read_stats

CPU = torch.device("cpu")


@dataclass
class Utterance:
    ids: torch.Tensor
    durations: torch.Tensor
    pitch: torch.Tensor
    energy: torch.Tensor
    mel: torch.Tensor


def load_split(corpus: Path, features: Path, split: str, limit: int | None = None) -> list[Utterance]:
    chosen = [e for e in read_metadata(corpus) if e["split"] == split][:limit]
    if not chosen:  # training and validation both divide by the count
        raise InputError(f"{corpus} has no {split} utterances; run `lightspeech train corpus` again")
    stats = read_stats(features)
    utterances = []
    for entry in chosen:
        data = np.load(features / f"{entry['id']}.npz")
        utterances.append(
            Utterance(
                torch.from_numpy(data["ids"]),
                torch.from_numpy(data["durations"].astype(np.int64)),
                torch.from_numpy((data["pitch"] - stats["pitch_log_mean"]) / stats["pitch_log_std"]),
                torch.from_numpy((data["energy"] - stats["energy_log_mean"]) / stats["energy_log_std"]),
                torch.from_numpy(data["mel"].astype(np.float32)),
            )
        )
    return utterances


def collate(batch: list[Utterance]) -> dict[str, torch.Tensor]:
    def pad(tensors):
        return torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True)

    return {
        "ids": pad([u.ids for u in batch]),
        "durations": pad([u.durations for u in batch]),
        "pitch": pad([u.pitch for u in batch]),
        "energy": pad([u.energy for u in batch]),
        "mel": pad([u.mel for u in batch]),
    }


def batches(utterances: list[Utterance], max_frames: int, rng: random.Random):
    """Endless batches of similar lengths, up to `max_frames` frames (padding included)."""
    order = sorted(range(len(utterances)), key=lambda i: len(utterances[i].mel))
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = max([len(utterances[j].mel) for j in current] + [len(utterances[i].mel)])
        if current and longest * (len(current) + 1) > max_frames:
            groups.append(current)
            current = []
        current.append(i)
    groups.append(current)
    while True:
        rng.shuffle(groups)
        for group in groups:
            yield collate([utterances[i] for i in group])


def losses(model: AcousticModel, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return prediction_losses(predict(model, batch), batch)


def predict(model: AcousticModel, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's outputs with the teacher's durations, pitch and energy (teacher forcing)."""
    return model.training_forward(batch["ids"], batch["durations"], batch["pitch"], batch["energy"])


def prediction_losses(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    phone_mask = (batch["ids"] != 0).float()
    frame_mask = out["frame_mask"]
    n_frames = frame_mask.sum() * out["mel"].shape[-1]

    def masked_mse(predicted, target):
        return (((predicted - target) ** 2) * phone_mask).sum() / phone_mask.sum()

    result = {
        "mel": (F.l1_loss(out["mel"], batch["mel"], reduction="none") * frame_mask).sum() / n_frames,
        "duration": masked_mse(out["log_durations"], torch.log(batch["durations"].float() + 1)),
        "pitch": masked_mse(out["pitch"], batch["pitch"]),
        "energy": masked_mse(out["energy"], batch["energy"]),
    }
    if "mel_before_postnet" in out:
        result["mel_before_postnet"] = (
            F.l1_loss(out["mel_before_postnet"], batch["mel"], reduction="none") * frame_mask
        ).sum() / n_frames
    result["total"] = sum(result.values())
    return result


# Segments the mel discriminators judge, and their losses' weights beside the mel L1 (1.0):
# in the shipped voice's fine-tuning (training/en-us-lightspeech/log.jsonl, from step 22,000),
# the mel L1 was 2.6 to 2.8 times the weighted feature matching and 3.5 to 8.5 times the
# weighted adversarial term, about HiFi-GAN's proportions.
MEL_SEGMENT_FRAMES = 64
ADVERSARIAL_WEIGHTS = {"adversarial": 0.1, "feature_matching": 0.2}
# What a log entry without settings was trained with: runs before --adversarial logged none.
FIT_SETTINGS = {"adversarial": False}


def mel_segments(
    target: torch.Tensor, predicted: torch.Tensor, frame_mask: torch.Tensor, rng: random.Random
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The same random window of each utterance's teacher and predicted mels [B, frames,
    bins], inside its frames (`frame_mask` [B, frames, 1]); as long as MEL_SEGMENT_FRAMES
    or the batch's shortest utterance (batches hold similar lengths). None where that is
    shorter than the coarsest discriminator's time scale."""
    from ..model.discriminators import MEL_TIME_SCALES

    lengths = [int(n) for n in frame_mask[..., 0].sum(dim=1)]
    frames = min([MEL_SEGMENT_FRAMES] + lengths)
    if frames < max(MEL_TIME_SCALES):
        return None
    starts = [rng.randint(0, length - frames) for length in lengths]
    real = torch.stack([target[b, s : s + frames] for b, s in enumerate(starts)])
    fake = torch.stack([predicted[b, s : s + frames] for b, s in enumerate(starts)])
    return real, fake


def learning_rate(step: int, peak: float, warmup: int) -> float:
    """Linear warm-up, then inverse square-root decay (the Transformer schedule)."""
    step = max(step, 1)
    return peak * min(step / warmup, (warmup / step) ** 0.5)


def optimization_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    step: int,
    peak_lr: float,
    warmup: int,
    max_norm: float,
) -> None:
    """One update at `step` (counted from 1) of the warm-up and decay schedule, gradients clipped."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(step, peak_lr, warmup)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()


def adversarial_step(
    discriminators: torch.nn.Module,
    discriminator_optimizer: torch.optim.Optimizer,
    target: torch.Tensor,
    generated: torch.Tensor,
    lr: float,
    weights: dict[str, float],
    values: dict[str, torch.Tensor],
) -> None:
    """One update of the discriminators, `target` against `generated` (detached), at `lr`;
    then the generator's adversarial and feature-matching losses, added to `values` (and,
    `weights`-weighted, to its total) for the generator's own update."""
    from ..model.discriminators import adversarial_loss, discriminator_loss, feature_matching_loss

    for group in discriminator_optimizer.param_groups:
        group["lr"] = lr
    real = discriminators(target)
    scores = discriminator_loss(real, discriminators(generated.detach()))
    discriminator_optimizer.zero_grad()
    scores.backward()
    torch.nn.utils.clip_grad_norm_(discriminators.parameters(), 10.0)
    discriminator_optimizer.step()
    fake = discriminators(generated)  # feature matching compares with `real` from before the update
    values["adversarial"] = adversarial_loss(fake)
    values["feature_matching"] = feature_matching_loss(real, fake)
    values["discriminator"] = scores.detach()
    values["total"] = (
        values["total"]
        + weights["adversarial"] * values["adversarial"]
        + weights["feature_matching"] * values["feature_matching"]
    )


def read_checkpoint(path: Path) -> dict | None:
    """The checkpoint at `path`, or None where a run starts fresh."""
    if not path.exists():
        return None
    if not path.is_file():
        raise InputError(f"{path} is not a regular file; move it away to start the run afresh")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch fails on a damaged file in many ways (EOFError, pickle, zip)
        first = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise InputError(f"{path} is corrupt ({first}); move it away to start the run afresh") from None
    if not (isinstance(state, dict) and isinstance(state.get("model"), dict) and isinstance(state.get("step"), int)):
        raise InputError(f"{path} is not a lightspeech checkpoint; move it away to start the run afresh")
    weights = [t for t in state["model"].values() if isinstance(t, torch.Tensor) and t.is_floating_point()]
    if not all(torch.isfinite(t).all() for t in weights):
        raise InputError(f"{path} holds NaN or infinite weights: the run diverged; move it away to start afresh")
    return state


def restore_checkpoint(
    state: dict | None,
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    extras: dict | None = None,
) -> tuple[int, float]:
    """Load a checkpoint read from `path` into the model and optimizer: (step, seconds
    trained), or (0, 0.0) for a fresh start (no `state`). `extras` (name -> module or
    optimizer, e.g. a discriminator) are loaded where the checkpoint has them and left
    fresh where not. A committed checkpoint may hold no optimizer (`model_only`): the run
    goes on with fresh moments."""
    if state is None:
        return 0, 0.0
    if _shapes(state["model"]) != _shapes(model.state_dict()):
        raise InputError(
            f"{path} holds a model of another architecture ({state['config'].get('architecture', 'unnamed')}); "
            "train this one into another folder of the work folder (--run NAME)"
        )
    model.load_state_dict(state["model"])
    if "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    for name, target in (extras or {}).items():
        if name not in state:
            continue
        if isinstance(target, torch.nn.Module) and _shapes(state[name]) != _shapes(target.state_dict()):
            raise InputError(f"{path} holds {name.replace('_', ' ')} of another shape; move it away to start afresh")
        target.load_state_dict(state[name])
    return int(state["step"]), float(state["seconds"])


def _shapes(weights: dict) -> dict[str, tuple[int, ...]]:
    return {name: tuple(tensor.shape) for name, tensor in weights.items()}


def save_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    seconds: float,
    config: dict,
    extras: dict | None = None,
) -> None:
    """Written beside `path` and renamed: a kill never leaves half a checkpoint. The
    machine (CPU and threads, or GPU) it trained on goes in too, for the model card."""
    threads = torch.get_num_threads()
    device = next(model.parameters()).device
    machine = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{platform.machine()} CPU, {threads} thread{'s' if threads > 1 else ''}"
    )
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": step,
        "seconds": seconds,
        "config": config,
        "machine": machine,
    }
    state.update(
        {name: value.state_dict() if hasattr(value, "state_dict") else value for name, value in (extras or {}).items()}
    )
    with atomic_write(path) as f:
        torch.save(state, f)


def save_model_only(source: Path, destination: Path) -> None:
    """The checkpoint at `source` without its optimizer and discriminators, written
    atomically to `destination`: a third of its size (Adam keeps two moments a weight), for
    the repository, from which a run resumes with fresh moments."""
    state = read_checkpoint(source)
    if state is None:
        raise InputError(f"{source} does not exist")
    kept = {
        name: state[name] for name in ("model", "step", "seconds", "config", "machine", "settings") if name in state
    }
    with atomic_write(destination) as f:
        torch.save(kept, f)


def log_entry(
    log,
    step: int,
    seconds: float,
    train: dict[str, torch.Tensor],
    validation: dict[str, float],
    settings: dict | None = None,
) -> dict:
    """Append one line to a training log, flushed, and return it."""
    entry = {
        "step": step,
        "seconds": round(seconds, 1),
        "train": {k: round(v.item(), 4) for k, v in train.items()},
        "validation": {k: round(v, 4) for k, v in validation.items()},
    }
    if settings:
        entry["settings"] = settings
    log.write(json.dumps(entry) + "\n")
    log.flush()
    return entry


def training_phases(entries: list[dict], checkpoint: dict | None, defaults: dict) -> list[tuple[int, dict]]:
    """(first logged step, settings) of each stretch of training with the same settings,
    those an entry lacks being `defaults`'. A run stopped between log entries trained its
    last steps with the checkpoint's settings."""
    tail = []
    if checkpoint and "settings" in checkpoint and checkpoint["step"] > max((e["step"] for e in entries), default=0):
        tail = [{"step": checkpoint["step"], "settings": checkpoint["settings"]}]
    phases: list[tuple[int, dict]] = []
    for entry in entries + tail:
        settings = {**defaults, **(entry.get("settings") or {})}
        if not phases or phases[-1][1] != settings:
            phases.append((entry["step"], settings))
    return phases


def phase_ends(phases: list[tuple[int, dict]], entries: list[dict], final_step: int) -> list[int]:
    """The step each phase trained to: its last logged step, and the checkpoint's (which may
    be past the last entry) for the last phase."""
    starts = [start for start, _ in phases[1:]]
    return [max(e["step"] for e in entries if e["step"] < start) for start in starts] + [final_step]


def read_log(path: Path) -> list[dict]:
    """The entries of a training log that log_entry wrote; none if it is empty or missing.
    A line killed half-written is skipped; any other damage is one InputError."""
    if not path.exists():
        return []
    entries = []
    lines = read_limited(path, 256 * 1024 * 1024, str(path), regular_only=True).decode("utf-8", "replace").splitlines()
    for number, line in enumerate(lines, 1):
        try:
            entry = parse_json(line) if line.strip() else None
        except ValueError:
            if number == len(lines):
                continue  # the last line, cut by a kill
            raise InputError(f"{path}:{number}: not a log entry; the log is damaged") from None
        if entry is None:
            continue
        if not (
            isinstance(entry, dict) and isinstance(entry.get("step"), int) and isinstance(entry.get("validation"), dict)
        ):
            raise InputError(f"{path}:{number}: not a log entry as training writes them")
        entries.append(entry)
    return entries


def on_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {name: tensor.to(device) for name, tensor in batch.items()}


def validate(model: AcousticModel, utterances: list[Utterance], device: torch.device = CPU) -> dict[str, float]:
    model.eval()
    totals: dict[str, float] = {}
    with torch.no_grad():
        for i in range(0, len(utterances), 16):
            for name, value in losses(model, on_device(collate(utterances[i : i + 16]), device)).items():
                totals[name] = totals.get(name, 0.0) + value.item() * len(utterances[i : i + 16])
    model.train()
    return {name: value / len(utterances) for name, value in totals.items()}


def fit(
    corpus: Path,
    features: Path,
    run: Path,
    config: ModelConfig,
    steps: int,
    max_frames: int = 6000,
    peak_lr: float = 1e-3,
    warmup: int = 1000,
    checkpoint_every: int = 200,
    validate_every: int = 500,
    seed: int = 0,
    adversarial: bool = False,
    device: torch.device = CPU,
    progress=None,
) -> dict:
    """Train until `steps` on `device` (the data stays on the CPU, a batch at a time goes
    over); returns the last validation losses. With `adversarial`, mel discriminators join
    (or continue, from the checkpoint)."""
    from ..model.discriminators import MelDiscriminators

    run.mkdir(parents=True, exist_ok=True)
    checkpoint_path = run / "checkpoint.pt"
    state = read_checkpoint(checkpoint_path)
    torch.manual_seed(seed)
    # On the device before their optimizers are made, whose state follows the weights.
    model = AcousticModel(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=peak_lr, betas=(0.9, 0.98), weight_decay=0.01)
    # Discriminators a checkpoint holds are kept by a run without them, for a later adversarial one.
    extras: dict[str, torch.nn.Module | torch.optim.Optimizer] = {}
    if adversarial or (state is not None and "mel_discriminators" in state):
        discriminators = MelDiscriminators().to(device)
        discriminator_optimizer = torch.optim.AdamW(
            discriminators.parameters(), lr=peak_lr, betas=(0.8, 0.99), weight_decay=0.01
        )
        extras = {"mel_discriminators": discriminators, "mel_discriminator_optimizer": discriminator_optimizer}
    step, elapsed = restore_checkpoint(state, checkpoint_path, model, optimizer, extras)
    if step >= steps:
        raise InputError(f"{checkpoint_path} is at step {step:,}: give --steps above it to train on")
    # Fresh moments (a checkpoint without its optimizer) warm up again: Adam's first steps
    # move every weight by about the learning rate, whatever its gradient.
    warm_from = step if state is not None and "optimizer" not in state else 0
    train = load_split(corpus, features, "train")
    heldout = load_split(corpus, features, "heldout", limit=100)
    stream = batches(train, max_frames, random.Random(seed + step))
    segment_rng = random.Random(f"{seed} segments {step}")
    settings = {"adversarial": adversarial}
    model.train()
    log = open(run / "log.jsonl", "a", encoding="utf-8")
    last = {}
    started = time.perf_counter() - elapsed
    while step < steps:
        batch = on_device(next(stream), device)
        out = predict(model, batch)
        values = prediction_losses(out, batch)
        step += 1
        peak = peak_lr * min(1.0, (step - warm_from) / warmup) if warm_from else peak_lr
        segments = mel_segments(batch["mel"], out["mel"], out["frame_mask"], segment_rng) if adversarial else None
        if segments is not None:
            lr = learning_rate(step, peak, warmup)  # the model's schedule
            adversarial_step(discriminators, discriminator_optimizer, *segments, lr, ADVERSARIAL_WEIGHTS, values)
        optimization_step(model, optimizer, values["total"], step, peak, warmup, max_norm=1.0)
        if progress:
            progress(step, {k: v.item() for k, v in values.items()})
        if step % validate_every == 0 or step == steps:
            last = validate(model, heldout, device)
            log_entry(log, step, time.perf_counter() - started, values, last, settings if adversarial else None)
        if step % checkpoint_every == 0 or step == steps:
            # The settings too: a run stopped between log entries trained its last steps with them.
            save_checkpoint(
                checkpoint_path,
                model,
                optimizer,
                step,
                time.perf_counter() - started,
                config.to_dict(),
                {**extras, "settings": settings},
            )
    log.close()
    return last


def fit_workdir(
    workdir: Path,
    architecture: str,
    steps: int,
    max_frames: int,
    peak_lr: float,
    run: str = "run",
    adversarial: bool = False,
    device: torch.device = CPU,
    progress=None,
) -> dict:
    """Train (or continue) `architecture` in `workdir/run`; returns the last validation losses."""
    from ..paths import checked_name
    from ..runtime.format.arch import Architecture

    try:
        Architecture.parse(architecture)
    except ValueError as e:
        raise InputError(f"--arch: {e}") from None
    stats = read_stats(workdir / "features")
    config = ModelConfig(
        architecture=architecture, pitch_log_std=stats["pitch_log_std"], energy_log_std=stats["energy_log_std"]
    )
    checked_name(run, "run folder name", error=InputError)
    return fit(
        workdir / "corpus",
        workdir / "features",
        workdir / run,
        config,
        steps,
        max_frames,
        peak_lr,
        adversarial=adversarial,
        device=device,
        progress=progress,
    )
