"""`lightspeech serve`'s HTTP API, started as users start it (a process on 127.0.0.1, ports
chosen by the system and read from its log), talked to with real clients: the `openai`
package's and `requests`. Audio is checked against what the synthesizer makes in-process
for the same text, sample for sample."""

import asyncio
import base64
import io
import json
import signal
import socket
import threading
import time

import pytest
import requests
import soundfile
from openai import OpenAI
from wyoming.audio import AudioStart
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.tts import Synthesize

from .helpers import LONG_TEXT, RATE, TEXT, Server, read_answer, start_long_request, wav_samples

PCM_RATE = 24000


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


def test_server_sent_events_rebuild_the_audio_and_time_its_words(server, synthesizer):
    client = OpenAI(base_url=f"{server.http}/v1", api_key="not-needed", max_retries=0)
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="pcm", extra_body={"stream_format": "sse"}
    ) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = [json.loads(line[len("data: ") :]) for line in response.iter_lines() if line.startswith("data: ")]
    kinds = [event["type"] for event in events]
    assert kinds[-1] == "speech.audio.done" and kinds.count("lightspeech.timings") == 3  # one per sentence
    assert kinds.index("lightspeech.timings") < kinds.index("speech.audio.delta")  # timings come first
    pcm = b"".join(base64.b64decode(e["audio"]) for e in events if e["type"] == "speech.audio.delta")
    plain = client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="pcm").content
    assert pcm == plain
    words = [w for e in events if e["type"] == "lightspeech.timings" for w in e["words"]]
    _, timings = synthesizer.synthesize_timed(TEXT)
    assert [(w["text"], w["start"], w["end"]) for w in words] == [(w.text, w.start, w.end) for w in timings.words]


def test_the_timed_answer_holds_the_audio_and_its_timings(server, synthesizer):
    body = {"input": "<speak>Hello <mark name='here'/>there.</speak>", "response_format": "flac", "phonemes": True}
    answer = requests.post(f"{server.http}/v1/audio/speech/timed", json=body, timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    timed = answer.json()
    audio, timings = synthesizer.synthesize_timed(body["input"])
    flac = io.BytesIO(base64.b64decode(timed["audio"]))
    assert soundfile.info(flac).frames == len(audio) and timed["sample_rate"] == RATE
    assert timed["duration"] == pytest.approx(len(audio) / RATE)
    assert timed["marks"] == [{"name": "here", "time": timings.words[1].start}]
    assert [p["phoneme"] for p in timed["phonemes"]] == [p.phoneme for p in timings.phonemes]
    sse = {**body, "stream_format": "sse", "response_format": "wav"}
    refused = requests.post(f"{server.http}/v1/audio/speech/timed", json=sse, timeout=30)
    assert refused.status_code == 400 and "one JSON object" in refused.json()["error"]["message"]


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
