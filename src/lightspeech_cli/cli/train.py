"""train corpus|features|fit|export|vocoder|export-vocoder: parse, call train/, report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError, require_extra
from .app import app, sub_app
from .common import finite, info, set_verbosity, show_progress, training_folder
from .options import QUIET, VERBOSE, VocoderSource

train_app = sub_app(
    "Train a voice by distillation from the hibari-tts teacher (needs the train extra: pip install '.[train]')."
)
# Each command checks for the extra first: train/ imports torch, and a missing one is a line, not a bug.
app.add_typer(train_app, name="train")
WORKDIR = typer.Argument(
    ...,
    help="Training folder: corpus/, features/, run/ and vocoder/ live here.",
    show_default=False,
    callback=training_folder,
)
RUN = typer.Option(
    "run",
    "--run",
    help="Subfolder of the training folder for this model's checkpoint and log, "
    "so several architectures can train on one corpus.",
)


def _checked_threads(threads: int) -> int:
    """The bound say and render use: from 1 to a few per core."""
    from ..runtime.engine import check_threads

    return check_threads(threads, "--threads")


THREADS = typer.Option(2, "--threads", "-t", callback=_checked_threads, help="CPU threads.")
CARD_HELDOUT = typer.Option(
    None,
    "--heldout",
    show_default=False,
    help="For the model card: the held-out sentences file the corpus was built with (train corpus --heldout).",
)


class Progress:
    """rich's progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, total: int, description: str):
        self.bar = None
        if show_progress():
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self.bar = Bar(
                TextColumn(description),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
            )
            self.task = self.bar.add_task(description, total=total, status="")

    def __enter__(self):
        if self.bar:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc) if self.bar else False

    def update(self, completed: int, total: int | None = None, status: str = "") -> None:
        if self.bar:
            self.bar.update(self.task, completed=completed, total=total, status=status)


def _torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _checked_device(device: str) -> str:
    """cpu, cuda or cuda:N, spelled as torch does; whether the GPU is there is asked once torch is loaded."""
    if not re.fullmatch(r"cpu|cuda(:[0-9]{1,2})?", device):
        raise typer.BadParameter(f"{device!r} is not cpu, cuda or cuda:N")
    return device


def _torch_device(device: str):
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: this torch ({torch.__version__}) sees no CUDA GPU")
    return torch.device(device)


DEVICE = typer.Option(
    "cpu",
    "--device",
    callback=_checked_device,
    help="Where the model trains: cpu, or cuda (an NVIDIA GPU; the data stays in memory on the CPU).",
)


@train_app.command("corpus")
def train_corpus(
    workdir: Path = WORKDIR,
    sentences: int = typer.Option(
        6000, "--sentences", min=1, max=10_000_000, help="How many sentences the teacher reads."
    ),
    seed: int = typer.Option(0, "--seed", help="Picks and orders the sentences."),
    heldout: Optional[Path] = typer.Option(
        None,
        "--heldout",
        help="Sentences (one a line) to hold out for validation and benchmarks, never trained on; "
        "by default the last 150 utterances.",
        show_default=False,
    ),
    threads: int = typer.Option(1, "--threads", "-t", callback=_checked_threads, help="Teacher threads."),
    jobs: int = typer.Option(
        1, "--jobs", "-j", min=1, max=256, help="Teachers speaking side by side, a process each (one per core)."
    ),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Stage 1: the teacher reads fortunes and generated sentences; resumable."""
    require_extra("train", "lightspeech train corpus")
    from ..paths import read_limited
    from ..text import MAX_TEXT_CHARS, decode_input
    from ..train.corpus import build_corpus
    from ..train.sentences import training_sentences

    set_verbosity(quiet, verbose)
    held = None
    if heldout:
        data = read_limited(heldout, MAX_TEXT_CHARS * 4, str(heldout))  # a held-out set, not a book
        held = [line.strip() for line in decode_input(data, str(heldout)).splitlines() if line.strip()]
        if not held:
            raise InputError(f"{heldout} holds no sentences; a run needs held-out sentences to validate on")
    texts = training_sentences(sentences, seed, exclude=frozenset(held or ()))
    with Progress(len(texts), "teacher") as progress:
        total = build_corpus(
            texts, workdir / "corpus", threads=threads, heldout=held, progress=progress.update, jobs=jobs
        )
    info(f"{total} utterances in {workdir / 'corpus'}")


@train_app.command("features")
def train_features(workdir: Path = WORKDIR, quiet: bool = QUIET, verbose: bool = VERBOSE) -> None:
    """Stage 2: mel spectrograms, pitch, energy and their statistics; resumable."""
    require_extra("train", "lightspeech train features")
    from ..train.features import extract_features

    set_verbosity(quiet, verbose)
    with Progress(0, "features") as progress:
        stats = extract_features(workdir / "corpus", workdir / "features", progress=progress.update)
    info(json.dumps(stats))


@train_app.command("fit")
def train_fit(
    workdir: Path = WORKDIR,
    arch: str = typer.Option("lightspeech", "--arch", help="Architecture preset or description."),
    steps: int = typer.Option(
        10000, "--steps", min=1, max=100_000_000, help="Train until this step (resumes from run/)."
    ),
    max_frames: int = typer.Option(
        6000, "--max-frames", min=100, max=1_000_000, help="Frames per batch, padding included."
    ),
    lr: float = typer.Option(1e-3, "--lr", min=1e-7, max=1.0, callback=finite, help="Peak learning rate."),
    adversarial: bool = typer.Option(
        False,
        "--adversarial",
        help="Train against mel discriminators too, which hear over-smoothed detail: "
        "fine-tuning a trained model (they start with the run, or continue from its checkpoint).",
    ),
    run: str = RUN,
    threads: int = THREADS,
    device: str = DEVICE,
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Stage 3: train (or continue training) the acoustic model; logs validation loss to RUN/log.jsonl."""
    require_extra("train", "lightspeech train fit")
    from ..train.fit import fit_workdir

    set_verbosity(quiet, verbose)
    _torch_threads(threads)
    on = _torch_device(device)
    with Progress(steps, "fit") as progress:
        last = fit_workdir(
            workdir,
            arch,
            steps,
            max_frames,
            lr,
            run,
            adversarial=adversarial,
            device=on,
            progress=lambda step, values: progress.update(
                step, status=f"mel {values['mel']:.3f} dur {values['duration']:.3f}"
            ),
        )
    info(f"validation: {json.dumps(last)}")


@train_app.command("export")
def train_export(
    workdir: Path = WORKDIR,
    output: Path = typer.Option(
        ..., "--output", "-o", help="Voice folder to write (new, or a voice folder to replace)."
    ),
    name: str = typer.Option("en-us-lightspeech", "--name", help="The voice's name."),
    sentences: Optional[int] = typer.Option(
        None, "--sentences", min=1, max=10_000_000, help="For the model card: the corpus size asked for."
    ),
    vocoder: str = typer.Option(
        "en-us-istft-pulses", "--vocoder", help="The voice's default vocoder (checked to load)."
    ),
    heldout: Optional[str] = CARD_HELDOUT,
    run: str = RUN,
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Stage 4: write the trained model as a voice folder (ONNX + weights) with its model card."""
    require_extra("train", "lightspeech train export")
    from ..train.export import export_voice

    set_verbosity(quiet, verbose)
    voice = export_voice(workdir, output, name, sentences, vocoder, run, heldout)
    info(f"voice {voice.name} written to {output}")


@train_app.command("vocoder")
def train_vocoder(
    workdir: Path = WORKDIR,
    voice: Optional[str] = typer.Option(
        None, "--voice", "-v", help="Voice whose predicted mels the vocoder also learns from."
    ),
    steps: int = typer.Option(
        30000, "--steps", min=1, max=100_000_000, help="Train until this step (resumes from vocoder/)."
    ),
    lr: float = typer.Option(1e-3, "--lr", min=1e-7, max=1.0, callback=finite, help="Peak learning rate."),
    adversarial: bool = typer.Option(
        False,
        "--adversarial",
        help="Train against multi-period and multi-resolution "
        "discriminators too (fine-tuning; they continue from the checkpoint).",
    ),
    predicted_share: float = typer.Option(
        0.5,
        "--predicted-share",
        min=0.0,
        max=1.0,
        callback=finite,
        help="Share of input mels that are the voice's own predictions rather than the teacher's.",
    ),
    phase_weight: float = typer.Option(
        100.0,
        "--phase-weight",
        min=0.0,
        max=1000.0,
        callback=finite,
        help="Weight of the phase losses (APNet's 100); lower lets the discriminators shape the phase.",
    ),
    source: Optional[VocoderSource] = typer.Option(
        None,
        "--source",
        help="A pulse train from a predicted F0 for the vocoder to shape ('pulses'), or none. "
        "Default: the checkpoint's; pulses for a new vocoder. 'pulses' on a checkpoint without one adds it.",
    ),
    utterances: Optional[int] = typer.Option(
        None,
        "--utterances",
        min=1,
        max=10_000_000,
        show_default=False,
        help="Train on the first N training utterances only (default: all). The vocoder holds its "
        "utterances in memory: about 0.6 GB an hour of audio.",
    ),
    init: Optional[str] = typer.Option(
        None,
        "--init",
        show_default=False,
        help="Start the run (WORK/vocoder holds none) from a vocoder folder's weights and log, "
        "with a fresh optimizer: fine-tuning a shipped vocoder.",
    ),
    threads: int = THREADS,
    device: str = DEVICE,
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Train (or continue training) the iSTFT vocoder on the corpus; logs to vocoder/log.jsonl."""
    require_extra("train", "lightspeech train vocoder")
    from ..model.acoustic import load_acoustic_model
    from ..runtime.format.vocoder import find_vocoder_folder
    from ..runtime.format.voice import find_voice
    from ..train.features import read_stats
    from ..train.vocoder import fit_vocoder, start_from_folder

    set_verbosity(quiet, verbose)
    on = _torch_device(device)
    start = find_vocoder_folder(init) if init is not None else None
    read_stats(workdir / "features")  # the stages before it ran
    if start is not None:
        info(f"vocoder run starts from {init} at step {start_from_folder(workdir, start):,}")
    _torch_threads(threads)
    acoustic_model = load_acoustic_model(find_voice(voice))
    with Progress(steps, "vocoder") as progress:
        last = fit_vocoder(
            workdir,
            acoustic_model,
            steps,
            peak_lr=lr,
            adversarial=adversarial,
            predicted_share=predicted_share,
            phase_weight=phase_weight,
            source=source.value if source else None,
            train_utterances=utterances,
            device=on,
            progress=lambda step, values: progress.update(
                step, status=f"mel {values['mel']:.3f} phase {values['phase']:.3f}"
            ),
        )
    info(f"last log entry: {json.dumps(last)}")


@train_app.command("export-vocoder")
def train_export_vocoder(
    workdir: Path = WORKDIR,
    output: Path = typer.Option(..., "--output", "-o", help="Vocoder folder to write."),
    name: str = typer.Option("en-us-istft-pulses", "--name", help="For the model card: the vocoder's name."),
    voice: str = typer.Option("en-us-lightspeech", "--voice", help="For the model card: the voice it serves."),
    sentences: Optional[int] = typer.Option(
        None, "--sentences", min=1, max=10_000_000, help="For the model card: the corpus size asked for."
    ),
    heldout: Optional[str] = CARD_HELDOUT,
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Write the trained iSTFT vocoder as a folder `--vocoder` takes (ONNX + weights), with its model card."""
    require_extra("train", "lightspeech train export-vocoder")
    from ..train.vocoder import export_vocoder

    set_verbosity(quiet, verbose)
    export_vocoder(workdir, output, name, voice, sentences, heldout)
    info(f"vocoder {name} written to {output}")
