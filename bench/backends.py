"""Eager against compiled backends, FastSpeech 2 against LightSpeech, in one process.

    python bench/backends.py [--runs 10] [--threads 1 2]

Untrained models with a fixed 6 frames per phoneme (architecture alone decides the
speed). Prints medians in ms and ratios against eager in the same run, then
LightSpeech's speed-up over FastSpeech 2 per backend; each row's `range` is the widest
(max - min) / median among its backends, so a ratio inside it is noise. The header names the
machine, the date and the versions. Results: bench/backends.txt.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from machine_info import machine, version

from lightspeech_cli.model import export
from lightspeech_cli.model.acoustic import count_parameters, untrained_model
from lightspeech_cli.model.hifigan import load_hifigan
from lightspeech_cli.runtime.engine import onnx_runner
from lightspeech_cli.text.symbols import SymbolSet


def compiled(module: torch.nn.Module, kind: str, backend: str, folder: Path, threads: int):
    """`module` as the engine runs it on `backend`: numpy in, numpy out."""
    if backend == "eager":
        return export.torch_runner(module)
    path = folder / f"{kind}-{id(module)}.{'onnx' if backend == 'onnx' else 'pt'}"
    if backend == "torchscript":
        export.compile_torchscript(module, kind, path)
        return export.torch_runner(export.load_torchscript(path))
    if kind == "acoustic":
        export.export_acoustic(module, path)
    else:
        export.export_waveform_vocoder(module, path)
    return onnx_runner(path, threads)


def times_ms(run, inputs, runs: int) -> list[float]:
    run(*inputs)  # warm-up (and the first TorchScript optimization pass)
    run(*inputs)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run(*inputs)
        times.append((time.perf_counter() - start) * 1000)
    return times


def widest_range(times: dict[str, list[float]]) -> str:
    return f"{max((max(t) - min(t)) / statistics.median(t) for t in times.values()):.0%}"


def frozen(module: torch.nn.Module, kind: str, example: tuple):
    """torch.jit.freeze + optimize_for_inference, which the engine does not use: measured here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(module) if kind == "acoustic" else torch.jit.trace(module, example)
        optimized = torch.jit.optimize_for_inference(torch.jit.freeze(scripted.eval()))

    return export.torch_runner(optimized)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--lengths", type=int, nargs="+", default=[20, 60, 150])
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp())
    n_symbols = len(SymbolSet())
    print(f"# bench/backends.py, {datetime.date.today().isoformat()}; machine: {machine()}")
    print(
        f"# python {platform.python_version()}, torch {torch.__version__}, onnxruntime {version('onnxruntime')}; "
        f"medians of {args.runs} runs (HiFi-GAN: {max(3, args.runs // 3)}); ratio = eager ms / backend ms\n"
    )
    for threads in args.threads:
        torch.set_num_threads(threads)
        acoustic_ms: dict[tuple[str, str, int], float] = {}
        print(f"== acoustic model, {threads} thread(s) ==")
        print(
            f"{'model':<12} {'phonemes':>8} {'frames':>6} {'eager':>8} {'script':>8} {'frozen':>8} {'onnx':>8}"
            f"  {'ratios (script, frozen, onnx)':<30} range"
        )
        for name in ("fastspeech2", "lightspeech"):
            model = untrained_model(name, n_symbols)
            runners = {
                "eager": compiled(model, "acoustic", "eager", cache, threads),
                "script": compiled(model, "acoustic", "torchscript", cache, threads),
                "frozen": frozen(model, "acoustic", ()),
                "onnx": compiled(model, "acoustic", "onnx", cache, threads),
            }
            for length in args.lengths:
                ids = np.random.default_rng(length).integers(1, n_symbols, (1, length))
                ones = np.ones((1, length), np.float32)  # speed, pitch and energy factors per phoneme
                inputs = (ids, ones, ones, ones)
                times = {backend: times_ms(run, inputs, args.runs) for backend, run in runners.items()}
                ms = {backend: statistics.median(t) for backend, t in times.items()}
                for backend, value in ms.items():
                    acoustic_ms[(name, backend, length)] = value
                ratios = ", ".join(f"{ms['eager'] / ms[b]:.2f}x" for b in ("script", "frozen", "onnx"))
                cells = " ".join(f"{ms[b]:>8.2f}" for b in ms)
                print(f"{name:<12} {length:>8} {length * 6:>6} {cells}  {ratios:<30} {widest_range(times)}")
        print("\nLightSpeech speed-up over FastSpeech 2 (same backend, same input):")
        for backend in ("eager", "script", "frozen", "onnx"):
            ups = [
                acoustic_ms[("fastspeech2", backend, n)] / acoustic_ms[("lightspeech", backend, n)]
                for n in args.lengths
            ]
            print(
                f"  {backend:<7} "
                + "  ".join(f"{n} phonemes: {u:.1f}x" for n, u in zip(args.lengths, ups, strict=True))
            )
        print(
            f"\n== HiFi-GAN V1 vocoder ({count_parameters(load_hifigan()) / 1e6:.1f}M parameters), "
            f"{threads} thread(s) =="
        )
        vocoder = load_hifigan()
        mel = np.random.default_rng(0).standard_normal((1, 200, 80), np.float32) - 5
        audio_seconds = 200 * 256 / 22050
        runners = {
            "eager": compiled(vocoder, "vocoder", "eager", cache, threads),
            "trace": compiled(vocoder, "vocoder", "torchscript", cache, threads),
            "frozen": frozen(vocoder, "vocoder", (torch.from_numpy(mel),)),
            "onnx": compiled(vocoder, "vocoder", "onnx", cache, threads),
        }
        times = {backend: times_ms(run, (mel,), max(3, args.runs // 3)) for backend, run in runners.items()}
        ms = {backend: statistics.median(t) for backend, t in times.items()}
        for backend, value in ms.items():
            print(
                f"  {backend:<7} {value:8.1f} ms  RTF {value / 1000 / audio_seconds:.3f}  "
                f"ratio {ms['eager'] / value:.2f}x  range {widest_range({backend: times[backend]})}"
            )
        print()


if __name__ == "__main__":
    main()
