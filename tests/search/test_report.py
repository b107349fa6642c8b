"""The search report states what the search did: the number of candidates the predictor
ranked is the one the search recorded (and logged), not the size of the pool it drew."""

import re
import shutil
from pathlib import Path

import pytest

from lightspeech_cli.search.report import write_report
from lightspeech_cli.search.run import BUDGETS, Constraints, references
from lightspeech_cli.search.space import SearchSpace
from lightspeech_cli.search.store import ResultStore

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "search"


def logged_ranked() -> int:
    found = re.findall(r"^ranked ([\d,]+) unseen candidates", (COMMITTED / "search.log").read_text(), re.M)
    assert len(found) == 1
    return int(found[0].replace(",", ""))


def report_from_committed_results(tmp_path, ranked):
    store_path = tmp_path / "results.sqlite"
    shutil.copy(COMMITTED / "results.sqlite", store_path)
    store = ResultStore(store_path)
    if ranked is not None:
        store.set_state("ranked", ranked)
    output = tmp_path / "out"
    output.mkdir()
    write_report(
        store,
        output,
        store.get_state("finalists"),
        references(SearchSpace(hidden=256, predictor="sep")),
        store.get_state("predictor quality"),
        BUDGETS["small"],
        Constraints(max_parameters=2_000_000, max_latency_ms=14.0),
    )
    return (output / "results.md").read_text()


def test_the_committed_report_is_what_the_committed_results_and_log_make(tmp_path):
    pytest.importorskip("matplotlib")
    ranked = logged_ranked()
    assert ranked == 3812 and ranked < BUDGETS["small"].pool
    report = report_from_committed_results(tmp_path, ranked)
    assert "3,812 ranked (of 10,000 drawn;" in report and "10,000 ranked" not in report
    assert report == (COMMITTED / "results.md").read_text()


def test_a_search_that_did_not_record_the_count_does_not_state_the_pool_as_ranked(tmp_path):
    pytest.importorskip("matplotlib")
    report = report_from_committed_results(tmp_path, None)
    assert "up to 10,000 ranked (the number was not recorded)" in report
