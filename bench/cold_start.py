"""Cold start: whole processes, timed side by side in one run.

    python bench/cold_start.py [--runs 5]

`lightspeech say "Hello there." -o x.wav` with a LightSpeech-sized voice (untrained
weights: the timing does not depend on them) and Griffin-Lim, against a bare
`python -c "import torch"` and, when installed, `hibari "Hello there." -o x.wav`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lightspeech_cli.model.acoustic import ModelConfig
from lightspeech_cli.profile import untrained_model
from lightspeech_cli.voice import VoiceConfig, save_voice


def median_seconds(command: list[str], runs: int, cwd: Path) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=cwd)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    model = untrained_model("lightspeech", ModelConfig().n_symbols)
    voice = save_voice(work / "voice", VoiceConfig(name="bench", model=ModelConfig().to_dict(),
                                                   vocoder="griffinlim"), model)
    commands = {
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "lightspeech say (griffinlim)": [sys.executable, "-m", "lightspeech_cli", "say", "Hello there.",
                                         "-v", str(voice.folder), "-o", "x.wav", "--threads", "1"],
    }
    if shutil.which("hibari"):
        commands["hibari"] = [shutil.which("hibari"), "Hello there.", "-o", "x.wav"]
    results = {name: median_seconds(command, args.runs, work) for name, command in commands.items()}
    baseline = results["lightspeech say (griffinlim)"]
    print(f"median of {args.runs} runs, whole process")
    for name, seconds in results.items():
        print(f"  {name:<30} {seconds:6.2f} s   {seconds / baseline:5.2f}x lightspeech's time")


if __name__ == "__main__":
    main()
