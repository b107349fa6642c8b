"""The search, GBDT-NAS style, in five steps (each resumable through the result store):

1. sample candidates that meet the constraints: parameters counted exactly, latency
   measured on this CPU (one thread), never estimated;
2. proxy-train them (and the references: the paper's LightSpeech and FastSpeech 2);
3. fit the tree predictor on their tokens and losses, reporting its ranking quality
   on candidates it did not see (k-fold pairwise accuracy and Kendall's tau);
4. rank a large pool of unseen candidates and train the best few (with the best
   proxy-trained one and, as a reference, the paper's architecture) for longer;
5. report: results table, Pareto front of loss against latency, winning architecture.

Latency is measured only while no candidate trains, so the CPU is quiet.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ..runtime.format.arch import PRESETS
from .predictor import fit_predictor, kendall_tau, out_of_fold_predictions, pairwise_accuracy, predict
from .proxy import ProxyTask
from .space import SearchSpace, measure_latency_ms
from .store import Result, ResultStore


def references(space: SearchSpace) -> dict[str, str]:
    """The paper's LightSpeech and FastSpeech 2 at the search's hidden size, trained beside
    the candidates so the found architecture can be compared with both."""
    return {name: str(PRESETS[name].with_hidden(space.hidden)) for name in ("lightspeech", "fastspeech2")}


# Constraints that reject more than this many samples per wanted candidate are too tight to search.
MAX_TRIES_PER_CANDIDATE = 50


@dataclass(frozen=True)
class Budget:
    candidates: int  # sampled and proxy-trained
    proxy_steps: int
    train_utterances: int  # the proxy's training subset
    validation_utterances: int
    max_frames: int  # per batch
    pool: int  # unseen candidates the predictor ranks
    finalists: int  # best-ranked unseen candidates trained for longer
    final_steps: int


# Costs on 2 CPU cores (2 workers); see docs/search.md.
BUDGETS = {
    "small": Budget(
        candidates=32,
        proxy_steps=200,
        train_utterances=800,
        validation_utterances=50,
        max_frames=3000,
        pool=10_000,
        finalists=3,
        final_steps=800,
    ),
    "medium": Budget(
        candidates=200,
        proxy_steps=500,
        train_utterances=3000,
        validation_utterances=100,
        max_frames=4000,
        pool=100_000,
        finalists=5,
        final_steps=3000,
    ),
    "large": Budget(
        candidates=1000,
        proxy_steps=2000,
        train_utterances=100_000,
        validation_utterances=150,
        max_frames=6000,
        pool=1_000_000,
        finalists=10,
        final_steps=20_000,
    ),
}


@dataclass(frozen=True)
class Constraints:
    max_parameters: int | None = None
    max_latency_ms: float | None = None


class Search:
    def __init__(
        self,
        workdir: Path,
        output: Path,
        budget: Budget,
        constraints: Constraints,
        runner,
        space: SearchSpace = SearchSpace(),
        seed: int = 0,
        log: Callable[[str], None] = print,
    ):
        self.workdir, self.output, self.budget = workdir, output, budget
        self.constraints, self.runner, self.space, self.seed, self.log = constraints, runner, space, seed, log
        output.mkdir(parents=True, exist_ok=True)
        self.store = ResultStore(output / "results.sqlite")
        self.store.check_settings(
            {
                "budget": asdict(budget),
                "constraints": asdict(constraints),
                "space": asdict(space),
                "seed": seed,
                "workdir": str(workdir.resolve()),
            }
        )

    # -- step 1 ---------------------------------------------------------------
    def latency(self, architecture: str) -> float:
        """Measured once per architecture and stored, so a resumed search sees the same numbers."""
        from ..runtime.format.arch import Architecture

        stored = self.store.get_state(f"latency {architecture}")
        if stored is None:
            stored = round(measure_latency_ms(Architecture.parse(architecture)), 3)
            self.store.set_state(f"latency {architecture}", stored)
        return stored

    def fits(self, tokens: tuple[int, ...]) -> bool:
        limits = self.constraints
        if limits.max_parameters is not None and self.space.parameters(tokens) > limits.max_parameters:
            return False
        return limits.max_latency_ms is None or self.latency(str(self.space.decode(tokens))) <= limits.max_latency_ms

    def sample_candidates(self, rng: random.Random) -> list[tuple[int, ...]]:
        chosen: list[tuple[int, ...]] = []
        tries = 0
        while len(chosen) < self.budget.candidates:
            tries += 1
            if tries > MAX_TRIES_PER_CANDIDATE * self.budget.candidates:
                raise ValueError(
                    f"only {len(chosen)} of {tries - 1} sampled candidates meet the constraints; "
                    "loosen --max-params or --max-latency-ms"
                )
            tokens = self.space.sample(rng)
            if tokens not in chosen and self.fits(tokens):
                chosen.append(tokens)
        return chosen

    # -- steps 2 and 4 --------------------------------------------------------
    def task(self, architecture: str, steps: int) -> ProxyTask:
        b = self.budget
        return ProxyTask(
            architecture, str(self.workdir), steps, b.train_utterances, b.validation_utterances, b.max_frames, self.seed
        )

    def train(self, jobs: list[tuple[str, str]], steps: int) -> None:
        """Train each (architecture, stage) not yet in the store; store each as it finishes."""
        todo = [(a, s) for a, s in dict.fromkeys(jobs) if a not in self.store.done(s)]
        if not todo:
            return
        for architecture, _ in todo:
            self.latency(architecture)  # measured now, while nothing trains
        tasks = [(self.task(a, steps), stage) for a, stage in todo]
        stage_of = {id(task): stage for task, stage in tasks}
        self.log(f"training {len(todo)} candidate(s) for {steps} steps on the {self.runner.describe()}")
        for task, outcome in self.runner.run(task for task, _ in tasks):
            architecture = task.architecture
            parameters = self.parameters(architecture)
            result = Result(
                architecture,
                stage_of[id(task)],
                steps,
                parameters,
                self.latency(architecture),
                outcome["validation"]["total"],
                outcome["validation"],
                outcome["seconds"],
            )
            self.store.add(result)
            self.log(
                f"  {result.stage:9} loss {result.loss:.4f}  {parameters / 1e6:5.2f}M  "
                f"{result.latency_ms:6.1f} ms  {outcome['seconds']:5.0f} s  {architecture}"
            )

    @staticmethod
    def parameters(architecture: str) -> int:
        from ..model.acoustic import AcousticModel, count_parameters
        from ..runtime.format.voice import ModelConfig

        return count_parameters(AcousticModel(ModelConfig(architecture=architecture)))

    # -- step 3 ---------------------------------------------------------------
    def fit_predictor(self, sampled: list[tuple[int, ...]]):
        results = {r.architecture: r.loss for r in self.store.results("proxy")}
        losses = [results[str(self.space.decode(t))] for t in sampled]
        quality = self.store.get_state("predictor quality")
        if quality is None:
            held_out = out_of_fold_predictions(sampled, losses, folds=min(5, len(sampled)), seed=self.seed)
            quality = {
                "candidates": len(sampled),
                "folds": min(5, len(sampled)),
                "pairwise_accuracy": round(pairwise_accuracy(held_out, losses), 4),
                "kendall_tau": round(kendall_tau(held_out, losses), 4),
            }
            self.store.set_state("predictor quality", quality)
        self.log(
            f"predictor on held-out candidates ({quality['folds']}-fold): pairwise accuracy "
            f"{quality['pairwise_accuracy']:.3f}, Kendall's tau {quality['kendall_tau']:.3f}"
        )
        return fit_predictor(sampled, losses, self.seed), quality

    def choose_finalists(self, predictor, sampled: list[tuple[int, ...]], rng: random.Random) -> list[str]:
        stored = self.store.get_state("finalists")
        if stored is not None:
            return stored
        seen = set(sampled)
        pool = []
        limit = self.constraints.max_parameters
        for _ in range(self.budget.pool):
            tokens = self.space.sample(rng)
            if tokens not in seen and (limit is None or self.space.parameters(tokens) <= limit):
                seen.add(tokens)
                pool.append(tokens)
        ranked = [pool[i] for i in predict(predictor, pool).argsort()] if pool else []
        finalists: list[str] = []
        for tokens in ranked:  # best predicted first; latency measured until enough fit
            if len(finalists) == self.budget.finalists:
                break
            if self.fits(tokens):
                finalists.append(str(self.space.decode(tokens)))
        best_trained = min(self.store.results("proxy"), key=lambda r: r.loss).architecture
        finalists.append(best_trained)
        self.log(
            f"ranked {len(pool):,} unseen candidates; finalists: {len(finalists) - 1} best predicted "
            "and the best proxy-trained"
        )
        self.store.set_state("ranked", len(pool))  # the report states this, not the pool it drew from
        self.store.set_state("finalists", finalists)
        return finalists

    # -- all ------------------------------------------------------------------
    def run(self) -> dict:
        rng = random.Random(self.seed)
        sampled = self.sample_candidates(rng)
        proxy = [(str(self.space.decode(t)), "proxy") for t in sampled]
        baselines = references(self.space)
        # FastSpeech 2 first: the longest job should not start last.
        self.train(
            [(baselines["fastspeech2"], "reference"), (baselines["lightspeech"], "reference")] + proxy,
            self.budget.proxy_steps,
        )
        predictor, quality = self.fit_predictor(sampled)
        finalists = self.choose_finalists(predictor, sampled, rng)
        # Finalists also get a proxy-budget run, so every architecture compares at one budget.
        self.train([(a, "proxy") for a in finalists], self.budget.proxy_steps)
        self.train([(a, "final") for a in finalists + [baselines["lightspeech"]]], self.budget.final_steps)
        from .report import write_report

        return write_report(self.store, self.output, finalists, baselines, quality, self.budget, self.constraints)


def parse_count(text: str) -> int:
    """'1.8M', '800k' or '2000000' -> an integer."""
    from ..errors import InputError

    scale = {"k": 1_000, "m": 1_000_000}.get(text.strip()[-1:].lower(), 1)
    number = text.strip()[:-1] if scale > 1 else text.strip()
    try:
        value = float(number) * scale
    except ValueError:
        raise InputError(f"--max-params: expected a number such as 2M or 800k, not {text!r}") from None
    if not 0 < value < 1e12:
        raise InputError(f"--max-params must be a positive count below 1e12, not {text!r}")
    return int(value)


def plan_search(
    workdir: Path, budget: str, overrides: dict, max_params: str | None, max_latency_ms: float | None, hidden: int
) -> tuple[Budget, Constraints, SearchSpace]:
    """The budget (with overrides), constraints and space of a search, after checking that
    the training folder and the search's extra packages are there."""
    from dataclasses import replace

    from ..errors import InputError

    if hidden % 8:
        raise InputError(f"--hidden must be a multiple of 8 (attention has up to 8 heads), not {hidden}")
    for needed in ("corpus/metadata.jsonl", "features/stats.json"):
        if not (workdir / needed).exists():
            raise InputError(f"{workdir} has no {needed}; run `lightspeech train corpus` and `train features` first")
    try:
        import lightgbm  # noqa: F401
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise InputError(f"the search needs {e.name}: pip install -e '.[search]'") from None
    chosen = replace(BUDGETS[budget], **{k: v for k, v in overrides.items() if v is not None})
    constraints = Constraints(parse_count(max_params) if max_params is not None else None, max_latency_ms)
    return chosen, constraints, SearchSpace(hidden)


def make_runner(workers: int, ray_address: str | None):
    """A Ray runner for `ray_address`, else a local process pool of `workers`."""
    from ..errors import InputError

    if not ray_address:
        from .runners import LocalRunner

        return LocalRunner(workers)
    from .runners import RayRunner

    try:
        return RayRunner(ray_address)
    except ImportError:
        raise InputError("--ray needs Ray: pip install -e '.[search]'") from None
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise InputError(f"--ray {ray_address}: {e}") from None
