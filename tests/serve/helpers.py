"""A `lightspeech serve` process and the clients' helpers the serve tests share."""

import asyncio
import io
import os
import queue
import re
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import requests
import soundfile
from wyoming.audio import AudioChunk, AudioStop
from wyoming.error import Error

TEXT = "Hello there. This is a test of the server. It speaks three sentences."
RATE = 22050
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
