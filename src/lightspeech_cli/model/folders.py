"""Writing a voice or vocoder folder (runtime/format/folder.py), one way for both:

    config.json        as the folder's kind writes it
    model.safetensors  the parameters in half precision (export.half_precision_copy)
    model.onnx         the network compiled from the rounded copy, reading its weights from
                       model.safetensors (runtime/format/graph.py, read_weights_beside) and
                       recording the config section it computes with
    MODEL_CARD.md, training-log.jsonl and the like

Written into a staging folder beside the target and renamed: never half a folder, and an
existing folder is replaced only if it holds nothing but a model folder's files. The folder
is read back as any folder is before it replaces one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, TypeVar

import torch
from safetensors.torch import save_file

from ..paths import replaced_folder
from ..runtime.format.folder import CONFIG_FILE, FOLDER_FILES, MODEL_CARD_FILE, ONNX_FILE, WEIGHTS_FILE, ModelFolder
from ..runtime.format.graph import read_weights_beside
from ..runtime.format.vocoder import VocoderFolder
from ..runtime.format.voice import CURRENT_FORMAT, Voice, VoiceConfig
from .export import export_acoustic, export_istft_network, half_precision_copy
from .istft import IstftVocoder

Folder = TypeVar("Folder", bound=ModelFolder)
Module = TypeVar("Module", bound=torch.nn.Module)


def write_folder(
    folder: Path,
    config: dict,
    model: Module,
    export: Callable[[Module, Path], None],
    graph_settings: dict,
    read: Callable[[Path], Folder],
    model_card: str = "",
    extra_files: dict[str, str] | None = None,
) -> Folder:
    """`model` as a folder: `config` as config.json, its weights, its graph (made by `export`,
    from `graph_settings`), its card and other text files; read back with `read`."""
    model, weights = half_precision_copy(model)
    with replaced_folder(folder, FOLDER_FILES) as staging:
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        save_file(weights, staging / WEIGHTS_FILE)
        export(model, staging / ONNX_FILE)
        read_weights_beside(staging / ONNX_FILE, staging / WEIGHTS_FILE, graph_settings)
        if model_card:
            (staging / MODEL_CARD_FILE).write_text(model_card, encoding="utf-8")
        for name, text in (extra_files or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
        read(staging)  # a folder that would not load never replaces one
    return read(folder)


def save_voice(
    folder: Path,
    config: VoiceConfig,
    model: torch.nn.Module,
    model_card: str = "",
    extra_files: dict[str, str] | None = None,
) -> Voice:
    """A voice folder of the current format for an acoustic model and its config."""
    config.format = CURRENT_FORMAT
    return write_folder(
        folder, config.to_dict(), model, export_acoustic, config.model.graph_settings(), Voice, model_card, extra_files
    )


def save_vocoder(
    folder: Path, model: IstftVocoder, model_card: str = "", extra_files: dict[str, str] | None = None
) -> VocoderFolder:
    """A vocoder folder of the current format for an iSTFT vocoder."""
    config = {"type": "istft", "format": 2, "config": model.config.to_dict()}
    return write_folder(
        folder, config, model, export_istft_network, model.config.to_dict(), VocoderFolder, model_card, extra_files
    )
