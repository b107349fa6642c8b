"""The `lightspeech` command: parses arguments, calls the library, reports.

Heavy imports (torch, the models) happen inside the commands that need them, so
`lightspeech --help` and `lightspeech phonemize` start fast.
"""

from __future__ import annotations

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
                              exists=False, dir_okay=False)


def read_text(text: Optional[str]) -> str:
    """The text from the argument or stdin, checked for what we cannot speak."""
    from .text import MAX_TEXT_CHARS

    if text is None or text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError("no text: give it as an argument or on standard input")
        data = sys.stdin.buffer.read(MAX_TEXT_CHARS * 4 + 1)
        if b"\x00" in data:
            raise InputError("the input is binary, not text")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"the input is not UTF-8 text (bad byte at offset {e.start})") from None
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
