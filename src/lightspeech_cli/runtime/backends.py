"""Backends beside ONNX Runtime's own graphs, which need torch: they live with the torch
models (model/backends.py) and are found here by the package's entry point
`lightspeech.backends`, so the runtime imports neither torch nor model/, and a user who has
not installed the extra gets one line that says which to install.

A backend builds runners (numpy arrays in, a tuple of numpy arrays out) for

    acoustic(voice, backend, threads)          a voice's acoustic model
    istft_network(folder, threads)             an iSTFT vocoder's network, as ONNX
    istft_vocoder(folder, backend, threads)    an iSTFT vocoder, mel to waveform
    hifigan(backend, threads)                  HiFi-GAN V1 (its weights: the hifigan extra)

where backend is "torchscript", "eager", or "onnx" for a folder that ships no graph (an
older format), compiled from torch into the cache once.
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Callable, Protocol

from ..errors import LightspeechError, require_extra

if TYPE_CHECKING:
    from .format.vocoder import VocoderFolder
    from .format.voice import Voice

ENTRY_POINTS = "lightspeech.backends"
Runner = Callable[..., tuple]  # numpy arrays in, a tuple of numpy arrays out


class TorchBackend(Protocol):
    def acoustic(self, voice: Voice, backend: str, threads: int | None) -> Runner: ...

    def istft_network(self, folder: VocoderFolder, threads: int | None) -> Runner: ...

    def istft_vocoder(self, folder: VocoderFolder, backend: str, threads: int | None) -> Runner: ...

    def hifigan(self, backend: str, threads: int | None) -> Runner: ...


def torch_backend(what: str, extra: str = "torch") -> TorchBackend:
    """The registered torch backend, for `what` (an option or a folder, named in the error
    where `extra` is not installed)."""
    require_extra(extra, what)
    found = metadata.entry_points(group=ENTRY_POINTS, name="torch")
    if not found:
        raise LightspeechError(f"{what} needs the torch backend, which this installation does not register; reinstall")
    return next(iter(found)).load()()
