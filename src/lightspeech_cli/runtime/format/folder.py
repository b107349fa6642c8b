"""A model folder: a voice or a vocoder on disk, which describes itself.

    FOLDER/
      config.json        what it is (checked field by field: schema.py)
      model.onnx         the network, compiled (format 2); what the runtime runs
      model.safetensors  its weights: the source of truth for training and the torch backends
      MODEL_CARD.md      data, teacher, steps, licence, the command that made it
      training-log.jsonl

`ModelFolder` reads and checks what voices and vocoders share: the config (through the
subclass's parser), the files it needs (regular files: files.py), the weights fitting the
config (weights.py), and how it is found by name. Format 1 folders (older ones, search
candidates) have no model.onnx; the torch backend compiles them once into the cache.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, ClassVar

from ...paths import NAME_PATTERN
from .files import check_file, check_folder, read_json
from .weights import GraphSource, check_weights

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
ONNX_FILE = "model.onnx"
MODEL_CARD_FILE = "MODEL_CARD.md"
LOG_FILE = "training-log.jsonl"
FOLDER_FILES = frozenset({CONFIG_FILE, WEIGHTS_FILE, ONNX_FILE, MODEL_CARD_FILE, LOG_FILE})


class ModelFolder:
    """A folder with a checked config and the files it needs: regular files, the weights
    fitting the config. Subclasses say what their config is and what it needs."""

    kind: ClassVar[str]  # "voice", "vocoder": in messages, and the config's `what`
    config: Any

    def __init__(self, folder: Path):
        self.folder = folder
        check_folder(folder, self.kind)
        self.config = self.parse_config(read_json(folder / CONFIG_FILE, self.kind), str(folder / CONFIG_FILE))
        if self.has_onnx:
            check_file(self.onnx_path, self.owner)
        check_file(self.weights_path, self.owner)
        check_weights(self.weights_path, self.expected_weights(), self.owner)

    def parse_config(self, data: object, where: str) -> Any:
        raise NotImplementedError

    def expected_weights(self) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    @property
    def format(self) -> int:
        raise NotImplementedError

    @property
    def graph_source(self) -> GraphSource:
        """The config section the folder's graph computes with (weights.py, GRAPH_SOURCE_KEY)."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def owner(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def weights_path(self) -> Path:
        return self.folder / WEIGHTS_FILE

    @property
    def onnx_path(self) -> Path:
        return self.folder / ONNX_FILE

    @property
    def has_onnx(self) -> bool:
        return self.format >= 2

    def identity(self) -> str:
        """What the folder's output depends on, for caches keyed on it (render): where it
        is, and the size and time of change of each file that decides what it computes."""
        files = [self.folder / name for name in (CONFIG_FILE, ONNX_FILE, WEIGHTS_FILE)]
        stamps = [f"{path.name}:{path.stat().st_size}:{path.stat().st_mtime_ns}" for path in files if path.exists()]
        return "\0".join([str(self.folder.resolve()), *stamps])


def holds_config(folder: Path) -> bool:
    """Whether `folder` holds a config.json; one that cannot be looked up (in a folder not
    readable) counts, so that loading the folder says why it cannot."""
    try:
        return (folder / CONFIG_FILE).is_file()
    except OSError:
        return True


def looks_like_path(name: str) -> bool:
    return os.sep in name or name.startswith(".") or name.startswith("~")


def is_local_folder(name: str) -> bool:
    """A folder of the current directory written without "./" (`-v MyVoice`): a path, when
    it holds a config.json and nothing of that name is installed."""
    return (Path(name) / CONFIG_FILE).is_file()


def folder_named(name: str, places: Callable[[], list[Path]]) -> Path | None:
    """The folder a name stands for: a path as it is; a name, in the first of `places`
    (asked for only then: a path works where they cannot be read) that holds it, else in
    the current directory; None if there is none."""
    if looks_like_path(name):
        return Path(name).expanduser()
    if NAME_PATTERN.fullmatch(name):
        for place in places():
            if holds_config(place / name):
                return place / name
    if is_local_folder(name):
        return Path(name)
    return None
