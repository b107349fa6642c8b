"""The acoustic model: every architecture builds and exports, and its numbers (durations, the
frame-to-phoneme map and the variance adaptor's inputs) are checked value by value on tiny
untrained models."""

import math
import random

import pytest
import torch

from lightspeech_cli.model.acoustic import AcousticModel, LengthRegulator, VariancePredictor, untrained_model
from lightspeech_cli.runtime.format.arch import PRESETS, SEARCH_SPACE, Architecture
from lightspeech_cli.runtime.format.voice import ModelConfig

ONE = torch.tensor(1.0)


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


@pytest.mark.exact
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


@pytest.mark.exact
def test_the_length_regulator_copies_each_phoneme_for_its_frames():
    x = torch.arange(4, dtype=torch.float32).view(1, 4, 1).expand(1, 4, 3)  # phoneme i carries the value i
    frames, mask = LengthRegulator()(x, torch.tensor([[2, 0, 3, 1]]))
    assert frames[0, :, 0].tolist() == [0, 0, 2, 2, 2, 3]  # phoneme 1 lasts no frame: skipped
    assert mask[0, :, 0].tolist() == [1] * 6


@pytest.mark.exact
def test_the_length_regulator_masks_the_shorter_utterance_of_a_batch():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).unsqueeze(-1)
    frames, mask = LengthRegulator()(x, torch.tensor([[1, 1, 1], [2, 2, 0]]))
    assert frames.shape == (2, 4, 1)
    assert frames[0, :, 0].tolist() == [1, 2, 3, 0] and mask[0, :, 0].tolist() == [1, 1, 1, 0]
    assert frames[1, :, 0].tolist() == [4, 4, 5, 5] and mask[1, :, 0].tolist() == [1, 1, 1, 1]


@pytest.mark.exact
def test_an_utterance_of_zero_frames_gives_one_masked_frame():
    frames, mask = LengthRegulator()(torch.ones(1, 3, 2), torch.zeros(1, 3, dtype=torch.long))
    assert frames.shape == (1, 1, 2) and mask.sum() == 0 and frames.abs().sum() == 0


TINY = "sep5 | sep5 hidden=16"


def model_predicting(frames_plus_one: float, architecture: str = TINY) -> AcousticModel:
    """exp(log duration) = `frames_plus_one` for every phoneme; pitch and energy predicted as 0."""
    model = untrained_model(architecture, 75)
    with torch.no_grad():
        model.duration_predictor.project.bias.fill_(math.log(frames_plus_one))
        for predictor in (model.pitch_predictor, model.energy_predictor):
            predictor.project.weight.zero_()
            predictor.project.bias.zero_()
    return model


@pytest.mark.exact
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


@pytest.mark.exact
def test_per_phoneme_speed_scales_each_phoneme():
    speed = torch.tensor([[1.0, 2.0, 0.5]])
    with torch.no_grad():
        _, durations = model_predicting(7.0)(torch.randint(1, 75, (1, 3)), speed, ONE, ONE)
    assert durations.tolist() == [[6, 3, 12]]


@pytest.mark.exact
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


@pytest.mark.exact
def test_controls_change_durations_pitch_and_energy():
    model = untrained_model("sep5 | sep5 hidden=16", 75)
    ids = torch.randint(1, 75, (1, 10))
    with torch.no_grad():
        normal, durations = model(ids, ONE, ONE, ONE)
        fast, fast_durations = model(ids, torch.tensor(2.0), ONE, ONE)
        high, _ = model(ids, ONE, torch.tensor(1.5), ONE)
    assert fast_durations.sum() == durations.sum() // 2
    assert not torch.allclose(high, normal)


@pytest.mark.exact
def test_training_forward_uses_the_given_durations():
    model = AcousticModel(ModelConfig(architecture="sep5 | sep5 hidden=16"))
    ids = torch.randint(1, 75, (2, 5))
    durations = torch.tensor([[1, 2, 3, 0, 4], [2, 2, 2, 2, 2]])
    out = model.training_forward(ids, durations, torch.zeros(2, 5), torch.zeros(2, 5))
    assert out["mel"].shape == (2, 10, 80)
    assert out["frame_mask"][0, :, 0].tolist() == [1.0] * 10
    assert out["log_durations"].shape == (2, 5)


@pytest.mark.exact
@pytest.mark.parametrize("predicted", [0.3, 0.05, 0.45])
def test_a_negative_duration_prediction_is_zero_frames_not_minus_one(predicted):
    """exp(log d) - 1 = -0.7 rounds to -1: without the clamp the phoneme would take a frame
    away from the utterance."""
    with torch.no_grad():
        mel, durations = model_predicting(predicted)(torch.randint(1, 75, (1, 5)), ONE, ONE, ONE)
    assert durations.tolist() == [[0] * 5]
    assert mel.shape == (1, 1, 80) and mel.abs().sum() == 0  # one masked frame, silent


@pytest.mark.exact
def test_durations_are_whole_frames_of_integer_type():
    with torch.no_grad():
        _, durations = model_predicting(4.0)(torch.randint(1, 75, (2, 3)), ONE, ONE, ONE)
    assert durations.dtype == torch.int64 and durations.tolist() == [[3, 3, 3], [3, 3, 3]]


@pytest.mark.exact
def test_padding_positions_get_no_frames_whatever_the_predictor_says():
    ids = torch.tensor([[5, 6, 7, 0, 0]])
    with torch.no_grad():
        mel, durations = model_predicting(4.0)(ids, ONE, ONE, ONE)
    assert durations.tolist() == [[3, 3, 3, 0, 0]] and mel.shape[1] == 9


@pytest.mark.exact
@pytest.mark.parametrize(
    "durations, frames",
    [
        ([0, 2, 0, 1, 0], [1, 1, 3]),  # zero-duration phonemes at both ends and in the middle
        ([1, 1, 1, 1], [0, 1, 2, 3]),  # one frame each: frame i is phoneme i
        ([3, 0, 0, 1], [0, 0, 0, 3]),
        ([0, 0, 0, 4], [3, 3, 3, 3]),  # only the last phoneme sounds
    ],
)
def test_the_regulator_maps_each_frame_to_its_phoneme(durations, frames):
    x = torch.arange(len(durations), dtype=torch.float32).view(1, -1, 1) + 1  # phoneme i carries i + 1
    out, mask = LengthRegulator()(x, torch.tensor([durations]))
    assert out[0, :, 0].tolist() == [f + 1 for f in frames]
    assert mask[0, :, 0].tolist() == [1.0] * len(frames)


@pytest.mark.exact
def test_the_regulator_copies_every_channel_and_keeps_the_dtype():
    x = torch.arange(12, dtype=torch.float64).view(1, 3, 4)
    out, mask = LengthRegulator()(x, torch.tensor([[1, 2, 1]]))
    assert out.dtype == mask.dtype == torch.float64
    assert out[0].tolist() == [x[0, 0].tolist(), x[0, 1].tolist(), x[0, 1].tolist(), x[0, 2].tolist()]


@pytest.mark.exact
def test_the_regulator_builds_its_frames_on_the_device_of_its_input():
    """Not on torch's default device: with a GPU as the default (or here the meta device), a
    frame index made there could not be compared with durations on the CPU."""
    x = torch.arange(3, dtype=torch.float32).view(1, 3, 1) + 1
    durations = torch.tensor([[1, 2, 1]])
    with torch.device("meta"):
        out, mask = LengthRegulator()(x, durations)
    assert out.device.type == mask.device.type == "cpu"
    assert out[0, :, 0].tolist() == [1.0, 2.0, 2.0, 3.0] and mask[0, :, 0].tolist() == [1.0] * 4


@pytest.mark.exact
@pytest.mark.parametrize("speed, frames", [(0.25, 32), (4.0, 2), (0.5, 16), (2.0, 4)])
def test_the_speed_limits_multiply_and_divide_the_frames(speed, frames):
    with torch.no_grad():
        mel, durations = model_predicting(9.0)(torch.randint(1, 75, (1, 3)), torch.tensor(speed), ONE, ONE)
    assert durations.tolist() == [[frames] * 3] and mel.shape[1] == 3 * frames


def bucket_inputs(model: AcousticModel):
    seen = {}
    model.pitch_embedding.register_forward_hook(lambda m, i, o: seen.__setitem__("pitch", i[0].clone()))
    model.energy_embedding.register_forward_hook(lambda m, i, o: seen.__setitem__("energy", i[0].clone()))
    return seen


def bucket(model, value: float) -> int:
    return torch.bucketize(torch.tensor(value), model.bin_edges).item()


@pytest.mark.exact
def test_per_phoneme_pitch_and_energy_factors_shift_each_phoneme_alone():
    model = model_predicting(4.0)
    model.pitch_log_std, model.energy_log_std = 0.5, 0.25
    seen = bucket_inputs(model)
    pitch = torch.tensor([[1.0, math.exp(1.0), math.exp(-0.5)]])
    energy = torch.tensor([[math.exp(0.5), 1.0, math.exp(-0.25)]])
    with torch.no_grad():
        model(torch.tensor([[4, 5, 6]]), ONE, pitch, energy)
    # log(factor) / std standard deviations away from the predicted 0
    assert seen["pitch"].tolist() == [[bucket(model, 0.0), bucket(model, 2.0), bucket(model, -1.0)]]
    assert seen["energy"].tolist() == [[bucket(model, 2.0), bucket(model, 0.0), bucket(model, -1.0)]]


@pytest.mark.exact
def test_the_pitch_and_energy_embeddings_are_added_to_the_phonemes():
    model = model_predicting(2.0)
    ids = torch.tensor([[4, 5, 6]])
    with torch.no_grad():
        normal, _ = model(ids, ONE, ONE, ONE)
        model.pitch_embedding.weight.zero_()
        no_pitch, _ = model(ids, ONE, ONE, ONE)
        model.energy_embedding.weight.zero_()
        neither, _ = model(ids, ONE, ONE, ONE)
    assert not torch.allclose(normal, no_pitch) and not torch.allclose(no_pitch, neither)


@pytest.mark.exact
def test_the_variance_predictor_says_zero_at_padding_and_ignores_what_padding_holds():
    torch.manual_seed(0)
    predictor = VariancePredictor(8, "sep", 3, 0.0).eval()
    with torch.no_grad():
        predictor.project.bias.fill_(0.5)
        x = torch.randn(1, 5, 8)
        mask = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0]]).unsqueeze(-1)
        out = predictor(x, mask)
        noisy = x.clone()
        noisy[:, 3:] = 100.0
        again = predictor(noisy, mask)
    assert out.shape == (1, 5)
    assert out[0, 3:].tolist() == [0.0, 0.0]
    assert torch.equal(out, again)
    assert (out[0, :3] != 0).all()


@pytest.mark.exact
def test_training_uses_the_given_durations_pitch_and_energy_not_the_predicted_ones():
    model = AcousticModel(ModelConfig(architecture=TINY, n_symbols=75)).eval()
    seen = bucket_inputs(model)
    ids = torch.tensor([[4, 5, 6, 7]])
    durations = torch.tensor([[2, 0, 3, 1]])
    pitch = torch.tensor([[0.0, 1.0, -1.0, 2.0]])
    energy = torch.tensor([[-2.0, 0.0, 0.5, 1.0]])
    with torch.no_grad():
        out = model.training_forward(ids, durations, pitch, energy)
    assert seen["pitch"].tolist() == [[bucket(model, v) for v in pitch[0].tolist()]]
    assert seen["energy"].tolist() == [[bucket(model, v) for v in energy[0].tolist()]]
    assert out["mel"].shape == (1, 6, 80) and out["frame_mask"].shape == (1, 6, 1)
    for name in ("log_durations", "pitch", "energy"):
        assert out[name].shape == (1, 4)
    with torch.no_grad():
        mask = torch.ones(1, 4, 1)
        x = model.encoder(ids, mask)
        assert torch.allclose(out["log_durations"], model.duration_predictor(x, mask))
        assert torch.allclose(out["pitch"], model.pitch_predictor(x, mask))
        assert torch.allclose(out["energy"], model.energy_predictor(x, mask))
    assert "mel_before_postnet" not in out


@pytest.mark.exact
def test_training_with_a_postnet_returns_the_mel_before_and_after_it():
    model = AcousticModel(ModelConfig(architecture="sep5 | sep5 hidden=16 postnet=1", n_symbols=75)).eval()
    with torch.no_grad():
        out = model.training_forward(
            torch.tensor([[4, 5]]), torch.tensor([[2, 1]]), torch.zeros(1, 2), torch.zeros(1, 2)
        )
        refined = model.postnet(out["mel_before_postnet"], out["frame_mask"])
    assert out["mel_before_postnet"].shape == out["mel"].shape == (1, 3, 80)
    assert torch.allclose(out["mel"], refined) and not torch.allclose(out["mel"], out["mel_before_postnet"])


def regulator_input(model: AcousticModel) -> dict:
    seen = {}
    model.length_regulator.register_forward_hook(lambda m, i, o: seen.__setitem__("x", i[0].clone()))
    return seen


@pytest.mark.exact
def test_the_adaptor_adds_both_embeddings_to_the_encoder_output():
    """What reaches the length regulator is encoder + pitch embedding + energy embedding,
    each of its phoneme's bucket, in inference and in training alike."""
    model = model_predicting(3.0)
    model.pitch_log_std = model.energy_log_std = 0.5
    with torch.no_grad():
        model.pitch_embedding.weight.normal_()
        model.energy_embedding.weight.normal_()
    seen = regulator_input(model)
    ids = torch.tensor([[4, 5, 6, 0]])
    pitch = torch.tensor([[1.0, math.exp(0.5), math.exp(-1.0), 1.0]])
    energy = torch.tensor([[math.exp(1.0), 1.0, 1.0, 1.0]])
    with torch.no_grad():
        model(ids, ONE, pitch, energy)
        mask = (ids != 0).unsqueeze(-1).float()
        encoded = model.encoder(ids, mask)
        pitch_values = torch.log(pitch) / 0.5  # the predictors say 0
        energy_values = torch.log(energy) / 0.5
        expected = (
            encoded
            + model.pitch_embedding(torch.bucketize(pitch_values, model.bin_edges))
            + model.energy_embedding(torch.bucketize(energy_values, model.bin_edges))
        )
    assert torch.allclose(seen["x"], expected, atol=1e-5)
    with torch.no_grad():
        model.training_forward(ids, torch.tensor([[1, 1, 1, 0]]), pitch_values, energy_values)
    assert torch.allclose(seen["x"], expected, atol=1e-5)


@pytest.mark.exact
def test_padded_frames_of_a_batch_are_exactly_silent():
    model = model_predicting(3.0)
    ids = torch.tensor([[4, 5, 6, 7], [4, 5, 0, 0]])
    with torch.no_grad():
        mel, durations = model(ids, ONE, ONE, ONE)
        trained = model.training_forward(ids, durations, torch.zeros(2, 4), torch.zeros(2, 4))
    assert durations.tolist() == [[2, 2, 2, 2], [2, 2, 0, 0]]
    for out in (mel, trained["mel"]):
        assert torch.isfinite(out).all()
        assert out[1, 4:].abs().sum() == 0 and out[1, :4].abs().sum() > 0
    assert trained["log_durations"][1, 2:].tolist() == [0.0, 0.0]  # the predictors see the padding mask
    assert trained["pitch"][1, 2:].tolist() == [0.0, 0.0] and trained["energy"][1, 2:].tolist() == [0.0, 0.0]
    assert trained["frame_mask"][1, :, 0].tolist() == [1.0] * 4 + [0.0] * 4


@pytest.mark.exact
def test_inference_refines_the_mel_with_the_postnet():
    model = model_predicting(3.0, "sep5 | sep5 hidden=16 postnet=1").eval()
    seen = {}
    model.mel_projection.register_forward_hook(lambda m, i, o: seen.__setitem__("projected", o.clone()))
    ids = torch.tensor([[4, 5, 6]])
    with torch.no_grad():
        mel, _ = model(ids, ONE, ONE, ONE)
        frame_mask = torch.ones(1, mel.shape[1], 1)
        refined = model.postnet(seen["projected"] * frame_mask, frame_mask)
    assert mel.shape == (1, 6, 80)
    assert torch.allclose(mel, refined) and not torch.allclose(mel, seen["projected"])
