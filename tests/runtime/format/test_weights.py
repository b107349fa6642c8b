"""A folder's weights must fit its config, in names, shapes and types, or the folder is refused
where it is read: at load and at import (runtime/format/weights.py)."""

import io
import tarfile

import numpy as np
import pytest
from typer.testing import CliRunner

from lightspeech_cli.cli import app
from lightspeech_cli.runtime import engine
from lightspeech_cli.runtime.format.voice import installed_voices_dir

from ...helpers import assert_one_line_error, make_tiny_voice

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_weights_of_another_architecture_are_refused_at_import(tmp_path):
    voice = make_tiny_voice(tmp_path / "voice")
    other = make_tiny_voice(tmp_path / "other", architecture="sep5 | sep5 hidden=16")
    files = {p.name: p.read_bytes() for p in voice.folder.iterdir()}
    files["model.safetensors"] = other.weights_path.read_bytes()
    archive = tmp_path / "mixed.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert_one_line_error(run("voices", "import", archive), 5, "do not fit the model")
    assert not installed_voices_dir().exists() or not [
        p for p in installed_voices_dir().iterdir() if not p.name.startswith(".")
    ]


def test_voice_weights_that_do_not_fit_are_refused_at_load(tmp_path):
    import shutil

    from lightspeech_cli.errors import VoiceError
    from lightspeech_cli.runtime.format.voice import Voice

    folder = make_tiny_voice(tmp_path / "mixed").folder
    other = make_tiny_voice(tmp_path / "other", architecture="sep5 | sep5 hidden=16")
    shutil.copy(other.weights_path, folder / "model.safetensors")  # the ONNX model still runs
    with pytest.raises(VoiceError, match="its weights do not fit the model its config describes"):
        Voice(folder)
    assert_one_line_error(run("say", "hi", "-v", folder, "-o", tmp_path / "a.wav"), 5, "do not fit the model")
    shutil.copytree(folder, installed_voices_dir() / "mixed")
    assert_one_line_error(run("say", "hi", "-v", "mixed", "-o", tmp_path / "a.wav"), 5, "do not fit the model")
    assert not (tmp_path / "a.wav").exists()


def test_vocoder_weights_that_do_not_fit_are_refused_at_load(tmp_path, tiny_voice):
    from safetensors.torch import save_file

    from lightspeech_cli.model.istft import IstftVocoder
    from lightspeech_cli.runtime.format.vocoder import IstftVocoderConfig

    from ...helpers import make_tiny_vocoder

    folder = tmp_path / "vocoder"
    make_tiny_vocoder(folder)
    assert run("say", "hi", "-v", tiny_voice.folder, "--vocoder", folder, "-o", tmp_path / "a.wav").exit_code == 0
    smaller = IstftVocoder(IstftVocoderConfig(channels=8, hidden=32, layers=2))
    save_file(smaller.state_dict(), folder / "model.safetensors")
    assert_one_line_error(
        run("say", "hi", "-v", tiny_voice.folder, "--vocoder", folder, "-o", tmp_path / "b.wav"),
        5,
        "vocoder vocoder: its weights do not fit",
    )


def test_a_postnet_voice_keeps_its_int64_batch_norm_counters_and_runs_on_every_backend(tmp_path):
    """Weights are float16 or float32, but a postnet's batch norms count their steps in
    int64: such a voice must save, load and give the same mel on every backend (the type
    check refused it once), and a counter of another type is still refused."""
    import pytest
    import torch
    from safetensors.torch import load_file, save_file

    from lightspeech_cli.errors import VoiceError
    from lightspeech_cli.runtime.format.voice import Voice

    from ...helpers import make_tiny_voice

    voice = make_tiny_voice(tmp_path / "postnet", architecture="sep5 | sep5 hidden=16 postnet=1")
    weights = load_file(voice.weights_path)
    assert weights["postnet.convs.1.num_batches_tracked"].dtype == torch.int64
    ids = np.asarray([[10, 20, 30, 3]], np.int64)
    ones = np.ones((1, 4), np.float32)
    mels = [engine.acoustic_model(voice, backend, threads=1)(ids, ones, ones, ones)[0] for backend in ("eager", "onnx")]
    assert mels[0].shape[1] > 0
    np.testing.assert_allclose(mels[1], mels[0], rtol=0, atol=1e-4)

    weights["postnet.convs.1.num_batches_tracked"] = weights["postnet.convs.1.num_batches_tracked"].float()
    save_file(weights, voice.weights_path)
    with pytest.raises(VoiceError, match=r"holds 'postnet.convs.1.num_batches_tracked' as 'F32', not I64 \(int64\)$"):
        Voice(voice.folder)


# --- check_weights itself, message by message ---------------------------------------------------


def weights_file(path, tensors):
    from safetensors.numpy import save_file

    save_file(tensors, str(path))
    return path


@pytest.mark.exact
def test_weights_that_fit_pass_and_each_misfit_is_named_with_how_many_more(tmp_path):
    from lightspeech_cli.errors import VoiceError
    from lightspeech_cli.runtime.format.weights import check_weights

    path = weights_file(
        tmp_path / "model.safetensors",
        {
            "a": np.zeros(2, np.float32),
            "b": np.zeros((3, 1), np.float16),
            "norm.num_batches_tracked": np.zeros((), np.int64),  # a batch norm's counter
        },
    )
    expected = {"a": (2,), "b": (3, 1), "norm.num_batches_tracked": ()}
    check_weights(path, expected, "voice v")
    fits = "voice v: its weights do not fit the model its config describes: "
    cases = [
        ({**expected, "c": (4,)}, fits + "'c' is missing"),
        ({"a": (2,), "norm.num_batches_tracked": ()}, fits + "'b' is not part of it"),
        ({**expected, "a": (5,)}, fits + "'a' has shape [2], not [5]"),
        # All three at once: the missing one first, then the extra, then the shape, and a count of the rest.
        ({"a": (5,), "c": (4,), "norm.num_batches_tracked": ()}, fits + "'c' is missing (and 2 more)"),
        ({**expected, "c": (4,), "d": (1,)}, fits + "'c' is missing (and 1 more)"),
    ]
    for changed, message in cases:
        with pytest.raises(VoiceError) as caught:
            check_weights(path, changed, "voice v")
        assert str(caught.value) == message


@pytest.mark.exact
def test_weights_of_another_type_are_refused_and_only_counters_may_be_int64(tmp_path):
    from lightspeech_cli.errors import VoiceError
    from lightspeech_cli.runtime.format.weights import check_weights

    path = weights_file(tmp_path / "model.safetensors", {"a": np.zeros(2, np.int64)})
    with pytest.raises(VoiceError) as caught:
        check_weights(path, {"a": (2,)}, "voice v")
    assert str(caught.value) == "voice v: model.safetensors holds 'a' as 'I64', not F32 or F16 (float32 or float16)"
    counter = weights_file(tmp_path / "counter.safetensors", {"bn.num_batches_tracked": np.zeros((), np.float64)})
    with pytest.raises(VoiceError) as caught:
        check_weights(counter, {"bn.num_batches_tracked": ()}, "voice v")
    assert str(caught.value) == "voice v: counter.safetensors holds 'bn.num_batches_tracked' as 'F64', not I64 (int64)"


@pytest.mark.exact
def test_a_weights_file_that_is_no_safetensors_says_why(tmp_path):
    from lightspeech_cli.errors import VoiceError
    from lightspeech_cli.runtime.format.weights import check_weights

    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(VoiceError) as caught:
        check_weights(path, {}, "voice v")
    message = str(caught.value)
    assert message.startswith("voice v: model.safetensors is corrupt (") and len(message) > len("voice v: ... ()") + 10
    assert "None" not in message
