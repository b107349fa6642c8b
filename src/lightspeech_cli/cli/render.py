"""render: many utterances to numbered audio files and a manifest; parse, call
runtime.render, report."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError
from .app import app
from .common import controls, detail, info, make_synthesizer, set_verbosity, show_progress
from .options import (
    BACKEND,
    ENERGY,
    LEXICON,
    PITCH,
    QUIET,
    RATE,
    SAMPLE_RATE,
    SENTENCE_SILENCE,
    SPEED,
    THREADS,
    VERBOSE,
    VOCODER,
    VOICE,
    VOLUME,
    AudioFormat,
    Backend,
    CaptionFormat,
)


@app.command()
def render(
    input_file: str = typer.Argument(
        ...,
        metavar="INPUT",
        help="Text file (one utterance per line), JSON Lines (.jsonl, .ndjson), or '-' for standard input.",
        show_default=False,
    ),
    output_dir: str = typer.Option(
        ..., "--output", "-o", metavar="FOLDER", help="Folder for the audio files and manifest.jsonl."
    ),
    paragraphs: bool = typer.Option(False, "--paragraphs", help="One utterance per paragraph (blank-line separated)."),
    json_lines: bool = typer.Option(False, "--jsonl", help="Read the input as JSON Lines whatever its name."),
    audio_format: AudioFormat = typer.Option(
        AudioFormat.wav, "--format", "-F", case_sensitive=False, help="Audio format of the numbered files."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Render everything again, even what is up to date."),
    voice: Optional[str] = VOICE,
    vocoder: Optional[str] = VOCODER,
    backend: Optional[Backend] = BACKEND,
    threads: Optional[int] = THREADS,
    speed: Optional[float] = SPEED,
    rate: Optional[float] = RATE,
    pitch: float = PITCH,
    energy: float = ENERGY,
    volume: float = VOLUME,
    sentence_silence: float = SENTENCE_SILENCE,
    sample_rate: Optional[int] = SAMPLE_RATE,
    lexicon: Optional[Path] = LEXICON,
    captions: Optional[CaptionFormat] = typer.Option(
        None,
        "--captions",
        case_sensitive=False,
        show_default=False,
        help="Also write each file's word timings as captions beside it (0001.srt), and into manifest.jsonl.",
    ),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Render many utterances to numbered files plus a manifest.

    Input is text (one utterance per non-empty line, or per paragraph) or JSON Lines
    ({"text": ..., "file": ..., "speed": ..., "pitch": ..., "energy": ..., "volume": ...}).
    Files whose text and settings are unchanged are kept, so a killed render resumes
    where it stopped and an edited input redoes only what changed.
    """
    from ..runtime import audio
    from ..runtime.engine import check_threads
    from ..runtime.format.voice import find_voice
    from ..runtime.render import RenderFailures, render_jobs
    from ..runtime.render_jobs import JSON_LINES_SUFFIXES, read_input, read_jobs
    from ..runtime.synthesizer import check_silence

    set_verbosity(quiet, verbose)
    if not output_dir:  # Path("") would be the current folder
        raise InputError("-o needs a folder, not an empty name")
    chosen = controls(speed, rate, pitch, energy, volume)
    check_threads(threads, "--threads")
    check_silence(sentence_silence, "--sentence-silence")
    audio.check_sample_rate(sample_rate, "--sample-rate")
    if audio_format.value != "wav" and f".{audio_format.value}" not in audio.supported_formats():
        raise InputError(
            f"this libsndfile cannot write {audio_format.value}; use "
            f"{', '.join(f[1:] for f in audio.supported_formats())}"
        )
    path = None if input_file == "-" else Path(input_file)
    content, source = read_input(path)
    is_json_lines = json_lines or (path is not None and path.suffix.lower() in JSON_LINES_SUFFIXES)
    if is_json_lines and paragraphs:
        raise InputError("--paragraphs is for text; JSON Lines has one utterance per line")
    jobs = read_jobs(content, source, is_json_lines, paragraphs, audio_format.value, chosen)
    for extension in sorted({Path(job.file).suffix.lower() for job in jobs}):
        audio.check_encodable(extension, sample_rate, "--sample-rate")
    synthesizer = make_synthesizer(find_voice(voice), vocoder, backend, threads, lexicon)
    # Whether words are timed is part of every key (their timings are kept in the manifest);
    # which caption format is not: captions are made from the manifest.
    settings = f"{synthesizer.identity()}\0{sample_rate}\0{sentence_silence}\0{lexicon_identity(lexicon)}" + (
        "\0timed" if captions else ""
    )
    progress = ProgressBar(len(jobs)) if show_progress() else None
    try:
        with progress or nullcontext():
            report = render_jobs(
                jobs,
                Path(output_dir),
                synthesizer,
                settings,
                overwrite,
                sentence_silence,
                sample_rate,
                progress=progress.update if progress else None,
                captions=captions.value if captions else None,
            )
    except RenderFailures as failures:
        for line in failures.report.failed:
            detail(f"skipped {line}")
        raise
    _summary(report, Path(output_dir))


def lexicon_identity(lexicon: Optional[Path]) -> str:
    """The lexicon's part of every file's key: a digest of its content (the settings are
    hashed once per file, so a lexicon of megabytes would cost that much per file), or
    "" when there is no lexicon."""
    import hashlib

    from ..paths import default_lexicon_path
    from ..text.g2p import lexicon_bytes

    path = lexicon or default_lexicon_path()
    if lexicon is None and not path.exists():
        return ""
    return hashlib.sha256(lexicon_bytes(path, regular_only=lexicon is None)).hexdigest()


def _summary(report, folder: Path) -> None:
    info(
        f"{report.files} files, {report.audio_seconds:.1f} s of audio in {folder} ({report.kept} already there, "
        f"{report.moved} moved, {report.made} made); real-time factor {report.real_time_factor:.3f}"
    )


class ProgressBar:
    """rich's progress bar on stderr, only on a terminal."""

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("rendering"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.task = self.progress.add_task("rendering", total=total)

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def update(self, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=total)
