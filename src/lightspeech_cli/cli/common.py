"""What the commands share: reading text, making a synthesizer, and how the CLI talks to
the user (one `error:` line, --quiet and --verbose); options.py holds the shared options.

Nothing heavy is imported here: `lightspeech --help` and `phonemize` start fast.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError

# --- talking to the user ---------------------------------------------------------------------


class Verbosity:
    """-q silences progress and summaries; --verbose adds details; errors always show."""

    quiet = False
    verbose = False


def finite(value: float | None) -> float | None:
    """A callback for float options: click's ranges let "nan" through (every comparison with
    it is false), and a NaN learning rate or weight would train a model of NaNs."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, not {value}")
    return value


def training_folder(path: Path) -> Path:
    """A callback for a training folder: a folder, or a path where one can be made; not a
    file, a FIFO or a link to nothing."""
    if path.is_symlink() and not path.exists():
        raise typer.BadParameter(f"{path} is a link to nothing; give a training folder")
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(f"{path} is not a folder; give a training folder")
    return path


def set_verbosity(quiet: bool, verbose: bool) -> None:
    if quiet and verbose:
        raise InputError("--quiet and --verbose contradict each other; choose one")
    Verbosity.quiet, Verbosity.verbose = quiet, verbose


def out(message: str) -> None:
    """A line of the output asked for, on stdout; a full disk is one OutputError (a closed
    pipe stays a BrokenPipeError, which the CLI ends quietly)."""
    try:
        typer.echo(message)
    except BrokenPipeError:
        raise
    except OSError as e:
        from ..errors import OutputError

        raise OutputError(f"cannot write to standard output: {e.strerror or e}") from None


def info(message: str) -> None:
    """A summary line on stderr, unless --quiet."""
    if not Verbosity.quiet:
        typer.echo(message, err=True)


def warn(message: str) -> None:
    """Something the user asked for that is skipped (unknown SSML), unless --quiet."""
    if not Verbosity.quiet:
        typer.echo(f"lightspeech: warning: {message}", err=True)


def detail(message: str) -> None:
    """A line for --verbose only."""
    if Verbosity.verbose:
        typer.echo(f"lightspeech: {message}", err=True)


def show_progress() -> bool:
    return not Verbosity.quiet and sys.stderr is not None and sys.stderr.isatty()


def print_table(
    columns: list[str], rows: list[list[str]], title: str | None = None, right: frozenset[str] = frozenset()
) -> None:
    """A Rich table on a terminal; when stdout is a pipe or a file, plain space-aligned
    columns with every value whole (Rich would fit them into 80 columns and cut them),
    so grep, awk and cut see what the table says. `right`: the columns of numbers."""
    if sys.stdout is not None and sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, justify="right" if column in right else "left")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    if title:
        out(title)
    widths = [max(len(value) for value in [column] + [row[i] for row in rows]) for i, column in enumerate(columns)]
    for row in [columns] + rows:
        cells = (v.rjust(w) if c in right else v.ljust(w) for v, w, c in zip(row, widths, columns, strict=True))
        out("  ".join(cells).rstrip())


# --- typed choices: a bad value is a usage error before anything loads -------------------------


# --- options shared by say, render and serve ---------------------------------------------------


def controls(speed: Optional[float], rate: Optional[float], pitch: float, energy: float, volume: float):
    """The synthesis controls, checked; the speed as a factor (--speed) or in words per minute (--rate)."""
    from ..runtime.synthesizer import Controls, words_per_minute_to_speed

    if speed is not None and rate is not None:
        raise InputError("give --speed or --rate, not both: they set the same thing")
    if rate is not None:
        speed = words_per_minute_to_speed(rate)
    return Controls(1.0 if speed is None else speed, pitch, energy, volume).check(prefix="--")


def load_phonemizer(lexicon: Optional[Path]):
    """The G2P with the user's lexicon: --lexicon, else lexicon.txt in the config folder."""
    from ..paths import default_lexicon_path
    from ..text.g2p import Phonemizer, read_lexicon

    path = lexicon or default_lexicon_path()
    if lexicon is None and not path.exists():
        return Phonemizer()
    return Phonemizer(read_lexicon(path, regular_only=lexicon is None))


def make_synthesizer(voice, vocoder, backend, threads, lexicon):
    import time

    from ..runtime.synthesizer import Synthesizer

    start = time.perf_counter()
    synthesizer = Synthesizer(
        voice,
        vocoder=vocoder,
        backend=backend.value if backend else None,
        threads=threads,
        phonemizer=load_phonemizer(lexicon),
    )
    detail(
        f"loaded voice {voice.name} ({voice.folder}) and vocoder {synthesizer.vocoder_name} on "
        f"{backend.value if backend else 'onnx'} in {time.perf_counter() - start:.2f} s"
    )
    return synthesizer


def read_text(text: Optional[str]) -> str:
    """The text from the argument, or all of stdin, checked for what we cannot speak."""
    from ..text import MAX_TEXT_CHARS, decode_input

    if text is None or text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError("no text: give it as an argument or on standard input")
        data = sys.stdin.buffer.read(MAX_TEXT_CHARS * 4 + 1)
        if len(data) > MAX_TEXT_CHARS * 4:
            raise InputError(
                f"the input is too long (more than {MAX_TEXT_CHARS:,} characters); split it into lines "
                "and use 'lightspeech render', or pipe it to 'lightspeech say', which reads line by line"
            )
        text = decode_input(data, "the input")
    return check_text(text)


def check_text(text: str, where: str = "the text") -> str:
    from ..text import MAX_TEXT_CHARS

    if "\x00" in text:
        raise InputError(f"{where} is binary, not text")
    if not text.strip():
        raise InputError(f"no text: {'the input' if where == 'the text' else where} is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(
            f"{where} is too long ({len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}): "
            "split it into lines and use 'lightspeech render'"
        )
    return text
