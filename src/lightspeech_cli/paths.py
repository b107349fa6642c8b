"""Where lightspeech keeps its files, and the only ways it writes and deletes them.

    config_dir()   lexicon.txt (your pronunciations), config.json (e.g. "mirror")
    cache_dir()    voices/ (installed voices), compiled/ (models compiled for this machine),
                   downloads/ (archives being downloaded), locks/ (one pull or import of a
                   voice at a time), frontend/ (the pronouncing dictionary, sorted once)

LIGHTSPEECH_HOME overrides both (HOME/config, HOME/cache: tests, portable installs);
otherwise they follow the platform's conventions (platformdirs: ~/.config/lightspeech
and ~/.cache/lightspeech on Linux). Where lightspeech looks into them, a folder it cannot
read is one InputError naming it (`readable_folder`).

Four rules hold everywhere:
- a name that becomes a path (a voice, a vocoder) is one safe component: `checked_name`;
- nothing is deleted unless it lies inside the folder it belongs to: `remove_inside`;
- only a regular file (or nothing) is ever replaced by a write: never a folder, a FIFO,
  a device or a socket: `check_replaceable`;
- a file is written under a temporary name beside its target and renamed into place,
  with the mode the user's umask gives a new file: `atomic_write`. A killed write
  leaves only a `.NAME.XXXXXXXX.part` file, which `sweep_stale_parts` removes later.

Files the user names are read with a bound (`read_limited`), so /dev/zero or a huge
file is one clear error rather than a machine out of memory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
import time
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

from .errors import InputError, LightspeechError, OutputError

PART_SUFFIX = ".part"
# A staging file this old belongs to a killed process, not to one still writing.
STALE_PART_SECONDS = 600
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def config_dir() -> Path:
    if home := os.environ.get("LIGHTSPEECH_HOME"):
        return Path(home) / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir("lightspeech"))


def cache_dir() -> Path:
    if home := os.environ.get("LIGHTSPEECH_HOME"):
        return Path(home) / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("lightspeech"))


def default_lexicon_path() -> Path:
    return readable_folder(config_dir()) / "lexicon.txt"


def readable_folder(folder: Path) -> Path:
    """`folder` (lightspeech's cache or config folder, or one in it; it need not exist yet)
    once lightspeech can look inside it: every folder on the way to it can be searched, and
    the last of them that exists listed. Else one InputError naming it, where a lookup would
    raise PermissionError from deep inside a command. A file where a folder should be is left
    to the lookups, which find nothing there, and to the writers, which say why they cannot."""
    found = None
    for step in [*reversed(folder.parents), folder]:
        try:
            is_folder = stat.S_ISDIR(os.stat(step).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            break
        except OSError as e:  # the folder before it cannot be searched
            raise InputError(_unreadable(folder, found or step, e)) from None
        if not is_folder:
            break
        found = step
    if found is not None:
        try:
            os.stat(os.path.join(found, "."))  # "." is looked up in `found`: that needs it searchable
            os.scandir(found).close()
        except OSError as e:
            raise InputError(_unreadable(folder, found, e)) from None
    return folder


def _unreadable(folder: Path, culprit: Path, e: OSError) -> str:
    where = "" if culprit == folder else f"{culprit}: "
    return (
        f"cannot read the lightspeech folder {folder}: {where}{e.strerror or e}; "
        "set LIGHTSPEECH_HOME to a folder you own"
    )


def shown(value: object, limit: int = 60) -> str:
    """A value from outside, quoted for one line of an error: escapes, newlines and
    terminal codes printed as escapes, long values cut."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...'"


def terminal_text(text: str) -> str:
    """Text from outside (a model card) made safe to print: control and format characters
    (terminal escape sequences, carriage returns, bidirectional overrides) are dropped,
    newlines and tabs kept."""
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf"))


def checked_name(name: object, what: str = "voice name", error: type[Exception] = LightspeechError) -> str:
    """`name` if it is one safe path component: lower-case letters, digits, '.', '_' and
    '-', starting with a letter or digit, at most 64 characters, no '..'."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise error(
            f"invalid {what} {shown(name)}: use lower-case letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit, at most 64 characters)"
        )
    return name


def is_inside(path: Path, root: Path) -> bool:
    """Whether `path` (its real location, links followed) lies strictly inside `root`."""
    real, real_root = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    return real != real_root and real_root in real.parents


def remove_inside(path: Path, root: Path) -> None:
    """Delete the file or folder `path`, refusing unless it lies inside `root`. A link is
    removed itself, never what it points to."""
    if path.is_symlink():
        if Path(os.path.realpath(path.parent)) != Path(os.path.realpath(root)) and not is_inside(path.parent, root):
            raise LightspeechError(f"refusing to delete {path}: it is outside {root}")
        path.unlink()
        return
    if not is_inside(path, root):
        raise LightspeechError(f"refusing to delete {path}: it is outside {root}")
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def umask() -> int:
    return _UMASK


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread starts.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def new_file_mode(existing: Path | None = None) -> int:
    """The mode a written file gets: an overwritten file keeps its own permissions, a new
    one gets what the umask allows (0644 under the usual 022)."""
    if existing is not None:
        try:
            return stat.S_IMODE(existing.stat().st_mode)
        except OSError:
            pass
    return 0o666 & ~umask()


def write_target(path: Path) -> Path:
    """Where writing `path` really goes: through a link to the file it names, as `cp` and
    shells do, so a link the user made stays a link."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


def check_writable(path: Path) -> None:
    """Fail before the work, not after, when `path` cannot be written: its folder missing or
    not writable, or something there that is not a regular file."""
    if "\0" in str(path):
        raise InputError(f"cannot write {shown(str(path))}: a file name cannot hold a NUL character")
    target = write_target(path)
    folder = target.parent
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    check_replaceable(target)
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {path}: folder {folder} is not writable")


def check_replaceable(path: Path) -> None:
    """Refuse to write `path` unless it is a regular file or does not exist: renaming a
    file over a FIFO, a device (as root, /dev/full) or a socket would replace it."""
    try:
        mode = os.stat(path).st_mode  # through a link: `path` is the link's target to writers
    except FileNotFoundError:
        return
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    if stat.S_ISDIR(mode):
        raise OutputError(f"cannot write {path}: it is a folder")
    if not stat.S_ISREG(mode):
        raise OutputError(
            f"cannot write {path}: it is not a regular file (a FIFO, device or socket); "
            "lightspeech only replaces regular files"
        )


@contextmanager
def atomic_write(path: Path, mode: str = "wb", encoding: str | None = None, sweep: bool = True) -> Iterator[IO]:
    """A file object whose content replaces `path` whole when the block ends without an
    error; on an error (or a kill) `path` is untouched. Any failure to write (a full disk,
    a file-size limit) is an OutputError. `sweep` removes what killed writes left in the
    folder first; a caller writing many files into one folder sweeps it once itself."""
    path = write_target(path)
    check_replaceable(path)
    if sweep:
        sweep_stale_parts(path.parent, also=path.name)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PART_SUFFIX)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        os.fchmod(handle, new_file_mode(path if path.exists() else None))
        with os.fdopen(handle, mode, encoding=encoding) as f:
            yield f
        check_replaceable(path)  # again: something else may have taken the name meanwhile
        os.replace(temporary, path)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


# What tempfile.mkstemp names a staging file of atomic_write: ".NAME." + 8 random characters + ".part".
STAGING_FILE = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}" + re.escape(PART_SUFFIX))
# What lightspeech writes into folders the user names: audio, render manifests, voice archives.
# Staging files of these are clearly ours wherever they are; of other names, only when
# that very name is written again.
OUTPUT_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".jsonl", ".tar.gz")


def sweep_stale_parts(folder: Path, older_than: float = STALE_PART_SECONDS, also: str | None = None) -> None:
    """Remove what killed writes left in `folder`: staging files of audio, manifests and
    archives (and of the file named `also`, whatever its kind) that are regular files of
    this user, untouched for `older_than` seconds, so no live writer owns them (a caller
    that owns the folder may say 0)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        match = STAGING_FILE.fullmatch(entry.name)
        if not match or not (match["name"] == also or match["name"].lower().endswith(OUTPUT_SUFFIXES)):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and now - info.st_mtime >= older_than:
                os.unlink(entry.path)
        except OSError:
            pass


def read_limited(
    path: Path | None,
    limit: int,
    what: str,
    hint: str = "",
    regular_only: bool = False,
    error: type[LightspeechError] = InputError,
) -> bytes:
    """The bytes of a file the user named (standard input when `path` is None), refused
    beyond `limit` bytes: at most limit + 1 are ever read, so /dev/zero or a FIFO that
    never ends is one `error` (InputError), never a machine out of memory. `regular_only`
    for the files lightspeech looks for by itself (config.json, lexicon.txt): a FIFO there
    has no writer to wait for."""
    import stat
    import sys

    try:
        if path is None:
            if sys.stdin is None:
                raise InputError("no input: standard input is closed")
            data = sys.stdin.buffer.read(limit + 1)
        else:
            if path.is_dir():
                raise error(f"cannot read {path}: it is a folder")
            if regular_only and not stat.S_ISREG(path.stat().st_mode):
                raise error(f"cannot read {what}: not a regular file (a FIFO, device or socket)")
            with open(path, "rb") as f:
                data = f.read(limit + 1)
    except OSError as e:
        raise error(f"cannot read {what}: {e.strerror or e}") from None
    if len(data) > limit:
        raise error(f"{what} is too long (more than {limit:,} bytes){'; ' + hint if hint else ''}")
    return data


@contextmanager
def replaced_folder(folder: Path, own_files: frozenset[str], root: Path | None = None) -> Iterator[Path]:
    """A staging folder beside `folder` to write into; when the block ends without an
    error it replaces `folder` whole, so a reader never sees half a voice or vocoder.

    An existing `folder` is replaced only if it is one lightspeech wrote: nothing but
    `own_files` (what lightspeech writes there), a config.json among them that says it is
    lightspeech's, and, with `root`, inside `root`. `-o ~/Documents`, `-o .` and a folder
    of the user's that happens to hold a config.json are refused, not emptied."""
    here = Path.cwd().resolve()
    if folder.resolve() in (here, *here.parents):  # ".", "..", "" and "sub/.." resolve here too
        raise OutputError(f"refusing to replace {folder}: it is the current folder or holds it; name a new folder")
    if folder.is_symlink() or folder.exists():
        if not folder.is_dir() or folder.is_symlink():
            raise OutputError(f"cannot write {folder}: it exists and is not a folder")
        names = sorted(p.name for p in folder.iterdir())
        foreign = [name for name in names if name not in own_files]
        if foreign or (names and not _written_by_lightspeech(folder / "config.json")):
            culprit = shown(foreign[0]) if foreign else "a config.json that is not lightspeech's"
            raise OutputError(
                f"refusing to replace {folder}: it holds {culprit}, which lightspeech did not write; "
                "choose a new or empty folder"
            )
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=PART_SUFFIX))
    except OSError as e:
        raise OutputError(f"cannot write {folder}: {e.strerror or e}") from None
    try:
        os.chmod(staging, 0o777 & ~umask())
        yield staging
        for written in staging.iterdir():  # some writers (safetensors) make their files private
            if written.is_file() and not written.is_symlink():
                os.chmod(written, new_file_mode())
        if folder.exists():
            # Renamed aside, not deleted, until the new one is in place: a failure keeps the old.
            aside = staging.with_name(staging.name + ".old")
            os.rename(folder, aside)
            try:
                os.replace(staging, folder)
            except OSError:
                os.rename(aside, folder)
                raise
            if root is not None:
                remove_inside(aside, root)
            else:
                shutil.rmtree(aside)
        else:
            os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def parse_json(text: str | bytes, **options) -> Any:
    """json.loads, where JSON nested too deep for Python's recursion (arrays thousands deep)
    is a ValueError like all other malformed JSON, not a RecursionError."""
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise ValueError("it nests too deep") from None


def _written_by_lightspeech(config: Path) -> bool:
    """Whether a config.json is a voice's or a vocoder's, as lightspeech writes them."""
    try:
        with open(config, "rb") as f:
            data = parse_json(f.read(1024 * 1024))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "format" in data and ("model" in data or data.get("type") == "istft")
