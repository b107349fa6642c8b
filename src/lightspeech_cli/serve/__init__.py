"""`lightspeech serve`: voices kept loaded behind Home Assistant's Wyoming protocol, an
OpenAI-shaped HTTP API and a web page. Needs the '.[serve]' extra (wyoming, aiohttp).

    pool.py      loaded voices and the bounded pool of threads that speak
    limits.py    the deadlines and caps every client is held to
    http.py      POST /v1/audio/speech, GET /v1/models, /v1/voices, /health, /
    wyoming.py   describe, synthesize and streaming synthesis
    discovery.py the Wyoming server announced over zeroconf, for Home Assistant
    web/         the page at /
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import sys
import time
from urllib.parse import urlsplit

from ..errors import InputError
from .limits import AcceptErrors, ConnectionLimit, Limits

SHUTDOWN_SECONDS = 10.0
LOCALHOST = "127.0.0.1"


def parse_http_address(address: str) -> tuple[str, int]:
    """HOST:PORT, or a bare PORT on 127.0.0.1 (binding elsewhere is the user's explicit choice)."""
    host, _, port = address.rpartition(":") if not address.isdigit() else (LOCALHOST, ":", address)
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InputError(f"--http must be HOST:PORT or PORT, such as 127.0.0.1:5000, not {address[:60]!r}")
    return host.strip("[]"), int(port)


def parse_wyoming_address(address: str) -> tuple[str, int]:
    """tcp://HOST:PORT (Wyoming's own form), or a bare PORT on 127.0.0.1."""
    if address.isdigit() and int(address) <= 65535:
        return LOCALHOST, int(address)
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or port is None:
        raise InputError(
            f"--wyoming must be tcp://HOST:PORT or PORT, such as tcp://127.0.0.1:10200, not {address[:60]!r}"
        )
    return parts.hostname, port


def parse_origin(origin: str) -> str:
    """--allow-origin: scheme://host[:port], as a browser sends it in its Origin header."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise InputError(f"--allow-origin must be http://HOST[:PORT] or https://HOST[:PORT], not {origin[:60]!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def connection_limit(wanted: int) -> int:
    """`wanted` connections per protocol, fewer where the process may not open that many files
    (its soft limit raised to the hard one first): a full server refuses a connection at once
    rather than run out of descriptors."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(8, min(wanted, (soft - 64) // 2))  # both protocols, and the voices' files


def serve(
    pool,
    http: tuple[str, int] | None,
    wyoming: tuple[str, int] | None,
    quiet: bool = False,
    allowed_origins: frozenset = frozenset(),
    limits: Limits = Limits(),
    zeroconf: str | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then stop accepting, let the requests in flight
    finish (up to SHUTDOWN_SECONDS) and return; a second signal stops at once."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    logging.getLogger("asyncio").addFilter(AcceptErrors())
    try:
        limits = dataclasses.replace(limits, connections=connection_limit(limits.connections))
        asyncio.run(_serve(pool, http, wyoming, allowed_origins, limits, zeroconf))
    finally:
        pool.close()


async def _serve(
    pool,
    http: tuple[str, int] | None,
    wyoming: tuple[str, int] | None,
    allowed_origins: frozenset,
    limits: Limits,
    zeroconf: str | None = None,
) -> None:
    """`zeroconf`: the name to announce the Wyoming server by, if any."""
    from aiohttp import web

    log = logging.getLogger("lightspeech.serve")
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)

    def stop() -> None:
        stopping.set()
        for number in signals:  # back to the defaults: a second Ctrl-C interrupts at once
            loop.remove_signal_handler(number)

    for number in signals:
        loop.add_signal_handler(number, stop)
    runner = listener = http_server = announcement = None
    try:
        if http:
            from . import http as http_app

            runner = web.AppRunner(
                http_app.application(pool, allowed_origins, limits),
                access_log_format='%a "%r" %s %b %Tfs',
                shutdown_timeout=SHUTDOWN_SECONDS,
                keepalive_timeout=limits.idle_seconds,
            )
            await runner.setup()
            http_server = await listen(http_app.listen(runner, *http), "--http", http)
            for sock in http_server.sockets:
                host, port, *_ = sock.getsockname()
                log.info("http: listening on http://%s:%d", host, port)
        if wyoming:
            listener = WyomingListener(pool, limits)
            await listen(listener.start(*wyoming), "--wyoming", wyoming)
            for host, port, *_ in listener.addresses:
                log.info("wyoming: listening on tcp://%s:%d", host, port)
            if zeroconf:
                from .discovery import Announcement

                announcement = Announcement(zeroconf, wyoming[0], listener.addresses[0][1])
                await announcement.start()
        log.info(
            "serving voice %s with %d worker(s), %d more queued; Ctrl-C or SIGTERM stops",
            pool.default_voice,
            pool.workers,
            pool.queue_limit,
        )
        await stopping.wait()
        log.info("stopping: finishing the requests in flight")
    finally:
        if announcement is not None:
            await announcement.close()
        if http_server is not None:
            http_server.close()  # both servers stop accepting before either waits for its requests
        if listener is not None:
            listener.close()
        waits = [runner.cleanup()] if runner is not None else []
        if listener is not None:
            waits.append(listener.finish())
        await asyncio.gather(*waits)


async def listen(starting, option: str, address: tuple[str, int]):
    try:
        return await starting
    except OSError as e:  # asyncio's own message repeats the address; the system's reason is enough
        reason = os.strerror(e.errno) if e.errno and e.errno > 0 else e.strerror or str(e)
        raise InputError(f"{option}: cannot listen on {address[0]}:{address[1]}: {reason}") from None


class WyomingListener:
    """The Wyoming TCP server. The `wyoming` package's own server closes every connection
    at once when stopped; this one lets the answers in progress finish."""

    def __init__(self, pool, limits: Limits) -> None:
        self.pool, self.limits = pool, limits
        self.limit = ConnectionLimit("wyoming", limits.connections)
        self.handlers: set = set()
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(self.connected, host, port)

    @property
    def addresses(self) -> list:
        return [sock.getsockname() for sock in self.server.sockets] if self.server else []

    async def connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from .limits import TooSlow
        from .wyoming import SpeechHandler

        handler = SpeechHandler(self.pool, reader, writer, self.limits)
        if not self.limit.admit(handler, writer.get_extra_info("peername")):
            writer.transport.abort()
            return
        self.handlers.add(handler)
        try:
            await handler.run()
        except TooSlow as e:
            logging.getLogger("lightspeech.wyoming").info("wyoming %s %s; connection closed", handler.client, e)
        except (ConnectionError, asyncio.IncompleteReadError):
            logging.getLogger("lightspeech.wyoming").info(
                "wyoming %s left before the end of its answer", handler.client
            )
        except (KeyError, AttributeError, TypeError, ValueError) as e:
            # A line that is not JSON or nests too deep, JSON that is not an event's framing
            # ({"data_length": "x"}, no "type"), an event too large (EventTooLarge): the stream
            # cannot be followed any further.
            logging.getLogger("lightspeech.wyoming").warning(
                "wyoming %s sent something that is not a Wyoming event (%s: %s); connection closed",
                handler.client,
                type(e).__name__,
                e,
            )
        finally:
            self.handlers.discard(handler)
            self.limit.release(handler)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def finish(self) -> None:
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        while any(handler.answering for handler in self.handlers) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.gather(*(handler.stop() for handler in list(self.handlers)))
