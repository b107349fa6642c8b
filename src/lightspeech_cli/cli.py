"""The `lightspeech` command: parses arguments, calls the library, reports.

Heavy imports (torch, the models) happen inside the commands that need them, so
`lightspeech --help` and `lightspeech phonemize` start fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from . import __version__
from .errors import InputError, LightspeechError


class ReportingGroup(TyperGroup):
    """Turns a LightspeechError anywhere below into one line on stderr and its exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LightspeechError as e:
            typer.echo(f"lightspeech: error: {e}", err=True)
            raise typer.Exit(e.exit_code) from None
        except BrokenPipeError:
            # The reader went away (`| head`); nothing left to say to it.
            sys.stderr.close()
            raise typer.Exit(141) from None


app = typer.Typer(
    cls=ReportingGroup,
    help="Offline English text-to-speech with LightSpeech models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lightspeech {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Offline English text-to-speech with LightSpeech models."""


# --- shared arguments ------------------------------------------------------------

TEXT_ARGUMENT = typer.Argument(None, help="Text to speak; read from standard input when omitted or '-'.",
                               show_default=False)
LEXICON_OPTION = typer.Option(None, "--lexicon", help="Pronunciation file: one 'WORD PH ON EMES' per line.",
                              dir_okay=False)


def read_text(text: Optional[str]) -> str:
    """The text from the argument or stdin, checked for what we cannot speak."""
    from .text import MAX_TEXT_CHARS, decode_input

    if text is None or text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError("no text: give it as an argument or on standard input")
        text = decode_input(sys.stdin.buffer.read(MAX_TEXT_CHARS * 4 + 1), "the input")
    if "\x00" in text:
        raise InputError("the input is binary, not text")
    if not text.strip():
        raise InputError("no text: the input is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"the text is too long ({len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}): "
                         "split it into lines and use 'lightspeech render'")
    return text


def load_phonemizer(lexicon: Optional[Path]):
    """The G2P with the user's lexicon: --lexicon, else lexicon.txt in the config folder."""
    from .paths import default_lexicon_path
    from .text.g2p import Phonemizer, read_lexicon

    path = lexicon or default_lexicon_path()
    if lexicon is None and not path.exists():
        return Phonemizer()
    return Phonemizer(read_lexicon(path))


def sentences_of(text: str, lexicon: Optional[Path]):
    from .text import frontend

    sentences = frontend(text, load_phonemizer(lexicon))
    if not sentences:
        raise InputError("nothing to say: the text has no English words or numbers")
    return sentences


# --- commands --------------------------------------------------------------------


@app.command()
def phonemize(
    text: Optional[str] = TEXT_ARGUMENT,
    lexicon: Optional[Path] = LEXICON_OPTION,
    words: bool = typer.Option(False, "--words", help="Also show each word, its phonemes and where they came from."),
) -> None:
    """Print the normalized text and its ARPAbet phonemes, sentence by sentence.

    Words are separated by '|'. Copy a word's phonemes into [[...]] in your text, or
    into a lexicon file, to change how it is said.
    """
    for sentence in sentences_of(read_text(text), lexicon):
        typer.echo(f"text:     {sentence.text}")
        typer.echo(f"phonemes: {' '.join(sentence.phonemes)}")
        if words:
            for word in sentence.words:
                if word.source != "punctuation":
                    typer.echo(f"  {word.text:<20} {' '.join(word.phonemes):<32} {word.source}")


VOICE_OPTION = typer.Option(None, "--voice", "-v", help="Voice name, or the path of a voice folder.")
VOCODER_OPTION = typer.Option(None, "--vocoder", help="A shipped vocoder (en-us-istft), hifigan, griffinlim, or "
                              "a vocoder folder (default: the voice's).")
BACKEND_OPTION = typer.Option(None, "--backend", show_default=False,
                              help="onnx, torchscript or eager for both models (default: the fastest for each, "
                                   "see bench/backends.txt).")
THREADS_OPTION = typer.Option(None, "--threads", "-t", min=1, help="CPU threads (default: torch's choice).")
SPEED_OPTION = typer.Option(1.0, "--speed", help="Speaking rate: 1.5 is 50% faster.")
PITCH_OPTION = typer.Option(1.0, "--pitch", help="Pitch factor: 1.1 is 10% higher.")
ENERGY_OPTION = typer.Option(1.0, "--energy", help="Energy factor: 1.2 is 20% louder.")


def make_synthesizer(voice, vocoder, backend, threads, lexicon):
    from .synthesize import Synthesizer

    return Synthesizer(voice, vocoder=vocoder, backend=backend, threads=threads,
                       phonemizer=load_phonemizer(lexicon))


@app.command()
def say(
    text: Optional[str] = TEXT_ARGUMENT,
    output: Optional[str] = typer.Option(None, "--output", "-o",
                                         help="Write to this file (.wav, .flac, .ogg), or '-' for WAV on stdout."),
    raw: bool = typer.Option(False, "--raw", help="Write 16-bit mono PCM to stdout, sentence by sentence."),
    voice: Optional[str] = VOICE_OPTION,
    vocoder: Optional[str] = VOCODER_OPTION,
    backend: Optional[str] = BACKEND_OPTION,
    threads: Optional[int] = THREADS_OPTION,
    speed: float = SPEED_OPTION,
    pitch: float = PITCH_OPTION,
    energy: float = ENERGY_OPTION,
    lexicon: Optional[Path] = LEXICON_OPTION,
) -> None:
    """Speak text: play it, or write it with -o.

    Long text is made sentence by sentence; playback and --raw start after the first.
    """
    import numpy as np

    from . import audio
    from .synthesize import Controls
    from .voice import find_voice

    if raw and output:
        raise InputError("--raw writes to stdout; drop -o, or drop --raw to write a file")
    controls = Controls(speed, pitch, energy)
    controls.check()
    content = read_text(text)
    if output and output != "-":
        audio.check_output_path(Path(output))
    chosen = find_voice(voice)
    speaker = None
    if not output and not raw:
        speaker = audio.open_output_stream(chosen.config.audio.sample_rate)
    synthesizer = make_synthesizer(chosen, vocoder, backend, threads, lexicon)
    # The whole text goes through the frontend first, so unspeakable text fails before any output starts.
    chunks = synthesizer.audio_chunks(synthesizer.sentences(content), controls)
    rate = synthesizer.sample_rate
    if raw or output == "-":
        audio.write_stdout(chunks, rate, raw=raw)
    elif output:
        audio.write_file(Path(output), np.concatenate(list(chunks)), rate)
    else:
        audio.play(chunks, speaker)


@app.command()
def render(
    input_file: Path = typer.Argument(..., metavar="INPUT", help="Text file (one utterance per line) or .jsonl file.",
                                      show_default=False),
    output_dir: Path = typer.Option(..., "--output", "-o", help="Folder for the audio files and manifest.jsonl."),
    paragraphs: bool = typer.Option(False, "--paragraphs", help="One utterance per paragraph (blank-line separated)."),
    audio_format: str = typer.Option("wav", "--format", "-f", help="wav, flac or ogg."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Render again files that already exist."),
    voice: Optional[str] = VOICE_OPTION,
    vocoder: Optional[str] = VOCODER_OPTION,
    backend: Optional[str] = BACKEND_OPTION,
    threads: Optional[int] = THREADS_OPTION,
    speed: float = SPEED_OPTION,
    pitch: float = PITCH_OPTION,
    energy: float = ENERGY_OPTION,
    lexicon: Optional[Path] = LEXICON_OPTION,
) -> None:
    """Render many utterances to numbered files plus a manifest.

    Input is text (one utterance per non-empty line, or per paragraph) or JSON Lines
    ({"text": ..., "file": ..., "speed": ..., "pitch": ..., "energy": ...}). Files that
    exist are skipped, so a killed render resumes where it stopped.
    """
    from .batch import read_jobs, render_jobs
    from .synthesize import Controls
    from .voice import find_voice

    Controls(speed, pitch, energy).check()
    jobs = read_jobs(input_file, paragraphs, audio_format, Controls(speed, pitch, energy))
    synthesizer = make_synthesizer(find_voice(voice), vocoder, backend, threads, lexicon)
    render_jobs(jobs, output_dir, synthesizer, overwrite)


@app.command()
def profile(
    voice: Optional[str] = typer.Option(None, "--voice", "-v",
                                        help="Also profile this voice (default: the default voice, if installed)."),
    architectures: list[str] = typer.Option(["fastspeech2", "lightspeech"], "--arch",
                                            help="Architectures to compare, untrained (preset or description)."),
    text: Optional[str] = typer.Option(None, "--text", help="Text to profile on (default: a two-clause sentence)."),
    vocoder: Optional[str] = typer.Option(None, "--vocoder", help="Vocoder to time (default: the voice's, or "
                                          "griffinlim without a voice)."),
    threads: int = typer.Option(1, "--threads", "-t", min=1, help="CPU threads."),
    runs: int = typer.Option(10, "--runs", min=1, help="Timed runs; the median is reported."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Break latency and size down per component, as the LightSpeech paper does.

    Compares FastSpeech 2 and LightSpeech (untrained: architecture alone decides speed)
    on the same phoneme input, then the compression ratio, speed-up and real-time factor.
    """
    import torch

    from .errors import VoiceError
    from .model.arch import Architecture
    from .profile import DEFAULT_TEXT, phoneme_ids, profile_model, untrained_model
    from .spectrogram import AudioConfig
    from .text.symbols import DEFAULT_SYMBOL_SET, SymbolSet
    from .vocoder import load_vocoder
    from .voice import find_voice

    torch.set_num_threads(threads)
    for description in architectures:
        try:
            Architecture.parse(description)
        except ValueError as e:
            raise InputError(f"--arch: {e}") from None
    content = read_text(text) if text is not None else DEFAULT_TEXT
    profiles = []
    try:
        chosen = find_voice(voice)
    except VoiceError:
        if voice is not None:
            raise
        chosen = None  # no default voice installed: profile the architectures alone
    vocoder = vocoder or (chosen.config.vocoder if chosen else "griffinlim")
    vocoder_module = load_vocoder(vocoder, chosen.config.audio if chosen else AudioConfig())
    if chosen is not None:
        ids, frontend_ms = phoneme_ids(content, chosen.config.symbol_set)
        profiles.append(profile_model(f"voice {chosen.name}", chosen.load_model(), ids, vocoder_module,
                                      frontend_ms, runs, chosen.config.audio))
    ids, frontend_ms = phoneme_ids(content, DEFAULT_SYMBOL_SET)
    for description in architectures:
        model = untrained_model(description, len(SymbolSet(DEFAULT_SYMBOL_SET)))
        name = description if description in ("fastspeech2", "lightspeech") else "custom"
        profiles.append(profile_model(name, model, ids, vocoder_module, frontend_ms, runs))
    if as_json:
        summary = {}
        if len(architectures) >= 2:
            first, last = profiles[-len(architectures)], profiles[-1]
            summary = {"compression": first.acoustic_parameters / last.acoustic_parameters,
                       "speedup": first.acoustic_ms / last.acoustic_ms}
        typer.echo(json.dumps({"threads": threads, "text": content, "profiles": [p.to_dict() for p in profiles],
                               **summary}, indent=2))
        return
    print_profiles(profiles, threads, len(architectures))


def parse_count(text: str) -> int:
    """'1.8M', '800k' or '2000000' -> an integer."""
    scale = {"k": 1_000, "m": 1_000_000}.get(text.strip()[-1:].lower(), 1)
    number = text.strip()[:-1] if scale > 1 else text.strip()
    try:
        value = float(number) * scale
    except ValueError:
        raise InputError(f"--max-params: expected a number such as 2M or 800k, not {text!r}") from None
    if value <= 0:
        raise InputError(f"--max-params must be positive, not {text!r}")
    return int(value)


@app.command()
def search(
    workdir: Path = typer.Argument(..., help="Training folder with corpus/ and features/ (from `lightspeech train`).",
                                   show_default=False),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for results.sqlite, results.md, pareto.png, "
                                "winner.txt; a search resumes from it."),
    budget: str = typer.Option("small", "--budget", help="small (under 1 h on 2 cores), medium or large; "
                               "see docs/search.md."),
    max_params: Optional[str] = typer.Option(None, "--max-params", help="Largest acoustic model, e.g. 2M."),
    max_latency_ms: Optional[float] = typer.Option(None, "--max-latency-ms", min=0.01,
                                                   help="Slowest acoustic forward on 1 CPU thread for 60 "
                                                   "phonemes, measured here."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Local training processes (1 thread each)."),
    ray_address: Optional[str] = typer.Option(None, "--ray", help="Train on this Ray cluster instead: an address "
                                              "for ray.init ('auto', 'ray://HOST:10001', or 'local')."),
    candidates: Optional[int] = typer.Option(None, "--candidates", min=2, help="Override the budget: candidates "
                                             "proxy-trained."),
    proxy_steps: Optional[int] = typer.Option(None, "--proxy-steps", min=1, help="Override: steps per candidate."),
    finalists: Optional[int] = typer.Option(None, "--finalists", min=1, help="Override: best predicted trained "
                                            "longer."),
    final_steps: Optional[int] = typer.Option(None, "--final-steps", min=1, help="Override: steps per finalist."),
    hidden: int = typer.Option(256, "--hidden", min=8, help="Hidden size of every candidate (the paper's: 256)."),
    seed: int = typer.Option(0, "--seed", help="Seeds sampling and training."),
) -> None:
    """Search the LightSpeech space for an acoustic model (GBDT-NAS): sample under the
    constraints, proxy-train, fit a LightGBM predictor, rank unseen candidates, train the
    best longer, and report the Pareto front of loss against latency."""
    from dataclasses import replace

    from .search.run import BUDGETS, Constraints, Search
    from .search.space import SearchSpace

    if hidden % 8:
        raise InputError(f"--hidden must be a multiple of 8 (attention has up to 8 heads), not {hidden}")
    if budget not in BUDGETS:
        raise InputError(f"unknown --budget {budget!r}; choose one of {', '.join(BUDGETS)}")
    for needed in ("corpus/metadata.jsonl", "features/stats.json"):
        if not (workdir / needed).exists():
            raise InputError(f"{workdir} has no {needed}; run `lightspeech train corpus` and `train features` first")
    chosen = BUDGETS[budget]
    overrides = {"candidates": candidates, "proxy_steps": proxy_steps, "finalists": finalists,
                 "final_steps": final_steps}
    chosen = replace(chosen, **{k: v for k, v in overrides.items() if v is not None})
    constraints = Constraints(parse_count(max_params) if max_params else None, max_latency_ms)
    try:
        import lightgbm  # noqa: F401
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise InputError(f"the search needs {e.name}: pip install -e '.[search]'") from None
    if ray_address:
        from .search.runners import RayRunner

        try:
            runner = RayRunner(ray_address)
        except ImportError:
            raise InputError("--ray needs Ray: pip install -e '.[search]'") from None
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise InputError(f"--ray {ray_address}: {e}") from None
    else:
        from .search.runners import LocalRunner

        runner = LocalRunner(workers)
    try:
        summary = Search(workdir, output, chosen, constraints, runner, SearchSpace(hidden), seed=seed,
                         log=lambda line: typer.echo(line, err=True)).run()
    except ValueError as e:
        raise InputError(str(e)) from None
    typer.echo(summary["winner"])
    typer.echo(f"report: {output / 'results.md'}, plot: {output / 'pareto.png'}", err=True)


def print_profiles(profiles, threads: int, n_architectures: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for p in profiles:
        table = Table(title=f"{p.name}: {p.architecture}", title_justify="left")
        for column in ("component", "parameters", "median ms", "share"):
            table.add_column(column, justify="left" if column == "component" else "right")
        for row in p.rows:
            table.add_row(row.component, f"{row.parameters:,}", f"{row.milliseconds:.2f}", f"{row.share:.1%}")
        table.add_row("acoustic model (whole forward)", f"{p.acoustic_parameters:,}", f"{p.acoustic_ms:.2f}", "",
                      style="bold")
        console.print(table)
        vocoder = f"; vocoder alone {p.vocoder_real_time_factor:.4f}" if p.vocoder_real_time_factor else ""
        console.print(f"  {p.frames} frames = {p.audio_seconds:.2f} s of audio; real-time factor end to end "
                      f"{p.real_time_factor:.4f}{vocoder}, on {threads} thread(s)\n")
    if n_architectures >= 2:
        first, last = profiles[-n_architectures], profiles[-1]
        console.print(f"{last.name} against {first.name}: {first.acoustic_parameters / last.acoustic_parameters:.1f}x "
                      f"fewer parameters, acoustic model {first.acoustic_ms / last.acoustic_ms:.1f}x faster "
                      f"on {threads} thread(s)")


train_app = typer.Typer(cls=ReportingGroup, no_args_is_help=True,
                        help="Train a voice by distillation from the hibari-tts teacher (needs '.[train]').")
app.add_typer(train_app, name="train")
WORKDIR_ARGUMENT = typer.Argument(..., help="Training folder: corpus/, features/ and run/ live here.",
                                  show_default=False)


def _progress(total: int, description: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), TextColumn("eta"),
                        TimeRemainingColumn(), TextColumn("{task.fields[status]}"))
    task = progress.add_task(description, total=total, status="")
    return progress, task


@train_app.command("corpus")
def train_corpus(
    workdir: Path = WORKDIR_ARGUMENT,
    sentences: int = typer.Option(6000, "--sentences", min=1, help="How many sentences the teacher reads."),
    seed: int = typer.Option(0, "--seed", help="Picks and orders the sentences."),
    threads: int = typer.Option(1, "--threads", "-t", min=1, help="Teacher threads."),
) -> None:
    """Stage 1: the teacher reads fortunes and generated sentences; resumable."""
    from .train.corpus import build_corpus
    from .train.sentences import training_sentences

    texts = training_sentences(sentences, seed)
    progress, task = _progress(len(texts), "teacher")
    with progress:
        total = build_corpus(texts, workdir / "corpus",
                             progress=lambda done, total: progress.update(task, completed=done, total=total))
    typer.echo(f"{total} utterances in {workdir / 'corpus'}", err=True)


@train_app.command("features")
def train_features(workdir: Path = WORKDIR_ARGUMENT) -> None:
    """Stage 2: mel spectrograms, pitch, energy and their statistics; resumable."""
    from .train.corpus import read_metadata
    from .train.features import extract_features

    total = len(read_metadata(workdir / "corpus"))
    progress, task = _progress(total, "features")
    with progress:
        stats = extract_features(workdir / "corpus", workdir / "features", progress=lambda: progress.advance(task))
    typer.echo(json.dumps(stats), err=True)


@train_app.command("fit")
def train_fit(
    workdir: Path = WORKDIR_ARGUMENT,
    arch: str = typer.Option("lightspeech", "--arch", help="Architecture preset or description."),
    steps: int = typer.Option(10000, "--steps", min=1, help="Train until this step (resumes from run/)."),
    max_frames: int = typer.Option(6000, "--max-frames", min=100, help="Frames per batch, padding included."),
    lr: float = typer.Option(1e-3, "--lr", help="Peak learning rate."),
    threads: int = typer.Option(2, "--threads", "-t", min=1, help="CPU threads."),
) -> None:
    """Stage 3: train (or continue training) the acoustic model; logs validation loss to run/log.jsonl."""
    import torch

    from .model.acoustic import ModelConfig
    from .model.arch import Architecture
    from .train.fit import fit

    try:
        Architecture.parse(arch)
    except ValueError as e:
        raise InputError(f"--arch: {e}") from None
    torch.set_num_threads(threads)
    stats = json.loads((workdir / "features" / "stats.json").read_text())
    config = ModelConfig(architecture=arch, pitch_log_std=stats["pitch_log_std"],
                         energy_log_std=stats["energy_log_std"])
    progress, task = _progress(steps, "fit")
    with progress:
        def report(step, values):
            progress.update(task, completed=step, status=f"mel {values['mel']:.3f} dur {values['duration']:.3f}")
        last = fit(workdir / "corpus", workdir / "features", workdir / "run", config, steps, max_frames, lr,
                   progress=report)
    typer.echo(f"validation: {json.dumps(last)}", err=True)


@train_app.command("export")
def train_export(
    workdir: Path = WORKDIR_ARGUMENT,
    output: Path = typer.Option(..., "--output", "-o", help="Voice folder to write."),
    name: str = typer.Option("en-us-lightspeech", "--name", help="The voice's name."),
    sentences: Optional[int] = typer.Option(None, "--sentences", help="For the model card: the corpus size asked for."),
    vocoder: str = typer.Option("hifigan", "--vocoder", help="The voice's default vocoder (checked to load)."),
) -> None:
    """Stage 4: write the trained model as a voice folder with its model card."""
    from .spectrogram import AudioConfig
    from .train.export import export_voice
    from .vocoder import load_vocoder

    load_vocoder(vocoder, AudioConfig())  # a voice never names a vocoder that does not load
    voice = export_voice(workdir, output, name, sentences, vocoder)
    typer.echo(f"voice {voice.name} written to {output}", err=True)


@train_app.command("vocoder")
def train_vocoder(
    workdir: Path = WORKDIR_ARGUMENT,
    voice: Optional[str] = typer.Option(None, "--voice", "-v",
                                        help="Voice whose predicted mels the vocoder also learns from."),
    steps: int = typer.Option(30000, "--steps", min=1, help="Train until this step (resumes from vocoder/)."),
    lr: float = typer.Option(1e-3, "--lr", help="Peak learning rate."),
    threads: int = typer.Option(2, "--threads", "-t", min=1, help="CPU threads."),
) -> None:
    """Train (or continue training) the iSTFT vocoder on the corpus; logs to vocoder/log.jsonl."""
    import torch

    from .train.vocoder import fit_vocoder
    from .voice import find_voice

    if not (workdir / "features" / "stats.json").exists():
        raise InputError(f"{workdir} has no features/stats.json; run `lightspeech train corpus` and `train features` "
                         "first")
    torch.set_num_threads(threads)
    acoustic_model = find_voice(voice).load_model()
    progress, task = _progress(steps, "vocoder")
    with progress:
        def report(step, values):
            progress.update(task, completed=step,
                            status=f"mel {values['mel']:.3f} phase {values['phase']:.3f}")
        try:
            last = fit_vocoder(workdir, acoustic_model, steps, peak_lr=lr, progress=report)
        except ValueError as e:
            raise InputError(str(e)) from None
    typer.echo(f"last log entry: {json.dumps(last)}", err=True)


@train_app.command("export-vocoder")
def train_export_vocoder(
    workdir: Path = WORKDIR_ARGUMENT,
    output: Path = typer.Option(..., "--output", "-o", help="Vocoder folder to write."),
    name: str = typer.Option("en-us-istft", "--name", help="For the model card: the vocoder's name."),
    voice: str = typer.Option("en-us-lightspeech", "--voice", help="For the model card: the voice it serves."),
) -> None:
    """Write the trained iSTFT vocoder as a folder `--vocoder` takes, with its model card."""
    from .train.vocoder import export_vocoder

    if not (workdir / "vocoder" / "checkpoint.pt").exists():
        raise InputError(f"{workdir} has no vocoder/checkpoint.pt; run `lightspeech train vocoder` first")
    export_vocoder(workdir, output, name, voice)
    typer.echo(f"vocoder {name} written to {output}", err=True)


voices_app = typer.Typer(cls=ReportingGroup, no_args_is_help=True,
                         help="List, pull, remove, inspect, export and import voices.")
app.add_typer(voices_app, name="voices")
NAME_ARGUMENT = typer.Argument(..., help="Voice name.", show_default=False)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@voices_app.command("list")
def voices_list() -> None:
    """Installed voices and the voices the manifest offers; needs no network."""
    from rich.console import Console
    from rich.table import Table

    from .registry import folder_size, read_manifest
    from .voice import DEFAULT_VOICE, embedded_voices_dir, find_voice, installed_voice_names

    table = Table()
    for column in ("name", "language", "size", "quality", "licence", "status"):
        table.add_column(column, no_wrap=column in ("name", "status"))
    listed = set()
    quality = {entry.name: entry.quality for entry in read_manifest()[1]}
    for name in installed_voice_names():
        voice = find_voice(name)
        where = "embedded" if voice.folder.parent == embedded_voices_dir() else "installed"
        table.add_row(name, voice.config.language, _megabytes(folder_size(voice.folder)), quality.get(name, ""),
                      voice.config.licence, where + (", default" if name == DEFAULT_VOICE else ""))
        listed.add(name)
    for entry in read_manifest()[1]:
        if entry.name not in listed:
            table.add_row(entry.name, entry.language, _megabytes(entry.size), entry.quality, entry.licence,
                          "available")
    Console().print(table)


@voices_app.command("info")
def voices_info(name: str = NAME_ARGUMENT) -> None:
    """A voice's configuration and model card."""
    from .registry import find_entry
    from .voice import find_voice, installed_voice_names

    if name not in installed_voice_names() and os.sep not in name:
        entry = find_entry(name)
        typer.echo(json.dumps(entry.__dict__, indent=2))
        typer.echo(f"not installed: lightspeech voices pull {name}")
        return
    voice = find_voice(name)
    typer.echo(json.dumps(voice.config.to_dict(), indent=2))
    card = voice.folder / "MODEL_CARD.md"
    if card.exists():
        typer.echo("\n" + card.read_text(encoding="utf-8"))


@voices_app.command("pull")
def voices_pull(name: str = NAME_ARGUMENT) -> None:
    """Download a voice from the mirror, verify it and install it into the cache."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    from .registry import find_entry, pull

    entry = find_entry(name)
    with Progress("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(name, total=entry.size)
        voice = pull(name, report=lambda done, total: bar.update(task, completed=done))
    typer.echo(f"installed {voice.name} in {voice.folder}", err=True)


@voices_app.command("rm")
def voices_rm(name: str = NAME_ARGUMENT) -> None:
    """Remove an installed voice from the cache."""
    from .registry import remove

    remove(name)
    typer.echo(f"removed {name}", err=True)


@voices_app.command("export")
def voices_export(
    name: str = NAME_ARGUMENT,
    output: Path = typer.Option(..., "--output", "-o", help="Archive to write (.tar.gz)."),
) -> None:
    """Pack a voice (a name or a folder) into an archive that 'voices import' and mirrors accept."""
    from .registry import export_archive, sha256_of
    from .voice import find_voice

    path = export_archive(find_voice(name), output)
    typer.echo(f"{path}  {path.stat().st_size} bytes  sha256 {sha256_of(path)}")


@voices_app.command("import")
def voices_import(
    archive: Path = typer.Argument(..., help="A voice archive made by 'voices export'.", show_default=False),
    name: Optional[str] = typer.Option(None, "--name", help="Install under this name (default: the voice's)."),
) -> None:
    """Install a voice from an archive on disk, with the same checks as a download."""
    from .registry import install_archive

    if not archive.is_file():
        raise InputError(f"cannot read {archive}: no such file")
    voice = install_archive(archive, name)
    typer.echo(f"installed {voice.name} in {voice.folder}", err=True)


@app.command()
def cache(clean: bool = typer.Option(False, "--clean", help="Delete downloads and compiled models (not voices)."),
          clean_all: bool = typer.Option(False, "--all", help="With --clean, delete installed voices too.")) -> None:
    """Show what the cache holds, or clean it."""
    import shutil

    from .paths import cache_dir
    from .registry import folder_size

    root = cache_dir()
    parts = ["downloads", "compiled", "vocoders", "voices"]
    if clean:
        for part in parts if clean_all else parts[:-1]:
            shutil.rmtree(root / part, ignore_errors=True)
    typer.echo(f"cache: {root}")
    for part in parts:
        typer.echo(f"  {part:<10} {_megabytes(folder_size(root / part))}")
