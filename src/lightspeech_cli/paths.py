"""Where lightspeech keeps its files, and the only ways it writes and deletes them.

    config_dir()   lexicon.txt, config.json
    cache_dir()    voices/ (installed voices), downloads/, compiled/, vocoders/, locks/

LIGHTSPEECH_HOME overrides both (tests, portable installs); otherwise they follow the
platform's conventions (platformdirs).

Three rules hold everywhere:
- a name that becomes a path (a voice, a vocoder) is one safe component: `checked_name`;
- nothing is deleted unless it lies inside the folder it belongs to: `remove_inside`;
- a file is written under a temporary name beside its target and renamed into place,
  with the mode the user's umask gives a new file: `atomic_write`. A killed write
  leaves only a `.NAME.*.part` file, which `sweep_stale_parts` removes later.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from .errors import LightspeechError, OutputError

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
    return config_dir() / "lexicon.txt"


def shown(value: object, limit: int = 60) -> str:
    """A value from outside, quoted for one line of an error: escapes, newlines and
    terminal codes printed as escapes, long values cut."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...'"


def checked_name(name: object, what: str = "voice name", error: type[LightspeechError] = LightspeechError) -> str:
    """`name` if it is one safe path component: lower-case letters, digits, '.', '_' and
    '-', starting with a letter or digit, at most 64 characters, no '..'."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise error(f"invalid {what} {shown(name)}: use lower-case letters, digits, '.', '_' and '-' "
                    "(starting with a letter or digit, at most 64 characters)")
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
    return Path(os.path.realpath(path)) if path.is_symlink() else path


@contextmanager
def atomic_write(path: Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """A file object whose content replaces `path` whole when the block ends without an
    error; on an error (or a kill) `path` is untouched."""
    path = write_target(path)
    sweep_stale_parts(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PART_SUFFIX)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        os.fchmod(handle, new_file_mode(path if path.exists() else None))
        with os.fdopen(handle, mode, encoding=encoding) as f:
            yield f
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def write_text(path: Path, text: str) -> None:
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


def sweep_stale_parts(target: Path, older_than: float = STALE_PART_SECONDS) -> None:
    """Remove what killed writes of `target` left beside it (`.NAME.*.part`, old enough
    that no live writer owns it; a caller that owns the folder may say 0)."""
    try:
        candidates = list(target.parent.glob(f".{glob_escape(target.name)}.*{PART_SUFFIX}"))
    except OSError:
        return
    now = time.time()
    for leftover in candidates:
        try:
            if leftover.is_file() and not leftover.is_symlink() and now - leftover.stat().st_mtime >= older_than:
                leftover.unlink()
        except OSError:
            pass


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


@contextmanager
def replaced_folder(folder: Path, own_files: frozenset[str], root: Path | None = None) -> Iterator[Path]:
    """A staging folder beside `folder` to write into; when the block ends without an
    error it replaces `folder` whole, so a reader never sees half a voice or vocoder.

    An existing `folder` is replaced only if it holds nothing but `own_files` (what
    lightspeech writes there) and, with `root`, lies inside `root`: `-o ~/Documents`
    is refused, not emptied."""
    if folder.is_symlink() or folder.exists():
        if not folder.is_dir() or folder.is_symlink():
            raise OutputError(f"cannot write {folder}: it exists and is not a folder")
        foreign = sorted(p.name for p in folder.iterdir() if p.name not in own_files)
        if foreign:
            raise OutputError(f"refusing to replace {folder}: it holds {shown(foreign[0])}, which lightspeech "
                              "did not write; choose a new or empty folder")
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
            if root is not None:
                remove_inside(folder, root)
            else:
                shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
