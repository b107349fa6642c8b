"""Does a cheap estimate of a candidate's quality keep the order that longer training gives?

The search ranks candidates by a proxy; if the proxy's order is not the long runs' order,
the search optimizes the wrong thing. This trains ARCHITECTURES (the paper's, the committed
search's winner, all-attention, a FastSpeech-like stack, all-identity, small and large
kernels, mixes) from 2 seeds each for --steps steps of the search's one learning-rate
schedule, validating every --steps/8 steps, and compares, by Kendall's tau, each estimate
with the long runs' final loss:

    the loss at an early step     the proxy is the first steps of the same run
    extrapolated                  a power law through the early validations, to --steps
    training-free                 gradient saliency at initialization; parameter count
    noise floor                   seed 0's final loss against seed 1's

An estimate from seed s is compared with the other seed's final loss, so the two share no
noise. Over all architectures, and over those under 2M parameters (the region a search
under the paper's size limit explores). Each finished run is appended to --results
(JSON lines), so a killed benchmark resumes where it stopped:

    lightspeech train corpus WORK --sentences 2000 --jobs 2 && lightspeech train features WORK
    python bench/search_fidelity.py WORK > bench/search_fidelity.txt

Takes about 1.5 hours on 2 cores. Needs '.[search]'.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np
from machine_info import machine, version

from lightspeech_cli.search.predictor import kendall_tau
from lightspeech_cli.search.proxy import ProxyTask, initial_model, train_candidate
from lightspeech_cli.search.run import Search
from lightspeech_cli.train.fit import batches, load_split, losses

SUFFIX = " hidden=256 predictor=sep postnet=0"
ARCHITECTURES = {
    "paper (LightSpeech)": "sep5 sep25 sep13 sep9 | sep17 sep21 sep9 sep13",
    "committed winner": "sep21 sep25 att8 sep17 | sep25 identity sep13 sep13",
    "all-attention": "att2 att4 att8 att4 | att2 att4 att8 att4",
    "FastSpeech-like": "att2 ffn att2 ffn | att2 ffn att2 ffn",
    "all-identity": "identity identity identity identity | identity identity identity identity",
    "small kernels": "sep1 sep5 sep1 sep5 | sep5 sep1 sep5 sep1",
    "large kernels": "sep25 sep21 sep25 sep21 | sep25 sep21 sep25 sep21",
    "sep13 everywhere": "sep13 sep13 sep13 sep13 | sep13 sep13 sep13 sep13",
    "half identity": "sep9 identity sep13 identity | sep17 identity sep9 identity",
    "attention encoder": "att4 att4 att4 att4 | sep9 sep13 sep17 sep21",
    "mix": "sep9 att4 sep13 identity | sep17 sep9 att2 sep21",
    "shallow": "sep9 identity identity identity | sep17 identity identity identity",
}
SEEDS = (0, 1)
SMALL = 2_000_000  # parameters: the paper's size class
EXPONENTS = np.geomspace(0.05, 2.0, 40)  # power laws tried: flat (0.05) to fast (2) decay


def extrapolate(curve: list[list[float]], to_step: int) -> float:
    """The loss at `to_step` of the power law `a + b * step**-c` that fits `curve` ([step, loss]
    pairs) best: a and b by least squares for each c of a grid. With fewer than three points,
    or no decaying law that fits, the last loss."""
    steps = np.array([point[0] for point in curve], np.float64)
    loss = np.array([point[1] for point in curve], np.float64)
    best = (np.inf, float(loss[-1]))
    if len(curve) < 3:
        return best[1]
    for c in EXPONENTS:
        design = np.stack([np.ones_like(steps), steps**-c], axis=1)
        (a, b), *_ = np.linalg.lstsq(design, loss, rcond=None)
        error = float(((design @ np.array([a, b]) - loss) ** 2).sum())
        if error < best[0] and b >= 0:
            best = (error, float(a + b * to_step**-c))
    return best[1]


@lru_cache(maxsize=1)
def training_split(workdir: str, utterances: int):
    return load_split(Path(workdir) / "corpus", Path(workdir) / "features", "train", utterances)


def gradient_saliency(task: ProxyTask) -> float:
    """A training-free score (SNIP, Lee et al. 2019): the mean over parameters of |weight x
    gradient| of the loss on the run's first batch, at its initial weights."""
    batch = next(
        batches(training_split(task.workdir, task.train_utterances), task.max_frames, random.Random(task.seed))
    )
    model = initial_model(task)
    losses(model, batch)["total"].backward()
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in model.parameters() if p.grad is not None)
    return total / sum(p.numel() for p in model.parameters())


def run_all(args, results: Path) -> list[dict]:
    """Every (architecture, seed) run, trained now where --results does not hold it yet."""
    done = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    settings = (args.steps, args.train_utterances, args.validation_utterances, args.max_frames)
    for row in done:
        task = row["task"]
        if (task["steps"], task["train_utterances"], task["validation_utterances"], task["max_frames"]) != settings:
            sys.exit(f"{results} holds runs with other settings ({row['name']}): give another --results")
    have = {(r["name"], r["seed"]) for r in done}
    todo = [(name, seed) for name in ARCHITECTURES for seed in SEEDS if (name, seed) not in have]
    # The slowest first, so the last runs to finish are short ones.
    todo.sort(key=lambda job: -Search.parameters(ARCHITECTURES[job[0]] + SUFFIX))
    tasks = {
        job: ProxyTask(
            ARCHITECTURES[job[0]] + SUFFIX,
            str(args.workdir),
            args.steps,
            args.train_utterances,
            args.validation_utterances,
            args.max_frames,
            seed=job[1],
            validations=8,
        )
        for job in todo
    }
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
        pending = {pool.submit(train_candidate, task): job for job, task in tasks.items()}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                name, seed = pending.pop(future)
                outcome = future.result()
                task = tasks[(name, seed)]
                row = {"name": name, "seed": seed, "task": asdict(task), **outcome, "saliency": gradient_saliency(task)}
                with open(results, "a") as f:
                    f.write(json.dumps(row) + "\n")
                done.append(row)
                print(
                    f"{name} seed {seed}: {outcome['validation']['total']:.4f} in {outcome['seconds']:.0f} s",
                    file=sys.stderr,
                )
    return done


def estimates(run: dict, steps: int) -> dict[str, tuple[float, float]]:
    """Each estimate this run gives of its final loss: name -> (value, CPU-seconds it cost)."""
    curve = run["curve"]
    at = {int(step): (loss, seconds) for step, loss, seconds in curve}
    out = {}
    for step, (loss, seconds) in at.items():
        if step < steps:
            out[f"loss at step {step}"] = (loss, seconds)
    for last in sorted(at)[2:-1]:  # three or more validations, short of the end
        points = [point[:2] for point in curve if point[0] <= last]
        out[f"steps {points[0][0]}-{last} extrapolated"] = (extrapolate(points, steps), at[last][1])
    for last in sorted(at)[2:-1]:
        points = [point[:2] for point in curve if last // 2 <= point[0] <= last]
        if len(points) >= 3:
            out[f"steps {points[0][0]}-{last} extrapolated"] = (extrapolate(points, steps), at[last][1])
    out["gradient saliency at init"] = (-run["saliency"], 0.0)  # more saliency, lower loss expected
    out["parameters"] = (-Search.parameters(run["task"]["architecture"]), 0.0)  # more parameters, lower loss
    return out


def report(runs: list[dict], args) -> None:
    by = {(r["name"], r["seed"]): r for r in runs}
    names = [n for n in ARCHITECTURES if all((n, s) in by for s in SEEDS)]
    params = {n: Search.parameters(ARCHITECTURES[n] + SUFFIX) for n in names}
    small = [n for n in names if params[n] < SMALL]
    final = {(n, s): by[(n, s)]["validation"]["total"] for n in names for s in SEEDS}

    def tau(estimate: dict, among: list[str]) -> float:
        """Mean over s of tau(estimate from seed s, final loss of the other seed)."""
        values = [kendall_tau([estimate[(n, s)] for n in among], [final[(n, 1 - s)] for n in among]) for s in SEEDS]
        return statistics.mean(values)

    per_run = {(n, s): estimates(by[(n, s)], args.steps) for n in names for s in SEEDS}
    kinds = list(per_run[(names[0], 0)])
    print(f"Search proxies against {args.steps}-step training: Kendall's tau of each estimate (from one seed) with the")
    print("final validation loss of the other seed, averaged over both ways round. One learning-rate schedule for")
    print(
        f"every run (warm-up {by[(names[0], 0)]['task']['warmup']} steps, then inverse square-root decay). CPU-s: the"
    )
    print("seconds an estimate costs on one thread, the mean over the candidates under 2M parameters.")
    print()
    print(f"machine: {machine()}")
    print(f"date:    {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}")
    print(f"torch {version('torch')}, lightspeech {version('lightspeech')}; one thread per run")
    print(
        f"corpus:  {args.workdir.name}, {args.train_utterances} training and {args.validation_utterances} validation "
        f"utterances, batches of {args.max_frames} frames"
    )
    print()
    all_header, small_header = f"tau, all {len(names)}", f"tau, <2M ({len(small)})"
    print(f"{'estimate':<34} {all_header:>11} {small_header:>13} {'CPU-s, <2M':>11}")
    noise = {(n, s): final[(n, s)] for n in names for s in SEEDS}
    print(f"{'final loss, the other seed':<34} {tau(noise, names):>11.2f} {tau(noise, small):>13.2f} {'':>11}")
    for kind in kinds:
        estimate = {key: per_run[key][kind][0] for key in per_run}
        cost = statistics.mean(per_run[(n, s)][kind][1] for n in small for s in SEEDS)
        print(f"{kind:<34} {tau(estimate, names):>11.2f} {tau(estimate, small):>13.2f} {cost:>11.0f}")
    print()
    print(f"{'architecture':<20} {'params':>7} {'final (seeds 0, 1)':>19} {'CPU-s':>6}  layers")
    for n in sorted(names, key=lambda n: statistics.mean(final[(n, s)] for s in SEEDS)):
        seconds = statistics.mean(by[(n, s)]["seconds"] for s in SEEDS)
        losses = f"{final[(n, 0)]:.3f}, {final[(n, 1)]:.3f}"
        print(f"{n:<20} {params[n] / 1e6:>6.2f}M {losses:>19} {seconds:>6.0f}  {ARCHITECTURES[n]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir", type=Path, help="a training folder with corpus/ and features/")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--train-utterances", type=int, default=800)
    parser.add_argument("--validation-utterances", type=int, default=50)
    parser.add_argument("--max-frames", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--results", type=Path, default=Path(__file__).with_name("search_fidelity.jsonl"))
    args = parser.parse_args()
    report(run_all(args, args.results), args)


if __name__ == "__main__":
    main()
