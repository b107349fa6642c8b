"""The compiled-model cache (model/compiled.py): compiled models are cached under a key that
covers everything that shapes them, rebuilt when damaged, and safe to build from two
processes at once. The key and the cache logic are also checked on their own, with fake
build and load functions that keep those tests fast."""

import json
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest

from lightspeech_cli.errors import VoiceError
from lightspeech_cli.model import compiled
from lightspeech_cli.paths import cache_dir
from lightspeech_cli.runtime import engine
from lightspeech_cli.runtime.format.voice import Voice

from ..helpers import make_tiny_voice

IDS = np.asarray([[10, 20, 30, 40, 3]], np.int64)
ONES = np.ones((1, 5), np.float32)


def compiled_files():
    folder = cache_dir() / "compiled"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def old_voice(tmp_path):
    """A format-1 voice (no ONNX): the runtime compiles it into the cache."""
    return make_tiny_voice(tmp_path / "old-voice", onnx=False)


@pytest.mark.exact
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


@pytest.mark.exact
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


# --- the key and the cache on their own, with fake build and load steps -----------------------


PARTS = [b"config", b"weights"]


@pytest.mark.exact
@pytest.mark.parametrize("distribution", ["torch", "onnxruntime", "lightspeech"])
def test_the_key_changes_with_each_runtime_version(monkeypatch, distribution):
    real = metadata.version
    key = compiled.compiled_key("acoustic", "onnx", PARTS)
    monkeypatch.setattr(
        compiled.metadata, "version", lambda name: "0.0.0-other" if name == distribution else real(name)
    )
    assert compiled.compiled_key("acoustic", "onnx", PARTS) != key


@pytest.mark.exact
def test_a_missing_distribution_still_gives_a_stable_key(monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(compiled.metadata, "version", missing)
    assert compiled._version("torch") == "absent"
    assert compiled.compiled_key("acoustic", "onnx", PARTS) == compiled.compiled_key("acoustic", "onnx", PARTS)


@pytest.mark.exact
def test_the_key_covers_kind_backend_every_part_and_their_order():
    key = compiled.compiled_key("acoustic", "onnx", PARTS)
    assert len(key) == 24 and int(key, 16) >= 0
    assert compiled.compiled_key("istft", "onnx", PARTS) != key
    assert compiled.compiled_key("acoustic", "torchscript", PARTS) != key
    assert compiled.compiled_key("acoustic", "onnx", [b"config", b"weights", b"more"]) != key
    assert compiled.compiled_key("acoustic", "onnx", [b"weights", b"config"]) != key
    assert compiled.compiled_key("acoustic", "onnx", [b"configweights"]) != key  # parts are hashed one by one


@pytest.mark.exact
def test_every_model_source_is_part_of_the_key(monkeypatch, tmp_path):
    real = compiled.model_code_folder()
    assert (real / "acoustic.py").is_file()
    key = compiled.compiled_key("acoustic", "onnx", PARTS)
    for changed in compiled.MODEL_SOURCES:
        folder = tmp_path / changed
        folder.mkdir()
        for source in compiled.MODEL_SOURCES:
            text = (real / source).read_bytes()
            (folder / source).write_bytes(text + b"\n# edited\n" if source == changed else text)
        monkeypatch.setattr(compiled, "model_code_folder", lambda folder=folder: folder)
        assert compiled.compiled_key("acoustic", "onnx", PARTS) != key, changed


@pytest.mark.exact
def test_the_architecture_parser_is_part_of_the_key(monkeypatch, tmp_path):
    """It lives in the runtime's format package, not beside the torch models, and decides what is built."""
    key = compiled.compiled_key("acoustic", "onnx", PARTS)
    edited = tmp_path / "arch.py"
    edited.write_bytes(open(compiled.arch.__file__, "rb").read() + b"\n# edited\n")
    monkeypatch.setattr(compiled.arch, "__file__", str(edited))
    assert compiled.compiled_key("acoustic", "onnx", PARTS) != key


@pytest.mark.exact
def test_folder_parts_are_the_sorted_config_and_the_weights_bytes(tmp_path):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"\x00\x01weights")
    parts = compiled.folder_parts({"b": 1, "a": [2, 3]}, weights)
    assert parts == [b'{"a": [2, 3], "b": 1}', b"\x00\x01weights"]
    assert compiled.folder_parts({"a": [2, 3], "b": 1}, weights) == parts  # key order does not matter


class Recorder:
    """build writes a file and records its path; load returns what it read."""

    def __init__(self, failing_loads=0, remove_before_failing=False):
        self.built, self.loaded = [], []
        self.failing_loads = failing_loads
        self.remove_before_failing = remove_before_failing

    def build(self, path):
        path.write_text("compiled")
        self.built.append(path)

    def load(self, path):
        self.loaded.append(path)
        if self.failing_loads:
            self.failing_loads -= 1
            if self.remove_before_failing:
                path.unlink()  # another process cleared it meanwhile
            raise VoiceError("does not load")
        return path.read_text()


@pytest.mark.exact
@pytest.mark.parametrize("backend, suffix", [("onnx", ".onnx"), ("torchscript", ".pt")])
def test_a_compiled_file_is_built_once_then_loaded(backend, suffix):
    recorder = Recorder()
    assert compiled.cached_compile("acoustic", backend, PARTS, recorder.build, recorder.load) == "compiled"
    assert compiled.cached_compile("acoustic", backend, PARTS, recorder.build, recorder.load) == "compiled"
    key = compiled.compiled_key("acoustic", backend, PARTS)
    expected = cache_dir() / "compiled" / f"acoustic-{key}{suffix}"
    assert recorder.built == [expected] and recorder.loaded == [expected, expected]


@pytest.mark.exact
def test_kinds_and_backends_never_share_a_file():
    recorder = Recorder()
    for kind in ("acoustic", "istft"):
        for backend in ("onnx", "torchscript"):
            compiled.cached_compile(kind, backend, PARTS, recorder.build, recorder.load)
    assert len(set(recorder.built)) == 4


@pytest.mark.exact
@pytest.mark.parametrize("remove_before_failing", [False, True])
def test_an_entry_that_fails_to_load_is_rebuilt_once(remove_before_failing):
    compiled.cached_compile("acoustic", "onnx", PARTS, Recorder().build, Recorder().load)
    recorder = Recorder(failing_loads=1, remove_before_failing=remove_before_failing)
    assert compiled.cached_compile("acoustic", "onnx", PARTS, recorder.build, recorder.load) == "compiled"
    assert len(recorder.built) == 1 and len(recorder.loaded) == 2


@pytest.mark.exact
def test_a_rebuilt_entry_that_still_fails_is_an_error():
    recorder = Recorder(failing_loads=5)
    with pytest.raises(VoiceError, match="does not load"):
        compiled.cached_compile("acoustic", "onnx", PARTS, recorder.build, recorder.load)
    assert len(recorder.built) == 1


@pytest.mark.exact
def test_an_unwritable_cache_is_named_in_the_error():
    cache_dir().mkdir(parents=True, exist_ok=True)
    (cache_dir() / "compiled").write_text("a file where the folder should be")
    with pytest.raises(VoiceError) as error:
        compiled.cached_compile("acoustic", "onnx", PARTS, Recorder().build, Recorder().load)
    # The reason as words, not Python's "[Errno 17] File exists: '...'".
    assert str(error.value) == f"cannot write compiled models to {cache_dir() / 'compiled'}: File exists"
