"""GBDT-NAS's accuracy predictor: gradient-boosted trees (LightGBM) from a candidate's
features (SearchSpace.features) to its validation loss, and the ranking metrics GBDT-NAS
reports for it."""

from __future__ import annotations

import math

import numpy as np


def fit_predictor(features: np.ndarray, losses: list[float], seed: int = 0):
    import lightgbm

    # A search trains tens to hundreds of candidates, not thousands: leaves may hold
    # two candidates, and a feature bin one, or the trees never split. One thread and
    # `deterministic` make a resumed search rank exactly as the killed one did.
    # Bagging 90% of one candidate leaves none, which LightGBM refuses (--candidates 2 gives
    # k-fold a one-candidate fold): below ten candidates every tree sees them all.
    parameters = {
        "objective": "regression",
        "learning_rate": 0.05,
        "num_leaves": 8,
        "min_data_in_leaf": 2,
        "min_data_in_bin": 1,
        "bagging_fraction": 0.9 if len(losses) >= 10 else 1.0,
        "bagging_freq": 1,
        "feature_fraction": 0.9,
        "seed": seed,
        "num_threads": 1,
        "deterministic": True,
        "verbose": -1,
    }
    data = lightgbm.Dataset(features, np.asarray(losses, np.float64), params={"verbose": -1})
    return lightgbm.train(parameters, data, num_boost_round=200)


def predict(model, features: np.ndarray) -> np.ndarray:
    return model.predict(features)


def out_of_fold_predictions(features: np.ndarray, losses: list[float], folds: int = 5, seed: int = 0) -> np.ndarray:
    """Each candidate's loss as predicted by a predictor that never saw it (k-fold)."""
    order = np.random.default_rng(seed).permutation(len(features))
    predicted = np.zeros(len(features))
    for fold in range(folds):
        held = order[fold::folds]
        kept = np.setdiff1d(order, held)
        model = fit_predictor(features[kept], [losses[i] for i in kept], seed)
        predicted[held] = predict(model, features[held])
    return predicted


def _pair_signs(predicted, actual) -> tuple[np.ndarray, np.ndarray]:
    predicted, actual = np.asarray(predicted, float), np.asarray(actual, float)
    upper = np.triu_indices(len(actual), k=1)
    return (np.sign(np.subtract.outer(predicted, predicted)[upper]), np.sign(np.subtract.outer(actual, actual)[upper]))


def pairwise_accuracy(predicted, actual) -> float:
    """Of all pairs whose true losses differ, the share the predictor orders rightly."""
    p, a = _pair_signs(predicted, actual)
    comparable = a != 0
    return float((p[comparable] == a[comparable]).mean()) if comparable.any() else math.nan


def kendall_tau(predicted, actual) -> float:
    """Kendall's tau-b (ties counted as in scipy.stats.kendalltau)."""
    p, a = _pair_signs(predicted, actual)
    concordance = (p * a).sum()
    denominator = math.sqrt(np.count_nonzero(p) * np.count_nonzero(a))
    return float(concordance / denominator) if denominator else math.nan
