"""serve/pool.py's worker threads: who goes next."""

import asyncio
import threading

import pytest

from lightspeech_cli.serve.pool import FIRST_LEVEL_SECONDS, OrderedWorkers, turn


@pytest.fixture
def one_worker():
    threads = OrderedWorkers(1)
    yield threads
    threads.shutdown()


def occupy(threads: OrderedWorkers) -> threading.Event:
    """Keeps the only worker busy until the returned event is set."""
    busy, release = threading.Event(), threading.Event()
    threads.submit(0.0, lambda: (busy.set(), release.wait()))
    assert busy.wait(5)
    return release


def test_the_lowest_order_goes_first_and_equals_in_arrival_order(one_worker):
    release = occupy(one_worker)
    order = []
    futures = [
        one_worker.submit(served, order.append, name)
        for served, name in [(5.0, "long, 2nd"), (0.0, "new"), (5.0, "long, 3rd"), (0.0, "newer"), (1.5, "short")]
    ]
    release.set()
    for future in futures:
        future.result(5)
    assert order == ["new", "newer", "short", "long, 2nd", "long, 3rd"]


def test_a_call_returns_its_value_or_raises_its_error(one_worker):
    assert one_worker.submit(0.0, pow, 2, 10).result(5) == 1024
    with pytest.raises(ZeroDivisionError):
        one_worker.submit(0.0, lambda: 1 / 0).result(5)


def test_a_cancelled_call_is_skipped(one_worker):
    release = occupy(one_worker)
    ran = []
    skipped = one_worker.submit(0.0, ran.append, "cancelled")
    kept = one_worker.submit(0.0, ran.append, "kept")
    assert skipped.cancel()
    release.set()
    kept.result(5)
    assert ran == ["kept"]


def test_shutdown_finishes_the_call_in_progress_and_cancels_the_waiting():
    threads = OrderedWorkers(1)
    started, release = threading.Event(), threading.Event()
    in_progress = threads.submit(0.0, lambda: (started.set(), release.wait(), "finished")[-1])
    assert started.wait(5)
    waiting = threads.submit(0.0, print, "never")
    stopping = threading.Thread(target=threads.shutdown)
    stopping.start()
    stopping.join(0.2)
    assert stopping.is_alive() and waiting.cancelled()  # cancelled at once, in progress still
    release.set()
    stopping.join(5)
    assert in_progress.result(0) == "finished"
    with pytest.raises(RuntimeError, match="stopped"):
        threads.submit(0.0, print)


def test_turns_go_by_level_of_worker_time_then_by_request_arrival():
    first, second = 0, 1
    assert turn(0.0, second) < turn(0.0, first + 2)
    assert turn(0.0, first) < turn(0.9 * FIRST_LEVEL_SECONDS, second)  # one level: oldest first
    assert turn(0.9 * FIRST_LEVEL_SECONDS, first) < turn(0.0, second)
    assert turn(FIRST_LEVEL_SECONDS, first) > turn(0.0, second)  # a long request yields
    assert turn(1.9 * FIRST_LEVEL_SECONDS, first) < turn(2.0 * FIRST_LEVEL_SECONDS, first)
    assert turn(2.0 * FIRST_LEVEL_SECONDS, first) == turn(3.9 * FIRST_LEVEL_SECONDS, first)


def test_a_voice_a_client_names_is_loaded_once_on_the_worker_threads():
    """The pool loads another installed voice on its workers the first time it is asked for,
    once however many ask at the same time, and keeps it."""
    from lightspeech_cli.runtime.format.voice import installed_voices_dir
    from lightspeech_cli.serve.pool import SpeakerPool

    from ..helpers import make_tiny_voice

    make_tiny_voice(installed_voices_dir() / "tiny")
    pool = SpeakerPool(None, 1, 0, 1000)
    try:

        async def ask_twice():
            return await asyncio.gather(pool.synthesizer("tiny"), pool.synthesizer("tiny"))

        first, second = asyncio.run(ask_twice())
        assert first is second and first.voice.name == "tiny"
        assert asyncio.run(pool.synthesizer("tiny")) is first
    finally:
        pool.close()
