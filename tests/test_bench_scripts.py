"""The benchmark scripts still import: they are run by hand, rarely, so a renamed module in
the package would otherwise go unseen until someone needs a figure."""

import importlib
import sys
from pathlib import Path

import pytest

from lightspeech_cli.search.store import ResultStore

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("script", sorted(p.stem for p in BENCH.glob("*.py")))
def test_each_benchmark_script_imports(script, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # as `python bench/NAME.py` sees its siblings
    module = importlib.import_module(script)
    assert module.__file__ == str(BENCH / f"{script}.py")
    sys.modules.pop(script)


@pytest.fixture
def fidelity(monkeypatch):
    """bench/search_fidelity.py, imported as its command line sees it, and forgotten after."""
    monkeypatch.syspath_prepend(str(BENCH))
    yield importlib.import_module("search_fidelity")
    sys.modules.pop("search_fidelity")


def test_search_fidelity_compares_each_estimate_with_the_other_seeds_final_loss(fidelity, monkeypatch, capsys):
    """Synthetic runs whose curves all follow one power law per architecture: the early losses
    keep the final order exactly (tau 1), the parameter count reverses it (tau -1)."""
    names = list(fidelity.ARCHITECTURES)[:5]
    monkeypatch.setattr(fidelity, "ARCHITECTURES", {n: fidelity.ARCHITECTURES[n] for n in names})
    # more parameters, higher loss: the reverse of what the "parameters" estimate assumes
    order = sorted(names, key=lambda n: fidelity.Search.parameters(fidelity.ARCHITECTURES[n] + fidelity.SUFFIX))
    runs = []
    for rank, name in enumerate(order):
        for seed in fidelity.SEEDS:
            curve = [[step, 1 + rank + 10 * step**-0.5, step / 10] for step in (100, 200, 300, 400)]
            task = {"architecture": fidelity.ARCHITECTURES[name] + fidelity.SUFFIX, "warmup": 50}
            runs.append(
                {
                    "name": name,
                    "seed": seed,
                    "task": task,
                    "curve": curve,
                    "saliency": rank + seed,
                    "validation": {"total": curve[-1][1]},
                    "seconds": 40.0,
                }
            )
    args = type(
        "Args",
        (),
        {
            "steps": 400,
            "workdir": Path("work"),
            "train_utterances": 8,
            "validation_utterances": 2,
            "max_frames": 100,
        },
    )
    fidelity.report(runs, args)
    rows = {line[:34].strip(): line[34:].split() for line in capsys.readouterr().out.splitlines()}
    assert rows["loss at step 100"][:2] == ["1.00", "1.00"] and rows["loss at step 100"][2] == "10"
    assert rows["steps 100-300 extrapolated"][0] == "1.00"
    assert rows["final loss, the other seed"][0] == "1.00"
    assert rows["parameters"][0] == "-1.00"


def test_search_fidelity_extends_a_power_law_and_keeps_the_last_loss_when_none_fits(fidelity):
    def law(step):
        return 1.2 + 3.0 * step**-0.5

    curve = [[step, law(step)] for step in (50, 100, 150, 200)]
    assert abs(fidelity.extrapolate(curve, 800) - law(800)) < 0.01
    assert fidelity.extrapolate([[100, 2.0], [200, 1.5]], 800) == 1.5  # too few points
    assert fidelity.extrapolate([[100, 1.0], [200, 1.5], [300, 2.0]], 800) == 2.0  # rising: no decaying law


def test_search_strategies_shares_only_runs_the_random_search_would_repeat(monkeypatch, tmp_path, training_folder):
    """The copied runs are the ones an unshared random search trains itself, with the same
    losses (training is deterministic), and a shared random search does not train them again."""
    pytest.importorskip("lightgbm")
    from lightspeech_cli.search.run import Budget, Constraints, Search
    from lightspeech_cli.search.runners import LocalRunner
    from lightspeech_cli.search.space import SearchSpace

    monkeypatch.syspath_prepend(str(BENCH))
    strategies = importlib.import_module("search_strategies")
    sys.modules.pop("search_strategies")
    budget = Budget(
        candidates=6,
        proxy_steps=2,
        train_utterances=8,
        validation_utterances=2,
        max_frames=200,
        pool=100,
        finalists=1,
        final_steps=3,
        rounds=2,
    )

    def search(folder, strategy):
        found = Search(
            training_folder,
            tmp_path / folder,
            budget,
            Constraints(),
            LocalRunner(1),
            SearchSpace(hidden=16),
            log=lambda _: None,
            strategy=strategy,
        )
        found.run()
        return {(r.architecture, r.stage, r.seed): r for r in found.store.results()}

    search("guided", "guided")
    alone = search("random-alone", "random")
    strategies.share_common_runs(tmp_path / "guided", tmp_path / "random")
    store = ResultStore(tmp_path / "random" / "results.sqlite")
    shared = {(r.architecture, r.stage, r.seed): r for r in store.results()}
    measured = ResultStore(tmp_path / "guided" / "results.sqlite").states("latency ")
    assert len(measured) >= 6 and store.states("latency ") == measured  # a latency limit decides alike
    assert {stage for _, stage, _ in shared} == {"proxy", "reference", "final"}
    assert sum(stage == "proxy" for _, stage, _ in shared) == 3  # round 1: half the candidates
    assert all(key in alone and alone[key].loss == result.loss for key, result in shared.items())

    after = search("random", "random")
    # a random search that started on its own (an older benchmark) keeps its own runs
    (tmp_path / "own").mkdir()
    ResultStore(tmp_path / "own" / "results.sqlite").set_state("round 1", [])
    strategies.share_common_runs(tmp_path / "guided", tmp_path / "own")
    assert ResultStore(tmp_path / "own" / "results.sqlite").results() == []
    assert after.keys() == alone.keys()
    assert all(after[key].seconds == result.seconds for key, result in shared.items())  # read back, not retrained
