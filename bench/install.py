"""What a user downloads and keeps to speak: a fresh `pipx install .`, measured.

    python bench/install.py [--pipx PATH] [--runs 7]

1. install: `pipx install .` into a fresh PIPX_HOME, twice: the first builds the wheel and
   fills pip's cache, the second (into another fresh PIPX_HOME) is timed, as a warm-cache
   install. Reported: the app's venv on disk (du), its packages, the largest ones, and every
   package of CUDA, NVIDIA or Triton (there must be none). pipx keeps pip in a shared venv of
   its own, listed apart.
2. cold start: `lightspeech say "Hello there." -o x.wav`, a whole process pinned to CPU 0 with
   one thread, from that venv and from the environment running this script (every extra
   installed), taking turns, median of --runs (with min and max). Pause anything else that
   runs (training: kill -STOP) while this measures.
3. extras: each command and option that needs an extra, run in the lean venv: its exit status
   (6) and its one line on standard error.

pipx itself is not a dependency: install it anywhere (`python3 -m pip install pipx`) and
give its path with --pipx, or have it on PATH.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GPU_PACKAGES = re.compile(r"^(nvidia|cuda|triton|cupy)", re.IGNORECASE)
NEEDS_AN_EXTRA = [
    ["profile"],
    ["train", "fit", "work"],
    ["search", "work", "-o", "found"],
    ["say", "Hi.", "-o", "x.wav", "--backend", "torchscript"],
    ["say", "Hi.", "-o", "x.wav", "--vocoder", "hifigan"],
    ["serve", "--http", "5000"],
]


def du_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def pipx_install(pipx: str, home: Path) -> float:
    env = dict(os.environ, PIPX_HOME=str(home), PIPX_BIN_DIR=str(home / "bin"), PIPX_MAN_DIR=str(home / "man"))
    start = time.perf_counter()
    subprocess.run([pipx, "install", str(ROOT)], check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def packages(venv: Path) -> dict[str, int]:
    """Installed distribution -> bytes of its files (by its RECORD)."""
    site = next(venv.glob("lib/python*/site-packages"))
    sizes = {}
    for info in site.glob("*.dist-info"):
        name = info.name.split("-")[0]
        total = 0
        for line in (info / "RECORD").read_text(encoding="utf-8").splitlines():
            path = site / line.split(",")[0]
            if path.is_file():
                total += path.stat().st_size
        sizes[name] = total
    return sizes


def cold_start(command: list[str], cwd: Path) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", LIGHTSPEECH_HOME=str(cwd / "home"))
    start = time.perf_counter()
    subprocess.run(["taskset", "-c", "0", *command], check=True, capture_output=True, env=env, cwd=cwd)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipx", default=shutil.which("pipx"))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not args.pipx:
        sys.exit("pipx not found: install it (python3 -m pip install pipx) and give --pipx PATH")
    work = Path(tempfile.mkdtemp())
    try:
        pipx_install(args.pipx, work / "warm-up")
        seconds = pipx_install(args.pipx, work / "pipx")
        venv = work / "pipx" / "venvs" / "lightspeech"
        sizes = packages(venv)
        venv_bytes, shared_bytes = du_bytes(venv), du_bytes(work / "pipx" / "shared")
        gpu = sorted(name for name in sizes if GPU_PACKAGES.match(name))
        lean = str(venv / "bin" / "lightspeech")
        full = str(Path(sys.executable).parent / "lightspeech")
        say = ["say", "Hello there.", "-o", "x.wav", "--threads", "1"]
        times: dict[str, list[float]] = {"lean": [], "full": []}
        for _ in range(args.runs):
            times["lean"].append(cold_start([lean, *say], work))
            times["full"].append(cold_start([full, *say], work))
        (work / "work").mkdir()
        extras = []
        for command in NEEDS_AN_EXTRA:
            done = subprocess.run([lean, *command], capture_output=True, cwd=work, timeout=120)
            extras.append((command, done.returncode, done.stderr.decode().strip()))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    mb = 1e6
    print(
        f"bench/install.py, {date.today()}: `pipx install .` ({args.pipx}), Python {platform.python_version()}, "
        f"{platform.machine()}"
    )
    print(f"install from a warm pip cache: {seconds:.1f} s")
    print(
        f"the app's venv: {venv_bytes / mb:.1f} MB, {len(sizes)} packages; "
        f"pipx's shared pip: {shared_bytes / mb:.1f} MB"
    )
    print(f"CUDA, NVIDIA or Triton packages: {', '.join(gpu) or 'none'}")
    print(
        "largest packages (MB): "
        + ", ".join(f"{n} {b / mb:.1f}" for n, b in sorted(sizes.items(), key=lambda i: -i[1])[:12])
    )
    for name, label in (("lean", "this venv"), ("full", "every extra installed")):
        walls = times[name]
        print(
            f"say cold start, {label}: {statistics.median(walls):.3f} s (min {min(walls):.3f}, "
            f"max {max(walls):.3f}; {args.runs} runs, CPU 0, one thread)"
        )
    for command, code, line in extras:
        print(f"  lightspeech {' '.join(command)}: exit {code}: {line}")


if __name__ == "__main__":
    main()
