"""Voices beyond the embedded one: a manifest, downloads, checks and the cache.

    manifest (assets/manifest.json)  name, language, quality, licence, file, size, sha256
    mirror                           LIGHTSPEECH_MIRROR, else "mirror" in config.json, else the manifest's
    cache/downloads/FILE.part        a download in progress, resumed with HTTP Range
    cache/voices/NAME/               installed voices, moved into place only when whole and checked

A voice archive is what `voices export` writes: a .tar.gz of the voice folder's files.
Every archive, downloaded or imported, is checked the same way before anything is
installed: size and sha256 (downloads), only regular files with the known names, each
once, within size limits; a config that validates and weights with exactly the tensors
and shapes the config's model needs (what `Voice` checks at every load); weights all
finite; and the compiled model runs (`verify_voice`). Every name is one safe path
component, and an installed voice is only ever replaced or removed inside the voices folder.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import InputError, LightspeechError, OutputError, VoiceError
from ..paths import (
    STALE_PART_SECONDS,
    cache_dir,
    checked_name,
    config_dir,
    parse_json,
    read_limited,
    readable_folder,
    remove_inside,
    shown,
    umask,
)
from .download import check_url, download, locked, sha256_of
from .format.files import MAX_CONFIG_BYTES, read_json
from .format.folder import CONFIG_FILE, FOLDER_FILES, holds_config
from .format.schema import REQUIRED, SchemaError, name_field, printable_text, read_section, whole_number
from .format.voice import Voice, embedded_voices_dir, installed_voices_dir

MANIFEST = Path(__file__).parent.parent / "assets" / "manifest.json"
MAX_ARCHIVE_MEMBER = 100 * 1024 * 1024
MAX_ARCHIVE_TOTAL = 200 * 1024 * 1024
MAX_DOWNLOAD = MAX_ARCHIVE_TOTAL
STAGING_PREFIX = ".incoming."


@dataclass(frozen=True)
class Entry:
    name: str
    language: str
    quality: str
    licence: str
    description: str
    file: str
    size: int
    sha256: str


def _sha256(value):
    return printable_text(64, r"[0-9a-f]{64}")(value)


ENTRY_SCHEMA = {
    "name": (name_field, REQUIRED),
    "language": (printable_text(35), ""),
    "quality": (printable_text(20), ""),
    "licence": (printable_text(100), ""),
    "description": (printable_text(500), ""),
    "file": (lambda v: checked_name(v, "file name", error=SchemaError), REQUIRED),
    "size": (whole_number(1, MAX_DOWNLOAD), REQUIRED),
    "sha256": (_sha256, REQUIRED),
}


def read_manifest(path: Path | None = None) -> tuple[str, list[Entry]]:
    """The manifest's base URL and entries, every field checked (a mirror's manifest is
    as hostile as an archive)."""
    path = path or MANIFEST
    data = read_json(path, "manifest")
    if not isinstance(data, dict) or not isinstance(data.get("voices"), list):
        raise VoiceError(f'{path}: expected {{"base_url": ..., "voices": [...]}}')
    entries = [
        Entry(**read_section(item, ENTRY_SCHEMA, f"{path} voice {i + 1}")) for i, item in enumerate(data["voices"])
    ]
    base_url = data.get("base_url", "")
    return (base_url if isinstance(base_url, str) else ""), entries


def mirror(default: str) -> str:
    """Where archives are fetched from: environment, then config file, then manifest."""
    if url := os.environ.get("LIGHTSPEECH_MIRROR"):
        return check_url(url)
    config = readable_folder(config_dir()) / "config.json"
    if config.exists():
        data = read_limited(config, MAX_CONFIG_BYTES, str(config), regular_only=True)
        try:
            settings = parse_json(data.decode("utf-8"))
        except ValueError as e:  # bad UTF-8, bad JSON, a number past 4,300 digits, nesting too deep
            raise InputError(f"{config} is not valid JSON: {e}") from None
        if isinstance(settings, dict) and "mirror" in settings:
            if not isinstance(settings["mirror"], str):
                raise InputError(f'{config}: "mirror" must be a URL, not {shown(settings["mirror"])}')
            return check_url(settings["mirror"])
    return check_url(default)


def find_entry(name: str) -> Entry:
    checked_name(name, error=InputError)
    _, entries = read_manifest()
    for entry in entries:
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in entries) or "none"
    raise VoiceError(f"unknown voice {name!r}; voices that can be pulled: {known}")


def safe_extract(archive: Path, into: Path) -> None:
    """Extract a voice archive, refusing anything but plain files with the known names,
    each once, within the size limits."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            seen = set()
            total = 0
            for member in members:
                name = member.name
                if not member.isfile():
                    raise VoiceError(f"{archive.name}: {shown(name)} is not a regular file; refusing the archive")
                parts = Path(name).parts
                if Path(name).is_absolute() or ".." in parts or len(parts) != 1:
                    raise VoiceError(f"{archive.name}: unsafe path {shown(name)}; refusing the archive")
                if name not in FOLDER_FILES:
                    raise VoiceError(f"{archive.name}: unexpected file {shown(name)}; refusing the archive")
                if name in seen:
                    raise VoiceError(f"{archive.name}: {name!r} appears twice; refusing the archive")
                seen.add(name)
                total += member.size
                if member.size > MAX_ARCHIVE_MEMBER or total > MAX_ARCHIVE_TOTAL:
                    raise VoiceError(f"{archive.name}: {name!r} is too large; refusing the archive")
            for member in members:
                extracted = tar.extractfile(member)
                assert extracted is not None  # None only for what is not a regular file, refused above
                data = extracted.read()  # at most member.size bytes, checked above
                if len(data) != member.size:
                    raise VoiceError(f"{archive.name}: {member.name!r} is truncated")
                try:
                    (into / member.name).write_bytes(data)
                except OSError as e:  # the disk's fault (full, a file-size limit), not the archive's
                    raise OutputError(f"cannot install {archive.name} into {into.parent}: {e.strerror or e}") from None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise VoiceError(f"{archive.name} is not a valid voice archive ({e})") from None
    except OSError as e:
        raise VoiceError(f"cannot read {archive.name} ({e.strerror or e})") from None


def verify_voice(voice: Voice) -> None:
    """What an archive must pass before it is installed, beyond what `Voice` checks at
    every load (its files, and weights that fit its config): the weights are finite, and
    the model loads, runs (compiled with torch first if the folder carries no ONNX) and
    makes finite mel frames of the right width."""
    import numpy as np
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        weights = load_file(voice.weights_path)
    except (SafetensorError, OSError, ValueError) as e:
        raise VoiceError(f"voice {voice.name}: {voice.weights_path.name} is corrupt ({str(e)[:200]})") from None
    for name, array in weights.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise VoiceError(f"voice {voice.name}: weight {shown(name)} holds NaN or infinite values")
    from .engine import acoustic_model

    run = acoustic_model(voice, "onnx", threads=1)
    ones = np.ones((1, 5), np.float32)
    try:
        mel, durations = run(np.asarray([[10, 20, 30, 40, 3]], np.int64), ones, ones, ones)
    except Exception as e:  # noqa: BLE001 - a hostile graph can fail inside ONNX Runtime in any way
        raise VoiceError(f"voice {voice.name}: its model does not run ({str(e).splitlines()[0][:200]})") from None
    n_mels = voice.config.audio.n_mels
    if mel.ndim != 3 or mel.shape[0] != 1 or mel.shape[2] != n_mels or durations.shape != (1, 5):
        raise VoiceError(f"voice {voice.name}: its model makes output of shape {mel.shape}, not [1, frames, {n_mels}]")
    if not np.isfinite(mel).all():
        raise VoiceError(f"voice {voice.name}: its model makes NaN or infinite mel frames")


def sweep_staging(voices: Path) -> None:
    """Remove staging folders that killed imports left behind (old enough that no live
    import owns them)."""
    if not voices.is_dir():
        return
    now = time.time()
    for entry in voices.iterdir():
        if entry.name.startswith(STAGING_PREFIX):
            try:
                if now - entry.stat().st_mtime > STALE_PART_SECONDS:
                    remove_inside(entry, voices)
            except OSError:
                pass


def install_archive(archive: Path, name: str | None = None) -> Voice:
    """Check an archive and move the voice into the cache, replacing an older copy."""
    if name is not None:
        checked_name(name, error=InputError)
    voices = installed_voices_dir()
    try:
        voices.mkdir(parents=True, exist_ok=True)
        sweep_staging(voices)
        staging = Path(tempfile.mkdtemp(dir=voices, prefix=STAGING_PREFIX))
        os.chmod(staging, 0o777 & ~umask())  # mkdtemp's is private; the installed voice follows the umask
    except OSError as e:
        raise OutputError(f"cannot write to the cache {voices}: {e.strerror}") from None
    try:
        safe_extract(archive, staging)
        try:
            voice = Voice(staging)  # the config validates, its name included
            verify_voice(voice)  # weights that do not load never get installed
        except LightspeechError as e:  # named by the archive, not by a staging folder gone by then
            message = str(e).replace(f"{staging}{os.sep}", f"{archive.name}: ").replace(str(staging), archive.name)
            raise type(e)(message) from None
        target = voices / checked_name(name or voice.name)
        with locked(target.name):
            if target.exists() or target.is_symlink():
                remove_inside(target, voices)
            os.replace(staging, target)
        return Voice(target)
    except OSError as e:
        raise OutputError(f"cannot install into {voices}: {e.strerror}") from None
    finally:
        if staging.exists():
            remove_inside(staging, voices)


def pull(name: str, report: Callable[[int, int], None] | None = None) -> Voice:
    entry = find_entry(name)
    base_url, _ = read_manifest()
    url = mirror(base_url).rstrip("/") + "/" + entry.file
    downloads = cache_dir() / "downloads"
    try:
        downloads.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot write to the cache {downloads}: {e.strerror}") from None
    archive = downloads / entry.file
    with locked(f"download-{entry.name}"):
        installed = installed_voices_dir() / name
        stamp = installed / ".sha256"
        if (installed / CONFIG_FILE).exists() and stamp.exists() and stamp.read_text() == entry.sha256:
            return Voice(installed)  # a concurrent pull finished it
        download(url, archive, entry.size, report)
        if sha256_of(archive) != entry.sha256:
            archive.unlink()
            raise VoiceError(
                f"{entry.file} failed its checksum (sha256 differs from the manifest); "
                "the file was removed, pull again or check the mirror"
            )
        try:
            voice = install_archive(archive, name)
            try:
                (voice.folder / ".sha256").write_text(entry.sha256)
            except OSError as e:
                raise OutputError(f"cannot write to the cache {voice.folder}: {e.strerror or e}") from None
        finally:
            archive.unlink(missing_ok=True)
    return voice


def export_archive(voice: Voice, output: Path) -> Path:
    """Pack a voice folder into a .tar.gz that `voices import` and `voices pull` accept."""
    from ..paths import atomic_write, write_target

    if not os.path.isdir(write_target(output).parent):
        raise OutputError(f"cannot write {output}: folder {output.parent} does not exist")
    files = {}
    for name in sorted(FOLDER_FILES):
        path = voice.folder / name
        try:
            if path.is_file():
                files[name] = path.read_bytes()
        except OSError as e:
            raise VoiceError(f"cannot read {path}: {e.strerror or e}") from None
    # gzip's header carries a time unless told otherwise: mtime=0 keeps the sha256 stable.
    with (
        atomic_write(output) as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed,
        tarfile.open(fileobj=packed, mode="w") as tar,
    ):
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0  # reproducible archives
            tar.addfile(info, io.BytesIO(data))
    return output


def remove(name: str) -> None:
    """Remove an installed voice by name; never anything outside the voices folder."""
    checked_name(name, error=InputError)
    voices = installed_voices_dir()
    target = voices / name
    if not holds_config(target):
        if (embedded_voices_dir() / name).exists():
            raise VoiceError(f"{name} is embedded in the package and cannot be removed")
        raise VoiceError(f"voice {name!r} is not installed")
    with locked(name):
        try:
            remove_inside(target, voices)
        except OSError as e:
            raise OutputError(f"cannot delete {target}: {e.strerror or e}") from None


def folder_size(path: Path) -> int:
    if not path.exists():
        return 0
    total = 0
    for entry in path.rglob("*"):
        try:
            if entry.is_file() and not entry.is_symlink():
                total += entry.stat().st_size
        except OSError:
            pass
    return total


# Everything lightspeech keeps in the cache folder (paths.py says what each holds): `cache
# --clean` removes these and nothing else, whatever else someone put there.
CACHE_PARTS = ("voices", "compiled", "downloads", "locks", "frontend")


def clean_cache(include_voices: bool) -> list[str]:
    """Delete what the cache holds but installed voices (and those too with
    `include_voices`), plus staging leftovers; returns what was removed."""
    root = cache_dir()
    removed = []
    for part in CACHE_PARTS:
        path = readable_folder(root / part)
        try:
            if part == "voices" and not include_voices:
                sweep_staging(path)
            elif path.exists() or path.is_symlink():
                remove_inside(path, root)
                removed.append(part)
        except OSError as e:
            raise OutputError(f"cannot delete {path}: {e.strerror or e}") from None
    return removed


__all__ = [
    "Entry",
    "clean_cache",
    "download",
    "export_archive",
    "find_entry",
    "folder_size",
    "install_archive",
    "mirror",
    "pull",
    "read_manifest",
    "remove",
    "safe_extract",
    "sha256_of",
    "verify_voice",
]
