"""serve: parse, load the voice, hand over to serve/."""

from __future__ import annotations

import os
import time
from typing import Optional

import typer
from typer.core import TyperCommand

from ..errors import InputError, require_extra
from .app import app
from .common import detail, set_verbosity
from .options import QUIET, VERBOSE, VOCODER, VOICE

DEFAULT_MAX_CHARS = 20_000  # a long paragraph; books are `render`'s job
DEFAULT_QUEUE = 64
DEFAULT_ZEROCONF_NAME = "lightspeech"


class ServeCommand(TyperCommand):
    """--zeroconf takes its NAME or, bare, the default name, as wyoming-piper's does (click's
    options take a value always or never, so a bare one is given the default here)."""

    def parse_args(self, ctx, args):
        given = list(args)
        options_end = given.index("--") if "--" in given else len(given)
        for index in reversed(range(options_end)):
            if given[index] == "--zeroconf" and (index + 1 == options_end or given[index + 1].startswith("-")):
                given.insert(index + 1, DEFAULT_ZEROCONF_NAME)
        return super().parse_args(ctx, given)


@app.command(cls=ServeCommand)
def serve(
    http: Optional[str] = typer.Option(
        None,
        "--http",
        metavar="HOST:PORT",
        show_default=False,
        help="Serve OpenAI's speech API (POST /v1/audio/speech) and a web page here, "
        "e.g. 127.0.0.1:5000; a bare PORT binds 127.0.0.1.",
    ),
    wyoming: Optional[str] = typer.Option(
        None,
        "--wyoming",
        metavar="tcp://HOST:PORT",
        show_default=False,
        help="Serve the Wyoming protocol (Home Assistant) here, e.g. "
        "tcp://127.0.0.1:10200; a bare PORT binds 127.0.0.1.",
    ),
    voice: Optional[str] = VOICE,
    vocoder: Optional[str] = VOCODER,
    workers: Optional[int] = typer.Option(
        None,
        "--workers",
        "-w",
        min=1,
        max=256,
        show_default=False,
        help="Requests spoken at once, one CPU thread each (default: the cores).",
    ),
    queue: int = typer.Option(
        DEFAULT_QUEUE,
        "--queue",
        min=0,
        max=100_000,
        help="Requests that may wait for a worker; beyond them HTTP answers 503 and Wyoming an error event.",
    ),
    max_chars: int = typer.Option(
        DEFAULT_MAX_CHARS, "--max-chars", min=1, help="The longest text one request may send."
    ),
    client_timeout: float = typer.Option(
        30.0,
        "--client-timeout",
        min=0.1,
        max=3600,
        metavar="SECONDS",
        help="How long a client may take to send a request (headers, body) or a Wyoming event, and to "
        "read each part of an answer; a connection idle for twice this is closed.",
    ),
    max_connections: int = typer.Option(
        256,
        "--max-connections",
        min=1,
        max=100_000,
        help="Open connections per protocol (fewer if the process may open fewer files); beyond them a "
        "new one is closed at once.",
    ),
    max_answer_minutes: float = typer.Option(
        20.0,
        "--max-answer-minutes",
        min=0.01,
        max=600,
        metavar="MINUTES",
        help="The most audio one answer may hold, in any format; a longer one is refused (flac, mp3, "
        "Wyoming) or cut off with its connection (wav, pcm).",
    ),
    zeroconf: Optional[str] = typer.Option(
        None,
        "--zeroconf",
        metavar="[NAME]",
        show_default=False,
        help="Announce the Wyoming server on the local network (zeroconf), so Home Assistant finds it; "
        f"NAME is how it is listed (default: {DEFAULT_ZEROCONF_NAME}).",
    ),
    allow_origin: Optional[list[str]] = typer.Option(
        None,
        "--allow-origin",
        metavar="URL",
        show_default=False,
        help="Also answer web pages of this origin (http://HOST:PORT), with CORS headers, and requests "
        "for its host name; repeatable. By default only the server's own page, and requests for "
        "an address or localhost.",
    ),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Keep a voice loaded and serve it over HTTP, Wyoming, or both.

    HTTP: POST /v1/audio/speech (OpenAI's body: input, voice, response_format wav, pcm,
    flac or mp3, speed, and pitch), streamed sentence by sentence; GET /v1/voices,
    /v1/models and /health; and a web page at /. Wyoming: describe, synthesize and
    streaming synthesis, for Home Assistant's Wyoming Protocol integration. Clients may
    name any installed voice; --voice is the default. Access lines go to stderr.
    SIGTERM or Ctrl-C stops accepting and lets the requests in flight finish.
    """
    from ..serve import parse_http_address, parse_origin, parse_wyoming_address
    from ..serve import serve as run_servers
    from ..text import MAX_TEXT_CHARS

    set_verbosity(quiet, verbose)
    if max_chars > MAX_TEXT_CHARS:
        raise InputError(f"--max-chars must be at most {MAX_TEXT_CHARS:,} (the frontend's limit), not {max_chars:,}")
    if not http and not wyoming:
        raise InputError("nothing to serve: give --http HOST:PORT, --wyoming tcp://HOST:PORT, or both")
    http_address = parse_http_address(http) if http else None
    wyoming_address = parse_wyoming_address(wyoming) if wyoming else None
    if zeroconf is not None:
        if not wyoming_address:
            raise InputError("--zeroconf announces the Wyoming server: give --wyoming tcp://HOST:PORT too")
        from ..serve.discovery import check_name

        check_name(zeroconf)
    origins = frozenset(parse_origin(origin) for origin in allow_origin or [])
    require_extra("serve", "lightspeech serve")
    from ..serve.limits import Limits, fewer_malloc_arenas
    from ..serve.pool import SpeakerPool

    fewer_malloc_arenas()
    start = time.perf_counter()
    pool = SpeakerPool(voice, workers or os.cpu_count() or 1, queue, max_chars, vocoder)
    detail(f"loaded voice {pool.default_voice} in {time.perf_counter() - start:.2f} s")
    run_servers(
        pool,
        http_address,
        wyoming_address,
        quiet,
        origins,
        Limits(client_timeout, max_connections, max_answer_minutes * 60),
        zeroconf,
    )
