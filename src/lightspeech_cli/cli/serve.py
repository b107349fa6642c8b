"""serve: parse, load the voice, hand over to serve/."""

from __future__ import annotations

import os
import time
from typing import Optional

import typer

from ..errors import InputError, require_extra
from . import app
from .common import QUIET, VERBOSE, VOCODER, VOICE, detail, set_verbosity

DEFAULT_MAX_CHARS = 20_000  # a long paragraph; books are `render`'s job
DEFAULT_QUEUE = 64


@app.command()
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
    from ..serve import parse_http_address, parse_wyoming_address
    from ..serve import serve as run_servers
    from ..text import MAX_TEXT_CHARS

    set_verbosity(quiet, verbose)
    if max_chars > MAX_TEXT_CHARS:
        raise InputError(f"--max-chars must be at most {MAX_TEXT_CHARS:,} (the frontend's limit), not {max_chars:,}")
    if not http and not wyoming:
        raise InputError("nothing to serve: give --http HOST:PORT, --wyoming tcp://HOST:PORT, or both")
    http_address = parse_http_address(http) if http else None
    wyoming_address = parse_wyoming_address(wyoming) if wyoming else None
    require_extra("serve", "lightspeech serve")
    from ..serve.pool import SpeakerPool

    start = time.perf_counter()
    pool = SpeakerPool(voice, workers or os.cpu_count() or 1, queue, max_chars, vocoder)
    detail(f"loaded voice {pool.default_voice} in {time.perf_counter() - start:.2f} s")
    run_servers(pool, http_address, wyoming_address, quiet)
