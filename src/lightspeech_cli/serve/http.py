"""The HTTP server: OpenAI's speech API, a voice listing, a health check and a web page.

    POST /v1/audio/speech   {"model", "input", "voice", "response_format", "speed", "pitch",
                            "stream_format"} -> audio, streamed sentence by sentence (wav, pcm;
                            flac and mp3 once whole); pcm is 16-bit 24 kHz mono, as OpenAI's.
                            stream_format "sse": OpenAI's server-sent events, speech.audio.delta
                            (base64) and speech.audio.done, and our lightspeech.timings events
    POST /v1/audio/speech/timed   the same body (and "phonemes": true) -> JSON: the audio in
                            base64 and the timing of every word, mark (and phoneme)
    GET  /v1/models         the model names accepted (OpenAI's list format)
    GET  /v1/voices         the voices: {"default": name, "voices": [{name, language, ...}]}
    GET  /health            {"status": "ok", ...}
    GET  /                  a page to type text and hear it (no build step, no CDN)

Errors are JSON in OpenAI's shape, {"error": {"message", "type", "param", "code"}},
with a 4xx status (503 when busy); the server keeps serving.

Every connection is held to limits.py's deadlines, and every request to the hosts and
origins the server was started for: a request whose Host is not an address, a loopback name
or an allowed origin's host is refused (a page whose name was rebound to this machine's
address cannot read it), and so is one sent by a web page of another origin than the
server's own or an allowed one (any page could otherwise make it speak). CORS headers
go to allowed origins only.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import ipaddress
import json
import logging
import math
import struct
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

import numpy as np
from aiohttp import web

from .. import __version__
from ..errors import InputError, LightspeechError, VoiceError
from ..paths import parse_json
from ..runtime import audio
from ..runtime.synthesizer import CONTROL_RANGE, Controls, Spoken
from ..runtime.timings import Timings
from .limits import ConnectionLimit, Limits, TooSlow, within
from .pool import Busy, SpeakerPool

MODELS = ("lightspeech", "tts-1", "tts-1-hd", "gpt-4o-mini-tts")  # OpenAI's names are accepted too
# OpenAI's voice names, for clients that offer only those: they speak with the default voice.
OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse")
# response_format -> its media type
MEDIA_TYPES = {"wav": "audio/wav", "pcm": "audio/pcm", "flac": "audio/flac", "mp3": "audio/mpeg"}
STREAMED = ("wav", "pcm")  # sent sentence by sentence; flac and mp3 are encoded whole
PCM_RATE = 24_000  # what OpenAI's clients assume for "pcm"
MAX_BODY_BYTES = 1024 * 1024
POOL = web.AppKey("pool", SpeakerPool)
PAGE = web.AppKey("page", str)
ORIGINS = web.AppKey("origins", frozenset)  # --allow-origin: scheme://host[:port], lowercase
GUARDS = web.AppKey("guards", dict)  # transport -> its GuardedConnection
LIMITS = web.AppKey("limits", Limits)
CORS = web.RequestKey("cors", dict)
LOOPBACK_NAMES = ("localhost", "localhost.")
log = logging.getLogger("lightspeech.http")


def error(status: int, message: str, kind: str = "invalid_request_error") -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return web.json_response(body, status=status)


def streaming_wav_header(rate: int) -> bytes:
    """A 16-bit mono WAV header for a stream of unknown length (the sizes say "as long as
    it goes", as OpenAI's own streamed WAV does), so the first sentence can be sent
    before the last one is made."""
    unknown = 0xFFFFFFFF
    return (
        b"RIFF"
        + struct.pack("<I", unknown)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", unknown - 36)
    )


def _factor(body: dict, name: str) -> float:
    value = body.get(name, 1.0)
    low, high = CONTROL_RANGE
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise InputError(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)


@dataclass(frozen=True)
class SpeechRequest:
    voice: str | None
    text: str
    controls: Controls
    response_format: str
    stream_format: str  # "audio", or "sse": OpenAI's server-sent events
    phonemes: bool  # /v1/audio/speech/timed: each phoneme's interval too


def check_speech_request(body: object, pool: SpeakerPool) -> SpeechRequest:
    """An OpenAI speech request (and our own fields), checked."""
    if not isinstance(body, dict):
        raise InputError("the body must be a JSON object")
    model = body.get("model", "lightspeech")
    if not isinstance(model, str) or model not in MODELS:
        raise InputError(f"unknown model {str(model)[:40]!r}; use one of {', '.join(MODELS)}")
    text = pool.check_text(body.get("input"))
    response_format = body.get("response_format", "wav")
    if not isinstance(response_format, str) or response_format not in MEDIA_TYPES:
        raise InputError(f"unsupported response_format {str(response_format)[:20]!r}; use {', '.join(MEDIA_TYPES)}")
    if response_format == "mp3" and ".mp3" not in audio.supported_formats():
        raise InputError("this server's libsndfile cannot write mp3; use wav, pcm or flac")
    stream_format = body.get("stream_format", "audio")
    if not isinstance(stream_format, str) or stream_format not in ("audio", "sse"):
        raise InputError(f"unsupported stream_format {str(stream_format)[:20]!r}; use audio or sse")
    if stream_format == "sse" and response_format not in STREAMED:
        raise InputError(f"stream_format sse streams {' or '.join(STREAMED)}, not {response_format}")
    voice = body.get("voice")
    if voice is not None and not isinstance(voice, str):
        raise InputError("voice must be a name")
    phonemes = body.get("phonemes", False)
    if not isinstance(phonemes, bool):
        raise InputError("phonemes must be true or false")
    controls = Controls(speed=_factor(body, "speed"), pitch=_factor(body, "pitch"))
    return SpeechRequest(
        None if voice in OPENAI_VOICES else voice, text, controls, response_format, stream_format, phonemes
    )


async def speech(request: web.Request) -> web.StreamResponse:
    """POST /v1/audio/speech: the audio (whole, streamed, or as server-sent events)."""
    return await answer(request, timed=False)


async def timed_speech(request: web.Request) -> web.StreamResponse:
    """POST /v1/audio/speech/timed: JSON with the audio (base64) and its timings."""
    return await answer(request, timed=True)


async def answer(request: web.Request, timed: bool) -> web.StreamResponse:
    pool, seconds = request.app[POOL], request.app[LIMITS].client_seconds
    if (request.content_length or 0) > MAX_BODY_BYTES:  # said up front: no need to wait for it
        return error(413, f"Request Entity Too Large: the body may have at most {MAX_BODY_BYTES:,} bytes")
    try:
        body = await within(seconds, request.json(loads=parse_json), "send its body")
    except TooSlow as e:
        log.info("%s %s; connection closed", request.remote, e)
        response = error(408, f"Request Timeout: the body must arrive within {seconds:g} s", kind="timeout")
        response.force_close()
        return response
    except ConnectionError:
        log.info("%s left before sending its body", request.remote)
        return web.Response(status=499)
    except ValueError:  # malformed JSON, bad UTF-8, a number past Python's 4,300 digits, nesting too deep
        return error(400, "the body is not JSON")
    try:
        asked = check_speech_request(body, pool)
        if timed and asked.stream_format != "audio":
            raise InputError("the timed answer is one JSON object: leave stream_format out")
        synthesizer = await pool.synthesizer(asked.voice)
        pool.admit()
    except Busy as e:
        return error(503, str(e), kind="server_busy")
    except InputError as e:
        return error(400, str(e))
    except VoiceError as e:  # an installed voice that does not load: the server's problem, not the client's
        return error(500, str(e), kind="server_error")
    try:
        pieces = pool.stream(synthesizer, asked.text, asked.controls)
        if timed or asked.response_format not in STREAMED:
            return await whole_answer(request, pool, synthesizer, pieces, asked, timed)
        if asked.stream_format == "sse":
            return await events_answer(request, synthesizer, pieces, asked)
        return await streamed_answer(request, synthesizer, pieces, asked)
    except ConnectionError as e:  # gone, or too slow to read (TooSlow): its place goes to the others
        log.info("%s left before the end of its answer (%s)", request.remote, e or type(e).__name__)
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=499)  # nginx's "client closed request", for the log
    finally:
        pool.release()


class AnswerTooLong(InputError):
    """More audio than one answer may hold."""


def check_length(samples: int, rate: int, limits: Limits) -> None:
    if samples > limits.answer_seconds * rate:
        raise AnswerTooLong(
            f"the answer would be longer than {limits.answer_seconds / 60:g} minutes of audio, the most one "
            "answer holds; send the text in parts"
        )


def encoded(samples: np.ndarray, rate: int, response_format: str) -> bytes:
    """One sentence's audio as its answer sends it: 16-bit PCM, at 24 kHz for pcm."""
    return audio.to_pcm16(audio.resample(samples, rate, PCM_RATE if response_format == "pcm" else rate)).tobytes()


async def whole_answer(request, pool, synthesizer, pieces, asked: SpeechRequest, timed: bool) -> web.StreamResponse:
    """Encoded as the sentences come (held compressed, never whole as float32), by at most as
    many requests at once as there are workers, then sent with its length: flac and mp3, and
    the timed answer in any format (JSON: the audio in base64, and its timings)."""
    rate, seconds = synthesizer.sample_rate, request.app[LIMITS].client_seconds
    out_rate = PCM_RATE if asked.response_format == "pcm" else rate
    async with pool.whole_answers:
        encoder = audio.Encoder(f".{asked.response_format}", out_rate) if asked.response_format != "pcm" else None
        pcm, timings, samples = bytearray(), Timings(), 0
        try:
            async for piece in pieces:
                if request.transport is None or request.transport.is_closing():
                    # Nothing is written until the end, so no write fails: ask between sentences.
                    log.info("%s left before its answer was made", request.remote)
                    return web.Response(status=499)
                samples += len(piece.audio)
                check_length(samples, rate, request.app[LIMITS])
                timings.extend(piece.timings)
                if encoder is None:
                    pcm += encoded(piece.audio, rate, "pcm")
                else:
                    encoder.write(audio.resample(piece.audio, rate, out_rate))
        except InputError as e:  # nothing to say, or too long
            return error(400, str(e))
        except LightspeechError as e:
            return error(500, str(e), kind="server_error")
        whole = bytes(pcm) if encoder is None else encoder.finish()
    if timed:
        body = {
            "response_format": asked.response_format,
            "sample_rate": out_rate,
            "duration": samples / rate,
            "audio": base64.b64encode(whole).decode("ascii"),
            **timings.to_dict(asked.phonemes),
        }
        whole = json.dumps(body).encode()
    response = web.StreamResponse(
        headers={"Content-Type": "application/json" if timed else MEDIA_TYPES[asked.response_format]}
    )
    response.content_length = len(whole)
    await within(seconds, response.prepare(request), "read the answer")
    for offset in range(0, len(whole), 1 << 16):  # each write within the deadline, not the whole answer
        await within(seconds, response.write(whole[offset : offset + (1 << 16)]), "read the answer")
    await within(seconds, response.write_eof(), "read the answer")
    return response


async def streamed_answer(request, synthesizer, pieces, asked: SpeechRequest) -> web.StreamResponse:
    """wav and pcm: each sentence sent as soon as it is made."""

    def data(piece: Spoken, first: bool) -> bytes:
        header = streaming_wav_header(synthesizer.sample_rate) if first and asked.response_format == "wav" else b""
        return header + encoded(piece.audio, synthesizer.sample_rate, asked.response_format)

    return await stream_out(request, synthesizer, pieces, MEDIA_TYPES[asked.response_format], data)


async def events_answer(request, synthesizer, pieces, asked: SpeechRequest) -> web.StreamResponse:
    """OpenAI's server-sent events: a speech.audio.delta of base64 audio per sentence, then
    speech.audio.done; and before each sentence's audio, our own lightspeech.timings event,
    its words and marks timed from the start of the answer (README: Serving)."""

    def data(piece: Spoken, first: bool) -> bytes:
        events = []
        if piece.timings.words or piece.timings.marks:
            events.append({"type": "lightspeech.timings", **piece.timings.to_dict()})
        if len(piece.audio):
            header = streaming_wav_header(synthesizer.sample_rate) if first and asked.response_format == "wav" else b""
            chunk = header + encoded(piece.audio, synthesizer.sample_rate, asked.response_format)
            events.append({"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode("ascii")})
        return b"".join(f"data: {json.dumps(event)}\n\n".encode() for event in events)

    usage = {"input_tokens": len(asked.text), "output_tokens": 0, "total_tokens": len(asked.text)}  # characters
    done = f"data: {json.dumps({'type': 'speech.audio.done', 'usage': usage})}\n\n".encode()
    return await stream_out(request, synthesizer, pieces, "text/event-stream", data, done)


async def stream_out(request, synthesizer, pieces, media_type: str, data, last: bytes = b"") -> web.StreamResponse:
    """Each piece sent as `data(piece, first)` as soon as it is made, then `last`."""
    seconds = request.app[LIMITS].client_seconds
    try:
        first = await anext(pieces)
    except InputError as e:  # nothing to say
        return error(400, str(e))
    except LightspeechError as e:
        return error(500, str(e), kind="server_error")
    # From here the status is sent: an error while speaking (a broken voice, an answer that
    # grows too long) drops the connection, so no client mistakes a truncated answer for a
    # whole one.
    response = web.StreamResponse(headers={"Content-Type": media_type})
    await within(seconds, response.prepare(request), "read the answer")
    samples = len(first.audio)
    await within(seconds, response.write(data(first, True)), "read the answer")
    try:
        async for piece in pieces:
            samples += len(piece.audio)
            check_length(samples, synthesizer.sample_rate, request.app[LIMITS])
            await within(seconds, response.write(data(piece, False)), "read the answer")
    except LightspeechError as e:
        log.warning("%s: answer cut off: %s", request.remote, e)
        if request.transport is not None:
            request.transport.abort()
        return response
    if last:
        await within(seconds, response.write(last), "read the answer")
    await within(seconds, response.write_eof(), "read the answer")
    return response


async def models(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "object": "list",
            "data": [{"id": name, "object": "model", "created": 0, "owned_by": "lightspeech"} for name in MODELS],
        }
    )


async def voices(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    return web.json_response(
        {"default": pool.default_voice, "voices": [dataclasses.asdict(voice) for voice in pool.voices()]}
    )


async def health(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "in_progress": pool.in_progress,
            "capacity": pool.workers + pool.queue_limit,
            "served": pool.served,
        }
    )


async def page(request: web.Request) -> web.Response:
    return web.Response(text=request.app[PAGE], content_type="text/html")


def host_name(authority: str) -> str:
    """The host of HOST[:PORT] or [IPV6]:PORT, lowercase."""
    if authority.startswith("["):
        return authority[1 : authority.find("]")].lower() if "]" in authority else ""
    return authority.rsplit(":", 1)[0].lower() if authority.count(":") == 1 else authority.lower()


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def allowed_host(host: str, origins: frozenset) -> bool:
    """An address (no name to rebind), a loopback name, or the host of an allowed origin."""
    return is_address(host) or host in LOOPBACK_NAMES or any(urlsplit(o).hostname == host for o in origins)


@web.middleware
async def hosts_and_origins(request: web.Request, handler):
    """Refuse requests for another host (DNS rebinding) and from other web pages; answer
    allowed origins with CORS headers, and their preflight requests."""
    origins = request.app[ORIGINS]
    host = request.headers.get("Host")
    if host is not None and not allowed_host(host_name(host), origins):
        return error(
            403,
            f"Forbidden: this server answers requests for its address or localhost, not {host[:80]!r}; "
            "start it with --allow-origin http://NAME:PORT to allow a name",
            kind="forbidden",
        )
    origin = request.headers.get("Origin")
    if origin is None:  # not a web page: curl, an API client, a same-origin GET
        return await handler(request)
    own = f"{request.scheme}://{request.host}".lower()
    if origin.lower() != own and origin.lower() not in origins:
        return error(
            403,
            f"Forbidden: requests from web pages of {origin[:80]!r} are not allowed; start the server with "
            f"--allow-origin {origin[:80]} to allow them",
            kind="forbidden",
        )
    cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if request.method == "OPTIONS":
        return web.Response(
            status=204,
            headers={
                **cors,
                "Access-Control-Allow-Methods": "GET, POST",
                "Access-Control-Allow-Headers": "Content-Type, Authorization",
                "Access-Control-Max-Age": "600",
            },
        )
    request[CORS] = cors  # added as the answer's headers are sent (a streamed answer sends them early)
    return await handler(request)


async def cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(request.get(CORS, {}))


@web.middleware
async def deadlines(request: web.Request, handler):
    """A request's headers have arrived: its connection's deadline for them is off until its
    answer is done, and then it has the idle time to send the next one."""
    guard = request.app[GUARDS].get(request.transport)
    if guard is not None:
        guard.request_started()
    try:
        return await handler(request)
    finally:
        if guard is not None:
            guard.expect_request(request.app[LIMITS].idle_seconds)


@web.middleware
async def json_errors(request: web.Request, handler):
    """Unknown paths, wrong methods and oversized bodies answer in the same JSON shape as
    everything else."""
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status >= 400:
            return error(e.status, f"{e.reason}: {request.method} {request.path[:100]}")
        raise


def application(
    pool: SpeakerPool, allowed_origins: frozenset = frozenset(), limits: Limits = Limits()
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[deadlines, json_errors, hosts_and_origins])
    app[POOL] = pool
    app[ORIGINS] = allowed_origins
    app[GUARDS] = {}
    app[LIMITS] = limits
    app.on_response_prepare.append(cors_headers)
    page_text = (resources.files(__package__) / "web" / "index.html").read_text(encoding="utf-8")
    # The page's text box stops where the server does (--max-chars).
    app[PAGE] = page_text.replace('maxlength="MAX_CHARS"', f'maxlength="{pool.max_chars}"')
    app.add_routes(
        [
            web.post("/v1/audio/speech", speech),
            web.post("/v1/audio/speech/timed", timed_speech),
            web.get("/v1/models", models),
            web.get("/v1/voices", voices),
            web.get("/health", health),
            web.get("/", page),
        ]
    )
    return app


class GuardedConnection(asyncio.Protocol):
    """aiohttp's handler of one connection, held to the limits: counted against the cap
    (beyond it, closed at once) and dropped when a request's headers do not arrive in time
    (client_seconds on a new connection, idle_seconds after an answer)."""

    def __init__(self, handler: asyncio.Protocol, limit: ConnectionLimit, guards: dict, seconds: float):
        self.handler, self.limit, self.guards, self.seconds = handler, limit, guards, seconds
        self.transport: asyncio.Transport | None = None
        self.deadline: asyncio.TimerHandle | None = None
        self.counted = False
        self.requests = 0

    @property
    def waiting(self) -> bool:
        return self.deadline is not None

    @property
    def answered(self) -> bool:
        """Whether it has had an answer (a kept-alive client's, not a flood's)."""
        return self.requests > 0

    def evict(self) -> None:
        assert self.transport is not None
        self.transport.abort()

    def connection_made(self, transport) -> None:
        self.transport = transport
        if not self.limit.admit(self, transport.get_extra_info("peername")):
            transport.abort()
            return
        self.counted = True
        self.guards[transport] = self
        self.handler.connection_made(transport)
        self.expect_request(self.seconds)

    def expect_request(self, seconds: float) -> None:
        self.stop_waiting()
        self.deadline = asyncio.get_running_loop().call_later(seconds, self.too_slow, seconds)

    def request_started(self) -> None:
        self.requests += 1
        self.stop_waiting()

    def stop_waiting(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def too_slow(self, seconds: float) -> None:
        assert self.transport is not None
        peer = self.transport.get_extra_info("peername")
        log.info("%s sent no complete request in %g s; connection closed", peer[0] if peer else "?", seconds)
        self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_waiting()
        if self.counted:
            self.counted = False
            self.guards.pop(self.transport, None)
            self.limit.release(self)
            self.handler.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self.handler.eof_received()

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()


async def listen(runner: web.AppRunner, host: str, port: int) -> asyncio.Server:
    """The HTTP listener: aiohttp's handlers, each behind a GuardedConnection."""
    assert runner.server is not None
    factory, guards, limits = runner.server, runner.app[GUARDS], runner.app[LIMITS]
    limit = ConnectionLimit("http", limits.connections)
    return await asyncio.get_running_loop().create_server(
        lambda: GuardedConnection(factory(), limit, guards, limits.client_seconds), host, port, reuse_address=True
    )
