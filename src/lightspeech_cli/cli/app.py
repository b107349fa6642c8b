"""The `lightspeech` application: its group, which reports every failure as one line and a
documented exit status (the package's docstring lists them), and `sub_app` for command groups."""

from __future__ import annotations

import errno
import io
import os
import sys

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import LightspeechError, OutputError
from ..paths import shown

EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE, EXIT_USAGE = 70, 130, 141, 2


def fail(message: str, code: int) -> None:
    """One line whatever the message holds (a library's error may span several)."""
    message = " ".join(line.strip() for line in message.splitlines())
    typer.echo(f"lightspeech: error: {message}", err=True)
    sys.exit(code)


class ReaderGone(Exception):
    """The reader of standard output went away (a closed pipe). Not an OSError, so that
    click, which ends an EPIPE with status 1 and no word, lets it through to us."""


class Interrupted(Exception):
    """Ctrl-C during a command. Not a KeyboardInterrupt, which typer turns into a bare exit
    status 130 (no word, and 0 under `python -m`) before ReportingGroup.main sees it."""


class _StandardOutput(io.RawIOBase):
    """File descriptor 1 as sys.stdout writes it, so a failed write is reported one way
    whoever made it (a command, click's --help): a reader that went away is ReaderGone, a
    full disk or a closed descriptor an OutputError. After the first failure the rest is
    dropped, so the final flush at exit does not fail again."""

    failed = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return 1

    def isatty(self) -> bool:
        return os.isatty(1)

    def write(self, data) -> int:
        if self.failed:
            return len(data)
        try:
            return os.write(1, data)
        except OSError as e:
            self.failed = True
            if e.errno == errno.EPIPE:
                raise ReaderGone() from None
            raise OutputError(f"cannot write to standard output: {e.strerror or e}") from None


def _hold(fd: int, flags: int) -> None:
    """Open /dev/null on `fd` if it is closed, so no file lightspeech opens lands there and
    receives what is printed (with O_RDONLY on 1, every write fails: EBADF)."""
    try:
        os.fstat(fd)
    except OSError:
        held = os.open(os.devnull, flags)
        if held != fd:
            os.dup2(held, fd)
            os.close(held)


def _guard_standard_streams() -> None:
    """Route the real standard output through _StandardOutput. Left alone when sys.stdout
    is not descriptor 1 (a test's CliRunner, a program embedding the CLI)."""
    if isinstance(getattr(getattr(sys.stdout, "buffer", None), "raw", None), _StandardOutput):
        return  # guarded already: the CLI ran before in this process
    try:
        if sys.stdout is not None and sys.stdout.fileno() != 1:
            return
    except (OSError, ValueError):  # no descriptor at all
        return
    _hold(1, os.O_RDONLY)  # closed (>&-): output is an error, as in any shell tool
    _hold(2, os.O_WRONLY)  # closed (2>&-): messages are dropped, as asked
    original = sys.stdout
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(_StandardOutput()),
        encoding=getattr(original, "encoding", None) or "utf-8",
        errors=getattr(original, "errors", None) or "strict",
        line_buffering=getattr(original, "line_buffering", False),
    )


def _quiet_stdout() -> None:
    """After the reader of stdout went away, point stdout at /dev/null so Python's final
    flush does not fail again (the advice of Python's signal documentation)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


class ReportingGroup(TyperGroup):
    """Every failure below becomes one `lightspeech: error:` line and a documented exit
    status: the user's errors, usage errors, a closed pipe, Ctrl-C, and bugs."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from .common import Verbosity

        _guard_standard_streams()
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            sys.stdout.flush()  # here, so a full disk is reported like any other error
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
        except (typer.Abort, Interrupted, KeyboardInterrupt):  # KeyboardInterrupt: while flushing stdout
            typer.echo("lightspeech: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except ReaderGone:
            _quiet_stdout()
            sys.exit(EXIT_BROKEN_PIPE)
        except Exception as e:  # noqa: BLE001 - a bug, but for one thing any path from the user can cause
            if isinstance(e, OSError) and e.errno == errno.ENAMETOOLONG:
                fail(f"{e.strerror}: {shown(e.filename, 200)}", EXIT_USAGE)
            if Verbosity.verbose:
                raise
            fail(
                f"internal error: {type(e).__name__}: {str(e)[:300]} (run again with --verbose for the traceback, "
                "and please report it)",
                EXIT_INTERNAL,
            )

    def invoke(self, ctx):
        """Every command runs in here: Ctrl-C leaves as Interrupted, which typer lets through."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted() from None


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
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Offline English text-to-speech with LightSpeech models."""


def sub_app(help_text: str) -> typer.Typer:
    """A command group (voices, train) that reports errors the same way."""
    return typer.Typer(
        cls=TyperGroup,
        no_args_is_help=True,
        help=help_text,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
