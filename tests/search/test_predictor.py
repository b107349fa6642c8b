import random

import numpy as np
import pytest

from lightspeech_cli.model.ops import SEARCH_SPACE
from lightspeech_cli.search.predictor import (
    fit_predictor,
    kendall_tau,
    out_of_fold_predictions,
    pairwise_accuracy,
    predict,
)
from lightspeech_cli.search.space import N_LAYERS, SearchSpace

pytest.importorskip("lightgbm")


def synthetic_losses(tokens):
    """A hidden ground truth: each operation at each layer has a cost."""
    costs = np.random.default_rng(7).uniform(0, 1, (N_LAYERS, len(SEARCH_SPACE)))
    return [float(sum(costs[layer, t] for layer, t in enumerate(candidate))) for candidate in tokens]


def test_predictor_learns_and_ranks_synthetic_losses():
    rng = random.Random(3)
    space = SearchSpace()
    train = [space.sample(rng) for _ in range(200)]
    test = [space.sample(rng) for _ in range(100)]
    noise = np.random.default_rng(0).normal(0, 0.05, len(train))
    predictor = fit_predictor(space.features(train), list(np.array(synthetic_losses(train)) + noise))
    predicted, actual = predict(predictor, space.features(test)), synthetic_losses(test)
    assert pairwise_accuracy(predicted, actual) > 0.75
    assert kendall_tau(predicted, actual) > 0.5
    # ranking: the predicted best tenth holds far better candidates than the average
    best = np.argsort(predicted)[:10]
    assert np.mean(np.array(actual)[best]) < np.mean(actual) - 0.5
    held_out = out_of_fold_predictions(space.features(train), synthetic_losses(train), folds=5)
    assert pairwise_accuracy(held_out, synthetic_losses(train)) > 0.7


@pytest.mark.parametrize("count", [2, 3, 9])
def test_the_fewest_candidates_the_command_allows_get_predictions(count):
    """--candidates 2 leaves k-fold one candidate to train on: LightGBM's bagging then kept
    none and the search ended with an internal error."""
    rng = random.Random(count)
    tokens = [SearchSpace().sample(rng) for _ in range(count)]
    predicted = out_of_fold_predictions(SearchSpace().features(tokens), synthetic_losses(tokens), folds=5)
    assert predicted.shape == (count,) and np.isfinite(predicted).all()


def test_ranking_metrics():
    assert pairwise_accuracy([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert pairwise_accuracy([4, 3, 2, 1], [10, 20, 30, 40]) == 0.0
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau([4, 3, 2, 1], [10, 20, 30, 40]) == -1.0
    scipy_stats = pytest.importorskip("scipy.stats")
    x, y = [1, 2, 2, 3, 5, 4], [2, 1, 3, 3, 4, 6]
    assert kendall_tau(x, y) == pytest.approx(scipy_stats.kendalltau(x, y).statistic)
