"""Reading the files of a voice or vocoder folder, which may come from anywhere: each one is
a regular file (never a FIFO that would hang the read), and a config is small JSON, UTF-8,
with no key twice (a second "name" must not silently win). Problems are one VoiceError."""

from __future__ import annotations

import stat
from pathlib import Path

from ...errors import InputError, VoiceError
from ...paths import parse_json, read_limited, shown

MAX_CONFIG_BYTES = 64 * 1024


def check_folder(folder: Path, what: str) -> None:
    """Refuse `folder` unless it is a folder. A path the system cannot look up (a name
    too long, a folder not searchable) is one InputError, not an OSError from deep inside."""
    try:
        found = folder.is_dir()
    except OSError as e:
        raise InputError(f"cannot use {shown(str(folder), 100)} as a {what} folder: {e.strerror or e}") from None
    if not found:
        raise VoiceError(f"no {what} folder at {folder}")


def regular_file(path: Path) -> Path:
    """`path` if it is a regular file (links followed). Files in a folder the user names
    are opened only after this: a FIFO would wait for a writer forever, a device might
    never end. A missing file stays a FileNotFoundError, for the caller to word."""
    if not stat.S_ISREG(path.stat().st_mode):
        raise VoiceError(f"{path} is not a regular file (a folder, FIFO, device or socket)")
    return path


def check_file(path: Path, owner: str) -> None:
    """That a file `owner` (a voice or vocoder) needs is there and is a regular file."""
    try:
        regular_file(path)
    except FileNotFoundError:
        raise VoiceError(f"{owner}: {path} is missing") from None
    except OSError as e:
        raise VoiceError(f"{owner}: cannot read {path}: {e.strerror or e}") from None


def read_json(path: Path, what: str) -> object:
    """A folder's small JSON file (config.json), on top of paths.read_limited and parse_json:
    at most MAX_CONFIG_BYTES, duplicate keys refused."""

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        duplicated = next((k for k in keys if keys.count(k) > 1), None)
        if duplicated is not None:
            raise ValueError(f"duplicate key {shown(duplicated)}")
        return dict(pairs)

    try:
        regular_file(path)
    except FileNotFoundError:
        raise VoiceError(f"{path.parent} is not a {what}: it has no {path.name}") from None
    except OSError as e:
        raise VoiceError(f"cannot read {path}: {e.strerror or e}") from None
    data = read_limited(path, MAX_CONFIG_BYTES, f"{path} (a {what})", error=VoiceError)
    try:
        return parse_json(data.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise VoiceError(f"{path} is corrupt: {e}") from None
