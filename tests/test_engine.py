"""The runtime engine: compiled models are cached under a key that covers everything that
shapes them, rebuilt when damaged, and safe to build from two processes at once."""

import json
import subprocess
import sys

import numpy as np
import pytest

from lightspeech_cli.model import compiled
from lightspeech_cli.paths import cache_dir
from lightspeech_cli.runtime import engine
from lightspeech_cli.runtime.voice import Voice

from .conftest import make_tiny_voice

IDS = np.asarray([[10, 20, 30, 40, 3]], np.int64)
ONES = np.ones((1, 5), np.float32)


def compiled_files():
    folder = cache_dir() / "compiled"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def old_voice(tmp_path):
    """A format-1 voice (no ONNX): the runtime compiles it into the cache."""
    return make_tiny_voice(tmp_path / "old-voice", onnx=False)


def test_a_voice_with_onnx_compiles_nothing(tiny_voice):
    engine.acoustic_model(tiny_voice, "onnx", 1)(IDS, ONES, ONES, ONES)
    assert compiled_files() == []


def test_a_voice_without_onnx_is_compiled_once(old_voice):
    mel, _ = engine.acoustic_model(old_voice, "onnx", 1)(IDS, ONES, ONES, ONES)
    first = compiled_files()
    assert len(first) == 1 and first[0].startswith("acoustic-") and first[0].endswith(".onnx")
    stamp = (cache_dir() / "compiled" / first[0]).stat().st_mtime_ns
    again, _ = engine.acoustic_model(Voice(old_voice.folder), "onnx", 1)(IDS, ONES, ONES, ONES)
    assert compiled_files() == first and (cache_dir() / "compiled" / first[0]).stat().st_mtime_ns == stamp
    assert np.array_equal(mel, again)


def test_editing_the_config_recompiles(old_voice):
    """pitch_log_std is baked into the graph: a stale compiled model would ignore the edit."""
    high = np.full((1, 5), 1.5, np.float32)
    before, _ = engine.acoustic_model(old_voice, "onnx", 1)(IDS, ONES, high, ONES)
    config = json.loads((old_voice.folder / "config.json").read_text())
    config["model"]["pitch_log_std"] *= 4
    (old_voice.folder / "config.json").write_text(json.dumps(config))
    after, _ = engine.acoustic_model(Voice(old_voice.folder), "onnx", 1)(IDS, ONES, high, ONES)
    assert len(compiled_files()) == 2
    assert not np.allclose(before, after)
    eager, _ = engine.acoustic_model(Voice(old_voice.folder), "eager", 1)(IDS, ONES, high, ONES)
    assert np.allclose(after, eager, atol=1e-4)  # the new compiled graph is the edited model


def test_new_weights_or_a_new_torch_or_lightspeech_recompile(old_voice, monkeypatch):
    engine.acoustic_model(old_voice, "onnx", 1)
    weights = old_voice.folder / "model.safetensors"
    from safetensors.numpy import load_file, save_file

    state = load_file(weights)
    state["mel_projection.bias"] = state["mel_projection.bias"] + 1
    save_file(state, weights)
    engine.acoustic_model(Voice(old_voice.folder), "onnx", 1)
    assert len(compiled_files()) == 2
    monkeypatch.setattr(compiled, "_version", lambda distribution: "99.0")
    engine.acoustic_model(Voice(old_voice.folder), "onnx", 1)
    assert len(compiled_files()) == 3


def test_the_exporter_code_is_part_of_the_key(monkeypatch, tmp_path):
    parts = [b"config", b"weights"]
    key = compiled.compiled_key("acoustic", "onnx", parts)
    assert compiled.compiled_key("acoustic", "onnx", parts) == key
    assert compiled.compiled_key("acoustic", "torchscript", parts) != key
    assert compiled.compiled_key("acoustic", "onnx", [b"config", b"other weights"]) != key
    model_code = tmp_path / "model"
    model_code.mkdir()
    for source in compiled.MODEL_SOURCES:
        (model_code / source).write_text("# a different exporter\n")
    monkeypatch.setattr(compiled, "model_code_folder", lambda: model_code)
    assert compiled.compiled_key("acoustic", "onnx", parts) != key


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", None])
def test_a_damaged_cache_entry_is_rebuilt(old_voice, damage):
    expected, _ = engine.acoustic_model(old_voice, "onnx", 1)(IDS, ONES, ONES, ONES)
    path = cache_dir() / "compiled" / compiled_files()[0]
    path.write_bytes(damage if damage is not None else path.read_bytes()[: path.stat().st_size // 2])
    again, _ = engine.acoustic_model(Voice(old_voice.folder), "onnx", 1)(IDS, ONES, ONES, ONES)
    assert np.array_equal(expected, again) and path.stat().st_size > 1000


def test_two_first_runs_compile_side_by_side(old_voice, tmp_path):
    command = [
        sys.executable,
        "-m",
        "lightspeech_cli",
        "say",
        "Hello there.",
        "-v",
        str(old_voice.folder),
        "--backend",
        "onnx",
    ]
    runs = [subprocess.Popen(command + ["-o", str(tmp_path / f"{i}.wav")], stderr=subprocess.PIPE) for i in range(2)]
    for process in runs:
        assert process.wait(120) == 0, process.stderr.read()
    assert len([f for f in compiled_files() if not f.startswith(".")]) == 1
    assert not [f for f in compiled_files() if f.startswith(".")]  # no staging file left


def test_threads_are_bounded():
    from lightspeech_cli.errors import InputError

    assert engine.check_threads(None) is None and engine.check_threads(1) == 1
    with pytest.raises(InputError, match="^threads must be from 1 to"):
        engine.check_threads(10_000)
    with pytest.raises(InputError, match="^--threads must be from 1 to"):  # as the CLI names it
        engine.check_threads(10_000, "--threads")
