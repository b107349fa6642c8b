import math
import random

import pytest
import torch

from lightspeech_cli.model.acoustic import AcousticModel, LengthRegulator, count_parameters, untrained_model
from lightspeech_cli.model.ops import OPERATIONS, Layer
from lightspeech_cli.runtime.format.arch import PRESETS, SEARCH_SPACE, Architecture, operation_parameters
from lightspeech_cli.runtime.format.voice import ModelConfig

ONE = torch.tensor(1.0)


def test_presets_have_the_papers_sizes():
    fastspeech2 = count_parameters(AcousticModel(ModelConfig(architecture="fastspeech2")))
    lightspeech = count_parameters(AcousticModel(ModelConfig(architecture="lightspeech")))
    assert 25e6 < fastspeech2 < 30e6
    assert 1.5e6 < lightspeech < 2e6
    assert fastspeech2 / lightspeech >= 15


def test_the_operation_table_is_the_search_space():
    assert tuple(OPERATIONS) == SEARCH_SPACE and len(SEARCH_SPACE) == 12


@pytest.mark.parametrize("op", SEARCH_SPACE)
def test_parameter_formulas_match_the_layers(op):
    for hidden in (16, 256):
        assert operation_parameters(op, hidden) == count_parameters(Layer(op, hidden, 0.1))


def test_descriptions_round_trip():
    for arch in PRESETS.values():
        assert Architecture.parse(str(arch)) == arch
    arch = Architecture.parse("sep5 att4 | ffn identity hidden=64 predictor=conv")
    assert arch.encoder == ("sep5", "att4") and arch.decoder == ("ffn", "identity")
    assert arch.hidden == 64 and arch.predictor == "conv" and not arch.postnet


@pytest.mark.parametrize(
    "text",
    [
        "sep3 | sep5",
        "sep5 sep5",
        "sep5 | att3",
        "sep5 | sep5 hidden=x",
        "sep5 | sep5 colour=red",
        "| sep5",
        "sep5 | sep5 predictor=lstm",
        "sep5 | sep5 hidden=100000",
        "sep5 | sep5 hidden=0",
        "sep5 | sep5 hidden=12",
        "sep5 | sep5 hidden=１６",
        " ".join(["sep5"] * 13) + " | sep5",
        "ffn+ffn+ffn+ffn | sep5",
        " ".join(["ffn+ffn+ffn"] * 12) + " | sep5 hidden=1024",
        "sep5 | sep5 " + "x" * 500,
    ],
)
def test_bad_and_huge_descriptions_are_rejected(text):
    with pytest.raises(ValueError):
        Architecture.parse(text)


def candidates(count, seed=0):
    rng = random.Random(seed)
    every_op = list(SEARCH_SPACE)
    rng.shuffle(every_op)
    layers = every_op + [rng.choice(SEARCH_SPACE) for _ in range(8 * count - len(every_op))]
    for i in range(count):
        chosen = layers[8 * i : 8 * i + 8]  # together the candidates use every operation
        yield f"{' '.join(chosen[:4])} | {' '.join(chosen[4:])} hidden=16 predictor={rng.choice(['sep', 'conv'])}"


@pytest.mark.parametrize("description", ["fastspeech2", "lightspeech"] + list(candidates(4)))
def test_every_candidate_builds_and_exports(description, tmp_path):
    """Every operation runs, and the ONNX and TorchScript exports compute what eager does."""
    import numpy as np

    from lightspeech_cli.model import export
    from lightspeech_cli.runtime.engine import onnx_runner

    arch = Architecture.parse(description)
    if description in PRESETS:
        arch = arch.with_hidden(16)  # the presets' shapes, small enough for a test
    model = untrained_model(str(arch), 75)
    ids = torch.randint(1, 75, (1, 9))
    with torch.no_grad():
        mel, durations = model(ids, ONE, ONE, ONE)
    assert durations.tolist() == [[6] * 9]
    assert mel.shape == (1, 54, 80)  # frames are what the durations say
    export.export_acoustic(model, tmp_path / "model.onnx")
    export.compile_torchscript(model, "acoustic", tmp_path / "model.pt")
    ones = np.ones((1, 9), np.float32)
    for run in (
        onnx_runner(tmp_path / "model.onnx", 1),
        export.torch_runner(export.load_torchscript(tmp_path / "model.pt")),
    ):
        compiled_mel, compiled_durations = run(ids.numpy(), ones, ones, ones)
        assert compiled_durations.tolist() == durations.tolist()
        assert np.allclose(compiled_mel, mel.numpy(), atol=1e-4)


def test_batches_with_padding_match_single_utterances():
    model = untrained_model("sep5 att2 | ffn sep9 hidden=16", 75)
    a, b = torch.randint(1, 75, (1, 7)), torch.randint(1, 75, (1, 4))
    batch = torch.zeros(2, 7, dtype=torch.long)
    batch[0], batch[1, :4] = a[0], b[0]
    with torch.no_grad():
        mel_batch, durations = model(batch, ONE, ONE, ONE)
        mel_b, _ = model(b, ONE, ONE, ONE)
    assert durations[1, 4:].sum() == 0
    assert torch.allclose(mel_batch[1, : mel_b.shape[1]], mel_b[0], atol=1e-4)


# --- the length regulator and variance adaptor: exact content, not only shapes ---------------


def test_the_length_regulator_copies_each_phoneme_for_its_frames():
    x = torch.arange(4, dtype=torch.float32).view(1, 4, 1).expand(1, 4, 3)  # phoneme i carries the value i
    frames, mask = LengthRegulator()(x, torch.tensor([[2, 0, 3, 1]]))
    assert frames[0, :, 0].tolist() == [0, 0, 2, 2, 2, 3]  # phoneme 1 lasts no frame: skipped
    assert mask[0, :, 0].tolist() == [1] * 6


def test_the_length_regulator_masks_the_shorter_utterance_of_a_batch():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).unsqueeze(-1)
    frames, mask = LengthRegulator()(x, torch.tensor([[1, 1, 1], [2, 2, 0]]))
    assert frames.shape == (2, 4, 1)
    assert frames[0, :, 0].tolist() == [1, 2, 3, 0] and mask[0, :, 0].tolist() == [1, 1, 1, 0]
    assert frames[1, :, 0].tolist() == [4, 4, 5, 5] and mask[1, :, 0].tolist() == [1, 1, 1, 1]


def test_an_utterance_of_zero_frames_gives_one_masked_frame():
    frames, mask = LengthRegulator()(torch.ones(1, 3, 2), torch.zeros(1, 3, dtype=torch.long))
    assert frames.shape == (1, 1, 2) and mask.sum() == 0 and frames.abs().sum() == 0


def model_predicting(frames_plus_one: float) -> AcousticModel:
    """A model whose duration predictor says exp(log d) = `frames_plus_one` for every phoneme."""
    model = untrained_model("sep5 | sep5 hidden=16", 75)
    with torch.no_grad():
        model.duration_predictor.project.bias.fill_(math.log(frames_plus_one))
    return model


@pytest.mark.parametrize(
    "predicted, speed, frames",
    [
        (3.4, 1.0, 2),
        (3.6, 1.0, 3),  # exp(log d) - 1 = 2.4 -> 2, 2.6 -> 3: rounded, not truncated
        (9.0, 4.0, 2),
        (9.0, 0.25, 32),  # the speed limits divide the frames
        (9.0, 2.0, 4),
        (0.5, 1.0, 0),  # a negative prediction (0.5 - 1) is clamped to zero frames, not negative
    ],
)
def test_durations_are_rounded_clamped_and_scaled_by_speed(predicted, speed, frames):
    with torch.no_grad():
        _, durations = model_predicting(predicted)(torch.randint(1, 75, (1, 5)), torch.tensor(speed), ONE, ONE)
    assert durations.tolist() == [[frames] * 5]


def test_per_phoneme_speed_scales_each_phoneme():
    speed = torch.tensor([[1.0, 2.0, 0.5]])
    with torch.no_grad():
        _, durations = model_predicting(7.0)(torch.randint(1, 75, (1, 3)), speed, ONE, ONE)
    assert durations.tolist() == [[6, 3, 12]]


def test_pitch_and_energy_factors_shift_the_quantized_values_by_log_factor_over_std():
    model = untrained_model("sep5 | sep5 hidden=16", 75)
    model.pitch_log_std, model.energy_log_std = 0.25, 0.5
    for predictor in (model.pitch_predictor, model.energy_predictor):
        with torch.no_grad():
            predictor.project.weight.zero_()
            predictor.project.bias.zero_()  # the predictors say 0: the training mean
    seen = {}
    model.pitch_embedding.register_forward_hook(lambda m, i, o: seen.__setitem__("pitch", i[0].clone()))
    model.energy_embedding.register_forward_hook(lambda m, i, o: seen.__setitem__("energy", i[0].clone()))
    ids = torch.randint(1, 75, (1, 4))
    with torch.no_grad():
        model(ids, ONE, torch.tensor(math.exp(0.5)), torch.tensor(math.exp(-1.0)))
    # pitch: log(e^0.5) / 0.25 = +2 standard deviations; energy: log(e^-1) / 0.5 = -2
    assert seen["pitch"].unique().tolist() == [torch.bucketize(torch.tensor(2.0), model.bin_edges).item()]
    assert seen["energy"].unique().tolist() == [torch.bucketize(torch.tensor(-2.0), model.bin_edges).item()]
    with torch.no_grad():
        model(ids, ONE, ONE, ONE)
    assert seen["pitch"].unique().tolist() == [torch.bucketize(torch.tensor(0.0), model.bin_edges).item()]


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
