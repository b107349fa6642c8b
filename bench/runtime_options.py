"""Which ONNX Runtime settings pay, for the shipped voice and vocoder, one thread.

    python bench/runtime_options.py [--repeats 5]

Each option is measured on the 40 sentences of bench/sentences.txt (acoustic model,
then vocoder network and inverse STFT, as `say` runs them), in this process, median of
--repeats passes; session creation is timed too. The runtime keeps what this shows:
    graph optimization level   basic, extended, all (the default)
    memory arena               on (the default) or off: speed and peak memory
    int8 weights               dynamic quantization of both graphs (quality: bench/quality.py)
    one session                acoustic model and vocoder merged into one graph
    inverse STFT               numpy (the runtime's) or inside the graph as real matrix products
Pause anything else that runs while this measures.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import onnxruntime

from lightspeech_cli.runtime.dsp import inverse_stft, polar
from lightspeech_cli.runtime.format.vocoder import find_vocoder_folder
from lightspeech_cli.runtime.format.voice import find_voice
from lightspeech_cli.text import frontend
from lightspeech_cli.text.symbols import SymbolSet

SENTENCES = Path(__file__).resolve().parent / "sentences.txt"
LEVELS = {
    "basic": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def session(path: Path, level: str = "all", arena: bool = True) -> tuple[onnxruntime.InferenceSession, float]:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    options.graph_optimization_level = LEVELS[level]
    options.enable_cpu_mem_arena = arena
    options.log_severity_level = 3
    start = time.perf_counter()
    created = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return created, time.perf_counter() - start


def inputs(ids: list[int]) -> dict:
    ones = np.ones((1, len(ids)), np.float32)
    return {"ids": np.asarray([ids], np.int64), "speed": ones, "pitch": ones, "energy": ones}


def two_sessions(acoustic, network, config):
    left_pad = (config.n_fft - config.hop_length) // 2

    def speak(ids):
        mel, _ = acoustic.run(None, inputs(ids))
        log_amplitude, phase = network.run(None, {"mel": mel})
        return inverse_stft(polar(log_amplitude, phase), config.n_fft, config.hop_length, left_pad)

    return speak


def one_session(merged, config):
    left_pad = (config.n_fft - config.hop_length) // 2

    def speak(ids):
        log_amplitude, phase, _ = merged.run(["vocoder/log_amplitude", "vocoder/phase", "durations"], inputs(ids))
        return inverse_stft(polar(log_amplitude, phase), config.n_fft, config.hop_length, left_pad)

    return speak


def in_graph(acoustic, whole_vocoder):
    def speak(ids):
        mel, _ = acoustic.run(None, inputs(ids))
        return whole_vocoder.run(None, {"mel": mel})[0]

    return speak


def median_pass(speak, sentences, repeats) -> tuple[float, float]:
    """(median seconds for all sentences, seconds of audio)."""
    samples = len(np.concatenate([speak(ids).reshape(-1) for ids in sentences]))
    passes = []
    for _ in range(repeats):
        start = time.perf_counter()
        for ids in sentences:
            speak(ids)
        passes.append(time.perf_counter() - start)
    return statistics.median(passes), samples / 22050


def export_matrix_istft(folder, path: Path) -> None:
    """The vocoder whole, its inverse DFT as two real matrix products and its overlap-add
    as a transposed convolution, so the graph outputs the waveform."""
    import torch

    from lightspeech_cli.model.export import export_waveform_vocoder
    from lightspeech_cli.model.istft import load_istft_vocoder

    vocoder = load_istft_vocoder(folder)
    c = vocoder.config
    bins = c.n_fft // 2 + 1
    k, n = torch.arange(bins).unsqueeze(1).float(), torch.arange(c.n_fft).unsqueeze(0).float()
    weight = torch.full((bins, 1), 2.0)
    weight[0], weight[-1] = 1.0, 1.0  # irfft counts the inner bins twice (their mirror images)
    window = torch.hann_window(c.n_fft)
    cosine = weight * torch.cos(2 * torch.pi * k * n / c.n_fft) / c.n_fft * window
    sine = -weight * torch.sin(2 * torch.pi * k * n / c.n_fft) / c.n_fft * window

    class MatrixIstft(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.vocoder = vocoder
            self.register_buffer("cosine", cosine)
            self.register_buffer("sine", sine)
            self.register_buffer("identity", torch.eye(c.n_fft).unsqueeze(1))
            self.register_buffer("window_squared", (window**2).view(1, -1, 1))

        def forward(self, mel):
            log_amplitude, phase = self.vocoder.spectrum(mel)
            amplitude = torch.exp(log_amplitude)
            frames = (amplitude * torch.cos(phase)) @ self.cosine + (amplitude * torch.sin(phase)) @ self.sine
            wave = torch.nn.functional.conv_transpose1d(frames.transpose(1, 2), self.identity, stride=c.hop_length)
            ones = torch.ones_like(frames[:1, :, :1]).transpose(1, 2).expand(1, 1, frames.shape[1])
            envelope = torch.nn.functional.conv_transpose1d(
                self.window_squared * ones, self.identity, stride=c.hop_length
            )
            left = (c.n_fft - c.hop_length) // 2
            count = frames.shape[1] * c.hop_length
            return (wave[:, 0, left : left + count] / envelope[:, 0, left : left + count].clamp(min=1e-3)).clamp(-1, 1)

    export_waveform_vocoder(MatrixIstft().eval(), path, c.n_mels)


def load_sentences():
    voice = find_voice(None)
    vocoder = find_vocoder_folder(voice.config.vocoder)
    symbols = SymbolSet(voice.config.symbol_set)
    lines = SENTENCES.read_text().splitlines()
    sentences = [symbols.sentence_ids(s.phonemes) for line in lines for s in frontend(line)]
    return voice, vocoder, sentences


def peak_mib() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Linux carries that
    across exec from the parent, which would count the benchmark's own memory."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def one_option(level: str, arena: bool, repeats: int) -> None:
    voice, vocoder, sentences = load_sentences()
    before = peak_mib()
    acoustic, t1 = session(voice.onnx_path, level, arena)
    network, t2 = session(vocoder.onnx_path, level, arena)
    seconds, audio = median_pass(two_sessions(acoustic, network, vocoder.config), sentences, repeats)
    peak = peak_mib()
    print(
        f"{level:<9} arena {'on ' if arena else 'off'}  create {1000 * (t1 + t2):6.1f} ms  {seconds:6.3f} s  "
        f"RTF {seconds / audio:.4f}  peak {peak:4.0f} MiB (+{peak - before:.0f} for the sessions and runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--option", nargs=2, help=argparse.SUPPRESS)  # a worker: level, arena
    args = parser.parse_args()
    if args.option:
        one_option(args.option[0], args.option[1] == "1", args.repeats)
        return
    import onnx  # not before: the workers above measure their memory
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from lightspeech_cli.runtime.format.graph import graph_with_weights_inside  # imports torch

    voice, vocoder, sentences = load_sentences()
    work = Path(tempfile.mkdtemp())
    print(
        f"bench/runtime_options.py, {date.today()}: voice {voice.name} + vocoder {vocoder.name}, "
        f"{len(sentences)} sentences, 1 thread, median of {args.repeats} passes; ONNX Runtime {onnxruntime.__version__}"
    )

    print(
        "\ngraph optimization level and memory arena (session creation for both graphs; time for all sentences;\n"
        "peak memory of a fresh process doing just that)"
    )
    for level in LEVELS:
        for arena in (True, False):
            result = subprocess.run(
                [sys.executable, __file__, "--option", level, str(int(arena))],
                capture_output=True,
                text=True,
                check=True,
            )
            print("  " + result.stdout.strip())

    print("\nint8 weights (dynamic quantization of both graphs)")
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer's advice to pre-process is not a result
    floats, quantized = {}, {}
    for name, path in (("acoustic", voice.onnx_path), ("vocoder", vocoder.onnx_path)):
        floats[name], quantized[name] = work / f"{name}.onnx", work / f"{name}-int8.onnx"
        onnx.save(graph_with_weights_inside(path), str(floats[name]))  # where the quantizer finds weights
        quantize_dynamic(str(floats[name]), str(quantized[name]), weight_type=QuantType.QInt8)
    base, audio = median_pass(
        two_sessions(session(voice.onnx_path)[0], session(vocoder.onnx_path)[0], vocoder.config),
        sentences,
        args.repeats,
    )
    int8, _ = median_pass(
        two_sessions(session(quantized["acoustic"])[0], session(quantized["vocoder"])[0], vocoder.config),
        sentences,
        args.repeats,
    )
    sizes = [
        p.stat().st_size / 1e6
        for p in (floats["acoustic"], floats["vocoder"], quantized["acoustic"], quantized["vocoder"])
    ]
    print(f"  float32  {base:6.3f} s  RTF {base / audio:.4f}  files {sizes[0]:.1f} + {sizes[1]:.1f} MB")
    print(
        f"  int8     {int8:6.3f} s  RTF {int8 / audio:.4f}  files {sizes[2]:.1f} + {sizes[3]:.1f} MB  "
        f"({base / int8:.2f}x)"
    )

    print("\none session for acoustic model and vocoder network")
    merged_path = work / "merged.onnx"
    network = onnx.compose.add_prefix(onnx.load(str(vocoder.onnx_path)), "vocoder/")
    merged_model = onnx.compose.merge_models(
        onnx.load(str(voice.onnx_path)),
        network,
        io_map=[("mel", "vocoder/mel")],
        outputs=["vocoder/log_amplitude", "vocoder/phase", "durations"],
    )
    onnx.save(merged_model, str(merged_path))
    one, _ = median_pass(one_session(session(merged_path)[0], vocoder.config), sentences, args.repeats)
    print(f"  two sessions  {base:6.3f} s\n  one session   {one:6.3f} s  ({base / one:.2f}x)")

    print("\ninverse STFT: numpy after the graph, or real matrix products inside it")
    whole_path = work / "vocoder-with-istft.onnx"
    export_matrix_istft(vocoder, whole_path)
    acoustic = session(voice.onnx_path)[0]
    reference = two_sessions(acoustic, session(vocoder.onnx_path)[0], vocoder.config)
    matrix = in_graph(acoustic, session(whole_path)[0])
    difference = max(float(np.abs(reference(ids) - matrix(ids)).max()) for ids in sentences[:5])
    in_graph_seconds, _ = median_pass(matrix, sentences, args.repeats)
    print(
        f"  numpy      {base:6.3f} s\n  in graph   {in_graph_seconds:6.3f} s  ({base / in_graph_seconds:.2f}x; "
        f"largest sample difference {difference:.1e})"
    )


if __name__ == "__main__":
    main()
