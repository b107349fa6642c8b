"""search/report.py states what the search did, from what its store holds: final losses as
means over seeds, the winner by that mean, the number of candidates the predictor ranked as
recorded (not the pool it drew), and each round's predictor quality."""

import json
from dataclasses import replace

import pytest

from lightspeech_cli.search.report import round_picks, seed_means, write_report
from lightspeech_cli.search.run import BUDGETS, Constraints, references
from lightspeech_cli.search.space import SearchSpace
from lightspeech_cli.search.store import Result, ResultStore

SPACE = SearchSpace(hidden=256)
REFERENCES = references(SPACE)
A = "sep5 sep5 sep5 sep5 | sep5 sep5 sep5 sep5 hidden=256 predictor=sep postnet=0"
B = "sep9 sep9 identity sep9 | sep9 sep9 sep9 sep9 hidden=256 predictor=sep postnet=0"
QUALITIES = [
    {"round": 1, "candidates": 16, "folds": 5, "pairwise_accuracy": 0.61, "kendall_tau": 0.22},
    {"round": 2, "candidates": 32, "folds": 5, "pairwise_accuracy": 0.74, "kendall_tau": 0.48},
]


def result(architecture, stage, loss, seed=0, latency=10.0):
    return Result(architecture, stage, 200, 1_700_000, latency, loss, {"total": loss, "mel": loss / 2}, 60.0, seed)


@pytest.fixture
def store(tmp_path):
    store = ResultStore(tmp_path / "results.sqlite")
    for architecture, loss in ((A, 1.50), (B, 1.40), (REFERENCES["lightspeech"], 1.45)):
        store.add(result(architecture, "proxy" if architecture != REFERENCES["lightspeech"] else "reference", loss))
    store.add(result(REFERENCES["fastspeech2"], "reference", 2.4, latency=100.0))
    # B is better by seed 0 alone, A by the mean of both seeds
    for architecture, losses in ((A, (1.30, 1.20)), (B, (1.25, 1.35)), (REFERENCES["lightspeech"], (1.28, 1.29))):
        for seed, loss in enumerate(losses):
            store.add(result(architecture, "final", loss, seed))
    store.set_state("round 1", [A])
    store.set_state("round 2", [B])
    store.set_state("ranked", 3812)
    return store


def test_final_losses_are_means_over_seeds_and_the_winner_has_the_lowest(tmp_path, store):
    pytest.importorskip("matplotlib")
    means = {r.architecture: r for r in seed_means(store.results("final"))}
    assert means[A].loss == pytest.approx(1.25) and means[A].seconds == 120.0
    assert means[A].validation["mel"] == pytest.approx(0.625)
    output = tmp_path / "out"
    output.mkdir()
    budget = replace(BUDGETS["small"], candidates=2)  # the rounds the store records: 1 + 1
    summary = write_report(store, output, [A, B], REFERENCES, QUALITIES, budget, Constraints(2_000_000))
    assert summary["winner"] == A == (output / "winner.txt").read_text().strip()
    found, paper, fastspeech = summary["comparison"]
    assert found["final_loss"] == pytest.approx(1.25) and paper["final_loss"] == pytest.approx(1.285)
    assert fastspeech["final_loss"] is None
    assert summary["rounds"] == [[A], [B]] and summary["predictor"] == QUALITIES
    assert json.loads((output / "summary.json").read_text()) == json.loads(json.dumps(summary))
    report = (output / "results.md").read_text()
    assert "2 rounds of 1 + 1 candidates" in report and "(3,812 unseen ranked)" in report
    assert "10,000 unseen ranked" not in report
    assert "| 2 | 32 | 5 | 0.740 | 0.480 |" in report
    assert "| 1 | 0 | - | 1 | 1.5000 |" in report and "| 2 | 1 | 1.4000 | 0 | - |" in report  # A, then B predicted
    assert (output / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_random_search_is_reported_as_one(tmp_path, store):
    pytest.importorskip("matplotlib")
    output = tmp_path / "out"
    output.mkdir()
    write_report(store, output, [A, B], REFERENCES, QUALITIES[:1], BUDGETS["small"], Constraints(), "random")
    report = (output / "results.md").read_text()
    assert "Random search: 1 candidates" in report and "Guided" not in report and "ranked" not in report


def test_each_later_round_lists_the_predictors_picks_before_the_random_ones():
    budget = replace(BUDGETS["small"], candidates=12, rounds=3)  # rounds of 6, 3 and 3; a quarter at random
    assert budget.round_sizes() == [6, 3, 3] and budget.explored(3) == 1 and budget.explored(1) == 0
    names = [f"c{n}" for n in range(12)]
    losses = {name: float(n) for n, name in enumerate(names)}
    picks = round_picks([names[:6], names[6:9], names[9:]], budget, "guided", losses)
    assert [(p["predicted"]["candidates"], p["random"]["candidates"]) for p in picks] == [(0, 6), (2, 1), (2, 1)]
    assert picks[0]["random"]["mean_proxy_loss"] == 2.5 and picks[0]["predicted"]["mean_proxy_loss"] is None
    assert picks[1]["predicted"]["mean_proxy_loss"] == 6.5 and picks[1]["random"]["mean_proxy_loss"] == 8.0
    # a ranked pool that ran short leaves fewer predicted picks; the random ones are still last
    short = round_picks([names[:6], ["c6", "c9"]], budget, "guided", losses)[1]
    assert short["predicted"] == {"candidates": 1, "mean_proxy_loss": 6.0} and short["random"]["mean_proxy_loss"] == 9.0
    with pytest.raises(ValueError, match="round 2 records 0 candidates"):
        round_picks([names[:6], []], budget, "guided", losses)
    # a random search samples every candidate
    assert round_picks([names], budget, "random", losses)[0]["random"]["candidates"] == 12
