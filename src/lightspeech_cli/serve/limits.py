"""The limits both servers hold every client to, so that no client, slow or hostile, can keep
the others from being served (README: Serving).

    per connection   `client_seconds` to send a request's headers and its body (HTTP) or an
                     event (Wyoming), and to read each write of an answer; twice that idle
                     between requests or events
    per protocol     at most `connections` open; a new one beyond them takes the place of the
                     oldest that is waiting for its client, one that never had an answer first
                     (an idle flood cannot lock out the clients that send), or is closed at
                     once when every one is being answered; said in the log once a second at
                     most
    per answer       at most `answer_seconds` of audio, whatever the format
    per process      two malloc arenas (glibc), set before the voice loads
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import sys
import time
from dataclasses import dataclass
from typing import Awaitable, Protocol, TypeVar


@dataclass(frozen=True)
class Limits:
    client_seconds: float = 30.0
    connections: int = 256
    answer_seconds: float = 20 * 60

    @property
    def idle_seconds(self) -> float:
        return 2 * self.client_seconds


T = TypeVar("T")

M_ARENA_MAX = -8  # glibc's mallopt parameter, as MALLOC_ARENA_MAX sets it


def fewer_malloc_arenas(arenas: int = 2) -> None:
    """Let glibc's malloc keep at most `arenas` heaps. By default it opens one per thread that
    allocates under contention, up to 8 per core, and each keeps the memory its thread freed:
    bench/serve_attack.py's long answers peaked at 384 MiB with them, 352 MiB with two. Takes
    effect only for arenas not yet made, so it is called before the workers' threads start."""
    name = ctypes.util.find_library("c") if sys.platform == "linux" else None
    if not name:
        return
    libc = ctypes.CDLL(name)
    if hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version"):  # glibc, not musl
        libc.mallopt(M_ARENA_MAX, arenas)


class TooSlow(ConnectionError):
    """A client that did not send or read within its deadline; its connection is dropped."""


async def within(seconds: float, step: Awaitable[T], what: str) -> T:
    """`step`, or TooSlow when it takes longer than `seconds` (`what` the client failed to do)."""
    try:
        return await asyncio.wait_for(step, seconds)
    except asyncio.TimeoutError:
        raise TooSlow(f"did not {what} within {seconds:g} s") from None


class RateLimitedLog:
    """A warning at most once a second; the ones left out are counted in the next."""

    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self.last = 0.0
        self.left_out = 0

    def warning(self, message: str, *args) -> None:
        now = time.monotonic()
        if now - self.last < 1.0:
            self.left_out += 1
            return
        if self.left_out:
            message += f" ({self.left_out} more like it left out of the log)"
        self.last, self.left_out = now, 0
        self.logger.warning(message, *args)


class Connection(Protocol):
    @property
    def waiting(self) -> bool:
        """Whether it waits for its client (a request, an event) rather than answers one."""
        ...

    @property
    def answered(self) -> bool:
        """Whether it has had an answer: a client that came back, rather than one that never sent."""
        ...

    def evict(self) -> None: ...


class ConnectionLimit:
    """The open connections of one protocol, at most `limit`, oldest first."""

    def __init__(self, protocol: str, limit: int):
        self.protocol, self.limit = protocol, limit
        self.connections: dict[Connection, None] = {}  # in the order they came
        self.log = RateLimitedLog(logging.getLogger(f"lightspeech.{protocol}"))

    @property
    def open(self) -> int:
        return len(self.connections)

    def admit(self, connection: Connection, peer: object) -> bool:
        """Count a connection in. When all places are taken, the oldest one that waits for its
        client makes way; when none waits, False (and a line in the log, a second at most)."""
        if len(self.connections) >= self.limit:
            waiting = [c for c in self.connections if c.waiting]
            # Those that never sent anything go first: kept-alive clients come back.
            oldest = next((c for c in waiting if not c.answered), waiting[0] if waiting else None)
            if oldest is None:
                message = "%s: %d connections open and answering, the most allowed: refused %s"
                self.log.warning(message, self.protocol, self.limit, peer)
                return False
            message = "%s: %d connections open, the most allowed: closed the oldest that sent nothing"
            self.log.warning(message, self.protocol, self.limit)
            self.release(oldest)
            oldest.evict()
        self.connections[connection] = None
        return True

    def release(self, connection: Connection) -> None:
        self.connections.pop(connection, None)


class AcceptErrors(logging.Filter):
    """asyncio logs a traceback each time accept() fails for want of file descriptors (it
    retries every second or so, per listening socket): one line a second instead."""

    def __init__(self) -> None:
        super().__init__()
        self.log = RateLimitedLog(logging.getLogger("lightspeech.serve"))

    def filter(self, record: logging.LogRecord) -> bool:
        if "out of system resource" not in record.getMessage():
            return True
        self.log.warning("cannot accept connections: the process is out of file descriptors")
        return False
