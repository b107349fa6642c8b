import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from lightspeech_cli.runtime.format.arch import Architecture
from lightspeech_cli.search.run import Budget, Constraints, Search, references
from lightspeech_cli.search.runners import LocalRunner
from lightspeech_cli.search.space import SearchSpace

pytest.importorskip("lightgbm")


TINY = SearchSpace(hidden=16)
TINY_BUDGET = Budget(
    candidates=5,
    proxy_steps=2,
    train_utterances=8,
    validation_utterances=2,
    max_frames=200,
    pool=200,
    finalists=1,
    final_steps=3,
)


def test_sampling_respects_measured_constraints(tmp_path, training_folder):
    limit = 40_000
    search = Search(
        training_folder,
        tmp_path / "out",
        Budget(**{**TINY_BUDGET.__dict__, "candidates": 12}),
        Constraints(max_parameters=limit, max_latency_ms=1e6),
        runner=None,
        space=TINY,
        log=lambda _: None,
    )
    sampled = search.sample_candidates(random.Random(0))
    assert len(set(sampled)) == 12
    assert all(TINY.parameters(t) <= limit for t in sampled)
    # every kept candidate's latency was measured and stored
    assert all(search.store.get_state(f"latency {TINY.decode(t)}") > 0 for t in sampled)

    fastest = min(search.latency(str(TINY.decode(t))) for t in sampled)
    strict = Search(
        training_folder,
        tmp_path / "strict",
        Budget(**{**TINY_BUDGET.__dict__, "candidates": 2}),
        Constraints(max_latency_ms=fastest / 1000),
        runner=None,
        space=TINY,
        log=lambda _: None,
    )
    with pytest.raises(ValueError, match="loosen"):
        strict.sample_candidates(random.Random(0))


def search_command(workdir, output, *extra):
    return [
        sys.executable,
        "-m",
        "lightspeech_cli",
        "search",
        str(workdir),
        "-o",
        str(output),
        "--hidden",
        "16",
        "--candidates",
        "6",
        "--proxy-steps",
        "40",
        "--finalists",
        "1",
        "--final-steps",
        "3",
        "--workers",
        "1",
        *extra,
    ]


def proxy_rows(database):
    if not database.exists():
        return []
    try:
        with sqlite3.connect(database) as connection:
            return connection.execute("SELECT architecture, seconds FROM results WHERE stage = 'proxy'").fetchall()
    except sqlite3.OperationalError:
        return []  # the schema is not written yet


def test_search_resumes_after_being_killed(tmp_path, training_folder):
    output = tmp_path / "search"
    database = output / "results.sqlite"
    process = subprocess.Popen(
        search_command(training_folder, output),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while len(proxy_rows(database)) < 2 and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the search ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)  # the search and its worker processes, mid-way
    process.wait()
    before = dict(proxy_rows(database))
    assert 2 <= len(before) < 6

    finished = subprocess.run(search_command(training_folder, output), capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    after = dict(proxy_rows(database))
    assert all(after[a] == seconds for a, seconds in before.items())  # not trained again
    assert len(after) >= 6
    winner = (output / "winner.txt").read_text().strip()
    assert finished.stdout.strip() == winner
    assert Architecture.parse(winner).hidden == 16
    report = (output / "results.md").read_text()
    assert "Kendall's tau" in report and "FastSpeech 2" in report and winner.split("|")[0].strip() in report
    assert (output / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the winner is a description the training pipeline takes
    fit = subprocess.run(
        [
            sys.executable,
            "-m",
            "lightspeech_cli",
            "train",
            "fit",
            str(training_folder),
            "--arch",
            winner,
            "--steps",
            "1",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fit.returncode == 0, fit.stderr
    assert (training_folder / "run" / "checkpoint.pt").exists()


def test_search_refuses_other_settings_in_the_same_folder(tmp_path, training_folder):
    output = tmp_path / "search"
    Search(training_folder, output, TINY_BUDGET, Constraints(), runner=None, space=TINY)
    with pytest.raises(ValueError, match="other settings"):
        Search(training_folder, output, TINY_BUDGET, Constraints(max_parameters=10**6), runner=None, space=TINY)
    result = subprocess.run(
        [sys.executable, "-m", "lightspeech_cli", "search", str(tmp_path / "nothing"), "-o", str(output)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "run `lightspeech train corpus`" in result.stderr
    assert "Traceback" not in result.stderr


def test_search_on_a_local_ray_instance(tmp_path, training_folder):
    ray = pytest.importorskip("ray")
    from lightspeech_cli.search.runners import RayRunner

    runner = RayRunner("local", num_cpus=2)
    try:
        assert "Ray cluster" in runner.describe()
        summary = Search(
            training_folder, tmp_path / "ray-search", TINY_BUDGET, Constraints(), runner, TINY, log=lambda _: None
        ).run()
    finally:
        ray.shutdown()
    assert Architecture.parse(summary["winner"]).hidden == 16
    with sqlite3.connect(tmp_path / "ray-search" / "results.sqlite") as connection:
        stages = dict(connection.execute("SELECT stage, count(*) FROM results GROUP BY stage").fetchall())
    assert stages["reference"] == 2 and stages["proxy"] >= 5 and stages["final"] >= 2


def test_an_unreachable_ray_address_is_one_clear_error(tmp_path, training_folder):
    pytest.importorskip("ray")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lightspeech_cli",
            "search",
            str(training_folder),
            "-o",
            str(tmp_path / "out"),
            "--ray",
            "127.0.0.1:1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "cannot reach a Ray head at 127.0.0.1:1" in result.stderr


@pytest.mark.parametrize("text", ["", " ", "abc", "2MB", "-1", "0", "1e999"])
def test_search_max_params_refuses_what_is_not_a_positive_count(text):
    from lightspeech_cli.errors import InputError
    from lightspeech_cli.search.run import parse_count

    with pytest.raises(InputError, match="--max-params"):
        parse_count(text)
    assert parse_count("1.8M") == 1_800_000 and parse_count("800k") == 800_000


def test_rounds_start_with_half_at_random_and_share_the_rest():
    def sizes(candidates, rounds):
        return Budget(**{**TINY_BUDGET.__dict__, "candidates": candidates, "rounds": rounds}).round_sizes()

    assert sizes(32, 2) == [16, 16]
    assert sizes(200, 3) == [100, 50, 50]
    assert sizes(1000, 4) == [502, 166, 166, 166]
    assert sizes(7, 1) == [7]
    assert sizes(2, 3) == [1, 1, 1]


def run_search(training_folder, output, strategy, **budget):
    chosen = Budget(**{**TINY_BUDGET.__dict__, "candidates": 8, "rounds": 3, "final_seeds": 2, **budget})
    search = Search(
        training_folder, output, chosen, Constraints(), LocalRunner(1), TINY, log=lambda _: None, strategy=strategy
    )
    return search, search.run()


def test_a_guided_search_trains_in_rounds_and_its_finalists_from_each_seed(tmp_path, training_folder):
    search, summary = run_search(training_folder, tmp_path / "guided", "guided", finalists=2)
    rounds = summary["rounds"]
    assert [len(r) for r in rounds] == [4, 2, 2]
    assert len(set(sum(rounds, []))) == 8  # no candidate twice
    assert [q["round"] for q in summary["predictor"]] == [1, 2, 3]
    assert [q["candidates"] for q in summary["predictor"]] == [4, 6, 8]
    assert [(p["predicted"]["candidates"], p["random"]["candidates"]) for p in summary["picks"]] == [
        (0, 4),
        (2, 0),
        (2, 0),
    ]
    assert all(-1 <= q["kendall_tau"] <= 1 for q in summary["predictor"])
    finals = search.store.results("final")
    finalists = search.store.get_state("finalists")
    assert len(finalists) == 2
    assert sorted((r.architecture, r.seed) for r in finals) == sorted(
        (a, seed) for a in finalists + [references(TINY)["lightspeech"]] for seed in (0, 1)
    )
    assert {r.steps for r in search.store.results("proxy")} == {TINY_BUDGET.proxy_steps}
    assert summary["winner"] in finalists
    assert "| 3 | 8 |" in (tmp_path / "guided" / "results.md").read_text()  # round 3's predictor quality


def test_a_random_search_samples_every_candidate_and_keeps_its_best_trained(tmp_path, training_folder):
    search, summary = run_search(training_folder, tmp_path / "random", "random", finalists=3)
    assert [len(r) for r in summary["rounds"]] == [8]
    proxy = {r.architecture: r.loss for r in search.store.results("proxy")}
    best = sorted(summary["rounds"][0], key=proxy.get)[:3]
    assert search.store.get_state("finalists") == best
    assert (
        summary["strategy"] == "random"
        and "Random search: 8 candidates" in (tmp_path / "random" / "results.md").read_text()
    )
    # round 1 of a guided search with the same seed starts from the same candidates
    guided = Search(
        training_folder,
        tmp_path / "guided",
        Budget(**{**TINY_BUDGET.__dict__, "candidates": 8, "rounds": 3}),
        Constraints(),
        None,
        TINY,
        log=lambda _: None,
    )
    assert guided.sample_candidates(random.Random("0 round 1"), 4) == [
        TINY.encode(Architecture.parse(a)) for a in summary["rounds"][0][:4]
    ]
    with pytest.raises(ValueError, match="strategy"):
        Search(training_folder, tmp_path / "other", TINY_BUDGET, Constraints(), None, TINY, strategy="best")
