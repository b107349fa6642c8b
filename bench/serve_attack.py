"""`lightspeech serve` under attack: for each attack, 32 well-behaved clients (half HTTP, half
Wyoming) make their requests while the attack runs, against a real server with its default
limits; and the same clients alone first (the quiet run). Per attack: whether the good
clients kept being served (failures, 503s, p95 latency against the quiet run's), the server's
peak memory (VmHWM) and open file descriptors, and how much it logged.

    python bench/serve_attack.py > bench/serve_attack.txt

Attacks (each as the hostile review of issue 30 tried it, or harder):
  slow readers      6 connections POST a long text (speed 0.25) and never read the answer
  idle flood        1,100 connections that send nothing, kept open
  header trickle    50 connections sending a request's headers a byte a second
  body never sent   50 requests announcing 100 bytes of body and sending 10
  chunked unended   50 chunked bodies that never end
  chunk flood       2 Wyoming clients each streaming 5,001 chunks of "Mr. ", over and over
  bad fields        requests with oversized, mistyped and hostile fields, as fast as they go
  long answers      4 clients asking for flac of 19,000 characters at speed 0.25 (76 min of audio)
Pause anything else that runs (training: kill -STOP) while this measures. Needs '.[serve]'.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
from machine_info import machine, version
from serve_load import Server, http_answer, percentile, wyoming_answer
from wyoming.client import AsyncTcpClient
from wyoming.tts import SynthesizeChunk, SynthesizeStart

CLIENTS, REQUESTS = 32, 160
TEXTS = [
    "The weather today is sunny with a light breeze.",
    "Tomorrow brings rain in the afternoon. Take an umbrella.",
    "Please turn off the lights in the kitchen. The door is locked. Good night.",
]
LONG = " ".join(f"This is sentence number {n}, which keeps a worker busy for a while." for n in range(1, 280))


class Watch:
    """Samples the server's open file descriptors while an attack runs."""

    def __init__(self, pid: int):
        self.pid, self.fds, self.running = pid, 0, True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while self.running:
            try:
                self.fds = max(self.fds, len(os.listdir(f"/proc/{self.pid}/fd")))
            except OSError:
                pass
            time.sleep(0.1)

    def stop(self) -> int:
        self.running = False
        self.thread.join()
        return self.fds


def peak_memory_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


async def good_clients(server: Server) -> dict:
    """CLIENTS clients take the REQUESTS requests in turn; every one is timed or counted failed."""
    jobs = iter(range(REQUESTS))
    latency: list[float] = []
    failures: list[str] = []

    async def client(number: int, session: aiohttp.ClientSession) -> None:
        for job in jobs:
            text = TEXTS[job % len(TEXTS)]
            began = time.perf_counter()
            try:
                if number % 2 == 0:
                    await http_answer(session, server.http_port, text)
                else:
                    await wyoming_answer(server.wyoming_port, text)
            except (OSError, RuntimeError, asyncio.TimeoutError, aiohttp.ClientError) as e:
                failures.append(str(e)[:120])
                continue
            latency.append(1000 * (time.perf_counter() - began))

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        await asyncio.gather(*(client(number, session) for number in range(CLIENTS)))
    return {"latency": latency, "failures": failures}


# --- the attacks: each runs until `stop` is set ---------------------------------------------------


def raw(port: int, data: bytes = b"", buffer: int | None = None) -> socket.socket:
    connection = socket.socket()
    if buffer:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
    connection.connect(("127.0.0.1", port))
    if data:
        connection.sendall(data)
    return connection


def post(body: dict) -> bytes:
    data = json.dumps(body).encode()
    return (
        b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(data)}\r\n\r\n".encode()
        + data
    )


async def hold(make, count: int, stop: asyncio.Event, renew: bool = True, tick=None) -> None:
    """Keep `count` attacking connections open (made again as the server closes them)."""
    connections: list[socket.socket] = []
    while not stop.is_set():
        connections = [c for c in connections if c.fileno() != -1 and not closed(c)]
        while len(connections) < count:
            try:
                connections.append(await asyncio.to_thread(make))
            except OSError:
                break
        if tick:
            for connection in connections:
                tick(connection)
        if not renew:
            await stop.wait()
            break
        await asyncio.sleep(1.0)
    for connection in connections:
        connection.close()


def closed(connection: socket.socket) -> bool:
    connection.setblocking(False)
    try:
        return connection.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        connection.setblocking(True)


def send_a_byte(connection: socket.socket) -> None:
    try:
        connection.send(b"X")
    except OSError:
        pass


async def chunk_flood(port: int, stop: asyncio.Event) -> None:
    async def one() -> None:
        while not stop.is_set():
            try:
                async with AsyncTcpClient("127.0.0.1", port) as client:
                    await client.write_event(SynthesizeStart().event())
                    for _ in range(5_001):
                        await client.write_event(SynthesizeChunk(text="Mr. ").event())
                    await asyncio.wait_for(client.read_event(), 60)
            except (OSError, asyncio.TimeoutError):
                await asyncio.sleep(0.1)

    await asyncio.gather(*(one() for _ in range(2)))


HOSTILE_BODIES = [
    {"input": "Hi.", "response_format": ["wav"]},
    {"input": "Hi.", "response_format": {"a": 1}},
    {"input": "Hi.", "model": [1]},
    {"input": "Hi.", "speed": "fast"},
    {"input": "Hi.", "speed": 1e308},
    {"input": "Hi.", "voice": {"name": "x"}},
    {"input": "<speak><prosody pitch='+99999st'>Hi.</prosody></speak>"},
    {"input": ["Hi."]},
    {"input": "x" * 30_000},
]


async def bad_fields(port: int, stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{port}/v1/audio/speech"
        while not stop.is_set():
            body = random.choice(HOSTILE_BODIES)
            try:
                async with session.post(url, json=body) as answer:
                    await answer.read()
                async with session.post(url, data=b"{" * 100_000, headers={"Content-Type": "application/json"}) as a:
                    await a.read()
                async with session.post(url, data=b"x" * 2_000_000) as answer:  # over the body limit
                    await answer.read()
            except aiohttp.ClientError:
                pass


async def long_answers(port: int, stop: asyncio.Event) -> None:
    text = (LONG * 2)[:19_000]

    async def one() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
            while not stop.is_set():
                try:
                    body = {"input": text, "speed": 0.25, "response_format": "flac"}
                    async with session.post(f"http://127.0.0.1:{port}/v1/audio/speech", json=body) as answer:
                        await answer.read()
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    await asyncio.sleep(0.1)

    await asyncio.gather(*(one() for _ in range(4)))


def attacks(server: Server) -> dict:
    http, wyoming = server.http_port, server.wyoming_port
    slow = post({"input": LONG, "speed": 0.25})
    return {
        "slow readers": lambda stop: hold(lambda: raw(http, slow, 4096), 6, stop),
        "idle flood": lambda stop: hold(lambda: raw(http if random.random() < 0.5 else wyoming), 1_100, stop),
        "header trickle": lambda stop: hold(
            lambda: raw(http, b"POST /v1/audio/speech HTTP/1.1\r\n"), 50, stop, tick=send_a_byte
        ),
        "body never sent": lambda stop: hold(
            lambda: raw(
                http,
                b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"input": ',
            ),
            50,
            stop,
        ),
        "chunked unended": lambda stop: hold(
            lambda: raw(
                http,
                b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"inp\r\n',
            ),
            50,
            stop,
        ),
        "chunk flood": lambda stop: chunk_flood(wyoming, stop),
        "bad fields": lambda stop: bad_fields(http, stop),
        "long answers": lambda stop: long_answers(http, stop),
    }


async def under(server: Server, attack) -> dict:
    stop = asyncio.Event()
    running = asyncio.create_task(attack(stop)) if attack else None
    if running:
        await asyncio.sleep(3.0)  # the attack in place before the good clients come
    result = await good_clients(server)
    stop.set()
    if running:
        await asyncio.wait_for(running, 120)
    return result


def tracebacks(log: list[str]) -> list[str]:
    """The exception line that ends each traceback in the log."""
    found, inside = [], False
    for line in log:
        if line.startswith("Traceback"):
            inside = True
        elif inside and not line.startswith((" ", "\t")) and line.strip():
            found.append(line.strip()[:160])
            inside = False
    return found


def main() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))  # the attacker's side
    home = tempfile.mkdtemp()
    rows = []
    server = Server(home)
    try:
        asyncio.run(good_clients(server))  # warm-up
        for name, attack in [("quiet", None), *attacks(server).items()]:
            log_before = sum(len(line) for line in server.log)
            watch = Watch(server.process.pid)
            began = time.perf_counter()
            result = asyncio.run(under(server, attack))
            fds = watch.stop()
            rows.append(
                {
                    "name": name,
                    "seconds": time.perf_counter() - began,
                    "served": len(result["latency"]),
                    "failures": result["failures"],
                    "p50": statistics.median(result["latency"]) if result["latency"] else float("nan"),
                    "p95": percentile(result["latency"], 0.95) if result["latency"] else float("nan"),
                    "memory": peak_memory_mib(server.process.pid),
                    "fds": fds,
                    "log": sum(len(line) for line in server.log) - log_before,
                    "tracebacks": sum("Traceback" in line for line in server.log),
                }
            )
            print(f"{name}: done", file=sys.stderr)
    finally:
        code = server.stop()

    quiet = rows[0]["p95"]
    print(
        f"`lightspeech serve` under attack: {CLIENTS} well-behaved clients (half HTTP, half Wyoming) make {REQUESTS} "
        "requests of 1 to 3 sentences while each attack runs; the server as users start it, default limits."
    )
    print()
    print(f"machine: {machine()}")
    print(f"date:    {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}")
    print(
        f"python {sys.version.split()[0]}, lightspeech {version('lightspeech')}, onnxruntime {version('onnxruntime')}, "
        f"aiohttp {version('aiohttp')}, wyoming {version('wyoming')}; server workers {server.workers}"
    )
    print()
    print(
        f"{'attack':<18} {'served':>7} {'failed':>6} {'p50 ms':>7} {'p95 ms':>7} {'p95/quiet':>9} "
        f"{'peak MiB':>8} {'peak fds':>8} {'log bytes':>9}"
    )
    for row in rows:
        print(
            f"{row['name']:<18} {row['served']:>7} {len(row['failures']):>6} {row['p50']:>7.0f} {row['p95']:>7.0f} "
            f"{row['p95'] / quiet:>9.2f} {row['memory']:>8.0f} {row['fds']:>8} {row['log']:>9,}"
        )
    print()
    failures = [f"{row['name']}: {failure}" for row in rows for failure in row["failures"]]
    print(f"good requests that failed: {len(failures)}" + "".join(f"\n  {f}" for f in failures[:10]))
    print(f"tracebacks in the server's log: {rows[-1]['tracebacks']}; exit status after SIGTERM: {code}")
    errors = statistics.multimode(tracebacks(server.log)) if rows[-1]["tracebacks"] else []
    for error in errors[:5]:
        print(f"  most frequent: {error}")
    print("peak MiB is the server's peak resident memory since it started (VmHWM), so it only grows down the table")


if __name__ == "__main__":
    main()
