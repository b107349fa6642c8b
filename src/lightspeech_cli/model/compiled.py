"""The cache of graphs compiled from torch models, in `cache/compiled/`.

A compiled file's name is a hash of everything that shapes it (`compiled_key`): its kind and
backend, the folder's config and weights, the model code and exporter, and the versions of
torch and ONNX Runtime. So editing a config, retraining, or upgrading lightspeech or torch
compiles afresh instead of serving a stale graph; an entry that fails to load is rebuilt once.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Callable

from ..errors import VoiceError
from ..paths import cache_dir
from ..runtime.engine import Runner
from ..runtime.format import arch

# The code that decides what a compiled graph computes; its text is part of the cache key,
# with the architecture description's parser.
MODEL_SOURCES = ("acoustic.py", "ops.py", "export.py", "istft.py", "hifigan.py")


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def model_code_folder() -> Path:
    return Path(__file__).parent


def compiled_key(kind: str, backend: str, parts: list[bytes]) -> str:
    """A hash of what a compiled graph depends on: its kind and backend, `parts` (config,
    weights), the model code and exporter, and the versions of torch and ONNX Runtime."""
    digest = hashlib.sha256(f"{kind}\0{backend}\0".encode())
    for source in MODEL_SOURCES:
        digest.update((model_code_folder() / source).read_bytes())
    digest.update(Path(arch.__file__).read_bytes())
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
    path = folder / f"{kind}-{compiled_key(kind, backend, parts)}.{'onnx' if backend == 'onnx' else 'pt'}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if path.exists():
            try:
                return load(path)
            except VoiceError:
                path.unlink(missing_ok=True)  # truncated or garbled: rebuilt below
        build(path)
    except OSError as e:
        raise VoiceError(f"cannot write compiled models to {folder}: {e.strerror or e}") from None
    return load(path)
