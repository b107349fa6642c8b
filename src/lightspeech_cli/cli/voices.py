"""voices list|info|pull|rm|export|import, and cache: parse, call the registry, print."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import InputError
from .app import app, sub_app
from .common import info, out, set_verbosity, show_progress
from .options import QUIET, VERBOSE

voices_app = sub_app("List, pull, remove, inspect, export and import voices.")
app.add_typer(voices_app, name="voices")
NAME = typer.Argument(..., help="Voice name.", show_default=False)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def print_table(columns: list[str], rows: list[list[str]]) -> None:
    """A table on a terminal; plain, uncut, space-aligned columns when piped."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table()
        for column in columns:
            table.add_column(column, no_wrap=column in ("name", "status"))
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    widths = [max(len(str(v)) for v in [c] + [r[i] for r in rows]) for i, c in enumerate(columns)]
    for row in [columns] + rows:
        out("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@voices_app.command("list")
def voices_list(as_json: bool = JSON, quiet: bool = QUIET, verbose: bool = VERBOSE) -> None:
    """Installed voices and the voices the manifest offers; needs no network."""
    from ..errors import VoiceError
    from ..runtime.format.folder import holds_config
    from ..runtime.format.voice import (
        DEFAULT_VOICE,
        Voice,
        embedded_voices_dir,
        installed_voice_names,
        installed_voices_dir,
    )
    from ..runtime.registry import folder_size, read_manifest

    set_verbosity(quiet, verbose)
    entries = read_manifest()[1]
    quality = {entry.name: entry.quality for entry in entries}
    listed: list[dict[str, Any]] = []
    for name in installed_voice_names():
        folder = installed_voices_dir() / name
        where = "installed"
        if not holds_config(folder):
            folder, where = embedded_voices_dir() / name, "embedded"
        row = {
            "name": name,
            "size": folder_size(folder),
            "quality": quality.get(name, ""),
            "status": where + (", default" if name == DEFAULT_VOICE else ""),
            "folder": str(folder),
        }
        try:
            voice = Voice(folder)
            row.update(language=voice.config.language, licence=voice.config.licence)
        except VoiceError as e:
            row.update(language="", licence="", status=f"broken: {e}")
        listed.append(row)
    names = {row["name"] for row in listed}
    for entry in entries:
        if entry.name not in names:
            listed.append(
                {
                    "name": entry.name,
                    "language": entry.language,
                    "size": entry.size,
                    "quality": entry.quality,
                    "licence": entry.licence,
                    "status": "available",
                    "folder": None,
                }
            )
    if as_json:
        out(json.dumps(listed, indent=2))
        return
    print_table(
        ["name", "language", "size", "quality", "licence", "status"],
        [[r["name"], r["language"], _megabytes(r["size"]), r["quality"], r["licence"], r["status"]] for r in listed],
    )


@voices_app.command("info")
def voices_info(name: str = NAME, as_json: bool = JSON, quiet: bool = QUIET, verbose: bool = VERBOSE) -> None:
    """A voice's configuration and model card (or its manifest entry if not installed)."""
    from ..paths import checked_name, read_limited, terminal_text
    from ..runtime.format.folder import MODEL_CARD_FILE, looks_like_path
    from ..runtime.format.voice import find_voice, installed_voice_names
    from ..runtime.registry import MAX_ARCHIVE_MEMBER, find_entry

    set_verbosity(quiet, verbose)
    if not looks_like_path(name) and checked_name(name, error=InputError) not in installed_voice_names():
        entry = find_entry(name)
        if as_json:
            out(json.dumps({**entry.__dict__, "installed": False}, indent=2))
        else:
            out(json.dumps(entry.__dict__, indent=2))
            out(f"not installed: lightspeech voices pull {name}")
        return
    voice = find_voice(name)
    card_path = voice.folder / MODEL_CARD_FILE
    card = ""
    if card_path.is_file():
        card = read_limited(card_path, MAX_ARCHIVE_MEMBER, str(card_path)).decode("utf-8", errors="replace")
    if as_json:  # JSON escapes control characters itself
        out(
            json.dumps(
                {"folder": str(voice.folder), "installed": True, "config": voice.config.to_dict(), "model_card": card},
                indent=2,
            )
        )
        return
    out(json.dumps(voice.config.to_dict(), indent=2))
    if card:
        out("\n" + terminal_text(card))  # an archive's card must not send escape sequences to the terminal


@voices_app.command("pull")
def voices_pull(name: str = NAME, quiet: bool = QUIET, verbose: bool = VERBOSE) -> None:
    """Download a voice from the mirror, verify it and install it into the cache."""
    from ..runtime.registry import find_entry, pull

    set_verbosity(quiet, verbose)
    entry = find_entry(name)
    if show_progress():
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

        with Progress(
            "{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar:
            task = bar.add_task(name, total=entry.size)
            voice = pull(name, report=lambda done, total: bar.update(task, completed=done))
    else:
        voice = pull(name)
    info(f"installed {name} in {voice.folder}")


@voices_app.command("rm")
def voices_rm(name: str = NAME, quiet: bool = QUIET, verbose: bool = VERBOSE) -> None:
    """Remove an installed voice from the cache (by name; never a folder elsewhere)."""
    from ..runtime.registry import remove

    set_verbosity(quiet, verbose)
    remove(name)
    info(f"removed {name}")


@voices_app.command("export")
def voices_export(
    name: str = NAME,
    output: Path = typer.Option(..., "--output", "-o", help="Archive to write (.tar.gz)."),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Pack a voice (a name or a folder) into an archive that 'voices import' and mirrors accept."""
    from ..runtime.format.voice import find_voice
    from ..runtime.registry import export_archive, sha256_of

    set_verbosity(quiet, verbose)
    if str(output) == "-":  # elsewhere "-o -" is standard output; an archive is a file, named and hashed
        raise InputError("voices export writes a file: give -o NAME.tar.gz, not -")
    path = export_archive(find_voice(name), output)
    out(f"{path}  {path.stat().st_size} bytes  sha256 {sha256_of(path)}")


@voices_app.command("import")
def voices_import(
    archive: Path = typer.Argument(..., help="A voice archive made by 'voices export'.", show_default=False),
    name: Optional[str] = typer.Option(None, "--name", help="Install under this name (default: the voice's)."),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Install a voice from an archive on disk, with the same checks as a download."""
    from ..runtime.registry import install_archive

    set_verbosity(quiet, verbose)
    if not os.path.isfile(archive):  # False too for a name too long to exist
        if os.path.isdir(archive):
            raise InputError(f"cannot read {archive}: it is a folder; give the .tar.gz that 'voices export' made")
        problem = "not a regular file" if os.path.exists(archive) else "no such file"
        raise InputError(f"cannot read {archive}: {problem}")
    voice = install_archive(archive, name)
    info(f"installed {voice.folder.name} in {voice.folder}")


@app.command()
def cache(
    clean: bool = typer.Option(False, "--clean", help="Delete compiled models, downloads and leftovers (not voices)."),
    clean_all: bool = typer.Option(False, "--all", help="With --clean, delete installed voices too."),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Show what the cache holds, or clean it."""
    from ..paths import cache_dir, readable_folder
    from ..runtime.registry import CACHE_PARTS, clean_cache, folder_size

    set_verbosity(quiet, verbose)
    if clean_all and not clean:
        raise InputError("--all only means something with --clean: lightspeech cache --clean --all")
    root = cache_dir()
    if clean:
        removed = clean_cache(include_voices=clean_all)
        info(f"removed {', '.join(removed) or 'nothing'} from {root}")
    sizes = {part: folder_size(readable_folder(root / part)) for part in CACHE_PARTS}
    out(f"cache: {root}")
    for part, size in sizes.items():
        out(f"  {part:<10} {_megabytes(size)}")
