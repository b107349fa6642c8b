import random

import pytest
import torch

from lightspeech_cli.export import compile_module
from lightspeech_cli.model.acoustic import AcousticModel, ModelConfig, count_parameters
from lightspeech_cli.model.arch import PRESETS, Architecture
from lightspeech_cli.model.ops import SEARCH_SPACE
from lightspeech_cli.profile import untrained_model

ONE = torch.tensor(1.0)


def test_presets_have_the_papers_sizes():
    fastspeech2 = count_parameters(AcousticModel(ModelConfig(architecture="fastspeech2")))
    lightspeech = count_parameters(AcousticModel(ModelConfig(architecture="lightspeech")))
    assert 25e6 < fastspeech2 < 30e6
    assert 1.5e6 < lightspeech < 2e6
    assert fastspeech2 / lightspeech >= 15


def test_descriptions_round_trip():
    for arch in PRESETS.values():
        assert Architecture.parse(str(arch)) == arch
    arch = Architecture.parse("sep5 att4 | ffn identity hidden=64 predictor=conv")
    assert arch.encoder == ("sep5", "att4") and arch.decoder == ("ffn", "identity")
    assert arch.hidden == 64 and arch.predictor == "conv" and not arch.postnet


@pytest.mark.parametrize("text", ["sep3 | sep5", "sep5 sep5", "sep5 | att3", "sep5 | sep5 hidden=x",
                                  "sep5 | sep5 colour=red", "| sep5", "sep5 | sep5 predictor=lstm"])
def test_bad_descriptions_are_rejected(text):
    with pytest.raises(ValueError):
        Architecture.parse(text)


def candidates(count, seed=0):
    rng = random.Random(seed)
    every_op = list(SEARCH_SPACE)
    rng.shuffle(every_op)
    layers = every_op + [rng.choice(SEARCH_SPACE) for _ in range(8 * count - len(every_op))]
    for i in range(count):
        chosen = layers[8 * i:8 * i + 8]  # together the candidates use every operation
        yield f"{' '.join(chosen[:4])} | {' '.join(chosen[4:])} hidden=16 predictor={rng.choice(['sep', 'conv'])}"


@pytest.mark.parametrize("description", ["fastspeech2", "lightspeech"] + list(candidates(4)))
def test_every_candidate_builds_compiles_and_runs(description, tmp_path):
    arch = Architecture.parse(description)
    if description in PRESETS:
        arch = arch.with_hidden(16)  # the presets' shapes, small enough for a test
    model = untrained_model(str(arch), 75)
    ids = torch.randint(1, 75, (1, 9))
    eager = compile_module(model, "acoustic", "eager", tmp_path, 1)
    mel, durations = eager(ids, ONE, ONE, ONE)
    assert durations.tolist() == [[6] * 9]
    assert mel.shape == (1, 54, 80)  # frames are what the durations say
    for backend in ("torchscript", "onnx"):
        compiled = compile_module(model, "acoustic", backend, tmp_path, 1)
        compiled_mel, compiled_durations = compiled(ids, ONE, ONE, ONE)
        assert torch.equal(compiled_durations, durations)
        assert torch.allclose(compiled_mel, mel, atol=1e-4), backend
    # saved, then reloaded from the cache rather than compiled again
    files = sorted(p.name for p in tmp_path.iterdir())
    assert any(f.endswith(".pt") for f in files) and any(f.endswith(".onnx") for f in files)
    reloaded = compile_module(model, "acoustic", "torchscript", tmp_path, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == files
    assert torch.allclose(reloaded(ids, ONE, ONE, ONE)[0], mel, atol=1e-4)


def test_batches_with_padding_match_single_utterances():
    model = untrained_model("sep5 att2 | ffn sep9 hidden=16", 75)
    a, b = torch.randint(1, 75, (1, 7)), torch.randint(1, 75, (1, 4))
    batch = torch.zeros(2, 7, dtype=torch.long)
    batch[0], batch[1, :4] = a[0], b[0]
    with torch.no_grad():
        mel_batch, durations = model(batch, ONE, ONE, ONE)
        mel_b, _ = model(b, ONE, ONE, ONE)
    assert durations[1, 4:].sum() == 0
    assert torch.allclose(mel_batch[1, :mel_b.shape[1]], mel_b[0], atol=1e-4)


def test_controls_change_durations_pitch_and_energy():
    model = untrained_model("sep5 | sep5 hidden=16", 75)
    ids = torch.randint(1, 75, (1, 10))
    with torch.no_grad():
        normal, durations = model(ids, ONE, ONE, ONE)
        fast, fast_durations = model(ids, torch.tensor(2.0), ONE, ONE)
        high, _ = model(ids, ONE, torch.tensor(1.5), ONE)
    assert fast_durations.sum() == durations.sum() // 2
    assert not torch.allclose(high, normal)


def test_training_forward_uses_the_given_durations():
    model = AcousticModel(ModelConfig(architecture="sep5 | sep5 hidden=16"))
    ids = torch.randint(1, 75, (2, 5))
    durations = torch.tensor([[1, 2, 3, 0, 4], [2, 2, 2, 2, 2]])
    out = model.training_forward(ids, durations, torch.zeros(2, 5), torch.zeros(2, 5))
    assert out["mel"].shape == (2, 10, 80)
    assert out["frame_mask"][0, :, 0].tolist() == [1.0] * 10
    assert out["log_durations"].shape == (2, 5)
