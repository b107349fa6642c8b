"""search/proxy.py: one schedule for every run, and validations along it."""

import math

from lightspeech_cli.search.proxy import WARMUP_STEPS, ProxyTask, train_candidate, validation_steps

TINY = "sep5 identity | att2 sep1 hidden=16 predictor=sep postnet=0"


def test_validation_steps_are_spread_evenly_and_end_with_the_last():
    assert validation_steps(800, 8) == [100, 200, 300, 400, 500, 600, 700, 800]
    assert validation_steps(200, 4) == [50, 100, 150, 200]
    assert validation_steps(3, 8) == [1, 2, 3]
    assert validation_steps(10, 1) == [10]


def test_a_proxy_reports_its_curve(training_folder):
    task = ProxyTask(TINY, str(training_folder), 6, 8, 2, 200, validations=3)
    assert task.warmup == WARMUP_STEPS  # one schedule, whatever the length
    result = train_candidate(task)
    assert [step for step, _, _ in result["curve"]] == [2, 4, 6]
    assert result["curve"][-1][1] == result["validation"]["total"]
    assert all(seconds > 0 for _, _, seconds in result["curve"])
    assert math.isfinite(result["seconds"])
    again = train_candidate(task)  # the same seed: the same run
    assert again["curve"][-1][1] == result["curve"][-1][1]
