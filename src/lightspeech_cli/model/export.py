"""Compiling torch models for inference: the builders' half of the engine.

    onnx         exported to ONNX, run by ONNX Runtime: what voices and vocoders ship, and
                 what the runtime uses by default (bench/backends.txt)
    torchscript  torch.jit.script (the acoustic model: its lengths depend on the data, so
                 it cannot be traced) or torch.jit.trace (convolutional vocoders)
    eager        the nn.Module as it is

The iSTFT vocoder ships its network only (mel -> log amplitude, phase): ONNX has no
complex inverse FFT, and numpy's is as fast (bench/runtime_options.txt). Torch runners
take and return numpy arrays, so the synthesizer never sees a tensor.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import torch

from ..paths import atomic_write
from ..runtime.engine import Runner
from ..runtime.format.vocoder import ISTFT_OUTPUTS
from ..runtime.format.voice import ACOUSTIC_OUTPUTS

if TYPE_CHECKING:
    from .istft import IstftVocoder

ONNX_OPSET = 17


def _acoustic_example() -> tuple:
    ones = torch.ones(1, 12)
    return (torch.randint(1, 10, (1, 12)), ones, ones, ones)


def _export(
    module: torch.nn.Module, inputs: tuple, path: Path, names: list[str], outputs: list[str], axes: dict
) -> None:
    with atomic_write(path) as f, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about data-dependent shapes, which are dynamic axes here
        torch.onnx.export(
            module.eval(),
            inputs,
            f,  # type: ignore[arg-type]  # the TorchScript exporter (dynamo=False) also writes to a file object
            input_names=names,
            output_names=outputs,
            dynamic_axes=axes,
            dynamo=False,
            opset_version=ONNX_OPSET,
        )


def export_acoustic(model: torch.nn.Module, path: Path) -> None:
    """ids [B, T]; speed, pitch, energy factors [B, T] (one per phoneme, so SSML can change
    part of a sentence) -> mel [B, F, n_mels], durations [B, T]."""
    per_phoneme = {0: "batch", 1: "phonemes"}
    _export(
        model,
        _acoustic_example(),
        path,
        ["ids", "speed", "pitch", "energy"],
        ACOUSTIC_OUTPUTS,
        {
            "ids": per_phoneme,
            "speed": per_phoneme,
            "pitch": per_phoneme,
            "energy": per_phoneme,
            "mel": {0: "batch", 1: "frames"},
            "durations": per_phoneme,
        },
    )


class _IstftNetwork(torch.nn.Module):
    """The iSTFT vocoder up to its spectrum: what its ONNX graph holds."""

    def __init__(self, vocoder: IstftVocoder):
        super().__init__()
        self.vocoder = vocoder

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.vocoder.spectrum(mel)


def export_istft_network(vocoder: IstftVocoder, path: Path) -> None:
    """mel [B, T, n_mels] -> log amplitude, phase [B, T, n_fft/2 + 1]; with a pulse source
    the spectrum and the source filter [B, T, n_fft/2 + 1, 2] (real, imaginary) and F0 [B, T]."""
    n_mels = vocoder.config.n_mels
    outputs = ISTFT_OUTPUTS[vocoder.config.source]
    _export(
        _IstftNetwork(vocoder),
        (torch.zeros(1, 20, n_mels),),
        path,
        ["mel"],
        outputs,
        {name: {0: "batch", 1: "frames"} for name in ["mel", *outputs]},
    )


def export_waveform_vocoder(vocoder: torch.nn.Module, path: Path, n_mels: int = 80) -> None:
    """A vocoder whole (HiFi-GAN): mel [B, T, n_mels] -> wave [B, T * hop]."""
    _export(
        vocoder,
        (torch.zeros(1, 20, n_mels),),
        path,
        ["mel"],
        ["wave"],
        {"mel": {0: "batch", 1: "frames"}, "wave": {0: "batch", 1: "samples"}},
    )


def compile_torchscript(module: torch.nn.Module, kind: str, path: Path, n_mels: int = 80) -> None:
    """Script (acoustic) or trace (vocoders) `module` and save it at `path`."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch 2.13 warns that TorchScript is deprecated
        if kind == "acoustic":
            compiled = torch.jit.script(module.eval())
        else:
            compiled = torch.jit.trace(module.eval(), (torch.zeros(1, 20, n_mels),), check_trace=False)
        with atomic_write(path) as f:
            torch.jit.save(compiled, f)


def load_torchscript(path: Path) -> torch.nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.load(str(path))


def torch_runner(module: torch.nn.Module) -> Runner:
    """A torch module (eager or TorchScript) behind numpy in, numpy out."""

    def run(*inputs: np.ndarray) -> tuple:
        with torch.inference_mode():
            out = module(*(torch.from_numpy(np.ascontiguousarray(x)) for x in inputs))
        return tuple(o.numpy() for o in (out if isinstance(out, tuple) else (out,)))

    return run


# The largest magnitude half precision holds.
HALF_MAX = 65504.0
AnyModule = TypeVar("AnyModule", bound=torch.nn.Module)


def half_precision_copy(model: AnyModule) -> tuple[AnyModule, dict[str, torch.Tensor]]:
    """A copy of `model` with its parameters rounded to half precision, and the weights a
    folder stores for it: those parameters as float16, the state's other tensors (batch
    norms' running statistics and counters) as they are. The ONNX graph is exported from the
    copy, so it computes in float32 with the very numbers the safetensors file holds and
    every backend agrees (it reads them from that file: `read_weights_beside`). Why: every
    shipped version stays in the repository and in downloads, and half precision halves it.
    The rounding (2^-11 relative; coarser below 6e-5, where float16 is subnormal) is not
    heard: on the 40 dev sentences (held out, not the benchmark's) the pulse vocoder of
    step 50,000 scores DNSMOS P.808 3.975 before and 3.973 after (its waveform does move, as
    a last-bit change of F0 shifts the pulses' phase). A parameter that is empty, not finite
    or beyond half precision's range stays as it is."""
    import copy

    model = copy.deepcopy(model)
    parameters = dict(model.named_parameters())
    stored = {}
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if (
                name in parameters
                and tensor.is_floating_point()
                and tensor.numel() > 0
                and tensor.abs().max() <= HALF_MAX  # False for NaN
            ):
                half = tensor.half()
                parameters[name].copy_(half.float())
                tensor = half
            stored[name] = tensor.contiguous()
    return model, stored
