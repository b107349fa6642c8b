"""Voices beyond the embedded one: a manifest, downloads, checks and the cache.

    manifest (assets/manifest.json)  name, language, quality, licence, file, size, sha256
    mirror                           LIGHTSPEECH_MIRROR, else "mirror" in config.json, else the manifest's
    cache/downloads/FILE.part        a download in progress, resumed with HTTP Range
    cache/voices/NAME/               installed voices, moved into place only when whole and checked

A voice archive is what `voices export` writes: a .tar.gz of the voice folder's files.
Every archive, downloaded or imported, is checked the same way: size and sha256 (for
downloads), no paths outside the archive, only regular files, a config that validates
and weights that load.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .errors import InputError, OutputError, VoiceError
from .paths import cache_dir, config_dir
from .voice import CONFIG_FILE, Voice, embedded_voices_dir, installed_voices_dir

MANIFEST = Path(__file__).parent / "assets" / "manifest.json"
VOICE_FILES = ("config.json", "model.safetensors", "MODEL_CARD.md", "training-log.jsonl")
MAX_ARCHIVE_MEMBER = 200 * 1024 * 1024
CONNECT_TIMEOUT, READ_TIMEOUT, ATTEMPTS = 5.0, 15.0, 3


@dataclass
class Entry:
    name: str
    language: str
    quality: str
    licence: str
    description: str
    file: str
    size: int
    sha256: str


def read_manifest() -> tuple[str, list[Entry]]:
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return data["base_url"], [Entry(**entry) for entry in data["voices"]]


def mirror(default: str) -> str:
    """Where archives are fetched from: environment, then config file, then manifest."""
    if url := os.environ.get("LIGHTSPEECH_MIRROR"):
        return url
    config = config_dir() / "config.json"
    if config.exists():
        try:
            settings = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise InputError(f"{config} is not valid JSON: {e}") from None
        if isinstance(settings, dict) and isinstance(settings.get("mirror"), str):
            return settings["mirror"]
    return default


def find_entry(name: str) -> Entry:
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
        handle = open(locks / f"{name}.lock", "w")
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
    retrying broken or stalled transfers; the file is complete (size) when this returns."""
    import requests

    partial = destination.with_name(destination.name + ".part")
    for attempt in range(1, ATTEMPTS + 1):
        have = partial.stat().st_size if partial.exists() else 0
        if have > size:
            partial.unlink()
            have = 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with requests.get(url, headers=headers, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)) as response:
                if response.status_code == 404:
                    raise VoiceError(f"{url} was not found (404); check the mirror")
                if response.status_code not in (200, 206):
                    raise VoiceError(f"{url} answered HTTP {response.status_code}")
                mode = "ab" if response.status_code == 206 else "wb"  # 200: the server ignored Range
                have = have if mode == "ab" else 0
                with open(partial, mode) as f:
                    # Small blocks: what arrived before a break is kept for the resume.
                    for block in response.iter_content(1 << 13):
                        f.write(block)
                        have += len(block)
                        if report:
                            report(have, size)
            if have >= size:
                break
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as e:
            if attempt == ATTEMPTS:
                # A stall in the middle of the body surfaces as a ConnectionError wrapping a read timeout.
                stalled = isinstance(e, requests.Timeout) or "timed out" in str(e).lower()
                kind = "timed out" if stalled else "was interrupted"
                raise VoiceError(f"the download of {url} {kind} {ATTEMPTS} times; run the pull again to resume "
                                 f"({partial.stat().st_size if partial.exists() else 0} of {size} bytes kept)") from None
            time.sleep(0.2 * attempt)
        except OSError as e:
            raise OutputError(f"cannot write {partial}: {e.strerror}") from None
    if partial.stat().st_size != size:
        raise VoiceError(f"{url} ended after {partial.stat().st_size} of {size} bytes; run the pull again to resume")
    os.replace(partial, destination)


def safe_extract(archive: Path, into: Path) -> None:
    """Extract a voice archive, refusing anything but plain files at safe relative paths."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                name = member.name
                if not member.isfile():
                    raise VoiceError(f"{archive.name}: {name!r} is not a regular file; refusing the archive")
                parts = Path(name).parts
                if Path(name).is_absolute() or ".." in parts or len(parts) != 1:
                    raise VoiceError(f"{archive.name}: unsafe path {name!r}; refusing the archive")
                if name not in VOICE_FILES:
                    raise VoiceError(f"{archive.name}: unexpected file {name!r}; refusing the archive")
                if member.size > MAX_ARCHIVE_MEMBER:
                    raise VoiceError(f"{archive.name}: {name!r} is too large; refusing the archive")
            for member in members:
                source = tar.extractfile(member)
                with open(into / member.name, "wb") as f:
                    shutil.copyfileobj(source, f)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise VoiceError(f"{archive.name} is not a valid voice archive ({e})") from None


def install_archive(archive: Path, name: str | None = None) -> Voice:
    """Check an archive and move the voice into the cache, replacing an older copy."""
    voices = installed_voices_dir()
    try:
        voices.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=voices, prefix=".incoming."))
    except OSError as e:
        raise OutputError(f"cannot write to the cache {voices}: {e.strerror}") from None
    try:
        safe_extract(archive, staging)
        voice = Voice(staging)
        voice.load_model()  # weights that do not load never get installed
        target = voices / (name or voice.name)
        if target.name.startswith(".") or "/" in target.name:
            raise VoiceError(f"invalid voice name {target.name!r}")
        with locked(target.name):
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        return Voice(target)
    except OSError as e:
        raise OutputError(f"cannot install into {voices}: {e.strerror}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


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
        if (installed / CONFIG_FILE).exists() and (installed / ".sha256").exists() \
                and (installed / ".sha256").read_text() == entry.sha256:
            return Voice(installed)  # a concurrent pull finished it
        download(url, archive, entry.size, report)
        if sha256_of(archive) != entry.sha256:
            archive.unlink()
            raise VoiceError(f"{entry.file} failed its checksum (sha256 differs from the manifest); "
                             "the file was removed, pull again or check the mirror")
        try:
            voice = install_archive(archive, name)
            (voice.folder / ".sha256").write_text(entry.sha256)
        finally:
            archive.unlink(missing_ok=True)
    return voice


def export_archive(voice: Voice, output: Path) -> Path:
    """Pack a voice folder into a .tar.gz that `voices import` and `voices pull` accept."""
    if output.exists() and output.is_dir():
        raise OutputError(f"cannot write {output}: it is a folder")
    try:
        handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".part")
    except OSError as e:
        raise OutputError(f"cannot write {output}: {e.strerror}") from None
    try:
        # gzip's header carries a time unless told otherwise: mtime=0 keeps the sha256 stable.
        with os.fdopen(handle, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed, \
                tarfile.open(fileobj=packed, mode="w") as tar:
            for name in VOICE_FILES:
                path = voice.folder / name
                if path.exists():
                    data = path.read_bytes()
                    info = tarfile.TarInfo(name)
                    info.size, info.mode, info.mtime = len(data), 0o644, 0  # reproducible archives
                    tar.addfile(info, io.BytesIO(data))
        os.replace(temporary, output)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return output


def remove(name: str) -> None:
    target = installed_voices_dir() / name
    if not (target / CONFIG_FILE).exists():
        if (embedded_voices_dir() / name).exists():
            raise VoiceError(f"{name} is embedded in the package and cannot be removed")
        raise VoiceError(f"voice {name!r} is not installed")
    with locked(name):
        shutil.rmtree(target)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0
