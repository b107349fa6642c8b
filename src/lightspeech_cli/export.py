"""Compiled inference backends for the acoustic model and the vocoders.

    eager        the nn.Module as it is
    torchscript  torch.jit.script (acoustic model: its lengths depend on the data, so
                 it cannot be traced) or torch.jit.trace (convolutional vocoders)
    onnx         exported to ONNX and run by ONNX Runtime, as Piper and hibari-tts do

bench/backends.py measures them side by side; `DEFAULT_BACKENDS` are the ones that
measured fastest there. Compiled files are saved and reloaded, so a module is
compiled once, not at every start.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .errors import VoiceError

BACKENDS = ("eager", "torchscript", "onnx")
# Fastest per module in bench/backends.txt: ONNX Runtime runs LightSpeech 1.5-2.4x faster
# than eager; for HiFi-GAN every backend is within 3%, so it skips the slow export.
DEFAULT_BACKENDS = {"acoustic": "onnx", "vocoder": "eager"}

# Runs a compiled module: inputs as torch tensors, outputs as a tuple of tensors.
Runner = Callable[..., tuple]


def fingerprint(module: torch.nn.Module) -> str:
    """Changes whenever a weight does, so a stale compiled file is never reused."""
    digest = hashlib.sha256(torch.__version__.encode())
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def example_inputs(kind: str, n_mels: int = 80) -> tuple:
    if kind == "acoustic":
        one = torch.tensor(1.0)
        return (torch.randint(1, 10, (1, 12)), one, one, one)
    return (torch.zeros(1, 20, n_mels),)


def compile_torchscript(module: torch.nn.Module, kind: str, path: Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch 2.13 warns that TorchScript is deprecated
        if kind == "acoustic":
            compiled = torch.jit.script(module)
        else:
            with torch.no_grad():
                compiled = torch.jit.trace(module, example_inputs(kind), check_trace=False)
        torch.jit.save(compiled, str(path))
        return torch.jit.load(str(path))


def export_onnx(module: torch.nn.Module, kind: str, path: Path) -> None:
    if kind == "acoustic":
        names, outputs = ["ids", "speed", "pitch", "energy"], ["mel", "durations"]
        axes = {"ids": {0: "batch", 1: "phonemes"}, "mel": {0: "batch", 1: "frames"},
                "durations": {0: "batch", 1: "phonemes"}}
    else:
        names, outputs = ["mel"], ["wave"]
        axes = {"mel": {0: "batch", 1: "frames"}, "wave": {0: "batch", 1: "samples"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, example_inputs(kind), str(path), input_names=names, output_names=outputs,
                          dynamic_axes=axes, dynamo=False, opset_version=17)


def onnx_runner(path: Path, threads: int) -> Runner:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(*inputs: torch.Tensor) -> tuple:
        feed = {name: np.ascontiguousarray(x.numpy()) for name, x in zip(names, inputs)}
        return tuple(torch.from_numpy(o) for o in session.run(None, feed))

    return run


def compile_module(module: torch.nn.Module, kind: str, backend: str, cache: Path, threads: int) -> Runner:
    """A runner for `module` ("acoustic" or "vocoder") on `backend`, compiled into
    `cache` the first time and reloaded after."""
    module = module.eval()
    if backend == "eager":
        def run(*inputs):
            with torch.inference_mode():
                out = module(*inputs)
            return out if isinstance(out, tuple) else (out,)
        return run
    if backend not in BACKENDS:
        raise VoiceError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    cache.mkdir(parents=True, exist_ok=True)
    stem = f"{type(module).__name__}-{fingerprint(module)}"
    if backend == "torchscript":
        path = cache / f"{stem}.pt"
        if path.exists():
            compiled = torch.jit.load(str(path))
        else:
            compiled = compile_torchscript(module, kind, _staging(path))
            _staging(path).replace(path)

        def run(*inputs):
            with torch.inference_mode():
                out = compiled(*inputs)
            return out if isinstance(out, tuple) else (out,)
        return run
    path = cache / f"{stem}.onnx"
    if not path.exists():
        export_onnx(module, kind, _staging(path))
        _staging(path).replace(path)
    return onnx_runner(path, threads)


def _staging(path: Path) -> Path:
    """Where a compiled file is written before it is renamed into place."""
    return path.with_name(f".{path.name}.part")
