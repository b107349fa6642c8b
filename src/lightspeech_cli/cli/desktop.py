"""desktop install|uninstall: register the speech-dispatcher module for this user."""

from __future__ import annotations

from typing import Optional

import typer

from .app import app, sub_app
from .common import info, out, set_verbosity
from .options import QUIET, VERBOSE

desktop_app = sub_app("Make lightspeech the Linux desktop's voice (speech-dispatcher, for Orca and spd-say).")
app.add_typer(desktop_app, name="desktop")
RESTART = (
    "restart speech-dispatcher to load it: pkill -x speech-dispatcher (programs start it again "
    "when they speak), then try: spd-say -o lightspeech 'Hello'"
)


@desktop_app.command("install")
def desktop_install(
    make_default: bool = typer.Option(
        False, "--default", help="Make lightspeech the voice of every program that does not choose one (Orca too)."
    ),
    voice: Optional[str] = typer.Option(
        None,
        "--voice",
        "-v",
        show_default=False,
        help="The voice to speak with (a name or a folder); the default voice if left out.",
    ),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Register the speech-dispatcher module `sd_lightspeech` for this user, without root."""
    from ..desktop.install import Places, install

    set_verbosity(quiet, verbose)
    for line in install(Places.of_user(), make_default, voice):
        out(line)
    info(RESTART)


@desktop_app.command("uninstall")
def desktop_uninstall(quiet: bool = QUIET, verbose: bool = VERBOSE) -> None:
    """Remove what `desktop install` added; other modules and settings stay as they are."""
    from ..desktop.install import Places, uninstall

    set_verbosity(quiet, verbose)
    done = uninstall(Places.of_user())
    for line in done or ["nothing to remove: the module is not installed for this user"]:
        out(line)
    if done:
        info("restart speech-dispatcher for the change to take effect: pkill -x speech-dispatcher")
