"""Downloads of voice archives: streamed to a `.part` file, resumed with HTTP Range after a
break, bounded in size and time (MIN_BYTES_PER_SECOND), one pull of a name at a time (a
lock file), and checked against the manifest's sha256 before anything is installed
(registry.py)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

from ..errors import InputError, OutputError, VoiceError
from ..paths import PART_SUFFIX, cache_dir, checked_name, shown

CONNECT_TIMEOUT, READ_TIMEOUT, ATTEMPTS = 5.0, 15.0, 3


# A download slower than this on average is abandoned: a mirror that trickles a byte
# every few seconds would otherwise hold `voices pull` forever.
MIN_BYTES_PER_SECOND = 20_000

MIN_DEADLINE_SECONDS = 60.0


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
