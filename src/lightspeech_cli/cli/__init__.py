"""The `lightspeech` command. Each module here parses one group of commands, calls the
library and prints; none holds logic of its own.

    speak.py    say, render, phonemize
    voices.py   voices list|info|pull|rm|export|import, cache
    profile.py  profile
    train.py    train corpus|features|fit|export|vocoder|export-vocoder
    search.py   search
    serve.py    serve

Exit status: 0 success; 1 some utterances of a render had nothing to say, or another
error; 2 bad input or usage; 3 output not writable; 4 no audio device; 5 voice or
vocoder missing or corrupt; 70 an internal error (a bug: please report it); 130
interrupted; 141 the reader of standard output went away.
"""

from __future__ import annotations

import os
import sys

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import LightspeechError, OutputError

EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE, EXIT_USAGE = 70, 130, 141, 2


def fail(message: str, code: int) -> None:
    typer.echo(f"lightspeech: error: {message}", err=True)
    sys.exit(code)


def _quiet_stdout() -> None:
    """After the reader of stdout went away, point stdout at /dev/null so Python's final
    flush does not fail again (the advice of Python's signal documentation)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _flush_stdout() -> None:
    """Flushed here, so a closed pipe or a full disk is reported like any other error."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        raise OutputError(f"cannot write to standard output: {e.strerror or e}") from None


class ReportingGroup(TyperGroup):
    """Every failure below becomes one `lightspeech: error:` line and a documented exit
    status: the user's errors, usage errors, a closed pipe, Ctrl-C, and bugs."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from .common import Verbosity

        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            _flush_stdout()
            return result
        except LightspeechError as e:
            fail(str(e), e.exit_code)
        except typer.Exit as e:
            sys.exit(e.exit_code)
        except typer.TyperException as e:  # click's usage errors, as Typer (>= 0.27) ships them
            if type(e).__name__ == "NoArgsIsHelpError":
                typer.echo(e.format_message())
                sys.exit(EXIT_USAGE)
            ctx = getattr(e, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None and e.exit_code == EXIT_USAGE else ""
            fail(f"{e.format_message()}{hint}", e.exit_code)
        except (typer.Abort, KeyboardInterrupt):
            typer.echo("lightspeech: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(EXIT_BROKEN_PIPE)
        except Exception as e:  # noqa: BLE001 - a bug: one line, and the traceback with --verbose
            if Verbosity.verbose:
                raise
            fail(f"internal error: {type(e).__name__}: {str(e)[:300]} (run again with --verbose for the traceback, "
                 "and please report it)", EXIT_INTERNAL)


app = typer.Typer(
    cls=ReportingGroup,
    help="Offline English text-to-speech with LightSpeech models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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


def sub_app(help_text: str) -> typer.Typer:
    """A command group (voices, train) that reports errors the same way."""
    return typer.Typer(cls=TyperGroup, no_args_is_help=True, help=help_text, rich_markup_mode=None,
                       context_settings={"help_option_names": ["-h", "--help"]})


from . import speak, render, voices, profile, train, search, serve  # noqa: E402,F401,I001 - each adds its commands to `app`, in this order
