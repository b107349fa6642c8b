"""The HTTP server: OpenAI's speech API, a voice listing, a health check and a web page.

    POST /v1/audio/speech   {"model", "input", "voice", "response_format", "speed", "pitch"}
                            -> audio, streamed sentence by sentence (wav, pcm; flac and
                            mp3 once whole); pcm is 16-bit 24 kHz mono, as OpenAI's
    GET  /v1/models         the model names accepted (OpenAI's list format)
    GET  /v1/voices         the voices: {"default": name, "voices": [{name, language, ...}]}
    GET  /health            {"status": "ok", ...}
    GET  /                  a page to type text and hear it (no build step, no CDN)

Errors are JSON in OpenAI's shape, {"error": {"message", "type", "param", "code"}},
with a 4xx status (503 when busy); the server keeps serving.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import struct
from importlib import resources

import numpy as np
from aiohttp import web

from .. import __version__
from ..errors import InputError, LightspeechError, VoiceError
from ..paths import parse_json
from ..runtime import audio
from ..runtime.synthesizer import CONTROL_RANGE, Controls
from .pool import Busy, SpeakerPool

MODELS = ("lightspeech", "tts-1", "tts-1-hd", "gpt-4o-mini-tts")  # OpenAI's names are accepted too
# OpenAI's voice names, for clients that offer only those: they speak with the default voice.
OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse")
FORMATS = {"wav": "audio/wav", "pcm": "audio/pcm", "flac": "audio/flac", "mp3": "audio/mpeg"}
PCM_RATE = 24_000  # what OpenAI's clients assume for "pcm"
MAX_BODY_BYTES = 1024 * 1024
POOL = web.AppKey("pool", SpeakerPool)
PAGE = web.AppKey("page", str)
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


def check_speech_request(body: object, pool: SpeakerPool) -> tuple[str | None, str, Controls, str]:
    """(voice name, text, controls, format) from an OpenAI speech request, checked."""
    if not isinstance(body, dict):
        raise InputError("the body must be a JSON object")
    model = body.get("model", "lightspeech")
    if model not in MODELS:
        raise InputError(f"unknown model {str(model)[:40]!r}; use one of {', '.join(MODELS)}")
    text = pool.check_text(body.get("input"))
    response_format = body.get("response_format", "wav")
    if response_format not in FORMATS:
        raise InputError(f"unsupported response_format {str(response_format)[:20]!r}; use {', '.join(FORMATS)}")
    if response_format == "mp3" and ".mp3" not in audio.supported_formats():
        raise InputError("this server's libsndfile cannot write mp3; use wav, pcm or flac")
    voice = body.get("voice")
    if voice is not None and not isinstance(voice, str):
        raise InputError("voice must be a name")
    controls = Controls(speed=_factor(body, "speed"), pitch=_factor(body, "pitch"))
    return None if voice in OPENAI_VOICES else voice, text, controls, response_format


async def speech(request: web.Request) -> web.StreamResponse:
    pool = request.app[POOL]
    if (request.content_length or 0) > MAX_BODY_BYTES:  # said up front: no need to wait for it
        return error(413, f"Request Entity Too Large: the body may have at most {MAX_BODY_BYTES:,} bytes")
    try:
        body = await request.json(loads=parse_json)
    except ValueError:  # malformed JSON, bad UTF-8, a number past Python's 4,300 digits, nesting too deep
        return error(400, "the body is not JSON")
    try:
        voice, text, controls, response_format = check_speech_request(body, pool)
        synthesizer = await pool.synthesizer(voice)
        pool.admit()
    except Busy as e:
        return error(503, str(e), kind="server_busy")
    except InputError as e:
        return error(400, str(e))
    except VoiceError as e:  # an installed voice that does not load: the server's problem, not the client's
        return error(500, str(e), kind="server_error")
    rate = synthesizer.sample_rate
    try:
        chunks = pool.stream(synthesizer, text, controls)
        try:
            first = await anext(chunks)
            whole = None
            if response_format in ("flac", "mp3"):  # encoded whole, before anything is sent
                pieces = [first]
                async for chunk in chunks:
                    if request.transport is None or request.transport.is_closing():
                        # Nothing is written until the end, so no write fails: ask between sentences.
                        log.info("%s left before its answer was made", request.remote)
                        return web.Response(status=499)  # nginx's "client closed request", for the log
                    pieces.append(chunk)
                whole = audio.encode(np.concatenate(pieces), rate, f".{response_format}")
        except InputError as e:  # nothing to say
            return error(400, str(e))
        except LightspeechError as e:
            return error(500, str(e), kind="server_error")
        # From here the status is sent: an error while speaking (a broken voice) is left
        # to aiohttp, which logs it and drops the connection, so no client mistakes a
        # truncated answer for a whole one.
        response = web.StreamResponse(headers={"Content-Type": FORMATS[response_format]})
        try:
            if whole is not None:
                response.content_length = len(whole)
                await response.prepare(request)
                await response.write(whole)
            else:
                out_rate = PCM_RATE if response_format == "pcm" else rate
                header = streaming_wav_header(rate) if response_format == "wav" else b""
                await response.prepare(request)
                await response.write(header + audio.to_pcm16(audio.resample(first, rate, out_rate)).tobytes())
                async for chunk in chunks:
                    await response.write(audio.to_pcm16(audio.resample(chunk, rate, out_rate)).tobytes())
            await response.write_eof()
        except ConnectionResetError:  # the listener went away: stop speaking for it
            log.info("%s left before the end of its answer", request.remote)
        return response
    finally:
        pool.release()


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


def application(pool: SpeakerPool) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[json_errors])
    app[POOL] = pool
    page_text = (resources.files(__package__) / "web" / "index.html").read_text(encoding="utf-8")
    # The page's text box stops where the server does (--max-chars).
    app[PAGE] = page_text.replace('maxlength="MAX_CHARS"', f'maxlength="{pool.max_chars}"')
    app.add_routes(
        [
            web.post("/v1/audio/speech", speech),
            web.get("/v1/models", models),
            web.get("/v1/voices", voices),
            web.get("/health", health),
            web.get("/", page),
        ]
    )
    return app
