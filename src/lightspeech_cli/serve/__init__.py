"""`lightspeech serve`: voices kept loaded behind Home Assistant's Wyoming protocol, an
OpenAI-shaped HTTP API and a web page. Needs the '.[serve]' extra (wyoming, aiohttp).

    pool.py      loaded voices and the bounded pool of threads that speak
    http.py      POST /v1/audio/speech, GET /v1/models, /v1/voices, /health, /
    wyoming.py   describe, synthesize and streaming synthesis
    web/         the page at /
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from urllib.parse import urlsplit

from ..errors import InputError

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


def serve(pool, http: tuple[str, int] | None, wyoming: tuple[str, int] | None, quiet: bool = False) -> None:
    """Serve until SIGTERM or SIGINT, then stop accepting, let the requests in flight
    finish (up to SHUTDOWN_SECONDS) and return; a second signal stops at once."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    try:
        asyncio.run(_serve(pool, http, wyoming))
    finally:
        pool.close()


async def _serve(pool, http: tuple[str, int] | None, wyoming: tuple[str, int] | None) -> None:
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
    runner = listener = None
    try:
        if http:
            from .http import application

            runner = web.AppRunner(
                application(pool), access_log_format='%a "%r" %s %b %Tfs', shutdown_timeout=SHUTDOWN_SECONDS
            )
            await runner.setup()
            await listen(web.TCPSite(runner, *http).start(), "--http", http)
            for host, port, *_ in runner.addresses:
                log.info("http: listening on http://%s:%d", host, port)
        if wyoming:
            listener = WyomingListener(pool)
            await listen(listener.start(*wyoming), "--wyoming", wyoming)
            for host, port, *_ in listener.addresses:
                log.info("wyoming: listening on tcp://%s:%d", host, port)
        log.info(
            "serving voice %s with %d worker(s), %d more queued; Ctrl-C or SIGTERM stops",
            pool.default_voice,
            pool.workers,
            pool.queue_limit,
        )
        await stopping.wait()
        log.info("stopping: finishing the requests in flight")
    finally:
        if listener is not None:
            listener.close()  # both servers stop accepting before either waits for its requests
        waits = [runner.cleanup()] if runner is not None else []
        if listener is not None:
            waits.append(listener.finish())
        await asyncio.gather(*waits)


async def listen(starting, option: str, address: tuple[str, int]) -> None:
    try:
        await starting
    except OSError as e:  # asyncio's own message repeats the address; the system's reason is enough
        reason = os.strerror(e.errno) if e.errno and e.errno > 0 else e.strerror or str(e)
        raise InputError(f"{option}: cannot listen on {address[0]}:{address[1]}: {reason}") from None


class WyomingListener:
    """The Wyoming TCP server. The `wyoming` package's own server closes every connection
    at once when stopped; this one lets the answers in progress finish."""

    def __init__(self, pool) -> None:
        self.pool = pool
        self.handlers: set = set()
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(self.connected, host, port)

    @property
    def addresses(self) -> list:
        return [sock.getsockname() for sock in self.server.sockets] if self.server else []

    async def connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from .wyoming import SpeechHandler

        handler = SpeechHandler(self.pool, reader, writer)
        self.handlers.add(handler)
        try:
            await handler.run()
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

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def finish(self) -> None:
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        while any(handler.answering for handler in self.handlers) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.gather(*(handler.stop() for handler in list(self.handlers)))
