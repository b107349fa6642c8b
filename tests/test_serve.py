"""`lightspeech serve`, started as users start it (a process on 127.0.0.1, ports chosen by
the system and read from its log), talked to with real clients: the `wyoming` package's,
the `openai` package's and `requests`. Audio is checked against what the synthesizer
makes in-process for the same text, sample for sample."""

import asyncio
import io
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import requests
import soundfile
from openai import OpenAI
from typer.testing import CliRunner
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped, SynthesizeVoice

from lightspeech_cli import Synthesizer
from lightspeech_cli.cli import app

TEXT = "Hello there. This is a test of the server. It speaks three sentences."
RATE = 22050
PCM_RATE = 24000
START_SECONDS = 60
LONG_TEXT = " ".join(f"This is sentence number {n}, which keeps a worker busy." for n in range(1, 26))


class Server:
    """A `lightspeech serve` process, its ports, and every line it logged."""

    def __init__(self, home, *options):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lightspeech_cli",
                "serve",
                "--http",
                "127.0.0.1:0",
                "--wyoming",
                "tcp://127.0.0.1:0",
                *options,
            ],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "LIGHTSPEECH_HOME": str(home)},
        )
        self.log: list[str] = []
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read_log, daemon=True).start()
        deadline = time.monotonic() + START_SECONDS
        while not any("serving voice" in line for line in self.log):
            try:
                self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.process.kill()
                pytest.fail(f"the server did not start in {START_SECONDS} s:\n" + "".join(self.log))
            if self.process.poll() is not None and self.lines.empty():
                pytest.fail("the server exited:\n" + "".join(self.log))
        log = "".join(self.log)
        self.http = re.search(r"http: listening on (http://127\.0\.0\.1:\d+)", log).group(1)
        self.wyoming_port = int(re.search(r"wyoming: listening on tcp://127\.0\.0\.1:(\d+)", log).group(1))

    def _read_log(self):
        for line in self.process.stderr:
            self.log.append(line)
            self.lines.put(line)

    def wait_for_log(self, text: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.log):
            assert time.monotonic() < deadline, f"no {text!r} in the log:\n" + "".join(self.log)
            time.sleep(0.02)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("home"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def synthesizer():
    return Synthesizer.load(threads=1)  # the server's voice, on one thread as each of its workers


def start_long_request(server) -> requests.Response:
    """A long answer, streaming: once its first bytes are here it is admitted and in flight."""
    answer = requests.post(f"{server.http}/v1/audio/speech", json={"input": LONG_TEXT}, stream=True, timeout=60)
    assert answer.status_code == 200
    answer.first = answer.raw.read(1000)
    return answer


def wav_samples(data: bytes) -> np.ndarray:
    samples, rate = soundfile.read(io.BytesIO(data), dtype="int16")
    assert rate == RATE
    return samples


# --- Wyoming ---------------------------------------------------------------------------------


async def read_answer(client) -> tuple[list, bytes]:
    """Events up to audio-stop (or an error), and the audio they carried."""
    events, pcm = [], b""
    while True:
        event = await asyncio.wait_for(client.read_event(), 30)
        assert event is not None, "the server closed the connection"
        events.append(event)
        if AudioChunk.is_type(event.type):
            pcm += AudioChunk.from_event(event).audio
        if AudioStop.is_type(event.type) or Error.is_type(event.type):
            return events, pcm


def test_wyoming_describe_lists_the_voices(server):
    async def talk():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(Describe().event())
            return Info.from_event(await asyncio.wait_for(client.read_event(), 10))

    (program,) = asyncio.run(talk()).tts
    assert program.name == "lightspeech" and program.supports_synthesize_streaming
    voice = program.voices[0]
    assert voice.name == "en-us-lightspeech" and voice.languages == ["en-US"] and voice.attribution.name


def test_wyoming_synthesize_gives_the_synthesizers_audio(server, synthesizer):
    async def talk():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(Synthesize(text=TEXT, voice=SynthesizeVoice(name="en-us-lightspeech")).event())
            return await read_answer(client)

    events, pcm = asyncio.run(talk())
    start = AudioStart.from_event(events[0])
    assert (start.rate, start.width, start.channels) == (RATE, 2, 1)
    assert len(pcm) // 2 == len(synthesizer.synthesize(TEXT))


def test_wyoming_streaming_speaks_the_first_sentence_before_the_text_ends(server, synthesizer):
    async def talk():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(SynthesizeStart().event())
            for piece in ("Hello ", "there. ", "This is"):  # as a language model writes it
                await client.write_event(SynthesizeChunk(text=piece).event())
            first = await asyncio.wait_for(client.read_event(), 10)
            second = await asyncio.wait_for(client.read_event(), 10)
            assert AudioStart.is_type(first.type) and AudioChunk.is_type(second.type)  # before the rest is sent
            pcm = AudioChunk.from_event(second).audio
            await client.write_event(SynthesizeChunk(text=" a test of streaming.").event())
            # Streaming clients repeat the whole text for servers that do not stream: not spoken twice.
            await client.write_event(Synthesize(text="Hello there. This is a test of streaming.").event())
            await client.write_event(SynthesizeStop().event())
            events, rest = await read_answer(client)
            stopped = await asyncio.wait_for(client.read_event(), 10)
            return events, pcm + rest, stopped

    events, pcm, stopped = asyncio.run(talk())
    assert SynthesizeStopped.is_type(stopped.type)
    assert not any(AudioStart.is_type(event.type) for event in events)  # one answer, one audio-start
    assert len(pcm) // 2 == len(synthesizer.synthesize("Hello there. This is a test of streaming."))


def test_wyoming_errors_are_events_and_the_connection_stays_open(server):
    async def talk():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            answers = []
            for request in (Synthesize(text="Hi.", voice=SynthesizeVoice(name="nobody")), Synthesize(text="  ")):
                await client.write_event(request.event())
                answers.append(Error.from_event(await asyncio.wait_for(client.read_event(), 10)))
            await client.write_event(Synthesize(text="Still here.").event())
            _, pcm = await read_answer(client)
            return answers, pcm

    (unknown, empty), pcm = asyncio.run(talk())
    assert "unknown voice 'nobody'" in unknown.text and "empty" in empty.text
    assert len(pcm) > 0.3 * RATE * 2


def test_wyoming_a_voice_asked_for_by_language(server):
    async def ask(language):
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(Synthesize(text="Hi.", voice=SynthesizeVoice(language=language)).event())
            return await read_answer(client)

    for language in ("en", "en_US", "en-us"):
        events, pcm = asyncio.run(ask(language))
        assert AudioStart.is_type(events[0].type) and len(pcm) > 0
    (error,), _ = asyncio.run(ask("de"))
    assert "no voice speaks 'de'; voices: en-us-lightspeech (en-US)" in Error.from_event(error).text


def test_wyoming_an_error_at_the_end_of_a_stream_comes_before_synthesize_stopped(server):
    async def talk():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(SynthesizeStart().event())
            await client.write_event(SynthesizeChunk(text="<speak>Hi.</speak> Yes. ").event())
            await client.write_event(SynthesizeStop().event())
            events = []
            while not events or not SynthesizeStopped.is_type(events[-1].type):
                events.append(await asyncio.wait_for(client.read_event(), 10))
            return [event.type for event in events]

    types = asyncio.run(talk())
    assert "error" in types and types[-1] == "synthesize-stopped"  # a client stops reading there


@pytest.mark.parametrize(
    "line",
    [
        b'{"type": "synthesize", "data": {"text": 5}}\n',
        b'{"type": "synthesize", "data": {"voice": {"name": "x"}}}\n',
        b'{"type": "synthesize", "data": {"text": "Hi.", "voice": "x"}}\n',
        b'{"type": "synthesize", "data": {"text": "Hi.", "voice": {"language": 5}}}\n',
    ],
)
def test_wyoming_malformed_events_are_error_events(server, line):
    with socket.create_connection(("127.0.0.1", server.wyoming_port), timeout=10) as connection:
        connection.sendall(line)
        reply = connection.makefile("rb").readline()
    assert b'"type": "error"' in reply


@pytest.mark.parametrize(
    "line",
    [
        b"not json\n",
        b'{"data": {}}\n',
        b'{"type": "describe", "data_length": "x"}\n',
        b"[1, 2]\n",
        b"[" * 60_000 + b"\n",  # nested past Python's recursion limit
        b'{"type": "describe", "payload_length": 4000000000}\n',  # closed before 4 GB are read
    ],
)
def test_wyoming_garbage_closes_that_connection_only(server, line):
    with socket.create_connection(("127.0.0.1", server.wyoming_port), timeout=10) as connection:
        connection.sendall(line)
        assert connection.recv(100) == b""  # closed, with nothing said

    async def describe():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(Describe().event())
            return await asyncio.wait_for(client.read_event(), 10)

    assert Info.is_type(asyncio.run(describe()).type)


# --- HTTP: OpenAI's client ----------------------------------------------------------------------


def test_openai_client_gets_wav_pcm_and_flac_of_the_predicted_length(server, synthesizer):
    client = OpenAI(base_url=f"{server.http}/v1", api_key="not-needed", max_retries=0)
    expected = len(synthesizer.synthesize(TEXT))
    wav = client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="wav").content
    assert len(wav_samples(wav)) == expected
    flac = client.audio.speech.create(
        model="lightspeech", voice="en-us-lightspeech", input=TEXT, response_format="flac"
    ).content
    assert soundfile.info(io.BytesIO(flac)).frames == expected
    pcm = client.audio.speech.create(model="tts-1", voice="nova", input=TEXT, response_format="pcm").content
    # 24 kHz, as OpenAI's pcm; each sentence is resampled as it is sent, a sample of rounding each
    assert abs(len(pcm) // 2 - expected * PCM_RATE / RATE) <= 3


def test_speed_reaches_the_synthesizer(server, synthesizer):
    answer = requests.post(
        f"{server.http}/v1/audio/speech", json={"input": TEXT, "speed": 1.5, "pitch": 1.2}, timeout=30
    )
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "audio/wav"
    assert len(wav_samples(answer.content)) == len(synthesizer.synthesize(TEXT, speed=1.5, pitch=1.2))


# --- HTTP: errors, listings, the page, the log ------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, body, status, message",
    [
        ("POST", "/v1/audio/speech", {"input": ""}, 400, "the input is empty"),
        ("POST", "/v1/audio/speech", {"voice": "alloy"}, 400, "the input must be text"),
        (
            "POST",
            "/v1/audio/speech",
            {"input": "Hello. " * 3000},
            400,
            "too long (21,000 characters; the limit is 20,000)",
        ),
        ("POST", "/v1/audio/speech", b'{"input": "' + b"x" * 2_000_000 + b'"}', 413, "Too Large"),
        ("POST", "/v1/audio/speech", {"input": "Hi.", "voice": "nobody"}, 400, "unknown voice 'nobody'"),
        (
            "POST",
            "/v1/audio/speech",
            {"input": "Hi.", "response_format": "aac"},
            400,
            "unsupported response_format 'aac'",
        ),
        ("POST", "/v1/audio/speech", b"{not json", 400, "not JSON"),
        ("POST", "/v1/audio/speech", b'{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "not JSON"),
        ("POST", "/v1/audio/speech", b'{"input": "Hi.", "speed": 1' + b"0" * 5000 + b"}", 400, "not JSON"),
        ("POST", "/v1/audio/speech", [1, 2], 400, "JSON object"),
        ("POST", "/v1/audio/speech", {"input": "Hi.", "speed": 9}, 400, "speed must be a number from 0.25 to 4"),
        ("POST", "/v1/audio/speech", {"input": "Hi.", "model": "whisper-1"}, 400, "unknown model"),
        ("POST", "/v1/audio/speech", {"input": "!!! ???"}, 400, "nothing to say"),
        ("GET", "/v1/audio/speech", None, 405, "Method Not Allowed"),
        ("GET", "/v1/nothing-here", None, 404, "Not Found"),
    ],
)
def test_bad_requests_get_json_errors_and_the_server_keeps_serving(server, method, path, body, status, message):
    payload = {"data": body} if isinstance(body, bytes) else {"json": body}
    answer = requests.request(method, server.http + path, timeout=30, **payload)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert message in error["message"] and error["type"] == "invalid_request_error"
    assert requests.get(f"{server.http}/health", timeout=10).json()["status"] == "ok"


def test_a_body_declared_too_large_is_refused_before_it_is_sent(server):
    host, port = server.http.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 99999999999\r\n\r\n{"
        )
        answer = connection.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413") and "at most 1,048,576 bytes" in answer


def test_listings_and_the_page(server):
    voices = requests.get(f"{server.http}/v1/voices", timeout=10).json()
    assert voices["default"] == "en-us-lightspeech"
    assert voices["voices"][0] == {
        "name": "en-us-lightspeech",
        "language": "en-US",
        "licence": "MIT",
        "description": "US English, distilled from hibari-tts (heart)",
    }
    models = requests.get(f"{server.http}/v1/models", timeout=10).json()
    assert {"lightspeech", "tts-1"} <= {model["id"] for model in models["data"]}
    page = requests.get(server.http, timeout=10)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<textarea" in page.text and "/v1/audio/speech" in page.text and "http" not in page.text.split("<script")[0]
    assert '<textarea id="text" maxlength="20000">' in page.text  # the server's --max-chars, not more


def test_a_listener_that_leaves_mid_answer_frees_its_place(server):
    start_long_request(server).close()

    async def leave():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(Synthesize(text=LONG_TEXT).event())
            assert AudioStart.is_type((await asyncio.wait_for(client.read_event(), 10)).type)

    asyncio.run(leave())
    server.wait_for_log("127.0.0.1 left before the end of its answer")
    server.wait_for_log("wyoming 127.0.0.1:")
    deadline = time.monotonic() + 10
    while requests.get(f"{server.http}/health", timeout=10).json()["in_progress"]:
        assert time.monotonic() < deadline, "a request that was left stays in progress"
        time.sleep(0.05)


def test_a_listener_that_leaves_before_a_whole_file_answer_stops_its_synthesis(server):
    text = " ".join(f"This is sentence number {n}, which keeps a worker busy." for n in range(1, 201))
    with pytest.raises(requests.exceptions.ReadTimeout):  # a flac answer is made whole, then sent
        requests.post(f"{server.http}/v1/audio/speech", json={"input": text, "response_format": "flac"}, timeout=0.3)
    server.wait_for_log("127.0.0.1 left before its answer was made")
    deadline = time.monotonic() + 10
    while requests.get(f"{server.http}/health", timeout=10).json()["in_progress"]:
        assert time.monotonic() < deadline, "a request that was left stays in progress"
        time.sleep(0.05)


def test_every_request_has_an_access_log_line(server):
    requests.post(f"{server.http}/v1/audio/speech", json={"input": "Logged."}, timeout=30)
    requests.get(f"{server.http}/v1/logged-as-missing", timeout=10)

    async def synthesize():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(Synthesize(text="Logged too.").event())
            await read_answer(client)

    asyncio.run(synthesize())
    server.wait_for_log('127.0.0.1 "POST /v1/audio/speech HTTP/1.1" 200')
    server.wait_for_log('127.0.0.1 "GET /v1/logged-as-missing HTTP/1.1" 404')
    server.wait_for_log("synthesize 11 chars -> ")
    assert not any("Traceback" in line for line in server.log), "".join(server.log)


# --- limits and shutdown ----------------------------------------------------------------------------


def test_a_full_queue_answers_503_and_the_server_recovers(tmp_path):
    server = Server(tmp_path, "--workers", "1", "--queue", "0")
    try:
        long = start_long_request(server)
        refused = requests.post(f"{server.http}/v1/audio/speech", json={"input": "Me too."}, timeout=30)
        assert refused.status_code == 503 and refused.json()["error"]["type"] == "server_busy"

        async def wyoming_refused():
            async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
                await client.write_event(Synthesize(text="Me too.").event())
                return Error.from_event(await asyncio.wait_for(client.read_event(), 10))

        assert "busy" in asyncio.run(wyoming_refused()).text
        long.raw.read()  # the long one finishes; then there is room again
        assert requests.post(f"{server.http}/v1/audio/speech", json={"input": "Now."}, timeout=30).status_code == 200
    finally:
        server.stop()


def test_sigterm_stops_accepting_and_finishes_the_requests_in_flight(tmp_path, synthesizer):
    server = Server(tmp_path, "--workers", "2")
    wyoming_started, wyoming_audio = threading.Event(), []

    async def wyoming_listener():
        async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as client:
            await client.write_event(Synthesize(text=LONG_TEXT).event())
            assert AudioStart.is_type((await asyncio.wait_for(client.read_event(), 10)).type)
            wyoming_started.set()
            wyoming_audio.append((await read_answer(client))[1])

    listener = threading.Thread(target=asyncio.run, args=(wyoming_listener(),))
    listener.start()
    long = start_long_request(server)
    assert wyoming_started.wait(10)
    server.process.send_signal(signal.SIGTERM)
    server.wait_for_log("stopping")
    rest = long.raw.read()
    listener.join(30)
    expected = len(synthesizer.synthesize(LONG_TEXT))
    assert len(wav_samples(long.first + rest)) == expected and len(wyoming_audio[0]) // 2 == expected  # all of both
    assert server.process.wait(timeout=30) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.http}/health", timeout=5)


# --- the command line ---------------------------------------------------------------------------------


def assert_one_line_error(code: int, stderr: str, returncode: int, message: str) -> None:
    lines = stderr.strip().splitlines()
    assert returncode == code, stderr
    assert len(lines) == 1 and lines[0].startswith("lightspeech: error: ") and message in lines[0], stderr


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "nothing to serve: give --http HOST:PORT"),
        (["--http", "localhost"], "--http must be HOST:PORT or PORT"),
        (["--wyoming", "udp://127.0.0.1:10200"], "--wyoming must be tcp://HOST:PORT or PORT"),
        (["--http", "5000", "--workers", "0"], "Invalid value for '--workers'"),
        (["--http", "5000", "--max-chars", "1000000"], "--max-chars must be at most 100,000"),
    ],
)
def test_bad_options_are_one_line_errors(args, message):
    result = CliRunner().invoke(app, ["serve", *args])
    assert_one_line_error(2, result.stderr, result.exit_code, message)


def test_a_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "wyoming", None)  # as if the [serve] extra were not installed
    result = CliRunner().invoke(app, ["serve", "--http", "5000"])
    assert_one_line_error(
        6,
        result.stderr,
        result.exit_code,
        "lightspeech serve needs wyoming, which is not installed: pip install 'lightspeech[serve]'",
    )


def test_a_port_in_use_is_one_line_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "lightspeech_cli", "serve", "--http", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "LIGHTSPEECH_HOME": str(tmp_path)},
        )
    assert_one_line_error(
        2, result.stderr, result.returncode, f"--http: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
