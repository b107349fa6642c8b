"""A desktop of its own for the tests and the latency benchmark: a PulseAudio server whose only
sink is a null sink, recorded from its monitor, and a speech-dispatcher with its own home,
runtime folder and socket, so nothing of the machine's own desktop is used or changed.

Times are time.monotonic(), the same clock in every process, so a client's "sent" and the
recorder's "heard" compare directly.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

RATE = 22050
SINK = "lightspeech_test"
LOUD = 300  # a sample above this (of 32767) is sound; the null sink's silence is exact zeros
SYSTEM_PYTHON = "/usr/bin/python3"  # python3-speechd is Debian's, for the system's Python
CLIENT = Path(__file__).with_name("speechd_client.py")
PROGRAMS = ("speech-dispatcher", "spd-say", "pulseaudio", "pacat")


def missing_programs() -> list[str]:
    missing = [program for program in PROGRAMS if shutil.which(program) is None]
    probe = [SYSTEM_PYTHON, "-c", "import speechd"]
    if not Path(SYSTEM_PYTHON).exists() or subprocess.run(probe, capture_output=True).returncode != 0:
        missing.append("python3-speechd")
    return missing


class Recorder:
    """The null sink's monitor, read in small blocks, each kept with the time it arrived."""

    def __init__(self, env: dict[str, str]):
        self._process = subprocess.Popen(
            ["pacat", "--record", "--raw", "--format=s16le", f"--rate={RATE}", "--channels=1",
             "--latency-msec=5", "-d", f"{SINK}.monitor"],
            stdout=subprocess.PIPE, env=env,
        )  # fmt: skip
        self._blocks: list[tuple[float, np.ndarray]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        while block := self._process.stdout.read1(512):  # type: ignore[attr-defined]
            now = time.monotonic()
            samples = np.frombuffer(block[: len(block) // 2 * 2], np.int16)
            with self._lock:
                self._blocks.append((now, samples))

    def sound_times(self, since: float) -> np.ndarray:
        """When each loud sample since `since` was heard (a block's last sample when it
        arrived, the ones before it 1/RATE apart)."""
        with self._lock:
            blocks = [(t, s) for t, s in self._blocks if t >= since]
        times = [t - (len(s) - 1 - np.nonzero(np.abs(s) > LOUD)[0]) / RATE for t, s in blocks]
        return np.concatenate(times) if times else np.zeros(0)

    def samples(self, since: float) -> np.ndarray:
        """What was recorded since `since` (whole blocks), as float32."""
        with self._lock:
            blocks = [s for t, s in self._blocks if t >= since]
        return np.concatenate(blocks).astype(np.float32) / 32767 if blocks else np.zeros(0, np.float32)

    def first_sound(self, since: float, timeout: float = 10.0) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            heard = self.sound_times(since)
            if len(heard):
                return float(heard[0])
            time.sleep(0.005)
        return None

    def wait_for_silence(self, since: float, quiet: float = 0.5, timeout: float = 60.0) -> None:
        """Until no sound has come for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            heard = self.sound_times(since)
            last = heard[-1] if len(heard) else since
            if time.monotonic() - last > quiet:
                return
            time.sleep(0.05)

    def sound_seconds(self, since: float, until: float | None = None) -> float:
        """From the first loud sample to the last, between the two times."""
        heard = self.sound_times(since)
        if until is not None:
            heard = heard[heard <= until]
        return float(heard[-1] - heard[0]) if len(heard) else 0.0

    def close(self) -> None:
        self._process.terminate()
        self._process.wait()


class Desktop:
    """PulseAudio and speech-dispatcher in `root`, for one user whose home is root/home."""

    def __init__(self, root: Path):
        self.root = root
        home = root / "home"
        for folder in (home / ".local" / "share", root / "run", root / "log", root / "pulse"):
            folder.mkdir(parents=True, exist_ok=True)
        (root / "run").chmod(0o700)
        self.socket = root / "run" / "speechd.sock"
        self.env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_RUNTIME_DIR": str(root / "run"),
            "PULSE_SERVER": f"unix:{root / 'pulse' / 'native'}",
            "SPEECHD_ADDRESS": f"unix_socket:{self.socket}",
        }
        self.env.pop("LIGHTSPEECH_HOME", None)
        self._pulse: subprocess.Popen | None = None
        self.recorder: Recorder | None = None

    def start_sound(self) -> Recorder:
        self._pulse = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
             "-L", f"module-null-sink sink_name={SINK} rate={RATE} channels=1",
             "-L", f"module-native-protocol-unix socket={self.root / 'pulse' / 'native'} auth-anonymous=1"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=(self.root / "log" / "pulse.log").open("w"),
        )  # fmt: skip
        for _ in range(100):
            if subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("PulseAudio did not start: see " + str(self.root / "log" / "pulse.log"))
        self.recorder = Recorder(self.env)
        return self.recorder

    def start_speechd(self, config_folder: Path | None = None) -> None:
        """speech-dispatcher with the user's config (as `desktop install` left it), or the
        config in `config_folder`; it returns once every module has answered INIT."""
        command = ["speech-dispatcher", "-d", "-S", str(self.socket), "-P", str(self.root / "run" / "speechd.pid"),
                   "-L", str(self.root / "log"), "-t", "0"]  # fmt: skip
        if config_folder is not None:
            command += ["-C", str(config_folder)]
        subprocess.run(command, env=self.env, check=True, capture_output=True, timeout=60)

    def stop_speechd(self) -> None:
        pid_file = self.root / "run" / "speechd.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    os.kill(pid, 0)
                    time.sleep(0.05)
            except ProcessLookupError:
                pass
            pid_file.unlink(missing_ok=True)

    def run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(list(command), env=self.env, capture_output=True, text=True, timeout=timeout)

    def client(self, plan: list[dict], timeout: float = 60) -> list[dict]:
        """Run speechd_client.py (python3-speechd) on `plan`; the events it saw, timed."""
        done = subprocess.run(
            [SYSTEM_PYTHON, str(CLIENT)], input=json.dumps(plan), env=self.env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"speechd client failed: {done.stderr[-2000:]}")
        return [json.loads(line) for line in done.stdout.splitlines()]

    def module_log(self, module: str = "lightspeech") -> str:
        log = self.root / "log" / f"{module}.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def close(self) -> None:
        self.stop_speechd()
        if self.recorder is not None:
            self.recorder.close()
        if self._pulse is not None:
            self._pulse.terminate()
            self._pulse.wait()


def lightspeech_command() -> list[str]:
    return [str(Path(sys.executable).with_name("lightspeech"))]
