"""The discriminators (model/discriminators.py): shapes, and that the losses point the
right way."""

import torch

from lightspeech_cli.model.discriminators import (
    MEL_TIME_SCALES,
    MelDiscriminators,
    adversarial_loss,
    discriminator_loss,
    feature_matching_loss,
)


def test_mel_discriminators_score_segments_at_each_time_scale():
    torch.manual_seed(0)
    discriminators = MelDiscriminators()
    outputs = discriminators(torch.randn(3, 64, 80))
    assert len(outputs) == len(MEL_TIME_SCALES)
    for (score, features), scale in zip(outputs, MEL_TIME_SCALES, strict=True):
        assert score.shape == (3, 1, 64 // scale // 2, 80 // 8)  # bins halved thrice, time once
        assert len(features) == 4 and all(f.shape[0] == 3 for f in features)


def test_the_losses_point_the_right_way():
    torch.manual_seed(0)
    discriminators = MelDiscriminators()
    real, fake = torch.randn(2, 32, 80), torch.randn(2, 32, 80)
    scores_real, scores_fake = discriminators(real), discriminators(fake)
    ones = [(torch.ones(1), []) for _ in MEL_TIME_SCALES]
    zeros = [(torch.zeros(1), []) for _ in MEL_TIME_SCALES]
    assert discriminator_loss(ones, zeros) == 0  # a perfect judge
    assert adversarial_loss(ones) == 0 and adversarial_loss(zeros) == len(MEL_TIME_SCALES)
    assert feature_matching_loss(scores_real, scores_real) == 0
    assert feature_matching_loss(scores_real, scores_fake) > 0
