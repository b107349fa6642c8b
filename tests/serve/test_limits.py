"""serve/limits.py and what it guards: a real `lightspeech serve` process with short limits,
against clients that are slow, silent, flooding or hostile, and well-behaved ones beside them.
Every case also checks that no traceback reached the server's log."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import requests
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart

from lightspeech_cli.serve.wyoming import CHUNK_BURST, CHUNKS_PER_SECOND

from .helpers import LONG_TEXT, Server, read_answer

CLIENT_SECONDS = 1.0


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    running = Server(
        tmp_path_factory.mktemp("home"),
        "--workers",
        "1",
        "--queue",
        "1",
        "--client-timeout",
        str(CLIENT_SECONDS),
        "--max-connections",
        "8",
        "--allow-origin",
        "http://friend.example:8080",
    )
    yield running
    running.stop()
    assert not any("Traceback" in line for line in running.log), "".join(running.log)


@pytest.fixture(scope="module")
def short_answers(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("home"), "--max-answer-minutes", "0.1")
    yield running
    running.stop()
    assert not any("Traceback" in line for line in running.log), "".join(running.log)


def port_of(server) -> int:
    return int(server.http.rsplit(":", 1)[1])


def raw_request(server, data: bytes, receive_buffer: int | None = None) -> socket.socket:
    connection = socket.socket()
    if receive_buffer:  # so that an answer the client does not read fills the socket at once
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    connection.connect(("127.0.0.1", port_of(server)))
    connection.sendall(data)
    return connection


def closed_within(connection: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection within `seconds` (reading what it sends)."""
    connection.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if connection.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


def healthy(server) -> dict:
    answer = requests.get(f"{server.http}/health", timeout=10)
    assert answer.status_code == 200
    return answer.json()


def wait_until_idle(server, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while healthy(server)["in_progress"]:
        assert time.monotonic() < deadline, "requests that were left stay in progress"
        time.sleep(0.05)


def speech_post(body: dict, host: str = "127.0.0.1") -> bytes:
    data = json.dumps(body).encode()
    return (
        f"POST /v1/audio/speech HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


# --- slow clients ------------------------------------------------------------------------------


def test_clients_that_never_read_their_answer_lose_their_places(limited):
    # Two of them fill the one worker and the one queued place; without a write deadline they
    # held them for ever and every other request got 503.
    stuck = [raw_request(limited, speech_post({"input": LONG_TEXT, "speed": 0.25}), 4096) for _ in range(2)]
    time.sleep(0.5)
    wait_until_idle(limited, 30 * CLIENT_SECONDS)
    assert requests.post(f"{limited.http}/v1/audio/speech", json={"input": "Served."}, timeout=30).status_code == 200
    limited.wait_for_log("did not read the answer within 1 s")
    for connection in stuck:
        connection.close()


def test_a_request_whose_headers_trickle_is_closed(limited):
    connection = raw_request(limited, b"POST /v1/audio/speech HTTP/1.1\r\nHo")
    for _ in range(3):  # a byte at a time, too slowly
        time.sleep(CLIENT_SECONDS / 2)
        try:
            connection.sendall(b"s")
        except OSError:
            break
    assert closed_within(connection, 5 * CLIENT_SECONDS)
    limited.wait_for_log("sent no complete request in 1 s")


@pytest.mark.parametrize(
    "head, sent",
    [
        (b"Content-Length: 100\r\n\r\n", b'{"input": '),  # a body announced and never sent
        (b"Transfer-Encoding: chunked\r\n\r\n", b'5\r\n{"inp\r\n'),  # a chunked body never ended
    ],
)
def test_a_body_that_does_not_arrive_is_a_408_and_the_connection_closes(limited, head, sent):
    request = b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    connection = raw_request(limited, request + head + sent)
    connection.settimeout(5 * CLIENT_SECONDS)
    answer = connection.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 408") and "must arrive within 1 s" in answer
    assert closed_within(connection, 5 * CLIENT_SECONDS)


def test_a_silent_wyoming_client_is_closed_and_a_slow_event_too(limited):
    with socket.create_connection(("127.0.0.1", limited.wyoming_port)) as silent:
        assert closed_within(silent, 5 * CLIENT_SECONDS)  # idle: twice the client time
    with socket.create_connection(("127.0.0.1", limited.wyoming_port)) as slow:
        slow.sendall(b'{"type": "synthesize", "data_length": 100}\n{"text"')  # and the rest never
        assert closed_within(slow, 5 * CLIENT_SECONDS)
    limited.wait_for_log("did not send the rest of an event within 1 s")


# --- floods ------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["http", "wyoming"])
def test_an_idle_flood_does_not_lock_out_clients_that_send(limited, protocol):
    port = port_of(limited) if protocol == "http" else limited.wyoming_port
    flood = [socket.create_connection(("127.0.0.1", port)) for _ in range(30)]  # the cap is 8
    try:
        if protocol == "http":
            answer = requests.post(f"{limited.http}/v1/audio/speech", json={"input": "Still here."}, timeout=10)
            assert answer.status_code == 200
        else:

            async def speak():
                async with AsyncTcpClient("127.0.0.1", port) as client:
                    await client.write_event(Synthesize(text="Still here.").event())
                    events, audio = await read_answer(client)
                    assert audio and not any(Error.is_type(e.type) for e in events)

            asyncio.run(speak())
    finally:
        for connection in flood:
            connection.close()
    limited.wait_for_log(f"{protocol}: 8 connections open, the most allowed: closed the oldest that sent nothing")
    # One line a second at most, not one per connection.
    assert sum("the most allowed" in line and protocol in line for line in limited.log) < 10


def test_a_flood_takes_the_places_of_connections_that_never_sent_before_a_kept_alive_one(limited):
    with requests.Session() as kept_alive:
        first = kept_alive.post(f"{limited.http}/v1/audio/speech", json={"input": "One."}, timeout=10)
        assert first.status_code == 200
        flood = [socket.create_connection(("127.0.0.1", port_of(limited))) for _ in range(30)]
        try:
            time.sleep(0.2)
            again = kept_alive.post(f"{limited.http}/v1/audio/speech", json={"input": "Two."}, timeout=10)
            assert again.status_code == 200  # on the same connection, which the flood did not close
        finally:
            for connection in flood:
                connection.close()


def test_streamed_text_that_never_ends_a_sentence_is_scanned_once(limited):
    """5,001 chunks of "Mr. " blocked the whole server for 51 s: each one scanned all the
    pending text again. Now each is scanned with a bounded context, off the event loop."""

    async def flood() -> tuple[float, float]:
        async with AsyncTcpClient("127.0.0.1", limited.wyoming_port) as client:
            await client.write_event(SynthesizeStart().event())
            started = time.monotonic()
            for _ in range(5_001):
                await client.write_event(SynthesizeChunk(text="Mr. ").event())
            event = await asyncio.wait_for(client.read_event(), 60)  # the text grows too long at last
            assert Error.is_type(event.type) and "too long" in Error.from_event(event).text
            return time.monotonic() - started, await asyncio.to_thread(health_time)

    def health_time() -> float:
        started = time.monotonic()
        healthy(limited)
        return time.monotonic() - started

    flooded, health = asyncio.run(flood())
    assert flooded < 20 and health < 2, (flooded, health)
    # Read at CHUNKS_PER_SECOND after the burst: the flood takes its time, not the event loop's.
    assert flooded > 0.9 * (5_001 - CHUNK_BURST) / CHUNKS_PER_SECOND, flooded


# --- answers -----------------------------------------------------------------------------------


def test_an_answer_longer_than_the_cap_is_refused_or_cut_off(short_answers):
    limited = short_answers
    text = "A sentence that takes a few seconds to say. " * 3  # about 8 s at speed 1; the cap is 6 s
    whole = requests.post(
        f"{limited.http}/v1/audio/speech", json={"input": text, "response_format": "flac"}, timeout=30
    )
    assert whole.status_code == 400 and "longer than 0.1 minutes" in whole.json()["error"]["message"]
    streamed = requests.post(
        f"{limited.http}/v1/audio/speech", json={"input": text, "response_format": "wav"}, stream=True, timeout=30
    )
    with pytest.raises(requests.exceptions.ChunkedEncodingError):  # cut off, never a whole-looking answer
        for _ in streamed.iter_content(1 << 16):
            pass

    async def wyoming():
        async with AsyncTcpClient("127.0.0.1", limited.wyoming_port) as client:
            await client.write_event(Synthesize(text=text).event())
            events, _ = await read_answer(client)
            return [Error.from_event(e).text for e in events if Error.is_type(e.type)]

    assert any("longer than 0.1 minutes" in message for message in asyncio.run(wyoming()))


@pytest.mark.parametrize("field, value", [("response_format", ["wav"]), ("response_format", {"a": 1}), ("model", [1])])
def test_fields_of_the_wrong_type_are_400s(limited, field, value):
    answer = requests.post(f"{limited.http}/v1/audio/speech", json={"input": "Hi.", field: value}, timeout=30)
    assert answer.status_code == 400 and answer.json()["error"]["type"] == "invalid_request_error"


# --- hosts and origins -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Host": "attacker.example"}, 403),  # a name rebound to this machine (DNS rebinding)
        ({"Origin": "http://attacker.example"}, 403),  # any web page could make it speak
        ({"Origin": "null"}, 403),
        ({"Host": "localhost"}, 200),
        ({"Host": "friend.example:8080", "Origin": "http://friend.example:8080"}, 200),  # --allow-origin
        ({}, 200),  # curl and API clients send no Origin
    ],
)
def test_hosts_and_origins(limited, headers, status):
    answer = requests.post(f"{limited.http}/v1/audio/speech", json={"input": "Hi."}, headers=headers, timeout=30)
    assert answer.status_code == status, answer.text
    if status == 403:
        assert answer.json()["error"]["type"] == "forbidden"
    assert ("Access-Control-Allow-Origin" in answer.headers) == ("Origin" in headers and status == 200)
    voices = requests.get(f"{limited.http}/v1/voices", headers=headers, timeout=10)
    assert voices.status_code == status


def test_the_servers_own_page_may_call_it_and_an_allowed_origin_gets_a_preflight_answer(limited):
    own = limited.http  # http://127.0.0.1:PORT, the page at / posts with this Origin
    answer = requests.post(f"{own}/v1/audio/speech", json={"input": "Hi."}, headers={"Origin": own}, timeout=30)
    assert answer.status_code == 200
    preflight = requests.options(
        f"{own}/v1/audio/speech",
        headers={"Origin": "http://friend.example:8080", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://friend.example:8080"
    refused = requests.options(f"{own}/v1/audio/speech", headers={"Origin": "http://attacker.example"}, timeout=10)
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers


ARENA_COUNT = """
import ctypes, sys, threading
from lightspeech_cli.serve.limits import fewer_malloc_arenas
if sys.argv[1] == "limited":
    fewer_malloc_arenas()
def allocate():
    blocks = [bytearray(100_000) for _ in range(100)] + [bytes(100) for _ in range(20_000)]
threads = [threading.Thread(target=allocate) for _ in range(16)]
for thread in threads: thread.start()
for thread in threads: thread.join()
libc = ctypes.CDLL(None)
libc.fflush(None)
libc.malloc_info(0, ctypes.c_void_p.in_dll(libc, "stdout"))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc")
def test_fewer_malloc_arenas_keeps_threads_to_two_heaps():
    def heaps(mode: str) -> int:
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
        run = subprocess.run(
            [sys.executable, "-c", ARENA_COUNT, mode], capture_output=True, text=True, env=env, check=True
        )
        return run.stdout.count("<heap nr=")

    assert heaps("limited") <= 2 < heaps("default")
