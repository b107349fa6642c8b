"""The search, GBDT-NAS style, in rounds (each step resumable through the result store):

1. round 1: sample candidates at random that meet the constraints (parameters counted
   exactly, latency measured on this CPU, one thread), and proxy-train them, with the
   references (the paper's LightSpeech and FastSpeech 2);
2. each later round: fit the tree predictor on every candidate trained so far, report its
   ranking quality on candidates it did not see (k-fold Kendall's tau and pairwise
   accuracy), rank a large pool of unseen candidates, and proxy-train the best predicted
   with some random ones beside them (so the predictor also learns where it is wrong);
3. finalists: the best by proxy estimate, measured where trained and predicted elsewhere,
   trained for longer from `final_seeds` seeds, with the paper's architecture; the lowest
   mean final loss wins;
4. report: results table, Pareto front of loss against latency, winning architecture.

With `strategy="random"` every candidate is sampled at random and the finalists are the
best trained ones: the baseline GBDT-NAS claims to beat at equal cost.
Latency is measured only while no candidate trains, so the CPU is quiet.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ..runtime.format.arch import PRESETS, Architecture
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
STRATEGIES = ("guided", "random")


@dataclass(frozen=True)
class Budget:
    candidates: int  # sampled and proxy-trained
    proxy_steps: int
    train_utterances: int  # the proxy's training subset
    validation_utterances: int
    max_frames: int  # per batch
    pool: int  # unseen candidates the predictor ranks, each round
    finalists: int  # best-ranked candidates trained for longer
    final_steps: int
    rounds: int = 3  # round 1 random; the predictor picks most of the others
    final_seeds: int = 2
    explore_share: float = 0.25  # of each later round, sampled at random rather than predicted

    def round_sizes(self) -> list[int]:
        """Candidates per round: half at random in round 1 (GBDT-NAS starts from 1,000 and adds
        300 per round), the rest evenly over the later rounds."""
        if self.rounds <= 1:
            return [self.candidates]
        later = max(1, self.candidates // (2 * (self.rounds - 1)))
        return [max(1, self.candidates - later * (self.rounds - 1))] + [later] * (self.rounds - 1)

    def explored(self, size: int) -> int:
        """How many of a later round's `size` candidates are sampled at random; they follow
        the predicted ones in the round's record."""
        return round(size * self.explore_share) if size > 1 else 0


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
        rounds=2,
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
        strategy: str = "guided",
    ):
        if strategy not in STRATEGIES:
            raise ValueError(f"the strategy is one of {', '.join(STRATEGIES)}, not {strategy!r}")
        self.workdir, self.output, self.budget = workdir, output, budget
        self.constraints, self.runner, self.space, self.seed, self.log = constraints, runner, space, seed, log
        self.strategy = strategy
        output.mkdir(parents=True, exist_ok=True)
        self.store = ResultStore(output / "results.sqlite")
        self.store.check_settings(
            {
                "budget": asdict(budget),
                "constraints": asdict(constraints),
                "space": asdict(space),
                "seed": seed,
                "strategy": strategy,
                "workdir": str(workdir.resolve()),
            }
        )

    # -- constraints ----------------------------------------------------------
    def latency(self, architecture: str) -> float:
        """Measured once per architecture and stored, so a resumed search sees the same numbers."""
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

    def sample_candidates(
        self, rng: random.Random, count: int | None = None, seen=frozenset()
    ) -> list[tuple[int, ...]]:
        """`count` (default: the budget's) new candidates that meet the constraints, at random."""
        count = self.budget.candidates if count is None else count
        chosen: list[tuple[int, ...]] = []
        tries = 0
        while len(chosen) < count:
            tries += 1
            if tries > MAX_TRIES_PER_CANDIDATE * count:
                raise ValueError(
                    f"only {len(chosen)} of {tries - 1} sampled candidates meet the constraints; "
                    "loosen --max-params or --max-latency-ms"
                )
            tokens = self.space.sample(rng)
            if tokens not in chosen and tokens not in seen and self.fits(tokens):
                chosen.append(tokens)
        return chosen

    # -- training -------------------------------------------------------------
    def task(self, architecture: str, steps: int, seed: int) -> ProxyTask:
        b = self.budget
        return ProxyTask(
            architecture, str(self.workdir), steps, b.train_utterances, b.validation_utterances, b.max_frames, seed
        )

    def train(self, jobs: list[tuple[str, str]], steps: int, seeds: int = 1) -> None:
        """Train each (architecture, stage) from each of `seeds` seeds where the store does not
        hold it yet; store each as it finishes."""
        todo = [(a, s, self.seed + k) for a, s in dict.fromkeys(jobs) for k in range(seeds)]
        todo = [(a, s, seed) for a, s, seed in todo if (a, seed) not in self.store.done(s)]
        if not todo:
            return
        for architecture, _, _ in todo:
            self.latency(architecture)  # measured now, while nothing trains
        tasks = [(self.task(a, steps, seed), stage) for a, stage, seed in todo]
        stage_of = {id(task): stage for task, stage in tasks}
        self.log(f"training {len(todo)} run(s) for {steps} steps on the {self.runner.describe()}")
        for task, outcome in self.runner.run(task for task, _ in tasks):
            architecture = task.architecture
            result = Result(
                architecture,
                stage_of[id(task)],
                steps,
                self.parameters(architecture),
                self.latency(architecture),
                outcome["validation"]["total"],
                outcome["validation"],
                outcome["seconds"],
                task.seed,
            )
            self.store.add(result)
            self.log(
                f"  {result.stage:9} loss {result.loss:.4f}  {result.parameters / 1e6:5.2f}M  "
                f"{result.latency_ms:6.1f} ms  {outcome['seconds']:5.0f} s  {architecture}"
            )

    @staticmethod
    def parameters(architecture: str) -> int:
        from ..model.acoustic import AcousticModel, count_parameters
        from ..runtime.format.voice import ModelConfig

        return count_parameters(AcousticModel(ModelConfig(architecture=architecture)))

    # -- the predictor --------------------------------------------------------
    def proxy_losses(self, candidates: list[tuple[int, ...]]) -> list[float]:
        results = {r.architecture: r.loss for r in self.store.results("proxy")}
        return [results[str(self.space.decode(t))] for t in candidates]

    def fit_predictor(self, trained: list[tuple[int, ...]], round_number: int):
        """The predictor on every candidate trained so far, and its quality on those it did
        not see (k-fold), logged and kept per round."""
        losses = self.proxy_losses(trained)
        features = self.space.features(trained)
        key = f"predictor quality, round {round_number}"
        quality = self.store.get_state(key)
        if quality is None:
            folds = min(5, len(trained))
            held_out = out_of_fold_predictions(features, losses, folds=folds, seed=self.seed)
            quality = {
                "round": round_number,
                "candidates": len(trained),
                "folds": folds,
                "pairwise_accuracy": round(pairwise_accuracy(held_out, losses), 4),
                "kendall_tau": round(kendall_tau(held_out, losses), 4),
            }
            self.store.set_state(key, quality)
        self.log(
            f"predictor after round {round_number}, on held-out candidates ({quality['folds']}-fold over "
            f"{quality['candidates']}): pairwise accuracy {quality['pairwise_accuracy']:.3f}, "
            f"Kendall's tau {quality['kendall_tau']:.3f}"
        )
        return fit_predictor(features, losses, self.seed), quality

    def ranked_pool(self, predictor, seen: set, rng: random.Random) -> list[tuple[int, ...]]:
        """`budget.pool` draws of unseen candidates under the parameter limit, best predicted first."""
        pool = []
        limit = self.constraints.max_parameters
        seen = set(seen)
        for _ in range(self.budget.pool):
            tokens = self.space.sample(rng)
            if tokens not in seen and (limit is None or self.space.parameters(tokens) <= limit):
                seen.add(tokens)
                pool.append(tokens)
        return [pool[i] for i in predict(predictor, self.space.features(pool)).argsort()] if pool else []

    def next_round(self, predictor, trained: list, size: int, rng: random.Random) -> list[tuple[int, ...]]:
        """The best predicted unseen candidates that meet the constraints, and a share at random."""
        explore = self.budget.explored(size)
        chosen: list[tuple[int, ...]] = []
        for tokens in self.ranked_pool(predictor, set(trained), rng):
            if len(chosen) == size - explore:
                break
            if self.fits(tokens):
                chosen.append(tokens)
        return chosen + self.sample_candidates(rng, explore, seen=set(trained) | set(chosen))

    def round_sizes(self) -> list[int]:
        return self.budget.round_sizes() if self.strategy == "guided" else [self.budget.candidates]

    def rounds(self, references: list[tuple[str, str]]) -> list[tuple[int, ...]]:
        """Every round: its candidates chosen (or read back, when resumed) and proxy-trained,
        round 1's with the `references`. Returns every trained candidate."""
        trained: list[tuple[int, ...]] = []
        for number, size in enumerate(self.round_sizes(), 1):
            rng = random.Random(f"{self.seed} round {number}")
            stored = self.store.get_state(f"round {number}")
            if stored is not None:
                chosen = [self.space.encode(Architecture.parse(a)) for a in stored]
            else:
                if number == 1:
                    chosen = self.sample_candidates(rng, size)
                else:
                    predictor, _ = self.fit_predictor(trained, number - 1)
                    chosen = self.next_round(predictor, trained, size, rng)
                self.store.set_state(f"round {number}", [str(self.space.decode(t)) for t in chosen])
            self.log(f"round {number}: {len(chosen)} candidate(s)")
            jobs = [(str(self.space.decode(t)), "proxy") for t in chosen]
            self.train((references if number == 1 else []) + jobs, self.budget.proxy_steps)
            trained += chosen
        return trained

    def choose_finalists(self, predictor, trained: list[tuple[int, ...]]) -> list[str]:
        """The best `budget.finalists` by proxy estimate that meet the constraints: measured for
        trained candidates; guided, also predicted for a fresh pool of unseen ones."""
        stored = self.store.get_state("finalists")
        if stored is not None:
            return stored
        scored = list(zip(self.proxy_losses(trained), trained, strict=True))
        if self.strategy == "guided":
            rng = random.Random(f"{self.seed} finalists")
            ranked = self.ranked_pool(predictor, set(trained), rng)
            self.store.set_state("ranked", len(ranked))  # the report states this, not the pool it drew from
            scored += zip(predict(predictor, self.space.features(ranked)), ranked, strict=True) if ranked else []
        finalists: list[str] = []
        for _, tokens in sorted(scored, key=lambda pair: pair[0]):
            if len(finalists) == self.budget.finalists:
                break
            if self.fits(tokens):
                finalists.append(str(self.space.decode(tokens)))
        self.log(f"finalists: the {len(finalists)} best by proxy estimate ({self.strategy})")
        self.store.set_state("finalists", finalists)
        return finalists

    # -- all ------------------------------------------------------------------
    def run(self) -> dict:
        baselines = references(self.space)
        # FastSpeech 2 first: the longest job should not start last.
        trained = self.rounds([(baselines["fastspeech2"], "reference"), (baselines["lightspeech"], "reference")])
        predictor, _ = self.fit_predictor(trained, len(self.round_sizes()))
        finalists = self.choose_finalists(predictor, trained)
        # Predicted finalists also get a proxy run, so every architecture compares at one budget.
        self.train([(a, "proxy") for a in finalists], self.budget.proxy_steps)
        self.train(
            [(a, "final") for a in finalists + [baselines["lightspeech"]]],
            self.budget.final_steps,
            self.budget.final_seeds,
        )
        from .report import write_report

        qualities = [
            self.store.get_state(f"predictor quality, round {n}") for n in range(1, len(self.round_sizes()) + 1)
        ]
        return write_report(
            self.store,
            self.output,
            finalists,
            baselines,
            [q for q in qualities if q is not None],
            self.budget,
            self.constraints,
            self.strategy,
        )


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
