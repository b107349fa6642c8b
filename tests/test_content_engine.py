"""The compiled-model cache, on its own: what the key covers, what file a backend gets,
and how a damaged entry is replaced. Fake build and load functions keep these fast."""

from importlib import metadata

import pytest

from lightspeech_cli.errors import VoiceError
from lightspeech_cli.model import compiled
from lightspeech_cli.paths import cache_dir

PARTS = [b"config", b"weights"]


@pytest.mark.parametrize("distribution", ["torch", "onnxruntime", "lightspeech"])
def test_the_key_changes_with_each_runtime_version(monkeypatch, distribution):
    real = metadata.version
    key = compiled.compiled_key("acoustic", "onnx", PARTS)
    monkeypatch.setattr(
        compiled.metadata, "version", lambda name: "0.0.0-other" if name == distribution else real(name)
    )
    assert compiled.compiled_key("acoustic", "onnx", PARTS) != key


def test_a_missing_distribution_still_gives_a_stable_key(monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(compiled.metadata, "version", missing)
    assert compiled._version("torch") == "absent"
    assert compiled.compiled_key("acoustic", "onnx", PARTS) == compiled.compiled_key("acoustic", "onnx", PARTS)


def test_the_key_covers_kind_backend_every_part_and_their_order():
    key = compiled.compiled_key("acoustic", "onnx", PARTS)
    assert len(key) == 24 and int(key, 16) >= 0
    assert compiled.compiled_key("istft", "onnx", PARTS) != key
    assert compiled.compiled_key("acoustic", "torchscript", PARTS) != key
    assert compiled.compiled_key("acoustic", "onnx", [b"config", b"weights", b"more"]) != key
    assert compiled.compiled_key("acoustic", "onnx", [b"weights", b"config"]) != key
    assert compiled.compiled_key("acoustic", "onnx", [b"configweights"]) != key  # parts are hashed one by one


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


def test_the_architecture_parser_is_part_of_the_key(monkeypatch, tmp_path):
    """It lives in the runtime's format package, not beside the torch models, and decides what is built."""
    key = compiled.compiled_key("acoustic", "onnx", PARTS)
    edited = tmp_path / "arch.py"
    edited.write_bytes(open(compiled.arch.__file__, "rb").read() + b"\n# edited\n")
    monkeypatch.setattr(compiled.arch, "__file__", str(edited))
    assert compiled.compiled_key("acoustic", "onnx", PARTS) != key


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


@pytest.mark.parametrize("backend, suffix", [("onnx", ".onnx"), ("torchscript", ".pt")])
def test_a_compiled_file_is_built_once_then_loaded(backend, suffix):
    recorder = Recorder()
    assert compiled.cached_compile("acoustic", backend, PARTS, recorder.build, recorder.load) == "compiled"
    assert compiled.cached_compile("acoustic", backend, PARTS, recorder.build, recorder.load) == "compiled"
    key = compiled.compiled_key("acoustic", backend, PARTS)
    expected = cache_dir() / "compiled" / f"acoustic-{key}{suffix}"
    assert recorder.built == [expected] and recorder.loaded == [expected, expected]


def test_kinds_and_backends_never_share_a_file():
    recorder = Recorder()
    for kind in ("acoustic", "istft"):
        for backend in ("onnx", "torchscript"):
            compiled.cached_compile(kind, backend, PARTS, recorder.build, recorder.load)
    assert len(set(recorder.built)) == 4


@pytest.mark.parametrize("remove_before_failing", [False, True])
def test_an_entry_that_fails_to_load_is_rebuilt_once(remove_before_failing):
    compiled.cached_compile("acoustic", "onnx", PARTS, Recorder().build, Recorder().load)
    recorder = Recorder(failing_loads=1, remove_before_failing=remove_before_failing)
    assert compiled.cached_compile("acoustic", "onnx", PARTS, recorder.build, recorder.load) == "compiled"
    assert len(recorder.built) == 1 and len(recorder.loaded) == 2


def test_a_rebuilt_entry_that_still_fails_is_an_error():
    recorder = Recorder(failing_loads=5)
    with pytest.raises(VoiceError, match="does not load"):
        compiled.cached_compile("acoustic", "onnx", PARTS, recorder.build, recorder.load)
    assert len(recorder.built) == 1


def test_an_unwritable_cache_is_named_in_the_error():
    cache_dir().mkdir(parents=True, exist_ok=True)
    (cache_dir() / "compiled").write_text("a file where the folder should be")
    with pytest.raises(VoiceError, match=r"cannot write compiled models to .*compiled"):
        compiled.cached_compile("acoustic", "onnx", PARTS, Recorder().build, Recorder().load)
