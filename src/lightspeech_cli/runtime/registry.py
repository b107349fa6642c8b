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

import contextlib
import fcntl
import gzip
import hashlib
import io
import os
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

from ..errors import InputError, LightspeechError, OutputError, VoiceError
from ..paths import (
    PART_SUFFIX,
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
from .voice import (
    CONFIG_FILE,
    MAX_CONFIG_BYTES,
    REQUIRED,
    VOICE_FILES,
    SchemaError,
    Voice,
    embedded_voices_dir,
    holds_config,
    installed_voices_dir,
    integer,
    name_check,
    read_json,
    read_section,
    text,
)

MANIFEST = Path(__file__).parent.parent / "assets" / "manifest.json"
MAX_ARCHIVE_MEMBER = 100 * 1024 * 1024
MAX_ARCHIVE_TOTAL = 200 * 1024 * 1024
MAX_DOWNLOAD = MAX_ARCHIVE_TOTAL
CONNECT_TIMEOUT, READ_TIMEOUT, ATTEMPTS = 5.0, 15.0, 3
# A download slower than this on average is abandoned: a mirror that trickles a byte
# every few seconds would otherwise hold `voices pull` forever.
MIN_BYTES_PER_SECOND = 20_000
MIN_DEADLINE_SECONDS = 60.0
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
    return text(64, r"[0-9a-f]{64}")(value)


ENTRY_SCHEMA = {
    "name": (name_check, REQUIRED),
    "language": (text(35), ""),
    "quality": (text(20), ""),
    "licence": (text(100), ""),
    "description": (text(500), ""),
    "file": (lambda v: checked_name(v, "file name", error=SchemaError), REQUIRED),
    "size": (integer(1, MAX_DOWNLOAD), REQUIRED),
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


def check_url(url: str, what: str = "mirror") -> str:
    """Only http and https: a mirror is a web folder, never a local file or FTP."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"the {what} URL {shown(url)} is unusable: give an http:// or https:// address "
            '(LIGHTSPEECH_MIRROR, or "mirror" in config.json)'
        )
    return url


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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """One pull or import of a voice at a time, across processes."""
    locks = cache_dir() / "locks"
    try:
        locks.mkdir(parents=True, exist_ok=True)
        handle = open(locks / f"{checked_name(name, 'lock name')}.lock", "w")
    except OSError as e:
        raise OutputError(f"cannot write to the cache {cache_dir()}: {e.strerror}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def download(url: str, destination: Path, size: int, report: Callable[[int, int], None] | None = None) -> None:
    """Stream `url` into `destination`, resuming a partial file with HTTP Range and
    retrying broken or stalled transfers. Never more than `size` bytes are written, and
    the whole download must average MIN_BYTES_PER_SECOND; `destination` holds exactly
    `size` bytes when this returns."""
    import requests
    import urllib3

    check_url(url, "download")
    partial = destination.with_name(destination.name + PART_SUFFIX)
    allowed = max(MIN_DEADLINE_SECONDS, size / MIN_BYTES_PER_SECOND)
    deadline = time.monotonic() + allowed

    def too_slow() -> VoiceError:
        kept = partial.stat().st_size if partial.exists() else 0
        return VoiceError(
            f"the download of {url} is too slow ({kept:,} of {size:,} bytes in {allowed:.0f} s); "
            "run the pull again to resume"
        )

    for attempt in range(1, ATTEMPTS + 1):
        have = partial.stat().st_size if partial.exists() else 0
        if have > size:
            partial.unlink()
            have = 0
        if have == size:
            break
        if time.monotonic() > deadline:
            raise too_slow()
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with requests.get(url, headers=headers, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)) as response:
                if response.status_code == 404:
                    raise VoiceError(f"{url} was not found (404); check the mirror")
                if response.status_code >= 500 and attempt < ATTEMPTS:
                    time.sleep(0.2 * attempt)
                    continue
                if response.status_code not in (200, 206):
                    raise VoiceError(f"{url} answered HTTP {response.status_code}")
                resumed = response.status_code == 206
                have = have if resumed else 0  # 200: the server ignored Range and sends it all
                with open(partial, "ab" if resumed else "wb") as f:
                    # Blocks as they arrive (read1): what came before a break is kept for the
                    # resume, and a server that trickles meets the deadline at every byte it sends.
                    while block := response.raw.read1(1 << 16, decode_content=True):
                        if time.monotonic() > deadline:
                            raise too_slow()
                        if have + len(block) > size:
                            raise VoiceError(
                                f"{url} sent more than the {size:,} bytes the manifest declares; "
                                "refusing it (check the mirror)"
                            )
                        f.write(block)
                        have += len(block)
                        if report:
                            report(have, size)
            if have >= size:
                break
        except requests.exceptions.InvalidSchema:
            raise InputError(
                f"the mirror sent {url} somewhere lightspeech does not fetch from (only http and https are used)"
            ) from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema):
            raise InputError(f"the download URL {shown(url)} is unusable") from None
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.TooManyRedirects,
            urllib3.exceptions.HTTPError,
        ) as e:
            if attempt == ATTEMPTS and have == 0 and _could_not_connect(e):
                raise VoiceError(
                    f"cannot reach {urlsplit(url).netloc} ({_connection_problem(e)}); check the network, or set "
                    'a mirror you can reach (LIGHTSPEECH_MIRROR, or "mirror" in config.json)'
                ) from None
            if attempt == ATTEMPTS:
                # A stall in the middle of the body surfaces as a ConnectionError wrapping a read timeout.
                stalled = isinstance(e, requests.Timeout) or "timed out" in str(e).lower()
                kind = "timed out" if stalled else "was interrupted"
                kept = partial.stat().st_size if partial.exists() else 0
                raise VoiceError(
                    f"the download of {url} {kind} {ATTEMPTS} times; run the pull again to resume "
                    f"({kept} of {size} bytes kept)"
                ) from None
            time.sleep(0.2 * attempt)
        except OSError as e:
            raise OutputError(f"cannot write {partial}: {e.strerror or e}") from None
    got = partial.stat().st_size if partial.exists() else 0
    if got != size:
        raise VoiceError(f"{url} ended after {got} of {size} bytes; run the pull again to resume")
    os.replace(partial, destination)


def _could_not_connect(error: Exception) -> bool:
    """Whether no connection was made at all (refused, no such host, connect timeout), as
    opposed to one that broke during the transfer."""
    import requests
    import urllib3

    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _connection_problem(error: Exception) -> str:
    """The socket's own words, such as "Connection refused", without urllib3's object dump."""
    import requests

    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "the connection timed out"
    text = str(getattr(error.args[0], "reason", error))
    return text.rsplit("] ", 1)[-1].rstrip(")") if "] " in text else text.split(": ", 1)[-1]


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
                if name not in VOICE_FILES:
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
    for name in sorted(VOICE_FILES):
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
