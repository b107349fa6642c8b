"""`lightspeech serve` under load: time to first audio byte for a 3-sentence request over
HTTP and over Wyoming against a warm server, then 32 concurrent clients (half HTTP, half
Wyoming) making 200 requests in all, each answer checked sample for sample against what
the synthesizer makes in-process for the same text, and the server's memory over the run.

    python bench/serve_load.py > bench/serve_load.txt

The server is started as users start it, with its defaults (one worker per core, one
ONNX Runtime thread each, access log on); the clients run on the same machine and share
its cores. Needs the '.[serve]' extra.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
from machine_info import machine, version
from wyoming.audio import AudioChunk, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.tts import Synthesize

from lightspeech_cli import Synthesizer

HERE = Path(__file__).parent
TEXT = "The weather today is sunny with a light breeze. Tomorrow brings rain in the afternoon. Take an umbrella."
WARM_UP_RUNS, TTFB_RUNS = 5, 30
CLIENTS, REQUESTS = 32, 200
WAV_HEADER_BYTES = 44
RSS_EVERY = 25  # requests


class Server:
    """`lightspeech serve` on ports the system picks, read from its log."""

    def __init__(self, home: str):
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
            ],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "LIGHTSPEECH_HOME": home},
        )
        self.log: list[str] = []
        for line in self.process.stderr:
            self.log.append(line)
            if "serving voice" in line:
                break
        else:
            sys.exit("the server did not start:\n" + "".join(self.log))
        text = "".join(self.log)
        self.http_port = int(re.search(r"http: listening on http://127\.0\.0\.1:(\d+)", text).group(1))
        self.wyoming_port = int(re.search(r"wyoming: listening on tcp://127\.0\.0\.1:(\d+)", text).group(1))
        self.workers = int(re.search(r"with (\d+) worker", text).group(1))
        self.reader = threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True)
        self.reader.start()

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> int:
        self.process.terminate()
        code = self.process.wait(timeout=30)
        self.reader.join(10)
        return code


# --- one request each way, timed ----------------------------------------------------------------


def http_first_byte(port: int, text: str) -> tuple[float, int]:
    """Seconds from sending the request (on a new connection) to the first byte of audio
    after the WAV header, and the samples of the whole answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    began = time.perf_counter()
    connection.request(
        "POST",
        "/v1/audio/speech",
        json.dumps({"input": text, "response_format": "wav"}),
        {"Content-Type": "application/json"},
    )
    answer = connection.getresponse()
    first = answer.read(WAV_HEADER_BYTES + 1)
    seconds = time.perf_counter() - began
    assert answer.status == 200, first
    body = first + answer.read()
    connection.close()
    return seconds, (len(body) - WAV_HEADER_BYTES) // 2


async def wyoming_answer(port: int, text: str) -> tuple[float, int]:
    """Seconds from connecting to the first audio-chunk event, and the samples of the answer."""
    began = time.perf_counter()
    first, samples = None, 0
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Synthesize(text=text).event())
        while True:
            event = await asyncio.wait_for(client.read_event(), 120)
            if event is None or Error.is_type(event.type):
                raise RuntimeError(f"wyoming: {event and Error.from_event(event).text or 'connection closed'}")
            if AudioChunk.is_type(event.type):
                first = first or time.perf_counter() - began
                samples += len(AudioChunk.from_event(event).audio) // 2
            if AudioStop.is_type(event.type):
                return first, samples


async def http_answer(session: aiohttp.ClientSession, port: int, text: str) -> tuple[float, int]:
    began = time.perf_counter()
    async with session.post(f"http://127.0.0.1:{port}/v1/audio/speech", json={"input": text}) as answer:
        if answer.status != 200:
            raise RuntimeError(f"http {answer.status}: {(await answer.text())[:200]}")
        first = await answer.content.readexactly(WAV_HEADER_BYTES + 1)
        seconds = time.perf_counter() - began
        body = first + await answer.read()
    return seconds, (len(body) - WAV_HEADER_BYTES) // 2


# --- the load -------------------------------------------------------------------------------------


async def load(server: Server, texts: list[str], expected: dict[str, int]) -> dict:
    """CLIENTS clients, even ones on HTTP and odd ones on Wyoming, take the REQUESTS
    requests in turn; each answer is timed and its sample count checked."""
    jobs = iter(range(REQUESTS))
    results = {
        "latency": {"http": [], "wyoming": []},
        "first": [],
        "samples": 0,
        "failures": [],
        "incomplete": [],
        "rss": [],
    }
    done = 0

    async def client(number: int, session: aiohttp.ClientSession) -> None:
        nonlocal done
        protocol = "http" if number % 2 == 0 else "wyoming"
        for job in jobs:
            text = texts[job % len(texts)]
            began = time.perf_counter()
            try:
                if protocol == "http":
                    first, samples = await http_answer(session, server.http_port, text)
                else:
                    first, samples = await wyoming_answer(server.wyoming_port, text)
            except (OSError, RuntimeError, asyncio.TimeoutError, aiohttp.ClientError) as e:
                results["failures"].append(f"{protocol} request {job}: {e}")
                continue
            results["latency"][protocol].append(1000 * (time.perf_counter() - began))
            results["first"].append(1000 * first)
            results["samples"] += samples
            if samples != expected[text]:
                results["incomplete"].append(f"{protocol} request {job}: {samples} samples, {expected[text]} expected")
            done += 1
            if done % RSS_EVERY == 0:
                results["rss"].append(server.rss_mib())

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        began = time.perf_counter()
        await asyncio.gather(*(client(number, session) for number in range(CLIENTS)))
        results["seconds"] = time.perf_counter() - began
    return results


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def spread(values_ms: list[float]) -> str:
    deciles = statistics.quantiles(values_ms, n=10)
    return (
        f"median {statistics.median(values_ms):5.1f} ms   p10 {deciles[0]:5.1f}   p90 {deciles[-1]:5.1f}   "
        f"min {min(values_ms):5.1f}   max {max(values_ms):5.1f}"
    )


def header() -> str:
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 1024**2
    names = ("lightspeech", "onnxruntime", "numpy", "aiohttp", "wyoming")
    versions = ", ".join(f"{name} {version(name)}" for name in names)
    return (
        f"machine: {machine()}, {memory:.0f} GiB\n"
        f"date:    {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n"
        f"python {platform.python_version()}, {versions}"
    )


def main() -> None:
    synthesizer = Synthesizer.load(threads=1)  # as each of the server's workers
    texts = [line.strip() for line in (HERE / "sentences.txt").read_text().splitlines() if line.strip()]
    texts = [" ".join(texts[i : i + 1 + i % 3]) for i in range(len(texts))]  # one to three sentences each
    expected = {text: len(synthesizer.synthesize(text)) for text in [TEXT, *texts]}
    with tempfile.TemporaryDirectory() as home:
        server = Server(home)
        try:
            for _ in range(WARM_UP_RUNS):
                http_first_byte(server.http_port, TEXT)
                asyncio.run(wyoming_answer(server.wyoming_port, TEXT))
            http_runs = [http_first_byte(server.http_port, TEXT) for _ in range(TTFB_RUNS)]
            wyoming_runs = [asyncio.run(wyoming_answer(server.wyoming_port, TEXT)) for _ in range(TTFB_RUNS)]
            rss_start = server.rss_mib()
            results = asyncio.run(load(server, texts, expected))
            rss_end = server.rss_mib()
        finally:
            exit_code = server.stop()

    print(__doc__.split("\n\n")[0].replace("\n", " "))
    print()
    print(header())
    print(
        f"server: lightspeech serve --http 127.0.0.1:0 --wyoming tcp://127.0.0.1:0 ({server.workers} workers, "
        "1 thread each, default queue), voice en-us-lightspeech, clients on the same machine"
    )
    print()
    print(
        f"time to first audio byte, 3 sentences ({len(TEXT)} characters, "
        f"{expected[TEXT] / synthesizer.sample_rate:.2f} s of audio), warm server, {TTFB_RUNS} runs one at a time:"
    )
    print(f"  HTTP     (new connection, first byte after the WAV header)  {spread([1000 * s for s, _ in http_runs])}")
    print(
        f"  Wyoming  (new connection, first audio-chunk event)          {spread([1000 * s for s, _ in wyoming_runs])}"
    )
    whole = all(samples == expected[TEXT] for _, samples in http_runs + wyoming_runs)
    print(f"  every answer complete: {'yes' if whole else 'NO'}")
    print()
    every = results["latency"]["http"] + results["latency"]["wyoming"]
    print(
        f"{CLIENTS} concurrent clients ({CLIENTS // 2} HTTP, {CLIENTS // 2} Wyoming), {REQUESTS} requests of 1 to 3 "
        f"sentences in all, {results['samples'] / synthesizer.sample_rate:.0f} s of audio in "
        f"{results['seconds']:.1f} s:"
    )
    print(f"  failed requests: {len(results['failures'])}")
    print(
        f"  answers with lost or truncated audio (sample count differs from the synthesizer's): "
        f"{len(results['incomplete'])}"
    )
    for name, values in (
        ("all", every),
        ("HTTP", results["latency"]["http"]),
        ("Wyoming", results["latency"]["wyoming"]),
    ):
        print(
            f"  latency, whole answer, {name:<8} p50 {percentile(values, 0.5):6.0f} ms   "
            f"p95 {percentile(values, 0.95):6.0f} ms   ({len(values)} requests)"
        )
    print(
        f"  first audio byte under this load    p50 {percentile(results['first'], 0.5):6.0f} ms   "
        f"p95 {percentile(results['first'], 0.95):6.0f} ms"
    )
    series = results["rss"]
    print(
        f"  server memory (RSS): start {rss_start:.0f} MiB, middle (after {REQUESTS // 2} requests) "
        f"{series[len(series) // 2 - 1]:.0f} MiB, end {rss_end:.0f} MiB"
    )
    print(f"    every {RSS_EVERY} requests: {', '.join(f'{mib:.0f}' for mib in series)} MiB")
    for line in results["failures"][:5] + results["incomplete"][:5]:
        print(f"  {line}")
    print()
    print(
        f"server exit status after SIGTERM: {exit_code}; access log lines: "
        f"{sum(1 for line in server.log if '/v1/audio/speech' in line or 'wyoming 127.0.0.1' in line)}"
    )


if __name__ == "__main__":
    main()
