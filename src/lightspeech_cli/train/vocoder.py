"""Train the frame-rate iSTFT vocoder on the teacher's audio, on CPU, resumable.

Inputs are mel segments; half of them are the voice's own predictions for the same
utterance (teacher-forced with the true durations, pitch and energy, so they line up
with the audio), so the vocoder learns the slightly smoothed mels it will hear at
inference. Targets are the teacher's waveform and its STFT frame by frame:

    amplitude  log amplitude, MSE, every bin (APNet)
    phase      anti-wrapped errors of phase, group delay and phase time difference,
               weighted by the target's amplitude (APNet's phase losses)
    mel        L1 on the log mel of the waveform after the inverse STFT (HiFi-GAN)
    stft       L1 on log magnitudes at 512 and 2048 points, to cover what the 80 mel
               bands above 8 kHz and between frames do not see
    f0         with a pulse source: L1 on log F0 where the teacher's frame is voiced, and
               cross-entropy on voicing, against the F0 the teacher's DSP made its pulses from

With a pulse source the training pulses are the teacher's own (the corpus keeps them; the
vocoder's F0 is only used at synthesis), so the filter learns from pulses that line up with
the target sample for sample. Pulses rebuilt from the F0 would not: their phase is the running
sum of the F0 from the sentence's first frame, and small differences in that sum shift them.

The phase losses supervise the phase directly, so the vocoder trains without
discriminators, which on two CPU cores cost 30 times more than the generator; with
--adversarial they join for fine-tuning (model/discriminators.py).

    WORK/vocoder/checkpoint.pt   model, optimizer, step, seconds, config
    WORK/vocoder/log.jsonl       training and validation losses
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import InputError
from ..model.istft import IstftVocoder
from ..model.spectrogram import MelSpectrogram
from ..runtime.dsp import VOICED_HZ
from ..runtime.format.vocoder import IstftVocoderConfig, VocoderFolder
from ..runtime.format.voice import AudioConfig
from .corpus import corpus_command, read_metadata
from .fit import (
    CPU,
    adversarial_step,
    collate,
    learning_rate,
    load_split,
    log_entry,
    on_device,
    optimization_step,
    phase_ends,
    read_checkpoint,
    read_log,
    restore_checkpoint,
    save_checkpoint,
    training_phases,
)

SEGMENT_FRAMES = 32
BATCH_SIZE = 16
LOSS_WEIGHTS = {"amplitude": 45.0, "phase": 100.0, "mel": 45.0, "stft": 15.0, "f0": 20.0, "voicing": 5.0}


class VocoderData:
    """Every training utterance in memory: audio (int16), true mel, predicted mel (float16);
    for a vocoder with a pulse source, the teacher's F0 and the pulse train it filtered (float16)."""

    def __init__(
        self,
        workdir: Path,
        acoustic_model,
        split: str,
        limit: int | None = None,
        config: IstftVocoderConfig | None = None,
        device: torch.device = CPU,
    ):
        corpus, features = workdir / "corpus", workdir / "features"
        entries = [e for e in read_metadata(corpus) if e["split"] == split][:limit]
        utterances = load_split(corpus, features, split, limit)
        with_pulses = config is not None and config.source == "pulses"
        self.audio: list[np.ndarray] = []
        self.f0: list[np.ndarray] = []
        self.pulses: list[torch.Tensor] = []
        for entry in entries:
            # Read and closed one at a time: an open npz holds a file descriptor, and a
            # corpus has thousands of utterances.
            with np.load(corpus / "utterances" / f"{entry['id']}.npz") as stored:
                self.audio.append(stored["audio"])
                if not with_pulses:
                    continue
                if "pulses" not in stored.files:
                    raise InputError(
                        f"{corpus} was built before corpora kept the teacher's pulses, which a pulse source "
                        "trains on: run `lightspeech train corpus` on it again to add them"
                    )
                self.f0.append(stored["f0"].astype(np.float32))
                self.pulses.append(torch.from_numpy(stored["pulses"]))
        self.mel = [u.mel.half() for u in utterances]
        self.predicted: list[torch.Tensor] = [torch.empty(0)] * len(utterances)
        # Predicted in batches of similar lengths: little padding, so a corpus of 20,000
        # utterances takes minutes, not a quarter of an hour, each time training starts.
        by_length = sorted(range(len(utterances)), key=lambda i: len(utterances[i].mel))
        acoustic_model.to(device).eval()
        with torch.no_grad():
            for start in range(0, len(by_length), 16):
                group = by_length[start : start + 16]
                batch = on_device(collate([utterances[i] for i in group]), device)
                out = acoustic_model.training_forward(batch["ids"], batch["durations"], batch["pitch"], batch["energy"])
                for row, i in enumerate(group):
                    self.predicted[i] = out["mel"][row, : len(utterances[i].mel)].half().cpu()

    def __len__(self) -> int:
        return len(self.audio)

    def segment(self, index: int, frames: int, context: int, hop: int, rng: random.Random, predicted: bool):
        """A random `frames`-long mel segment, its audio with `context` samples either side,
        and where the data has them its pulses (with the same context) and F0, else None."""
        mel = (self.predicted if predicted else self.mel)[index]
        start = rng.randrange(max(1, len(mel) - frames + 1))
        piece = mel[start : start + frames].float()
        piece = F.pad(piece, (0, 0, 0, frames - len(piece)))

        def samples(signal: torch.Tensor) -> torch.Tensor:
            padded = F.pad(signal, (context, context + frames * hop))
            return padded[start * hop : start * hop + frames * hop + 2 * context]

        wave = samples(torch.from_numpy(self.audio[index].astype(np.float32) / 32767))
        if not self.pulses:
            return piece, wave, None, None
        f0 = torch.from_numpy(self.f0[index][start : start + frames])
        return piece, wave, samples(self.pulses[index].float()), F.pad(f0, (0, frames - len(f0)))


def anti_wrap(x: torch.Tensor) -> torch.Tensor:
    """|x| folded into [0, pi]: the distance between two angles."""
    return torch.abs(x - 2 * math.pi * torch.round(x / (2 * math.pi)))


def log_magnitude(wave: torch.Tensor, n_fft: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=wave.device)
    spectrum = torch.stft(wave, n_fft, n_fft // 4, n_fft, window, return_complex=True)
    return torch.log(spectrum.abs() + 1e-5)


class VocoderLoss(torch.nn.Module):
    # A buffer (register_buffer below); torch types unknown attributes as Tensor | Module.
    window: torch.Tensor

    def __init__(self, config: IstftVocoderConfig, audio: AudioConfig, phase_weight: float = LOSS_WEIGHTS["phase"]):
        super().__init__()
        self.config = config
        self.weights = {**LOSS_WEIGHTS, "phase": phase_weight}
        self.mel = MelSpectrogram(audio)
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)

    def forward(
        self,
        model: IstftVocoder,
        mel: torch.Tensor,
        target_with_context: torch.Tensor,
        pulses_with_context: torch.Tensor | None = None,
        f0: torch.Tensor | None = None,
    ) -> tuple[dict, torch.Tensor, torch.Tensor]:
        """(losses, the vocoder's waveform, the target waveform) for a batch of segments;
        a vocoder with a pulse source also takes the pulses and the F0 they were made from."""
        c = self.config
        context = model.left_pad
        target = target_with_context[:, context : target_with_context.shape[1] - context]

        def frames(wave_with_context: torch.Tensor) -> torch.Tensor:
            """The STFT framed exactly as the vocoder's (and the mel's) frames."""
            return torch.stft(
                wave_with_context, c.n_fft, c.hop_length, c.n_fft, self.window, center=False, return_complex=True
            ).transpose(1, 2)[:, : mel.shape[1]]

        spectrum = frames(target_with_context)
        x = model.features(mel)
        predicted = model.full_spectrum(x, None if pulses_with_context is None else frames(pulses_with_context))
        wave = model.synthesize(predicted)
        log_amplitude, phase = torch.log(predicted.abs() + 1e-5), torch.angle(predicted)
        amplitude = spectrum.abs()
        weight = amplitude  # the phase of a silent bin is noise: loud bins count most
        target_phase = torch.angle(spectrum)

        def weighted(error, w):
            return (error * w).sum() / w.sum()

        phase_loss = (
            weighted(anti_wrap(phase - target_phase), weight)
            + weighted(anti_wrap(torch.diff(phase, dim=2) - torch.diff(target_phase, dim=2)), weight[:, :, 1:])
            + weighted(anti_wrap(torch.diff(phase, dim=1) - torch.diff(target_phase, dim=1)), weight[:, 1:])
        )
        values = {
            "amplitude": F.mse_loss(log_amplitude, torch.log(amplitude + 1e-5)),
            "phase": phase_loss,
            "mel": F.l1_loss(self.mel(wave), self.mel(target)),
            "stft": sum(F.l1_loss(log_magnitude(wave, n), log_magnitude(target, n)) for n in (512, 2048)) / 2,
        }
        if f0 is not None:
            log_f0, voicing = model.pitch(x)
            voiced = (f0 >= VOICED_HZ).float()
            log_error = torch.abs(log_f0 - torch.log(f0.clamp(min=1.0))) * voiced
            values["f0"] = log_error.sum() / voiced.sum().clamp(min=1.0)
            values["voicing"] = F.binary_cross_entropy_with_logits(voicing, voiced)
        values["total"] = sum(self.weights[name] * value for name, value in values.items())
        return values, wave, target


def validate(model: torch.nn.Module, mels: list[torch.Tensor], mel_spectrogram: MelSpectrogram) -> float:
    """Mel L1 between whole held-out utterances and a vocoder's audio from their true mels."""
    training = model.training
    model.eval()
    total = 0.0
    device = next(model.parameters()).device
    with torch.no_grad():
        for mel in mels:
            mel = mel.float().unsqueeze(0).to(device)
            total += F.l1_loss(mel_spectrogram(model(mel)), mel).item()
    model.train(training)
    return total / len(mels)


VALIDATION_UTTERANCES = 20


def heldout_mels(workdir: Path) -> list[torch.Tensor]:
    return [u.mel for u in load_split(workdir / "corpus", workdir / "features", "heldout", VALIDATION_UTTERANCES)]


def vocoder_optimizer(model: torch.nn.Module, peak_lr: float = 1e-3) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=peak_lr, betas=(0.8, 0.99), weight_decay=0.01)


def start_from_folder(workdir: Path, folder: VocoderFolder) -> int:
    """A run that starts where a vocoder folder ends: its weights (as stored: float16) and its
    training log become WORK/vocoder's checkpoint and log, with a fresh optimizer, so that
    fit_vocoder goes on from the folder's last step (fine-tuning a shipped vocoder whose own
    checkpoint was not kept). Returns that step."""
    from ..model.istft import load_istft_vocoder
    from ..paths import atomic_write

    run = workdir / "vocoder"
    if (run / "checkpoint.pt").exists():
        raise InputError(f"{run / 'checkpoint.pt'} exists: --init starts a run; leave it out to go on with that one")
    entries = read_log(folder.folder / "training-log.jsonl")
    if not entries:
        raise InputError(f"vocoder {folder.name} has no training-log.jsonl to start from")
    model = load_istft_vocoder(folder).train()
    run.mkdir(parents=True, exist_ok=True)
    with atomic_write(run / "log.jsonl", "w", encoding="utf-8") as f:
        f.write("".join(json.dumps(entry) + "\n" for entry in entries))
    last = entries[-1]
    config, settings = folder.config.to_dict(), {"settings": last.get("settings", {})}
    optimizer = vocoder_optimizer(model)
    save_checkpoint(run / "checkpoint.pt", model, optimizer, last["step"], last["seconds"], config, settings)
    return int(last["step"])


def fit_vocoder(
    workdir: Path,
    acoustic_model,
    steps: int,
    config: IstftVocoderConfig | None = None,
    peak_lr: float = 1e-3,
    phase_weight: float = LOSS_WEIGHTS["phase"],
    warmup: int = 500,
    checkpoint_every: int = 200,
    validate_every: int = 1000,
    seed: int = 0,
    adversarial: bool = False,
    predicted_share: float = 0.5,
    source: str | None = None,
    train_utterances: int | None = None,
    device: torch.device = CPU,
    progress=None,
) -> dict:
    """Train until `steps` on `device`; returns the last logged entry.

    With `adversarial`, discriminators join (or continue, from the checkpoint): the
    vocoder then also learns to sound real to them (LSGAN + feature matching), which the
    reconstruction losses alone cannot teach. `predicted_share` of the input mels are
    the voice's own teacher-forced predictions, so the vocoder learns the mels it will hear.
    `train_utterances` bounds the training utterances (the first ones), which are held in memory.
    Without `config`, a run continues with its checkpoint's, and a new one takes the default;
    `source` replaces the config's source.
    A checkpoint without a source, asked for the same config with pulses, is converted
    (`add_pulse_source`) and trains on with a fresh optimizer."""
    from ..model.discriminators import Discriminators

    run = workdir / "vocoder"
    run.mkdir(parents=True, exist_ok=True)
    checkpoint_path = run / "checkpoint.pt"
    state = read_checkpoint(checkpoint_path)
    # Read as a folder's config.json is: older checkpoints lack fields.
    saved = IstftVocoderConfig.parse(state["config"], str(checkpoint_path)) if state is not None else None
    if config is None:
        config = saved or IstftVocoderConfig()
    if source is not None:
        config = replace(config, source=source)
    converting = saved is not None and saved.source == "none" and replace(saved, source="pulses") == config
    if saved is not None and saved != config and not converting:
        removing = saved.source == "pulses" and replace(saved, source="none") == config
        raise InputError(
            f"{checkpoint_path} was trained with a pulse source, which can be added to a run but not removed"
            if removing
            else f"{checkpoint_path} was trained with another configuration: {saved.to_dict()}"
        )
    torch.manual_seed(seed)
    # On the device before their optimizers are made, whose state follows the weights.
    model = IstftVocoder(config).to(device)
    optimizer = vocoder_optimizer(model, peak_lr)
    discriminators = Discriminators().to(device)
    discriminator_optimizer = torch.optim.AdamW(
        discriminators.parameters(), lr=peak_lr, betas=(0.8, 0.99), weight_decay=0.01
    )
    extras: dict[str, torch.nn.Module | torch.optim.Optimizer] = {
        "discriminators": discriminators,
        "discriminator_optimizer": discriminator_optimizer,
    }
    if converting:
        assert state is not None
        add_pulse_source(model, state["model"])
        for name, target in extras.items():  # discriminators of earlier adversarial steps go on
            if name in state:
                target.load_state_dict(state[name])
        step, elapsed = int(state["step"]), float(state["seconds"])
    else:
        step, elapsed = restore_checkpoint(state, checkpoint_path, model, optimizer, extras=extras)
    audio = AudioConfig(
        sample_rate=config.sample_rate,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.n_fft,
        n_mels=config.n_mels,
    )
    train = VocoderData(workdir, acoustic_model, "train", limit=train_utterances, config=config, device=device)
    heldout = VocoderData(workdir, acoustic_model, "heldout", limit=VALIDATION_UTTERANCES, device=device)
    criterion = VocoderLoss(config, audio, phase_weight).to(device)
    settings = {
        "adversarial": adversarial,
        "predicted_share": predicted_share,
        "peak_lr": peak_lr,
        "phase_weight": phase_weight,
        "source": config.source,
        "utterances": train_utterances,
    }
    rng = random.Random(seed + step)
    log = open(run / "log.jsonl", "a", encoding="utf-8")
    entry: dict = {}
    started = time.perf_counter() - elapsed
    model.train()
    while step < steps:
        pairs = [
            train.segment(
                rng.randrange(len(train)),
                SEGMENT_FRAMES,
                model.left_pad,
                config.hop_length,
                rng,
                predicted=rng.random() < predicted_share,
            )
            for _ in range(BATCH_SIZE)
        ]
        mel, wave, pulses, f0 = (
            None if pairs[0][i] is None else torch.stack([p[i] for p in pairs]).to(device) for i in range(4)
        )
        values, generated, target = criterion(model, mel, wave, pulses, f0)
        step += 1
        if adversarial:
            lr = learning_rate(step, peak_lr, warmup)  # the generator's schedule
            adversarial_step(
                discriminators, discriminator_optimizer, target, generated, lr, ADVERSARIAL_WEIGHTS, values
            )
        optimization_step(model, optimizer, values["total"], step, peak_lr, warmup, max_norm=10.0)
        if progress:
            progress(step, {k: v.item() for k, v in values.items()})
        if step % validate_every == 0 or step == steps:
            entry = log_entry(
                log,
                step,
                time.perf_counter() - started,
                values,
                {
                    "mel_l1": validate(model, heldout.mel, criterion.mel),
                    "predicted_mel_l1": validate_predicted(model, heldout, criterion.mel),
                },
                settings,
            )
        if step % checkpoint_every == 0 or step == steps:
            save_checkpoint(
                checkpoint_path,
                model,
                optimizer,
                step,
                time.perf_counter() - started,
                config.to_dict(),
                # The settings too: a run stopped between log entries trained its last steps with them.
                {**(extras if adversarial else {}), "settings": settings},
            )
    log.close()
    return entry


def add_pulse_source(model: IstftVocoder, trained: dict) -> None:
    """Load a vocoder trained without a source into `model`, which has one, so that it starts
    out using the pulses: the source filter takes the amplitude head's weights (less log(n_fft / 4),
    the pulses' amplitude at a harmonic in a Hann-windowed STFT) and a zero phase, and the
    network's own spectrum is turned down by e^1.5. Started at zero instead, the source stays
    unused: the trained own spectrum already fits, and a faint source only adds error."""
    model.load_state_dict(trained, strict=False)
    bins = model.config.n_fft // 2 + 1
    with torch.no_grad():
        model.source_head.weight.zero_()
        model.source_head.bias.zero_()
        model.source_head.weight[:bins] = model.head.weight[:bins]
        model.source_head.bias[:bins] = model.head.bias[:bins] - math.log(model.config.n_fft / 4)
        model.head.bias[:bins] -= 1.5


PHASE_WORDING = {
    "direct": "a linear output",
    "parallel": "the angle of a predicted real and imaginary part (APNet's parallel phase estimation)",
}
SOURCE_WORDING = {
    "none": "no source signal",
    "pulses": "plus a pulse train from an F0 it predicts, shaped by a predicted filter (amplitude and phase per bin)",
}
# What a log entry without settings (or without one of them) was trained with: the log
# recorded them as they were added.
DEFAULT_SETTINGS = {
    "adversarial": False,
    "predicted_share": 0.5,
    "peak_lr": 1e-3,
    "phase_weight": LOSS_WEIGHTS["phase"],
    "source": "none",
    "utterances": None,  # all
}


def training_commands(voice: str, phases: list[tuple[int, dict]], entries: list[dict], final_step: int) -> str:
    """The `train vocoder` commands that made the checkpoint: one per phase of the log, to its
    last logged step; the last phase to the checkpoint's step, which may be past its last entry."""
    lines = []
    for (_, settings), last_step in zip(phases, phase_ends(phases, entries, final_step), strict=True):
        options = " --adversarial" if settings["adversarial"] else ""
        if settings["adversarial"] or settings["predicted_share"] != DEFAULT_SETTINGS["predicted_share"]:
            options += f" --predicted-share {settings['predicted_share']:g}"
        options += f" --lr {settings['peak_lr']:g}" if settings["peak_lr"] != DEFAULT_SETTINGS["peak_lr"] else ""
        if settings["phase_weight"] != DEFAULT_SETTINGS["phase_weight"]:
            options += f" --phase-weight {settings['phase_weight']:g}"
        options += f" --source {settings['source']}" if settings["source"] != DEFAULT_SETTINGS["source"] else ""
        options += f" --utterances {settings['utterances']}" if settings["utterances"] else ""
        lines.append(f"lightspeech train vocoder WORK --voice {voice} --steps {last_step}{options}")
    return "\n".join(lines)


# Relative to the reconstruction losses above; HiFi-GAN's and Vocos's choice (1 and 2).
ADVERSARIAL_WEIGHTS = {"adversarial": 1.0, "feature_matching": 2.0}


def validate_predicted(model: IstftVocoder, data: VocoderData, mel_spectrogram: MelSpectrogram) -> float:
    """Mel L1 of the vocoder's audio from the voice's predicted mels against the true mels:
    how well the pair together matches the teacher."""
    training = model.training
    model.eval()
    total = 0.0
    device = next(model.parameters()).device
    with torch.no_grad():
        for predicted, true in zip(data.predicted, data.mel, strict=True):
            heard = mel_spectrogram(model(predicted.float().unsqueeze(0).to(device)))
            total += F.l1_loss(heard, true.float().unsqueeze(0).to(device)).item()
    model.train(training)
    return total / len(data)


MODEL_CARD = """# {name}

A frame-rate iSTFT vocoder (Vocos/APNet-style) for lightspeech: mel in, waveform out through
an inverse STFT, so no layer runs at the sample rate. Trained for the voice {voice}.

| | |
|---|---|
| Architecture | ConvNeXt, {layers} blocks, {channels} channels ({hidden} inner), kernel {kernel_size}; head to the log amplitude and phase of {bins} bins, the phase {phase}; {source_wording}; n_fft {n_fft}, hop {hop_length} |
| Parameters | {parameters:,} |
| Audio | {sample_rate} Hz, 80 mel bands (HiFi-GAN V1's mel: 0-8 kHz, n_fft 1024, hop 256) |
| Steps | {step:,} x {batch} segments of {segment} frames ({hours:.1f} h of training on {machine}) |
| Validation mel L1 (20 held-out utterances, true mels) | {validation} (HiFi-GAN V1 universal: {reference}, measured on the same utterances by `train export-vocoder`) |
| Losses | log amplitude MSE, anti-wrapped phase / group delay / phase time difference (amplitude-weighted), mel L1, log STFT L1 at 512 and 2048 points{f0_losses}; {adversarial} |
| Stored as | float16 in model.safetensors, which model.onnx reads and computes with in float32 |
| Licence | MIT (weights); see Data for the teacher's terms |

## Data
The same corpus as the voice {voice}: its training utterances (the held-out ones never seen), the
teacher's audio as target. {predicted} of the input mels were the voice's own teacher-forced
predictions (the rest the teacher's), so the vocoder knows the mels it will hear.

## Teacher
hibari-tts 0.2.1 (Apache-2.0), voice "heart", itself distilled from Kokoro-82M (Apache-2.0) voice af_heart.

## How it was made
```
pip install -e '.[train]'
{corpus_command}
lightspeech train features WORK
{commands}
lightspeech train export-vocoder WORK -o VOCODER --name {name}
```
The training log is `training-log.jsonl` beside this card.
"""  # noqa: E501 - a Markdown table: its rows cannot be wrapped


def export_vocoder(
    workdir: Path, output: Path, name: str, voice: str, sentences: int | None = None, heldout: str | None = None
) -> IstftVocoder:
    """The trained checkpoint as a vocoder folder; its card is filled from the checkpoint and
    the log, and HiFi-GAN V1 is measured on the same held-out utterances for comparison."""
    from ..model.acoustic import count_parameters
    from ..model.folders import save_vocoder
    from ..model.hifigan import load_hifigan
    from ..paths import checked_name

    checked_name(name, "vocoder name", error=InputError)
    run = workdir / "vocoder"
    state = read_checkpoint(run / "checkpoint.pt")
    if state is None:
        raise InputError(f"{workdir} has no vocoder/checkpoint.pt; run `lightspeech train vocoder` first")
    config = IstftVocoderConfig.parse(state["config"], str(run / "checkpoint.pt"))
    model = IstftVocoder(config)
    model.load_state_dict(state["model"])
    log = run / "log.jsonl"
    entries = read_log(log)
    last = entries[-1] if entries else {"validation": {"mel_l1": float("nan")}}
    phases = training_phases(entries, state, DEFAULT_SETTINGS)
    adversarial_from = next((start for start, settings in phases if settings["adversarial"]), None)
    shares = sorted({settings["predicted_share"] for _, settings in phases})
    card = MODEL_CARD.format(
        name=name,
        voice=voice,
        parameters=count_parameters(model),
        bins=config.n_fft // 2 + 1,
        phase=PHASE_WORDING[config.phase_estimation],
        source_wording=SOURCE_WORDING[config.source],
        f0_losses=", log F0 L1 and voicing cross-entropy against the teacher's F0" if config.source == "pulses" else "",
        step=state["step"],
        batch=BATCH_SIZE,
        segment=SEGMENT_FRAMES,
        hours=state["seconds"] / 3600,
        machine=state.get("machine", "an unrecorded machine"),
        validation=f"{last['validation']['mel_l1']:.3f}",
        reference=f"{validate(load_hifigan(), heldout_mels(workdir), MelSpectrogram()):.3f}",
        adversarial=(
            f"from step {adversarial_from:,}, also adversarial (multi-period and multi-resolution "
            "discriminators, LSGAN) and feature matching"
            if adversarial_from is not None
            else "no adversarial loss"
        ),
        predicted=" then ".join(f"{share:.0%}" for share in shares).capitalize(),
        commands=training_commands(voice, phases, entries, state["step"]),
        corpus_command=corpus_command(sentences, heldout),
        **config.to_dict(),
    )
    save_vocoder(output, model.eval(), card, {"training-log.jsonl": log.read_text(encoding="utf-8")})
    return model
