"""The runtime engine: ONNX sessions and runners for the acoustic model and the vocoders, the
graph a folder holds checked against the config section and the weights file it was made from."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from lightspeech_cli.errors import VoiceError
from lightspeech_cli.model.acoustic import load_acoustic_model
from lightspeech_cli.runtime import engine
from lightspeech_cli.runtime.engine import load_vocoder
from lightspeech_cli.runtime.format.voice import AudioConfig, Voice

from ..helpers import assert_one_line, make_tiny_vocoder, make_tiny_voice, run_process


@pytest.mark.exact
def test_threads_are_bounded():
    from lightspeech_cli.errors import InputError

    assert engine.check_threads(None) is None and engine.check_threads(1) == 1
    with pytest.raises(InputError, match="^threads must be from 1 to"):
        engine.check_threads(10_000)
    with pytest.raises(InputError, match="^--threads must be from 1 to"):  # as the CLI names it
        engine.check_threads(10_000, "--threads")


# --- a folder's graph and the config section it was exported from -----------------------------


IDS = np.asarray([[10, 20, 30, 40, 3]], np.int64)
ONES = np.ones((1, 5), np.float32)
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


@pytest.mark.exact
def test_an_exported_graph_records_the_section_it_was_made_from(tiny_voice, tmp_path):
    from lightspeech_cli.runtime.format.vocoder import VocoderFolder
    from lightspeech_cli.runtime.format.weights import GRAPH_SOURCE_KEY, section_digest

    from ..helpers import make_tiny_vocoder

    assert graph_metadata(tiny_voice.folder)[GRAPH_SOURCE_KEY] == section_digest(
        tiny_voice.config.model.graph_settings()
    )
    make_tiny_vocoder(tmp_path / "vocoder")
    vocoder = VocoderFolder(tmp_path / "vocoder")
    assert graph_metadata(vocoder.folder)[GRAPH_SOURCE_KEY] == section_digest(vocoder.config.to_dict())
    assert section_digest({"a": 4, "b": "x"}) == section_digest({"b": "x", "a": 4.0}) != section_digest({"a": 4.5})


@pytest.mark.exact
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

    from ..helpers import assert_one_line_error

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


@pytest.mark.exact
def test_a_voice_whose_model_section_was_edited_runs_once_exported_again(tiny_voice):
    from lightspeech_cli.model.acoustic import load_acoustic_model
    from lightspeech_cli.model.folders import save_voice

    edited(tiny_voice.folder, lambda config: config["model"].update(pitch_log_std=0.8))
    voice = Voice(tiny_voice.folder)
    eager, _ = engine.acoustic_model(voice, "eager", 1)(IDS, ONES, HIGH, ONES)
    exported = save_voice(voice.folder, voice.config, load_acoustic_model(voice))
    again, _ = engine.acoustic_model(exported, "onnx", 1)(IDS, ONES, HIGH, ONES)
    assert np.allclose(again, eager, atol=1e-4)


@pytest.mark.exact
@pytest.mark.parametrize(
    "change",
    [
        lambda config: config.update(name="renamed"),
        lambda config: config["model"].update(dropout=0.2),  # training alone uses it
        lambda config: config.update(description="A voice edited by hand.", licence="CC-BY-4.0"),
        lambda config: config.update(vocoder="hifigan", language="en-GB"),
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


@pytest.mark.exact
@pytest.mark.parametrize("field, value", [("sample_rate", 16000), ("hop_length", 128)])
def test_a_vocoder_whose_config_was_edited_is_refused(tmp_path, field, value):
    from lightspeech_cli.errors import VoiceError
    from lightspeech_cli.runtime.format.voice import AudioConfig

    from ..helpers import make_tiny_vocoder

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


@pytest.mark.exact
def test_a_graph_that_records_no_section_loads_as_before(tiny_voice):
    """Graphs exported before the record are not refused: a graph with only the weights'
    layout recorded, its config edited, still loads."""
    import onnx

    from lightspeech_cli.runtime.format.weights import WEIGHTS_LAYOUT_KEY

    path = tiny_voice.folder / "model.onnx"
    graph = onnx.load(str(path), load_external_data=False)
    layout = graph_metadata(tiny_voice.folder)[WEIGHTS_LAYOUT_KEY]
    onnx.helper.set_model_props(graph, {WEIGHTS_LAYOUT_KEY: layout})
    path.write_bytes(graph.SerializeToString())
    edited(tiny_voice.folder, lambda config: config["model"].update(pitch_log_std=0.8))
    mel, _ = engine.acoustic_model(Voice(tiny_voice.folder), "onnx", 1)(IDS, ONES, HIGH, ONES)
    assert mel.shape[1] > 0


# --- a graph reads its own folder's weights file and nothing else -----------------------------


@pytest.mark.parametrize("location", ["../secret.bin", "/SECRET", "link.bin"])
def test_a_voice_graph_reads_no_file_outside_its_folder(tmp_path, location):
    """ONNX external data names a file to read weights from, and ONNX Runtime before 1.24
    read one outside the model's folder: a downloaded model.onnx could read any file. The
    engine hands ONNX Runtime the folder's model.safetensors and nothing else to read."""
    import onnx

    folder = make_tiny_voice(tmp_path / "voice").folder
    secret = tmp_path / "secret.bin"
    graph = onnx.load(str(folder / "model.onnx"))
    tensor = max(graph.graph.initializer, key=lambda t: len(t.raw_data))
    secret.write_bytes(tensor.raw_data)  # exactly the bytes the graph needs, so only the path can fail
    (folder / "link.bin").symlink_to(secret)
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value=location.replace("/SECRET", str(secret)))
    (folder / "model.onnx").write_bytes(graph.SerializeToString())
    process = run_process("say", "hi", "-v", folder, "-o", tmp_path / "a.wav", timeout=60)
    assert_one_line(process, 5, "does not load in ONNX Runtime (")
    assert "not found from the table user provided" in process.stderr.decode()  # only model.safetensors is given
    assert not (tmp_path / "a.wav").exists()


def test_a_graph_refuses_weights_laid_out_otherwise_than_it_was_made_for(tmp_path):
    """model.onnx reads its weights at byte offsets in model.safetensors: the same tensors
    stored as float32 (an older export's file) would put other bytes there and play noise
    without a word, so the graph's record of the layout must refuse them; new numbers in the
    same layout (a retrained model's) are what the folder holds, and run."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    from lightspeech_cli.runtime.engine import acoustic_model
    from lightspeech_cli.runtime.format.voice import Voice

    folder = make_tiny_voice(tmp_path / "voice").folder
    weights = load_file(folder / "model.safetensors")
    ids, ones = np.asarray([[10, 20, 30]], np.int64), np.ones((1, 3), np.float32)
    before = acoustic_model(Voice(folder), threads=1)(ids, ones, ones, ones)[0]
    save_file(
        {name: value * 2 if value.dtype == np.float16 else value for name, value in weights.items()},
        folder / "model.safetensors",
    )
    after = acoustic_model(Voice(folder), threads=1)(ids, ones, ones, ones)[0]
    assert after.shape[1] > 0 and (after.shape != before.shape or not np.allclose(after, before))  # new numbers used

    save_file({name: value.astype(np.float32) for name, value in weights.items()}, folder / "model.safetensors")
    process = run_process("say", "hi", "-v", folder, "-o", tmp_path / "a.wav", timeout=60)
    assert_one_line(process, 5, "model.onnx was made for another model.safetensors than the one beside it")


def test_a_vocoder_graph_in_a_voice_folder_is_named_as_such(tmp_path):
    """A self-contained vocoder graph (as folders held before their graphs read the weights
    file) copied over a voice's: one line, not an internal error at the first run."""
    from lightspeech_cli.model.export import export_istft_network

    from ..helpers import make_tiny_vocoder

    folder = make_tiny_voice(tmp_path / "voice").folder
    export_istft_network(make_tiny_vocoder(tmp_path / "vocoder"), folder / "model.onnx")
    process = run_process("say", "hi", "-v", folder, "-o", tmp_path / "a.wav", timeout=60)
    assert_one_line(process, 5, "gives spectrum, source_filter, f0, not mel, durations: it is another model's graph")


def test_a_running_voice_does_not_depend_on_its_weights_file_staying_as_it_was(tmp_path):
    """A server keeps its voice loaded for days: rewriting model.safetensors in place (cp over
    it) must not change what it says, nor kill it (ONNX Runtime maps float32 external data
    from the file, and a truncated mapping is SIGBUS)."""
    import shutil

    from lightspeech_cli.runtime.format.voice import embedded_voices_dir

    folder = tmp_path / "voice"
    shutil.copytree(embedded_voices_dir() / "en-us-lightspeech", folder)  # float32 weights: mapped if left to it
    script = f"""
import numpy as np
from pathlib import Path
from lightspeech_cli.runtime.engine import acoustic_model
from lightspeech_cli.runtime.format.voice import Voice
run = acoustic_model(Voice(Path({str(folder)!r})), threads=1)
ids, ones = np.asarray([[10, 20, 30, 40]], np.int64), np.ones((1, 4), np.float32)
before = run(ids, ones, ones, ones)[0]
with open({str(folder / "model.safetensors")!r}, "r+b") as f:
    f.truncate(1000)
print(np.array_equal(run(ids, ones, ones, ones)[0], before))
"""
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert process.returncode == 0 and process.stdout.strip() == b"True", process


# --- vocoder runners --------------------------------------------------------------------------


@pytest.mark.exact
def test_unknown_vocoder_is_a_voice_error():
    with pytest.raises(VoiceError, match="unknown vocoder"):
        load_vocoder("wavenet", AudioConfig())


@pytest.mark.exact
@pytest.mark.parametrize("phase_estimation, source", [("parallel", "pulses"), ("parallel", "none"), ("direct", "none")])
def test_the_onnx_and_numpy_vocoder_matches_torch_on_every_backend(tmp_path, phase_estimation, source):
    folder = tmp_path / "my-vocoder"
    module = make_tiny_vocoder(folder, phase_estimation=phase_estimation, source=source)
    if phase_estimation == "direct":  # as folders made before the fields existed: read as direct, no source
        config = json.loads((folder / "config.json").read_text())
        del config["config"]["phase_estimation"], config["config"]["source"]
        (folder / "config.json").write_text(json.dumps(config))
    for frames in (5, 33, 200):
        mel = torch.randn(1, frames, 80) - 5
        with torch.inference_mode():
            expected = module(mel).numpy()
        for backend in ("onnx", "torchscript", "eager"):
            out = load_vocoder(str(folder), AudioConfig(), backend=backend)(mel.numpy())
            assert out.shape == (1, frames * 256) and np.abs(out - expected).max() < 1e-4, backend


@pytest.mark.exact
def test_an_onnx_graph_that_does_not_fit_the_config_is_a_voice_error(tmp_path):
    """A folder whose model.onnx is another vocoder's (pulses where the config has none) or a
    voice's: one clear error when it loads, not an unpacking error when it runs."""
    from lightspeech_cli.model.export import export_acoustic, export_istft_network
    from lightspeech_cli.model.istft import IstftVocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    pulses = make_tiny_vocoder(tmp_path / "pulses", source="pulses")
    make_tiny_vocoder(tmp_path / "plain", source="none")
    export_istft_network(pulses, tmp_path / "plain" / "model.onnx")  # its weights inside, not beside
    with pytest.raises(VoiceError, match=r"gives spectrum, source_filter, f0, not log_amplitude, phase: it is an"):
        load_vocoder(str(tmp_path / "plain"), AudioConfig())
    voice = make_tiny_voice(tmp_path / "voice")
    export_acoustic(load_acoustic_model(voice), tmp_path / "plain" / "model.onnx")
    with pytest.raises(VoiceError, match=r"gives mel, durations, not log_amplitude, phase"):
        load_vocoder(str(tmp_path / "plain"), AudioConfig())
    # another n_fft, the same outputs: the shapes tell too, where irfft would pad and play noise
    other = IstftVocoder(IstftVocoderConfig(channels=16, hidden=32, layers=2, n_fft=2048, source="none")).eval()
    export_istft_network(other, tmp_path / "plain" / "model.onnx")
    vocoder = load_vocoder(str(tmp_path / "plain"), AudioConfig())
    with pytest.raises(VoiceError, match=r"\(1, 5, 1025\).*n_fft 1024"):
        vocoder(np.zeros((1, 5, 80), np.float32))


@pytest.mark.exact
def test_a_pulse_vocoder_whose_f0_is_not_finite_is_a_voice_error(tmp_path):
    from lightspeech_cli.model.folders import save_vocoder

    vocoder = make_tiny_vocoder(tmp_path / "broken")
    with torch.no_grad():
        vocoder.f0_head[-1].bias.copy_(torch.tensor([float("nan"), 10.0]))
    save_vocoder(tmp_path / "broken", vocoder, "# card\n", {"training-log.jsonl": "{}\n"})
    with pytest.raises(VoiceError, match="F0 that is NaN or infinite"):
        load_vocoder(str(tmp_path / "broken"), AudioConfig())(np.zeros((1, 5, 80), np.float32))


@pytest.mark.exact
def test_a_long_piece_is_vocoded_in_blocks_that_give_the_same_audio(monkeypatch):
    """In blocks of VOCODER_BLOCK_FRAMES with the network's context either side, the audio is
    the same as from one run over the whole mel (ONNX Runtime's buffers then follow the block)."""
    from lightspeech_cli.runtime.format.vocoder import find_vocoder_folder
    from lightspeech_cli.runtime.format.voice import find_voice

    config = find_vocoder_folder("en-us-istft-pulses").config
    assert config.context_frames() == (8 + 1) * 3 + 2 * 2  # the embedding, 8 blocks of kernel 7, the F0 head
    mel = np.random.default_rng(0).normal(-5.0, 2.0, (1, 300, 80)).astype(np.float32)
    whole = load_vocoder("en-us-istft-pulses", find_voice(None).config.audio, threads=1)(mel)
    calls = []
    real_runner = engine.onnx_runner

    def counting_runner(*args, **kwargs):
        run = real_runner(*args, **kwargs)
        return lambda mel: calls.append(mel.shape[1]) or run(mel)

    monkeypatch.setattr(engine, "VOCODER_BLOCK_FRAMES", 64)
    monkeypatch.setattr(engine, "onnx_runner", counting_runner)
    blocked = load_vocoder("en-us-istft-pulses", find_voice(None).config.audio, threads=1)(mel)
    assert calls == [64 + 31, *[64 + 2 * 31] * 3, 44 + 31]  # the ends see context on one side only
    assert blocked.shape == whole.shape and np.abs(blocked - whole).max() < 1e-4
