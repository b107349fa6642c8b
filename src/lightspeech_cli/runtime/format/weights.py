"""A folder's weights (model.safetensors) and the ONNX graph that reads them: the tensors a
config needs, the types they may have, and what a graph records of the files it was made
from (the weights' layout, the config section), so that a folder whose parts no longer
match is refused before it runs. Reads headers only; no torch."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ...errors import VoiceError
from ...paths import shown

# What a weights file's tensors may be: float32, or float16 as export stores them since
# 2026-12-03 (model/export.py, half_precision_copy); batch norm's step counter (a postnet's)
# is an int64.
WEIGHT_DTYPES = ("F32", "F16")

COUNTER_SUFFIX, COUNTER_DTYPES = ".num_batches_tracked", ("I64",)

DTYPE_NAMES = {"F32": "float32", "F16": "float16", "I64": "int64"}

# The ONNX metadata entry that names the weights file layout a graph reads its weights from
# (model/export.py, read_weights_beside): the graph holds byte offsets into that file.
WEIGHTS_LAYOUT_KEY = "lightspeech.weights_layout"


def weights_header(stored: bytes) -> bytes:
    """The JSON header of a safetensors file's bytes: its tensors' names, types, shapes and
    byte offsets, counted from the header's end (8 + its length)."""
    return stored[8 : 8 + int.from_bytes(stored[:8], "little")]


def weights_layout(stored: bytes) -> str:
    """A hash of a safetensors file's header, which is all that a graph reading weights
    from the file depends on."""
    return hashlib.sha256(weights_header(stored)).hexdigest()


# The ONNX metadata entry that records the config.json section a folder's graph was exported
# from (model/export.py, read_weights_beside), as `section_digest`: the graph holds that
# section's values (sizes, the architecture, pitch_log_std), so an edit of it, which the torch
# backends follow, must not run on the graph's old values.
GRAPH_SOURCE_KEY = "lightspeech.graph_source"


def section_digest(section: dict) -> str:
    """A hash of a config section (names to numbers and text) that does not depend on the
    order of its fields or on how a whole number is written (4 or 4.0)."""
    canonical = {
        key: float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        for key, value in section.items()
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class GraphSource:
    """The config.json section a folder's graph is made from, for the engine to compare
    with what the graph records (GRAPH_SOURCE_KEY)."""

    owner: str  # "voice NAME", "vocoder NAME"
    section: str  # its key in config.json
    settings: dict

    @property
    def digest(self) -> str:
        return section_digest(self.settings)


def check_weights(path: Path, expected: dict[str, tuple[int, ...]], owner: str) -> None:
    """That a safetensors file holds exactly the `expected` tensors (name -> shape), each
    float32 or float16 (a batch norm's counter int64), so weights of another architecture,
    size or type are refused before any model runs. Reads only the file's header (about a
    millisecond)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="numpy") as weights:
            tensors = {name: weights.get_slice(name) for name in weights.keys()}
            shapes = {name: tuple(tensor.get_shape()) for name, tensor in tensors.items()}
            dtypes = {name: tensor.get_dtype() for name, tensor in tensors.items()}
    except (SafetensorError, OSError, ValueError) as e:
        raise VoiceError(f"{owner}: {path.name} is corrupt ({str(e)[:200]})") from None
    problems = [f"{shown(name)} is missing" for name in sorted(set(expected) - set(shapes))]
    problems += [f"{shown(name)} is not part of it" for name in sorted(set(shapes) - set(expected))]
    problems += [
        f"{shown(name)} has shape {list(shapes[name])}, not {list(expected[name])}"
        for name in sorted(set(expected) & set(shapes))
        if shapes[name] != expected[name]
    ]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise VoiceError(f"{owner}: its weights do not fit the model its config describes: {problems[0]}{more}")

    def allowed(name: str) -> tuple[str, ...]:
        return COUNTER_DTYPES if name.endswith(COUNTER_SUFFIX) else WEIGHT_DTYPES

    odd = next((name for name in sorted(dtypes) if dtypes[name] not in allowed(name)), None)
    if odd is not None:
        codes = " or ".join(allowed(odd))
        names = " or ".join(DTYPE_NAMES[dtype] for dtype in allowed(odd))
        raise VoiceError(f"{owner}: {path.name} holds {shown(odd)} as {shown(dtypes[odd])}, not {codes} ({names})")
