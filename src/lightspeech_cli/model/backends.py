"""The torch backends, registered with the runtime by the entry point `lightspeech.backends`
(pyproject.toml; runtime/backends.py says what they build).

    torchscript  torch.jit.script (the acoustic model) or trace (vocoders), cached
    eager        the nn.Module as it is
    onnx         for a folder that ships no graph (an older format) and HiFi-GAN: exported
                 from torch once into the cache, then run by ONNX Runtime
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch

from ..errors import VoiceError
from ..runtime.engine import Runner, onnx_runner
from ..runtime.format.vocoder import VocoderFolder, hifigan_audio, hifigan_cache_parts
from ..runtime.format.voice import Voice
from . import export
from .acoustic import load_acoustic_model
from .compiled import cached_compile, folder_parts
from .istft import load_istft_vocoder


def _threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)


def _torchscript_runner(path: Path) -> Runner:
    try:
        return export.torch_runner(export.load_torchscript(path))
    except RuntimeError as e:
        raise VoiceError(f"{path} does not load ({str(e).splitlines()[0][:200]})") from None


def _compiled(
    kind: str,
    backend: str,
    parts: list[bytes],
    module: Callable[[], torch.nn.Module],
    threads: int | None,
    to_onnx: Callable[[Any, Path], None] | None = None,
    n_mels: int = 80,
) -> Runner:
    """`module` run as it is (eager), or compiled into the cache: to TorchScript (scripted if
    `kind` is acoustic, else traced on `n_mels` bands), or to ONNX with `to_onnx`."""
    if backend == "eager":
        return export.torch_runner(module())
    if backend == "onnx":
        assert to_onnx is not None
        return cached_compile(
            kind, backend, parts, lambda path: to_onnx(module(), path), lambda path: onnx_runner(path, threads)
        )
    script_as = "acoustic" if kind == "acoustic" else "vocoder"
    return cached_compile(
        kind,
        backend,
        parts,
        lambda path: export.compile_torchscript(module(), script_as, path, n_mels),
        _torchscript_runner,
    )


class TorchBackend:
    def acoustic(self, voice: Voice, backend: str, threads: int | None) -> Runner:
        _threads(threads)
        parts = folder_parts(voice.config.to_dict(), voice.weights_path)
        return _compiled(
            "acoustic", backend, parts, lambda: load_acoustic_model(voice), threads, export.export_acoustic
        )

    def istft_network(self, folder: VocoderFolder, threads: int | None) -> Runner:
        """The network alone, as ONNX, for a folder that ships none; numpy does the rest."""
        _threads(threads)
        parts = folder_parts(folder.config.to_dict(), folder.weights_path)
        return _compiled(
            "istft", "onnx", parts, lambda: load_istft_vocoder(folder), threads, export.export_istft_network
        )

    def istft_vocoder(self, folder: VocoderFolder, backend: str, threads: int | None) -> Runner:
        """The whole vocoder, mel to waveform, in TorchScript or eager torch."""
        _threads(threads)
        parts = folder_parts(folder.config.to_dict(), folder.weights_path)
        return _compiled(
            "istft", backend, parts, lambda: load_istft_vocoder(folder), threads, n_mels=folder.config.n_mels
        )

    def hifigan(self, backend: str, threads: int | None) -> Runner:
        """HiFi-GAN V1, mel to waveform: ONNX (compiled once), TorchScript or eager."""
        from .hifigan import load_hifigan

        _threads(threads)
        n_mels = hifigan_audio()[2]
        return _compiled(
            "hifigan",
            backend,
            hifigan_cache_parts(),
            load_hifigan,
            threads,
            lambda module, path: export.export_waveform_vocoder(module, path, n_mels),
            n_mels,
        )
