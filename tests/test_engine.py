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
from lightspeech_cli.runtime.format.voice import Voice

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


# --- a folder's graph and the config section it was exported from ---------------------------

HIGH = np.full((1, 5), 1.5, np.float32)


def edited(folder, change):
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config, indent=2))


def graph_metadata(folder):
    import onnx

    return {
        prop.key: prop.value for prop in onnx.load(str(folder / "model.onnx"), load_external_data=False).metadata_props
    }


def test_an_exported_graph_records_the_section_it_was_made_from(tiny_voice, tmp_path):
    from lightspeech_cli.runtime.format.vocoder import VocoderFolder
    from lightspeech_cli.runtime.format.weights import GRAPH_SOURCE_KEY, section_digest

    from .conftest import make_tiny_vocoder

    assert graph_metadata(tiny_voice.folder)[GRAPH_SOURCE_KEY] == section_digest(
        tiny_voice.config.model.graph_settings()
    )
    make_tiny_vocoder(tmp_path / "vocoder")
    vocoder = VocoderFolder(tmp_path / "vocoder")
    assert graph_metadata(vocoder.folder)[GRAPH_SOURCE_KEY] == section_digest(vocoder.config.to_dict())
    assert section_digest({"a": 4, "b": "x"}) == section_digest({"b": "x", "a": 4.0}) != section_digest({"a": 4.5})


@pytest.mark.parametrize(
    "field, value",
    [
        ("pitch_log_std", 0.8),
        ("energy_log_std", 2.0),
        ("variance_min", -3.0),
        ("architecture", "sep5 att4 | ffn sep9 hidden=16 predictor=sep"),  # 4 heads: the same weights
    ],
)
def test_a_voice_whose_model_section_was_edited_is_refused(tiny_voice, tmp_path, field, value):
    """The graph holds the section's values: with the default backend the edit would be
    ignored, while the torch backends follow it."""
    from typer.testing import CliRunner

    from lightspeech_cli.cli import app
    from lightspeech_cli.errors import VoiceError

    from .test_cli_text import assert_one_line_error

    edited(tiny_voice.folder, lambda config: config["model"].update({field: value}))
    message = (
        f"voice {tiny_voice.name}: config.json's model section differs from the one model.onnx was made from; "
        "undo the edit or export the folder again"
    )
    with pytest.raises(VoiceError) as refused:
        engine.acoustic_model(Voice(tiny_voice.folder), "onnx", 1)
    assert str(refused.value) == message
    out = tmp_path / "x.wav"
    result = CliRunner().invoke(app, ["say", "Hi.", "-v", str(tiny_voice.folder), "-o", str(out)])
    assert_one_line_error(result, 5, message)
    assert not out.exists()


def test_a_voice_whose_model_section_was_edited_runs_once_exported_again(tiny_voice):
    from lightspeech_cli.model.acoustic import load_acoustic_model
    from lightspeech_cli.model.folders import save_voice

    edited(tiny_voice.folder, lambda config: config["model"].update(pitch_log_std=0.8))
    voice = Voice(tiny_voice.folder)
    eager, _ = engine.acoustic_model(voice, "eager", 1)(IDS, ONES, HIGH, ONES)
    exported = save_voice(voice.folder, voice.config, load_acoustic_model(voice))
    again, _ = engine.acoustic_model(exported, "onnx", 1)(IDS, ONES, HIGH, ONES)
    assert np.allclose(again, eager, atol=1e-4)


@pytest.mark.parametrize(
    "change",
    [
        lambda config: config.update(name="renamed"),
        lambda config: config["model"].update(dropout=0.2),  # training alone uses it
        lambda config: config.update(description="A voice edited by hand.", licence="CC-BY-4.0"),
        lambda config: config.update(vocoder="en-us-istft", language="en-GB"),
        lambda config: config.update(
            normalization={k: 1.0 for k in ("pitch_log_mean", "pitch_log_std", "energy_log_mean", "energy_log_std")}
        ),
        lambda config: config["model"].update(variance_min=-4),  # the same number, written as a whole one
        lambda config: config.update(model=dict(reversed(config["model"].items()))),
    ],
)
def test_edits_that_leave_the_graph_as_it_is_are_accepted(tiny_voice, change):
    expected, _ = engine.acoustic_model(tiny_voice, "onnx", 1)(IDS, ONES, HIGH, ONES)
    edited(tiny_voice.folder, change)
    again, _ = engine.acoustic_model(Voice(tiny_voice.folder), "onnx", 1)(IDS, ONES, HIGH, ONES)
    assert np.array_equal(expected, again)


@pytest.mark.parametrize("field, value", [("sample_rate", 16000), ("hop_length", 128)])
def test_a_vocoder_whose_config_was_edited_is_refused(tmp_path, field, value):
    from lightspeech_cli.errors import VoiceError
    from lightspeech_cli.runtime.format.voice import AudioConfig

    from .conftest import make_tiny_vocoder

    folder = tmp_path / "tiny-istft"
    make_tiny_vocoder(folder)
    engine.load_vocoder(str(folder), AudioConfig(), "onnx", 1)(np.zeros((1, 4, 80), np.float32))
    edited(folder, lambda config: config.update(config=dict(reversed(config["config"].items()))))  # only reordered
    engine.load_vocoder(str(folder), AudioConfig(), "onnx", 1)(np.zeros((1, 4, 80), np.float32))
    edited(folder, lambda config: config["config"].update({field: value}))
    with pytest.raises(VoiceError) as refused:
        engine.load_vocoder(str(folder), AudioConfig(**{field: value}), "onnx", 1)
    assert str(refused.value) == (
        "vocoder tiny-istft: config.json's config section differs from the one model.onnx was made from; "
        "undo the edit or export the folder again"
    )


def test_a_graph_that_records_no_section_loads_as_before(tiny_voice):
    """Graphs exported before the record (the shipped ones among them) are not refused."""
    import onnx

    from lightspeech_cli.runtime.format.voice import DEFAULT_VOICE, find_voice
    from lightspeech_cli.runtime.format.weights import GRAPH_SOURCE_KEY, WEIGHTS_LAYOUT_KEY

    shipped = find_voice(DEFAULT_VOICE)
    assert GRAPH_SOURCE_KEY not in graph_metadata(shipped.folder)
    engine.acoustic_model(shipped, "onnx", 1)(IDS, ONES, ONES, ONES)

    path = tiny_voice.folder / "model.onnx"
    graph = onnx.load(str(path), load_external_data=False)
    layout = graph_metadata(tiny_voice.folder)[WEIGHTS_LAYOUT_KEY]
    onnx.helper.set_model_props(graph, {WEIGHTS_LAYOUT_KEY: layout})
    path.write_bytes(graph.SerializeToString())
    edited(tiny_voice.folder, lambda config: config["model"].update(pitch_log_std=0.8))
    mel, _ = engine.acoustic_model(Voice(tiny_voice.folder), "onnx", 1)(IDS, ONES, HIGH, ONES)
    assert mel.shape[1] > 0
