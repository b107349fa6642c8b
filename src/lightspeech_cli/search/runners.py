"""Where candidates train: a local process pool, or a Ray cluster.

Both take ProxyTasks and yield (task, result) pairs as each finishes, so the search
records every result the moment it exists.
"""

from __future__ import annotations

import multiprocessing
import socket
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Iterable, Iterator

from .proxy import ProxyTask, train_candidate


class LocalRunner:
    """`workers` processes, each training one candidate at a time."""

    def __init__(self, workers: int):
        self.workers = workers

    def run(self, tasks: Iterable[ProxyTask]) -> Iterator[tuple[ProxyTask, dict]]:
        tasks = list(tasks)
        if not tasks:
            return
        # spawn, not fork: a forked copy of a process that has used torch's thread pool can hang.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(self.workers, len(tasks)), mp_context=context) as pool:
            pending = {pool.submit(train_candidate, task): task for task in tasks}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield pending.pop(future), future.result()

    def describe(self) -> str:
        return f"local process pool, {self.workers} worker(s)"


def reachable_or_raise(address: str, timeout: float = 5.0) -> None:
    """ray.init retries an unreachable HOST:PORT for minutes, printing warnings; fail at once."""
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except (OSError, ValueError) as e:
        raise ConnectionError(f"cannot reach a Ray head at {address} ({e})") from None


class RayRunner:
    """Tasks on a Ray cluster (`address` as ray.init takes it: "auto", "ray://host:10001",
    or "local" to start one on this machine). Every node needs lightspeech installed and
    the training folder at the same path."""

    def __init__(self, address: str, num_cpus: int | None = None):
        import ray

        if address not in ("auto", "local") and not address.startswith("ray://"):
            reachable_or_raise(address)
        self.ray = ray
        if not ray.is_initialized():
            options: dict[str, Any] = {"num_cpus": num_cpus} if address == "local" and num_cpus else {}
            ray.init(address=address, include_dashboard=False, log_to_driver=False, **options)
        self.address = address

    def run(self, tasks: Iterable[ProxyTask]) -> Iterator[tuple[ProxyTask, dict]]:
        remote = {}
        for task in tasks:
            function = self.ray.remote(num_cpus=task.threads)(train_candidate)
            remote[function.remote(task)] = task
        while remote:
            finished, _ = self.ray.wait(list(remote), num_returns=1)
            for reference in finished:
                yield remote.pop(reference), self.ray.get(reference)

    def describe(self) -> str:
        resources = self.ray.cluster_resources()
        return f"Ray cluster at {self.address}, {int(resources.get('CPU', 0))} CPU(s)"
